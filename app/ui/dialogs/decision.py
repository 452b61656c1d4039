"""The station's decision dialogs — 审批准予 (opinion) and 审批不予 (opinion and basis) — and
ActionDialog, the base of every case-action dialog: the service is called off the UI thread,
its Chinese message shown in place, and a stale case closes the dialog for a reload."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.errors import KnownError, StaleError, ValidationError
from app.services.case_view import CaseDetail
from app.ui.errors import show_error
from app.ui.tasks import run_task

# What the workspace hands a dialog: take the action with these data (raises KnownError).
Submit = Callable[[dict[str, Any]], object]

STANDARD_APPROVAL = "经审查，申请材料齐全，符合法定条件，准予办理。"
APPROVAL_PHRASES = (
    STANDARD_APPROVAL,
    "经审核，情况属实，符合相关规定，同意办理。",
    "经实地核查，符合条件，准予办理。",
)
DENIAL_PHRASES = (
    "经审查，申请人不符合法定条件，不予批准。",
    "经核查，申请材料反映的情况与实际不符，不予批准。",
    "经审查，申请事项不属于本政策支持范围，不予批准。",
)
ERROR_STYLE = "color: #a3161a; background: #fbd9d6; padding: 4px 8px;"
KEYS_HINT = "Enter 确定，Shift+Enter 换行，Esc 取消"


class OpinionEdit(QPlainTextEdit):
    """Multi-line text where Enter submits the dialog and Shift+Enter starts a new line: a
    decision taken while the citizen waits needs no mouse."""

    submitted = Signal()

    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setPlaceholderText(placeholder)
        self.setTabChangesFocus(True)
        lines = 3
        self.setFixedHeight(self.fontMetrics().lineSpacing() * lines + 14)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        enter = event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        if enter and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)

    def text(self) -> str:
        return self.toPlainText().strip()


def case_summary(detail: CaseDetail) -> QLabel:
    """The case the dialog acts on, so nobody decides the wrong one (names are not masked)."""
    kind = "即办件" if detail.kind == "immediate" else "承诺件"
    label = QLabel(
        f"<b>{detail.case_no}</b><br>{detail.item_name}（{kind}）<br>申请人：{detail.applicant_name}"
    )
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    return label


class ActionDialog(QDialog):
    """Collects the data of one workflow action and submits it; stays open on a Chinese error.

    `succeeded(result)` after the service took the action; `stale(error)` when another desk
    changed the case since it was shown (the dialog closes: its data were for the old case)."""

    succeeded = Signal(object)
    stale = Signal(object)

    def __init__(
        self, title: str, submit: Submit, parent: QWidget | None = None, *, ok_text: str = "确定"
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self._submit = submit
        self.busy = False
        self.result_value: object = None
        self.fields: dict[str, QWidget] = {}
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.hide()
        self.buttons = QDialogButtonBox()
        self.ok_button = self.buttons.addButton(ok_text, QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton("取消", QDialogButtonBox.ButtonRole.RejectRole)
        self.ok_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.hint_label = QLabel(KEYS_HINT)
        self.hint_label.setStyleSheet("color: #5f6368;")
        bottom = QHBoxLayout()
        bottom.addWidget(self.hint_label, 1)
        bottom.addWidget(self.buttons)
        self.body = QVBoxLayout(self)
        self.body.addLayout(self.form)
        self.body.addWidget(self.error_label)
        self.body.addLayout(bottom)

    def values(self) -> dict[str, Any]:
        """The action's data from the widgets; subclasses say what they collect."""
        raise NotImplementedError

    def showEvent(self, event: QShowEvent) -> None:
        # Enter means OK wherever the focus is: other buttons must not become the default
        # when focused (a clicked, then disabled helper button would swallow Enter).
        for button in self.findChildren(QPushButton):
            button.setAutoDefault(button is self.ok_button)
        self.ok_button.setDefault(True)
        super().showEvent(event)

    def watch(self, edit: OpinionEdit) -> None:
        edit.submitted.connect(self.accept)

    def show_problem(self, message: str, field: str | None = None) -> None:
        self.error_label.setText(message)
        self.error_label.show()
        widget = self.fields.get(field or "")
        if widget is not None:
            widget.setFocus()

    def accept(self) -> None:
        """Submit off the UI thread; OK and Esc wait until the service has answered."""
        if self.busy:
            return
        try:
            data = self.values()
        except ValidationError as exc:
            self.show_problem(exc.message, exc.field)
            return
        self._set_busy(True)
        run_task(
            self,
            lambda: self._submit(data),
            self._succeeded,
            self._failed,
            busy_text="正在保存…",
        )

    def reject(self) -> None:
        if not self.busy:
            super().reject()

    def _set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.ok_button.setEnabled(not busy)
        self.cancel_button.setEnabled(not busy)

    def _succeeded(self, result: object) -> None:
        self._set_busy(False)
        self.result_value = result
        super().accept()
        self.succeeded.emit(result)

    def _failed(self, exc: BaseException, trace: str) -> None:
        self._set_busy(False)
        if isinstance(exc, StaleError):
            super().reject()
            self.stale.emit(exc)
        elif isinstance(exc, KnownError):
            self.show_problem(exc.message, getattr(exc, "field", None))
        else:
            show_error(self, exc, trace)


def phrase_combo(
    phrases: list[str] | tuple[str, ...], target: OpinionEdit, prompt: str
) -> QComboBox:
    """常用意见/理由/依据: choosing one puts it into `target` (it can still be edited there)."""
    combo = QComboBox()
    combo.addItem(prompt, "")
    for phrase in phrases:
        combo.addItem(phrase, phrase)

    def chosen(index: int) -> None:
        text = combo.itemData(index)
        if text:
            target.setPlainText(str(text))
            target.setFocus()

    combo.activated.connect(chosen)
    return combo


class ApproveDialog(ActionDialog):
    """审批准予: the opinion. A 即办件 opens with the standard opinion ready: Enter decides."""

    def __init__(
        self,
        detail: CaseDetail,
        submit: Submit,
        parent: QWidget | None = None,
        *,
        prefill: bool = False,
    ) -> None:
        super().__init__("审批准予", submit, parent, ok_text="准予")
        self.opinion_edit = OpinionEdit("审批意见，如：经审查，符合条件，准予办理。")
        if prefill:
            self.opinion_edit.setPlainText(STANDARD_APPROVAL)
            self.opinion_edit.selectAll()
        self.watch(self.opinion_edit)
        self.fields["opinion"] = self.opinion_edit
        self.phrases = phrase_combo(APPROVAL_PHRASES, self.opinion_edit, "选择常用意见…")
        self.form.addRow("办件：", case_summary(detail))
        self.form.addRow("审批意见(&O)：", self.opinion_edit)
        self.form.addRow("常用意见：", self.phrases)
        self.setTabOrder(self.opinion_edit, self.phrases)
        self.resize(560, self.sizeHint().height())
        self.opinion_edit.setFocus()

    def values(self) -> dict[str, Any]:
        return {"opinion": self.opinion_edit.text()}


class DenyDialog(ActionDialog):
    """审批不予: the opinion and the basis; the item's 设定依据 is offered with one key."""

    def __init__(
        self,
        detail: CaseDetail,
        legal_basis: str,
        submit: Submit,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("审批不予", submit, parent, ok_text="不予批准")
        self.legal_basis = legal_basis
        self.opinion_edit = OpinionEdit("不予批准的理由，如：经审查，不符合法定条件。")
        self.basis_edit = OpinionEdit("不予批准所依据的法律法规或政策条款")
        for key, edit in (("opinion", self.opinion_edit), ("basis", self.basis_edit)):
            self.watch(edit)
            self.fields[key] = edit
        self.phrases = phrase_combo(DENIAL_PHRASES, self.opinion_edit, "选择常用理由…")
        self.basis_button = QPushButton("引用本事项设定依据(&B)")
        self.basis_button.setToolTip(legal_basis or "本事项未登记设定依据")
        self.basis_button.setEnabled(bool(legal_basis))
        self.basis_button.clicked.connect(self.use_legal_basis)
        basis_hint = QLabel(f"本事项设定依据：{legal_basis or '未登记'}")
        basis_hint.setWordWrap(True)
        basis_hint.setStyleSheet("color: #5f6368;")
        self.form.addRow("办件：", case_summary(detail))
        self.form.addRow("不予理由(&O)：", self.opinion_edit)
        self.form.addRow("常用理由：", self.phrases)
        self.form.addRow("依据(&J)：", self.basis_edit)
        self.form.addRow("", self.basis_button)
        self.form.addRow("", basis_hint)
        self.setTabOrder(self.opinion_edit, self.phrases)
        self.setTabOrder(self.phrases, self.basis_edit)
        self.setTabOrder(self.basis_edit, self.basis_button)
        self.resize(600, self.sizeHint().height())
        self.opinion_edit.setFocus()

    def use_legal_basis(self) -> None:
        self.basis_edit.setPlainText(self.legal_basis)
        self.basis_edit.setFocus()

    def values(self) -> dict[str, Any]:
        return {"opinion": self.opinion_edit.text(), "basis": self.basis_edit.text()}


def main() -> int:
    """Preview: both dialogs for a demo case; nothing is saved (submit only prints)."""
    from app.services import case_view, catalog
    from app.ui.application import make_app
    from app.ui.context import preview_context, preview_data

    app = make_app(sys.argv)
    data = preview_data(cases=60)
    ctx = preview_context(data, "window1", "A1")
    [row] = case_view.queue_page(case_view.queue_filter(data.rt, ctx.actor), 0, 1)
    detail = case_view.get_case(data.rt, ctx.actor, row.id)
    basis = catalog.get_item(detail.item_code, detail.catalog_version).legal_basis
    approve = ApproveDialog(detail, print, prefill=detail.kind == "immediate")
    deny = DenyDialog(detail, basis, print)
    approve.show()
    deny.show()
    code = app.exec()
    data.rt.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
