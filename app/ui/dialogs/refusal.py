"""不予受理 (reason and basis, with the usual bases to pick from) and 撤回 (a reason): the two
ways a case ends at the window before anyone decides it."""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtWidgets import QLabel, QWidget

from app.domain.errors import ValidationError
from app.services.case_view import CaseDetail
from app.ui.dialogs.decision import ActionDialog, OpinionEdit, Submit, case_summary, phrase_combo

REFUSAL_REASONS = (
    "申请事项不属于本中心受理范围",
    "申请人不符合本事项的受理条件",
    "申请人逾期未按补正材料通知书补正材料",
    "申请材料存在虚假内容",
)
WITHDRAW_REASONS = ("申请人主动申请撤回", "申请人放弃办理", "重复登记，撤回本件")
RIGHTS_NOTE = "将出具不予受理通知书，告知申请人依法申请行政复议或提起行政诉讼的权利和期限。"


def _required(edit: OpinionEdit, what: str, field: str) -> str:
    text = edit.text()
    if len(text) < 2:
        raise ValidationError(f"请填写{what}", field=field)
    return text


class RefusalDialog(ActionDialog):
    """不予受理: why, and on what basis; the workspace prints the 不予受理通知书."""

    def __init__(
        self,
        detail: CaseDetail,
        bases: list[str],
        submit: Submit,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("不予受理", submit, parent, ok_text="不予受理")
        self.reason_edit = OpinionEdit("不予受理的理由，如：申请人不符合本事项的受理条件。")
        self.basis_edit = OpinionEdit("所依据的法律法规条款，可从下方常用依据中选择")
        for key, edit in (("reason", self.reason_edit), ("basis", self.basis_edit)):
            self.watch(edit)
            self.fields[key] = edit
        self.reasons = phrase_combo(REFUSAL_REASONS, self.reason_edit, "选择常用理由…")
        self.bases = phrase_combo(bases, self.basis_edit, "选择常用依据…")
        self.bases.setMaximumWidth(self.fontMetrics().horizontalAdvance("字") * 40)
        note = QLabel(RIGHTS_NOTE)
        note.setWordWrap(True)
        note.setStyleSheet("color: #5f6368;")
        self.form.addRow("办件：", case_summary(detail))
        self.form.addRow("不予受理理由(&R)：", self.reason_edit)
        self.form.addRow("常用理由：", self.reasons)
        self.form.addRow("依据(&J)：", self.basis_edit)
        self.form.addRow("常用依据：", self.bases)
        self.form.addRow("", note)
        for first, second in (
            (self.reason_edit, self.reasons),
            (self.reasons, self.basis_edit),
            (self.basis_edit, self.bases),
        ):
            self.setTabOrder(first, second)
        self.resize(640, self.sizeHint().height())
        self.reason_edit.setFocus()

    def values(self) -> dict[str, Any]:
        return {
            "reason": _required(self.reason_edit, "不予受理的理由", "reason"),
            "basis": _required(self.basis_edit, "不予受理的依据", "basis"),
        }


class WithdrawDialog(ActionDialog):
    """撤回: the reason is recorded on the case and in its history."""

    def __init__(self, detail: CaseDetail, submit: Submit, parent: QWidget | None = None) -> None:
        super().__init__("撤回办件", submit, parent, ok_text="撤回")
        self.reason_edit = OpinionEdit("撤回原因，如：申请人主动申请撤回。")
        self.watch(self.reason_edit)
        self.fields["reason"] = self.reason_edit
        self.reasons = phrase_combo(WITHDRAW_REASONS, self.reason_edit, "选择常用原因…")
        self.form.addRow("办件：", case_summary(detail))
        self.form.addRow("撤回原因(&R)：", self.reason_edit)
        self.form.addRow("常用原因：", self.reasons)
        self.setTabOrder(self.reason_edit, self.reasons)
        self.resize(520, self.sizeHint().height())
        self.reason_edit.setFocus()

    def values(self) -> dict[str, Any]:
        return {"reason": _required(self.reason_edit, "撤回原因", "reason")}


def main() -> int:
    """Preview: both dialogs for a demo case; nothing is saved (submit only prints)."""
    from app.domain.states import CaseState
    from app.services import case_view, catalog, intake_support
    from app.ui.application import make_app
    from app.ui.context import preview_context, preview_data

    app = make_app(sys.argv)
    data = preview_data(cases=60)
    ctx = preview_context(data, "window1", "A1")
    scope = case_view.queue_filter(data.rt, ctx.actor, states=(CaseState.RECEIVED,))
    [row] = case_view.queue_page(scope, 0, 1)
    detail = case_view.get_case(data.rt, ctx.actor, row.id)
    item = catalog.get_item(detail.item_code, detail.catalog_version)
    refusal = RefusalDialog(detail, intake_support.refusal_bases(item), print)
    withdraw = WithdrawDialog(detail, print)
    refusal.show()
    withdraw.show()
    code = app.exec()
    data.rt.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
