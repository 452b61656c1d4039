"""补正材料已收: tick what the applicant brought; with every gap closed the case goes on (an
accepted case back to review with its clock resumed, a case not yet accepted to 已接件)."""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPushButton, QWidget

from app.domain.errors import ValidationError
from app.services.case_view import CaseDetail
from app.ui.dialogs.decision import ActionDialog, Submit, case_summary


def _note(detail: CaseDetail) -> str:
    due = f"补正期限 {detail.correction_due.isoformat()}。" if detail.correction_due else ""
    if detail.deadline is not None:
        return due + "登记后办件回到审批环节，暂停的办理时限恢复计算。"
    return due + "登记后办件回到“已接件”，可以受理（F2）。"


class SupplementDialog(ActionDialog):
    """The materials on the 一次性告知书 (and any other open gap), each to tick when brought."""

    def __init__(
        self,
        detail: CaseDetail,
        names: list[str],
        submit: Submit,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("补正材料已收", submit, parent, ok_text="登记补正材料已收")
        self.hint_label.setText("空格勾选；Enter 确定，Esc 取消")
        self.list = QListWidget()
        for name in names:
            entry = QListWidgetItem(name, self.list)
            entry.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsUserCheckable
                | Qt.ItemFlag.ItemIsSelectable
            )
            entry.setCheckState(Qt.CheckState.Unchecked)
        rows = max(3, min(len(names), 8))
        self.list.setMinimumHeight(self.list.sizeHintForRow(0) * rows + 8 if names else 80)
        self.all_button = QPushButton("全部已补齐(&A)")
        self.all_button.clicked.connect(self.check_all)
        note = QLabel(_note(detail))
        note.setWordWrap(True)
        note.setStyleSheet("color: #5f6368;")
        self.fields["received"] = self.list
        self.form.addRow("办件：", case_summary(detail))
        self.form.addRow("已补交材料(&M)：", self.list)
        self.form.addRow("", self.all_button)
        self.form.addRow("", note)
        self.setTabOrder(self.list, self.all_button)
        self.resize(560, self.sizeHint().height())
        self.list.setFocus()
        self.list.setCurrentRow(0)

    def check_all(self) -> None:
        for row in range(self.list.count()):
            self.list.item(row).setCheckState(Qt.CheckState.Checked)

    def set_checked(self, name: str, checked: bool = True) -> None:
        entry = self.list.findItems(name, Qt.MatchFlag.MatchExactly)[0]
        entry.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    def values(self) -> dict[str, Any]:
        received = [
            self.list.item(row).text()
            for row in range(self.list.count())
            if self.list.item(row).checkState() == Qt.CheckState.Checked
        ]
        if not received:
            raise ValidationError("请勾选申请人已补交的材料", field="received")
        return {"received": received}


def main() -> int:
    """Preview: the dialog for a demo case waiting for materials; nothing is saved."""
    from app.domain.states import CaseState
    from app.services import case_view, intake_support
    from app.ui.application import make_app
    from app.ui.context import preview_context, preview_data

    app = make_app(sys.argv)
    data = preview_data(cases=120)
    ctx = preview_context(data, "window1", "A1")
    scope = case_view.queue_filter(data.rt, ctx.actor, states=(CaseState.CORRECTION_REQUIRED,))
    [row] = case_view.queue_page(scope, 0, 1)
    detail = case_view.get_case(data.rt, ctx.actor, row.id)
    dialog = SupplementDialog(detail, intake_support.supplement_lines(detail), print)
    dialog.show()
    code = app.exec()
    data.rt.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
