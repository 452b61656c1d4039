"""The materials checklist from the item's 办事指南: per line how it stands (received, missing,
defective with a reason, 容缺 with a due date, 告知承诺), its form and the number of copies."""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.states import MaterialStatus
from app.services.cases import MaterialInput
from app.ui.intake.common import Level, MessageLabel, Problem, mark
from forms.schema import Item, Material

COLUMNS = ("材料名称", "收取情况", "形式", "份数", "不符合要求的原因 / 说明", "容缺补交日期")
COL_NAME, COL_STATUS, COL_FORM, COL_COPIES, COL_REASON, COL_DUE = range(6)
UNSET_DATE_TEXT = "请选择日期"
_GAPS = (MaterialStatus.MISSING, MaterialStatus.DEFECTIVE)


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


class MaterialRow:
    """The inputs of one checklist line."""

    def __init__(self, material: Material, today: date) -> None:
        self.material = material
        self.today = today
        self.status = QComboBox()
        options = [MaterialStatus.RECEIVED, MaterialStatus.MISSING, MaterialStatus.DEFECTIVE]
        if material.deferrable:
            options.append(MaterialStatus.DEFERRED)
        if material.commitment_allowed:
            options.append(MaterialStatus.COMMITTED)
        for status in options:
            self.status.addItem(status.label, status.value)
        self.status.setCurrentIndex(self.status.findData(MaterialStatus.MISSING.value))
        self.form = QComboBox()
        self.form.addItems(list(material.form))
        self.form.setEnabled(len(material.form) > 1)
        self.copies = QSpinBox()
        self.copies.setRange(1, 99)
        self.copies.setValue(material.copies)
        self.reason = QLineEdit()
        self.reason.setMaxLength(200)
        self.due = QDateEdit()
        self.due.setCalendarPopup(True)
        self.due.setDisplayFormat("yyyy-MM-dd")
        # The day before today is the "not chosen" value: a due date must be today or later.
        self.due.setMinimumDate(_qdate(today - timedelta(days=1)))
        self.due.setSpecialValueText(UNSET_DATE_TEXT)
        self.due.setDate(self.due.minimumDate())
        self.status.currentIndexChanged.connect(lambda _i: self.status_changed())
        self.status_changed()

    @property
    def current(self) -> MaterialStatus:
        return MaterialStatus(str(self.status.currentData()))

    def set_status(self, status: MaterialStatus) -> None:
        index = self.status.findData(status.value)
        if index >= 0:
            self.status.setCurrentIndex(index)

    def due_date(self) -> date | None:
        if self.due.date() == self.due.minimumDate():
            return None
        chosen = self.due.date()
        return date(chosen.year(), chosen.month(), chosen.day())

    def status_changed(self) -> None:
        status = self.current
        self.reason.setEnabled(status is MaterialStatus.DEFECTIVE)
        self.reason.setPlaceholderText(
            "写明不符合要求的原因" if status is MaterialStatus.DEFECTIVE else ""
        )
        self.due.setEnabled(status is MaterialStatus.DEFERRED)
        brought = status in (MaterialStatus.RECEIVED, MaterialStatus.DEFECTIVE)
        self.copies.setEnabled(brought)
        self.form.setEnabled(brought and len(self.material.form) > 1)
        mark(self.reason, False)
        mark(self.due, False)

    def widgets(self) -> list[QWidget]:
        return [self.status, self.form, self.copies, self.reason, self.due]

    def to_input(self) -> MaterialInput:
        status = self.current
        brought = status in (MaterialStatus.RECEIVED, MaterialStatus.DEFECTIVE)
        return MaterialInput(
            name=self.material.name,
            status=status,
            copies=self.copies.value() if brought else None,
            form=self.form.currentText() if brought else None,
            due_date=self.due_date() if status is MaterialStatus.DEFERRED else None,
            reason=self.reason.text().strip() if status is MaterialStatus.DEFECTIVE else "",
        )

    def problem(self) -> Problem | None:
        name = self.material.name
        status = self.current
        if status is MaterialStatus.DEFECTIVE and not self.reason.text().strip():
            mark(self.reason, True)
            return Problem(self.reason, f"请写明「{name}」不符合要求的原因")
        if status is MaterialStatus.DEFERRED:
            due = self.due_date()
            if due is None or due < self.today:
                mark(self.due, True)
                return Problem(self.due, f"「{name}」容缺受理，请选择补交日期（不早于今天）")
        return None


class MaterialsTable(QWidget):
    """The checklist with a summary line; "必要材料全部收取" marks the usual case at once."""

    changed = Signal()

    def __init__(self, today: date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.today = today
        self.item: Item | None = None
        self.rows: list[MaterialRow] = []
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        metrics = self.fontMetrics()
        widths = {
            COL_STATUS: "不符合要求▼",
            COL_FORM: "复印件▼",
            COL_COPIES: "99▲▼",
            COL_REASON: "不符合要求的原因 / 说明说明",
            COL_DUE: "2026-12-31▼▼",
        }
        for column, sample in widths.items():
            header.resizeSection(column, metrics.horizontalAdvance(sample) + 30)
        # One line per material: the inputs keep their natural height.
        self.table.verticalHeader().setDefaultSectionSize(QComboBox().sizeHint().height() + 8)
        self.all_button = QPushButton("必要材料全部收取(&A)")
        self.all_button.clicked.connect(self.receive_all_required)
        self.summary = MessageLabel()
        bottom = QHBoxLayout()
        bottom.addWidget(self.summary, 1)
        bottom.addWidget(self.all_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.set_item(None)

    def set_item(self, item: Item | None) -> None:
        self.item = item
        self.rows = []
        self.table.setRowCount(0)
        materials = item.materials if item is not None else ()
        self.table.setRowCount(len(materials))
        for number, material in enumerate(materials):
            row = MaterialRow(material, self.today)
            self.rows.append(row)
            self.table.setItem(number, COL_NAME, self._name_item(material))
            for column, widget in zip(range(COL_STATUS, COL_DUE + 1), row.widgets(), strict=True):
                self.table.setCellWidget(number, column, widget)
            row.status.currentIndexChanged.connect(lambda _i: self._changed())
        self.all_button.setEnabled(bool(materials))
        self._changed()

    def _name_item(self, material: Material) -> QTableWidgetItem:
        flags = [] if material.required else ["非必要"]
        if material.deferrable:
            flags.append("可容缺")
        if material.commitment_allowed:
            flags.append("可告知承诺")
        text = material.name + (f"（{'，'.join(flags)}）" if flags else "")
        cell = QTableWidgetItem(text)
        tip = [material.name, f"份数和规格：{material.copies}份，{material.spec}"]
        if material.source:
            tip.append(f"来源渠道：{material.source}")
        cell.setToolTip("\n".join(tip))
        cell.setTextAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        return cell

    def fields(self) -> list[QWidget]:
        widgets = [w for row in self.rows for w in row.widgets()]
        return [*widgets, self.all_button]

    def receive_all_required(self) -> None:
        for row in self.rows:
            if row.material.required:
                row.set_status(MaterialStatus.RECEIVED)

    def row_of(self, name: str) -> MaterialRow:
        return next(row for row in self.rows if row.material.name == name)

    def current_material(self) -> str:
        """The material of the selected (or focused) line, for attaching a file to it."""
        index = self.table.currentRow()
        return self.rows[index].material.name if 0 <= index < len(self.rows) else ""

    def material_names(self) -> list[str]:
        return [row.material.name for row in self.rows]

    def inputs(self) -> tuple[MaterialInput, ...]:
        return tuple(row.to_input() for row in self.rows)

    def gaps(self) -> list[str]:
        """Required materials still missing or defective: the 一次性告知 will list them."""
        return [r.material.name for r in self.rows if r.material.required and r.current in _GAPS]

    def commitment(self) -> bool:
        return any(row.current is MaterialStatus.COMMITTED for row in self.rows)

    def problems(self) -> list[Problem]:
        return [p for p in (row.problem() for row in self.rows) if p is not None]

    def _changed(self) -> None:
        if not self.rows:
            self.summary.show_message("请先选择事项，这里会列出办事指南中的申请材料。", Level.HINT)
        else:
            self.summary.show_message(*self._summary())
        self.changed.emit()

    def _summary(self) -> tuple[str, Level]:
        statuses = [row.current for row in self.rows]
        parts = "，".join(
            f"{status.label} {statuses.count(status)} 项"
            for status in MaterialStatus
            if status in statuses
        )
        gaps = self.gaps()
        if gaps:
            return (
                f"共 {len(self.rows)} 项：{parts}。必要材料未齐（{len(gaps)} 项），"
                "登记后可出具一次性告知书（F3）。",
                Level.WARNING,
            )
        return f"共 {len(self.rows)} 项：{parts}。必要材料已齐全。", Level.OK
