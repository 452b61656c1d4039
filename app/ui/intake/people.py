"""Applicant entry: ID numbers checked as they are typed (a checksum failure is a warning that
needs a reason), phones checked, returning applicants found by their ID."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.errors import ValidationError
from app.services import intake_support, people
from app.services.intake_support import IdentityStatus
from app.services.people import RESIDENT_ID, USCC, ApplicantSummary, PersonInput
from app.ui.context import UiContext
from app.ui.intake.common import Level, MessageLabel, Problem, mark
from app.ui.tasks import run_task

ID_LENGTHS = {RESIDENT_ID: 18, USCC: 18}


class IdField(QWidget):
    """证件类型, 号码, and — only after a checksum failure — the reason to go on anyway."""

    changed = Signal()
    accepted = Signal(str)  # the normalised number, once it passes (or is overridden)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.type_combo = QComboBox()
        for value, label in intake_support.id_type_choices():
            self.type_combo.addItem(label, value)
        self.number_edit = QLineEdit()
        self.number_edit.setMaxLength(30)
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("证件本身如此时，填写核对情况（不少于4字）后可继续")
        self.reason_edit.setVisible(False)
        self.message = MessageLabel()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.type_combo)
        row.addWidget(self.number_edit, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(self.reason_edit)
        self._last_accepted = ""
        self.number_edit.textChanged.connect(self.recheck)
        self.reason_edit.textChanged.connect(self.recheck)
        self.type_combo.currentIndexChanged.connect(self.recheck)
        self.number_edit.editingFinished.connect(self.recheck)

    def set_fixed_type(self, id_type: str | None) -> None:
        """Organisations always use the 统一社会信用代码; people choose their document."""
        if id_type is None:
            self.type_combo.setVisible(True)
            return
        index = self.type_combo.findData(id_type)
        if index < 0:
            self.type_combo.addItem(id_type, id_type)
            index = self.type_combo.count() - 1
        self.type_combo.setCurrentIndex(index)
        self.type_combo.setVisible(False)

    @property
    def id_type(self) -> str:
        return str(self.type_combo.currentData())

    def status(self) -> IdentityStatus:
        return intake_support.identity_status(
            self.id_type, self.number_edit.text(), self.reason_edit.text()
        )

    def recheck(self) -> None:
        raw = self.number_edit.text().strip()
        status = self.status()
        self.reason_edit.setVisible(status.needs_reason)
        if not raw:
            self.message.show_message("", Level.NONE)
        elif not status.message:
            self.message.show_message("✓ 校验通过", Level.OK)
        elif status.needs_reason:
            text = "已填写原因，可以继续" if status.overridden else status.message
            self.message.show_message(text, Level.OK if status.overridden else Level.WARNING)
        elif self._still_typing(raw):
            self.message.show_message(f"已输入 {len(raw)} 位", Level.HINT)
        else:
            self.message.show_message(status.message, Level.ERROR)
        mark(self.number_edit, False)
        if not (status.acceptable and raw):
            self._last_accepted = ""
        elif status.value != self._last_accepted:
            self._last_accepted = status.value
            self.accepted.emit(status.value)
        self.changed.emit()

    def _still_typing(self, raw: str) -> bool:
        expected = ID_LENGTHS.get(self.id_type)
        return self.number_edit.hasFocus() and expected is not None and len(raw) < expected

    def problem(self, what: str) -> Problem | None:
        raw = self.number_edit.text().strip()
        status = self.status()
        if not raw:
            message = f"请填写{what}"
        elif status.acceptable:
            return None
        elif status.needs_reason:
            message = f"{what}校验未通过：请核对，或填写不少于4字的原因后继续"
        else:
            message = f"{what}：{status.message}"
        self.message.show_message(message, Level.ERROR)
        mark(self.number_edit, True)
        target = self.reason_edit if status.needs_reason else self.number_edit
        return Problem(target, message)

    def clear(self) -> None:
        self.number_edit.clear()
        self.reason_edit.clear()
        self._last_accepted = ""


def phone_problem(edit: QLineEdit, message: MessageLabel, *, required: bool) -> Problem | None:
    try:
        people.check_phone_number(edit.text(), field="phone", required=required)
    except ValidationError as exc:
        message.show_message(exc.message, Level.ERROR)
        mark(edit, True)
        return Problem(edit, exc.message)
    return None


def _live_phone(edit: QLineEdit, message: MessageLabel) -> None:
    text = edit.text().strip()
    mark(edit, False)
    if not text:
        message.show_message("", Level.NONE)
        return
    try:
        people.check_phone_number(text, field="phone", required=False)
    except ValidationError as exc:
        typing_mobile = edit.hasFocus() and text.isdigit() and text.startswith("1")
        if typing_mobile and len(text) < 11:
            message.show_message(f"已输入 {len(text)} 位", Level.HINT)
        else:
            message.show_message(exc.message, Level.ERROR)
        return
    message.show_message("✓ 格式正确", Level.OK)


def with_message(edit: QWidget, message: MessageLabel) -> QVBoxLayout:
    """An input with its message line right under it."""
    box = QVBoxLayout()
    box.setSpacing(2)
    box.addWidget(edit)
    box.addWidget(message)
    return box


def watch_phone(edit: QLineEdit, message: MessageLabel) -> None:
    edit.textChanged.connect(lambda _text: _live_phone(edit, message))


def required_text(edit: QLineEdit, what: str) -> Problem | None:
    bad = not edit.text().strip()
    mark(edit, bad)
    return Problem(edit, f"请填写{what}") if bad else None


class ApplicantForm(QGroupBox):
    """申请人: a person or an organisation; a known ID number fills in the name."""

    changed = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__("申请人", parent)
        self.ctx = ctx
        self.returning: ApplicantSummary | None = None
        self.person_radio = QRadioButton("自然人(&P)")
        self.org_radio = QRadioButton("法人或其他组织(&O)")
        self.person_radio.setChecked(True)
        self.kind_group = QButtonGroup(self)
        self.kind_group.addButton(self.person_radio)
        self.kind_group.addButton(self.org_radio)
        kinds = QHBoxLayout()
        kinds.addWidget(self.person_radio)
        kinds.addWidget(self.org_radio)
        kinds.addStretch(1)
        self.id_field = IdField()
        self.returning_label = MessageLabel()
        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(100)
        self.legal_rep_edit = QLineEdit()
        self.phone_edit = QLineEdit()
        self.phone_edit.setMaxLength(20)
        self.phone_edit.setPlaceholderText("11位手机号码或带区号的固定电话")
        self.phone_message = MessageLabel()
        self.address_edit = QLineEdit()
        self.address_edit.setMaxLength(200)
        self._lay_out(kinds)
        self.org_radio.toggled.connect(self._kind_changed)
        self._looked_up = ""
        self.id_field.accepted.connect(self._look_up)
        self.id_field.changed.connect(self._id_changed)
        self.id_field.changed.connect(self.changed)
        watch_phone(self.phone_edit, self.phone_message)
        for edit in (self.name_edit, self.phone_edit, self.address_edit, self.legal_rep_edit):
            edit.textChanged.connect(self.changed)
        self._kind_changed(False)

    def _lay_out(self, kinds: QHBoxLayout) -> None:
        self.form = QFormLayout()
        outer = QVBoxLayout(self)
        outer.addLayout(self.form)
        outer.addStretch(1)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.addRow("申请人类型：", kinds)
        self.id_label = QLabel("证件号码(&D)：")
        self.id_label.setBuddy(self.id_field.number_edit)
        self.form.addRow(self.id_label, self.id_field)
        self.form.addRow("", self.returning_label)
        self.name_label = QLabel("姓名(&N)：")
        self.name_label.setBuddy(self.name_edit)
        self.form.addRow(self.name_label, self.name_edit)
        self.form.addRow("法定代表人：", self.legal_rep_edit)
        phone_label = QLabel("联系电话(&T)：")
        phone_label.setBuddy(self.phone_edit)
        self.form.addRow(phone_label, with_message(self.phone_edit, self.phone_message))
        self.address_label = QLabel("住址：")
        self.form.addRow(self.address_label, self.address_edit)

    @property
    def kind(self) -> str:
        return "org" if self.org_radio.isChecked() else "person"

    def fields(self) -> list[QWidget]:
        """The inputs in reading order (Enter and Tab follow it)."""
        return [
            self.person_radio,
            self.org_radio,
            self.id_field.type_combo,
            self.id_field.number_edit,
            self.id_field.reason_edit,
            self.name_edit,
            self.legal_rep_edit,
            self.phone_edit,
            self.address_edit,
        ]

    def _kind_changed(self, org: bool) -> None:
        self.id_field.set_fixed_type(USCC if org else None)
        if not org:
            self.id_field.type_combo.setCurrentIndex(0)
        self.id_label.setText("统一社会信用代码(&D)：" if org else "证件号码(&D)：")
        self.name_label.setText("单位名称(&N)：" if org else "姓名(&N)：")
        self.address_label.setText("单位地址：" if org else "住址：")
        self.form.setRowVisible(self.legal_rep_edit, org)
        self.phone_edit.setPlaceholderText(
            "经办人电话（可不填）" if org else "11位手机号码或带区号的固定电话"
        )
        self.id_field.recheck()

    def _look_up(self, number: str) -> None:
        """A returning applicant: name filled in, earlier phone shown masked (never in full)."""
        rt = self.ctx.rt
        self._looked_up = number
        run_task(
            self,
            lambda: people.find_applicant(rt, number),
            lambda summary: self._found(number, summary),
        )

    def _id_changed(self) -> None:
        status = self.id_field.status()
        if not (status.acceptable and status.value == self._looked_up):
            # Another number now: what was found for the earlier one no longer applies.
            self._looked_up = ""
            self.returning = None
            self.returning_label.show_message("", Level.NONE)

    def _found(self, number: str, summary: ApplicantSummary | None) -> None:
        if number != self._looked_up:
            return  # the clerk typed on while the look-up ran
        self.returning = summary
        if summary is None:
            self.returning_label.show_message("新申请人", Level.HINT)
            return
        if not self.name_edit.text().strip():
            self.name_edit.setText(summary.name)
        phone = f"，上次登记电话 {summary.phone_masked}" if summary.phone_masked else ""
        address = "，已登记住址（不填则沿用）" if summary.has_address else ""
        self.returning_label.show_message(f"老申请人：{summary.name}{phone}{address}", Level.OK)

    def person_input(self) -> PersonInput:
        return PersonInput(
            name=self.name_edit.text().strip(),
            id_number=self.id_field.number_edit.text().strip(),
            id_type=USCC if self.kind == "org" else self.id_field.id_type,
            phone=self.phone_edit.text().strip(),
            address=self.address_edit.text().strip(),
            kind=self.kind,
            legal_rep=self.legal_rep_edit.text().strip() if self.kind == "org" else "",
            override_reason=self.id_field.reason_edit.text().strip()
            if self.id_field.status().needs_reason
            else "",
        )

    def problems(self) -> list[Problem]:
        what = "统一社会信用代码" if self.kind == "org" else "申请人证件号码"
        found = [
            self.id_field.problem(what),
            required_text(self.name_edit, "单位名称" if self.kind == "org" else "申请人姓名"),
            phone_problem(self.phone_edit, self.phone_message, required=self.kind == "person"),
        ]
        return [p for p in found if p is not None]

    def clear(self) -> None:
        self.person_radio.setChecked(True)
        self.id_field.clear()
        for edit in (self.name_edit, self.legal_rep_edit, self.phone_edit, self.address_edit):
            edit.clear()
            mark(edit, False)
        self.returning = None
        self.returning_label.show_message("", Level.NONE)
