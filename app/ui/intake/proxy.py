"""办理方式 and the 代办人: for 帮代办 (always for county items) and 上门代办, who acts for the
applicant, with the ID checked as typed, and the authorisation."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app.services import intake_support
from app.services.people import ProxyInput
from app.ui.intake.common import Level, MessageLabel, Problem, mark
from app.ui.intake.people import IdField, phone_problem, required_text, watch_phone, with_message
from forms.schema import Item

RELATIONS = ("帮代办员", "子女", "配偶", "父母", "其他亲属", "村（社区）干部", "网格员")
HANDLING_MODES = (("window", "窗口办理"), ("proxy", "帮代办"), ("door", "上门代办"))


class ProxyForm(QGroupBox):
    """办理方式 and, for 帮代办 / 上门代办, the 代办人 and the authorisation."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("办理方式与代办人", parent)
        self.item: Item | None = None
        self._auto_text = ""
        self.mode_combo = QComboBox()
        self.name_edit = QLineEdit()
        self.name_edit.setMaxLength(100)
        self.id_field = IdField()
        self.relation_combo = QComboBox()
        self.relation_combo.setEditable(True)
        self.relation_combo.addItems(RELATIONS)
        self.phone_edit = QLineEdit()
        self.phone_edit.setMaxLength(20)
        self.phone_message = MessageLabel()
        self.authorisation_edit = QPlainTextEdit()
        self.authorisation_edit.setTabChangesFocus(True)
        self.authorisation_edit.setFixedHeight(self.fontMetrics().lineSpacing() * 3 + 12)
        self.note = MessageLabel()
        form = QFormLayout()
        outer = QVBoxLayout(self)
        outer.addLayout(form)
        outer.addStretch(1)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        mode_label = QLabel("办理方式(&M)：")
        mode_label.setBuddy(self.mode_combo)
        form.addRow(mode_label, self.mode_combo)
        form.addRow("", self.note)
        form.addRow("代办人姓名：", self.name_edit)
        form.addRow("代办人证件：", self.id_field)
        form.addRow("与申请人关系：", self.relation_combo)
        form.addRow("代办人电话：", with_message(self.phone_edit, self.phone_message))
        form.addRow("委托授权：", self.authorisation_edit)
        self.mode_combo.currentIndexChanged.connect(self._mode_changed)
        watch_phone(self.phone_edit, self.phone_message)
        self.set_item(None)

    @property
    def handling_mode(self) -> str:
        return str(self.mode_combo.currentData() or "window")

    @property
    def needs_proxy(self) -> bool:
        return self.handling_mode != "window"

    def fields(self) -> list[QWidget]:
        return [
            self.mode_combo,
            self.name_edit,
            self.id_field.type_combo,
            self.id_field.number_edit,
            self.id_field.reason_edit,
            self.relation_combo,
            self.phone_edit,
            self.authorisation_edit,
        ]

    def set_item(self, item: Item | None) -> None:
        """County items go to the county as 帮代办: a 代办人 is then always needed."""
        self.item = item
        county = item is not None and item.level == "county"
        self.mode_combo.blockSignals(True)
        self.mode_combo.clear()
        for value, label in HANDLING_MODES:
            if not (county and value == "window"):
                self.mode_combo.addItem(label, value)
        self.mode_combo.blockSignals(False)
        self.note.show_message(
            "县级事项由本中心帮代办，须登记代办人并签署委托书" if county else "", Level.HINT
        )
        self._mode_changed()

    def _mode_changed(self) -> None:
        active = self.needs_proxy
        for widget in self.fields()[1:]:
            widget.setEnabled(active)
        self.id_field.message.setEnabled(active)
        current = self.authorisation_edit.toPlainText().strip()
        if self.item is not None and active and current in ("", self._auto_text):
            # Only the suggested text follows the mode; what the clerk wrote is kept.
            self._auto_text = intake_support.authorisation_text(self.item, self.handling_mode)
            self.authorisation_edit.setPlainText(self._auto_text)
        self.changed.emit()

    def proxy_input(self) -> ProxyInput | None:
        if not self.needs_proxy:
            return None
        status = self.id_field.status()
        return ProxyInput(
            name=self.name_edit.text().strip(),
            id_number=self.id_field.number_edit.text().strip(),
            relation=self.relation_combo.currentText().strip(),
            phone=self.phone_edit.text().strip(),
            id_type=self.id_field.id_type,
            override_reason=self.id_field.reason_edit.text().strip() if status.needs_reason else "",
        )

    def authorisation(self) -> str:
        return self.authorisation_edit.toPlainText().strip() if self.needs_proxy else ""

    def problems(self) -> list[Problem]:
        if not self.needs_proxy:
            return []
        found = [
            required_text(self.name_edit, "代办人姓名"),
            self.id_field.problem("代办人证件号码"),
            phone_problem(self.phone_edit, self.phone_message, required=True),
        ]
        if not self.relation_combo.currentText().strip():
            found.append(Problem(self.relation_combo, "请填写代办人与申请人的关系"))
        if len(self.authorisation()) < 2:
            mark(self.authorisation_edit, True)
            found.append(Problem(self.authorisation_edit, "请填写委托授权情况"))
        return [p for p in found if p is not None]

    def clear(self) -> None:
        self.name_edit.clear()
        self.id_field.clear()
        self.phone_edit.clear()
        self.relation_combo.setCurrentIndex(0)
        self._auto_text = ""
        self.authorisation_edit.clear()
        for widget in (self.name_edit, self.authorisation_edit):
            mark(widget, False)
        self.set_item(self.item)
