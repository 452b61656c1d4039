"""The item's application form (申请表): one input per FormField, checked with the catalog's
own rules (forms.schema.validate_form) and the errors shown next to the fields."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.services.cases import form_errors
from app.ui.intake.common import Level, MessageLabel, Problem, mark
from forms.schema import FormField, Item

# Form fields that repeat what the applicant section already holds: left empty, they take
# the applicant's value, so a number is typed (and shown) once only.
PERSON_MIRRORS = {
    "applicant_name": "name",
    "id_number": "id_number",
    "phone": "phone",
    "address": "address",
}
ORG_MIRRORS = {"credit_code": "id_number", "phone": "phone"}
MIRROR_PLACEHOLDER = "同申请人（不填即沿用）"
DATE_MASK = "9999-99-99;_"
EMPTY_DATE = "--"

ApplicantValues = Callable[[], tuple[str, dict[str, str]]]


@dataclass
class FieldRow:
    """One form field: its spec, its input, the message under it."""

    spec: FormField
    widget: QWidget
    message: MessageLabel
    touched: bool = field(default=False)

    def value(self) -> object:
        w = self.widget
        if isinstance(w, QCheckBox):
            return w.isChecked()
        if isinstance(w, QComboBox):
            return w.currentData()
        if isinstance(w, QPlainTextEdit):
            return w.toPlainText().strip()
        assert isinstance(w, QLineEdit)
        text = w.text().strip()
        return "" if text == EMPTY_DATE else text

    def set_value(self, value: object) -> None:
        w = self.widget
        if isinstance(w, QCheckBox):
            w.setChecked(value is True)
        elif isinstance(w, QComboBox):
            w.setCurrentIndex(max(0, w.findData(value)))
        elif isinstance(w, QPlainTextEdit):
            w.setPlainText(str(value or ""))
        elif isinstance(w, QLineEdit):
            w.setText(str(value or ""))


def _label_text(spec: FormField) -> str:
    star = '<span style="color:#a3161a">*</span>' if spec.required else ""
    return f"{star}{spec.label}："


def _make_input(spec: FormField) -> QWidget:
    if spec.type == "bool":
        return QCheckBox(spec.help or f"确认{spec.label}")
    if spec.type == "choice":
        combo = QComboBox()
        combo.addItem("请选择…", None)
        for choice in spec.choices:
            combo.addItem(choice, choice)
        return combo
    if spec.type == "textarea":
        text = QPlainTextEdit()
        text.setTabChangesFocus(True)
        text.setPlaceholderText(spec.help)
        text.setFixedHeight(text.fontMetrics().lineSpacing() * 3 + 14)
        return text
    edit = QLineEdit()
    if spec.type == "date":
        edit.setInputMask(DATE_MASK)
        edit.setToolTip("日期，如 2026-01-31（直接输入数字即可）")
    else:
        edit.setPlaceholderText(spec.help)
    if spec.type == "text" and spec.max:
        edit.setMaxLength(int(spec.max))
    return edit


class FormFieldsWidget(QScrollArea):
    """All fields of one item's form in two columns; long texts take a whole row."""

    changed = Signal()

    def __init__(self, applicant_values: ApplicantValues, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.applicant_values = applicant_values
        self.item: Item | None = None
        self.rows: dict[str, FieldRow] = {}
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self._show_empty()

    def _show_empty(self) -> None:
        label = QLabel("请先在左侧选择事项，这里会列出该事项申请表的栏目。")
        label.setStyleSheet("color: #5f6368;")
        holder = QWidget()
        QVBoxLayout(holder).addWidget(label)
        self.setWidget(holder)

    def set_item(self, item: Item | None) -> None:
        """Build the item's inputs; values under the same key survive a change of item."""
        kept = {key: row.value() for key, row in self.rows.items()}
        self.item = item
        self.rows = {}
        if item is None or not item.form:
            self._show_empty()
            return
        holder = QWidget()
        grid = QGridLayout(holder)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(6)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        row_no, column = 0, 0
        for spec in item.form:
            row = self._build_row(spec)
            wide = spec.type == "textarea"
            if wide and column:
                row_no, column = row_no + 1, 0
            label = QLabel(_label_text(spec))
            label.setBuddy(row.widget)
            if spec.help:
                label.setToolTip(spec.help)
            box = QVBoxLayout()
            box.setSpacing(2)
            box.addWidget(row.widget)
            box.addWidget(row.message)
            grid.addWidget(label, row_no, column)
            grid.addLayout(box, row_no, column + 1, 1, 3 if wide else 1)
            if key_value := kept.get(spec.key):
                row.set_value(key_value)
            if wide or column:
                row_no, column = row_no + 1, 0
            else:
                column = 2
        grid.setRowStretch(row_no + 1, 1)
        self.setWidget(holder)
        self._update_placeholders()

    def _build_row(self, spec: FormField) -> FieldRow:
        row = FieldRow(spec, _make_input(spec), MessageLabel())
        self.rows[spec.key] = row
        w = row.widget
        if isinstance(w, QCheckBox):
            w.toggled.connect(lambda _on: self._touched(row))
        elif isinstance(w, QComboBox):
            w.currentIndexChanged.connect(lambda _i: self._touched(row))
        elif isinstance(w, QPlainTextEdit):
            w.textChanged.connect(lambda: self._touched(row))
        elif isinstance(w, QLineEdit):
            # A half-typed number is not an error yet: check when the clerk leaves the field.
            w.editingFinished.connect(lambda: self._touched(row))
            w.textChanged.connect(lambda _t: self._typing(row))
        return row

    def fields(self) -> list[QWidget]:
        return [row.widget for row in self.rows.values()]

    def _mirrors(self) -> dict[str, str]:
        kind, _values = self.applicant_values()
        return ORG_MIRRORS if kind == "org" else PERSON_MIRRORS

    def _update_placeholders(self) -> None:
        mirrors = self._mirrors()
        for key, row in self.rows.items():
            if isinstance(row.widget, QLineEdit) and row.spec.type != "date":
                mirrored = key in mirrors
                row.widget.setPlaceholderText(MIRROR_PLACEHOLDER if mirrored else row.spec.help)

    def applicant_changed(self) -> None:
        """The applicant's kind or values changed: mirrored fields follow, errors refresh."""
        self._update_placeholders()
        self._show_errors(self._errors(), touched_only=True)

    def values(self) -> dict[str, object]:
        """The form data as the service takes it; empty mirrored fields take the applicant's."""
        _kind, applicant = self.applicant_values()
        mirrors = self._mirrors()
        data: dict[str, object] = {}
        for key, row in self.rows.items():
            value = row.value()
            if value in ("", None) and key in mirrors:
                value = applicant.get(mirrors[key], "") or value
            if value not in ("", None):
                data[key] = value
        return data

    def _errors(self) -> dict[str, str]:
        if self.item is None:
            return {}
        # The applicant's number counts as accepted once its own check passed (or was
        # overridden with a reason): the same rule as the service.
        _kind, applicant = self.applicant_values()
        return form_errors(self.item, self.values(), [applicant.get("id_number", "")])

    def _typing(self, row: FieldRow) -> None:
        mark(row.widget, False)
        if row.message.level is Level.ERROR:
            row.message.show_message("", Level.NONE)
        self.changed.emit()

    def _touched(self, row: FieldRow) -> None:
        row.touched = True
        self._show_errors(self._errors(), touched_only=True)
        self.changed.emit()

    def _show_errors(self, errors: dict[str, str], *, touched_only: bool) -> None:
        for key, row in self.rows.items():
            message = errors.get(key, "")
            if touched_only and not row.touched:
                message = ""
            row.message.show_message(message, Level.ERROR)
            mark(row.widget, bool(message))

    def show_error(self, key: str, message: str) -> QWidget | None:
        """An error the service reported for one field."""
        row = self.rows.get(key)
        if row is None:
            return None
        row.message.show_message(message, Level.ERROR)
        mark(row.widget, True)
        return row.widget

    def problems(self) -> list[Problem]:
        errors = self._errors()
        for row in self.rows.values():
            row.touched = True
        self._show_errors(errors, touched_only=False)
        return [Problem(self.rows[key].widget, f"申请表：{msg}") for key, msg in errors.items()]

    def clear(self) -> None:
        self.rows = {}
        self.set_item(self.item)
