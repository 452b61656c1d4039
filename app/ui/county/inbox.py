"""The county inbox: 帮代办 cases of every township, a page at a time as the server pages
them, filtered by township, item, county status and deadline; deadlines coloured as in the
township queues. The widget only shows pages: the workspace fetches them off the UI thread."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.calendar import DeadlineStatus, WorkCalendar, deadline_status
from app.ui.county.dialogs import date_edit
from app.ui.widgets.queue import STATUS_COLOURS, case_table
from sync.client.county_staff import InboxQuery
from sync.protocol_county import CasePage, CaseSummary, CountyStatus, TownshipStats

COLUMNS = ("乡镇", "办件编号", "事项", "状态", "办理期限", "移交日期")
COL_TOWN, COL_CASE_NO, COL_ITEM, COL_STATUS, COL_DEADLINE, COL_HANDED = range(6)
# The clock runs while the county holds the case; 补正期间不计时 while the township corrects.
TIMED = frozenset({CountyStatus.HANDED_OFF, CountyStatus.SIGNED, CountyStatus.SUPPLEMENTED})
_ROOT = QModelIndex()


@dataclass(frozen=True)
class InboxLine:
    case: CaseSummary
    status: DeadlineStatus | None


def deadline_text(line: InboxLine) -> str:
    deadline = line.case.deadline
    if deadline is None:
        return "即办"
    if line.case.status is CountyStatus.CORRECTION:
        return f"{deadline.isoformat()} 补正暂停计时"
    label = f" {line.status.label}" if line.status is not None else ""
    return deadline.isoformat() + label


class InboxModel(QAbstractTableModel):
    """One page of the county inbox."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lines: list[InboxLine] = []

    def set_page(self, page: CasePage, today: date, calendar: WorkCalendar) -> None:
        self.beginResetModel()
        self.lines = [
            InboxLine(
                c,
                deadline_status(calendar, today, c.deadline)
                if c.deadline and c.status in TIMED
                else None,
            )
            for c in page.cases
        ]
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self.lines)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def row_of(self, case_uuid: str) -> int | None:
        for number, line in enumerate(self.lines):
            if str(line.case.case_uuid) == case_uuid:
                return number
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or index.row() >= len(self.lines):
            return None
        line = self.lines[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(line, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tip(line, column)
        if column == COL_DEADLINE and line.status is not None:
            background, foreground = STATUS_COLOURS[line.status]
            if role == Qt.ItemDataRole.BackgroundRole:
                return QColor(background)
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor(foreground)
        return None

    @staticmethod
    def _text(line: InboxLine, column: int) -> str:
        case = line.case
        texts = {
            COL_TOWN: case.township_name or case.township,
            COL_CASE_NO: case.case_no,
            COL_ITEM: case.item_name,
            COL_STATUS: case.status.label,
            COL_DEADLINE: deadline_text(line),
            COL_HANDED: case.handed_off_on.isoformat(),
        }
        return texts[column]

    @staticmethod
    def _tip(line: InboxLine, column: int) -> str:
        case = line.case
        if column == COL_TOWN:
            return f"{case.township_name}（{case.township}）"
        if column == COL_ITEM:
            return f"{case.item_name}（{case.item_code}）"
        if column == COL_STATUS:
            return f"县级最近更新：{case.updated_at:%Y-%m-%d %H:%M}"
        return InboxModel._text(line, column)


def _combo(first: str) -> QComboBox:
    combo = QComboBox()
    combo.addItem(first, None)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    return combo


class InboxView(QWidget):
    """Filters, the table and the pager. `queryChanged` when a filter changes, `pageWanted`
    with the offset to show, `caseSelected` with the chosen case's UUID."""

    queryChanged = Signal()
    pageWanted = Signal(int)
    caseSelected = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, today: date) -> None:
        super().__init__(parent)
        self.model = InboxModel(self)
        self.offset, self.limit, self.total = 0, 50, 0
        self._restoring = False
        self.township_combo = _combo("全部乡镇")
        self.item_combo = _combo("全部事项")
        self.status_combo = _combo("全部状态")
        for status in CountyStatus:
            self.status_combo.addItem(status.label, status.value)
        self.due_check = QCheckBox("到期日不晚于(&D)")
        self.due_edit = date_edit(today)
        self.due_edit.setEnabled(False)
        self.table = self._table()
        self.prev_button = QPushButton("上一页(&P)")
        self.next_button = QPushButton("下一页(&N)")
        self.page_label = QLabel()
        self.prev_button.clicked.connect(lambda: self.pageWanted.emit(self.offset - self.limit))
        self.next_button.clicked.connect(lambda: self.pageWanted.emit(self.offset + self.limit))
        for combo in (self.township_combo, self.item_combo, self.status_combo):
            combo.currentIndexChanged.connect(lambda _i: self.queryChanged.emit())
        self.due_check.toggled.connect(self._due_toggled)
        self.due_edit.dateChanged.connect(lambda _d: self._due_changed())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self._filters())
        layout.addWidget(self.table, 1)
        pager = QHBoxLayout()
        pager.addWidget(self.page_label, 1)
        pager.addWidget(self.prev_button)
        pager.addWidget(self.next_button)
        layout.addLayout(pager)
        self._show_pager()

    def _filters(self) -> QHBoxLayout:
        row = QHBoxLayout()
        for text, combo in (
            ("乡镇(&T)：", self.township_combo),
            ("事项(&M)：", self.item_combo),
            ("状态(&Z)：", self.status_combo),
        ):
            label = QLabel(text)
            label.setBuddy(combo)
            row.addWidget(label)
            row.addWidget(combo)
        row.addWidget(self.due_check)
        row.addWidget(self.due_edit)
        row.addStretch(1)
        self.item_combo.setMaximumWidth(self.fontMetrics().horizontalAdvance("字") * 16)
        return row

    def _table(self) -> QTableView:
        samples = {
            COL_TOWN: "青禾镇镇",
            COL_CASE_NO: "370999101-A1-20261116-0001",
            COL_STATUS: "已办结待送达",
            COL_DEADLINE: "2026-11-16 补正暂停计时",
            COL_HANDED: "2026-11-16",
        }
        table = case_table(self.model, samples, COL_ITEM)
        table.selectionModel().currentRowChanged.connect(self._current_changed)
        return table

    # --- filters ------------------------------------------------------------------------

    def _due_toggled(self, checked: bool) -> None:
        self.due_edit.setEnabled(checked)
        self.queryChanged.emit()

    def _due_changed(self) -> None:
        if self.due_check.isChecked():
            self.queryChanged.emit()

    def query(self) -> InboxQuery:
        status = self.status_combo.currentData()
        due = self.due_edit.date()
        return InboxQuery(
            township=self.township_combo.currentData(),
            item_code=self.item_combo.currentData(),
            status=CountyStatus(status) if status else None,
            due_before=date(due.year(), due.month(), due.day())
            if self.due_check.isChecked()
            else None,
        )

    def set_townships(self, towns: list[TownshipStats]) -> None:
        """The township filter from the county's list; the choice made is kept."""
        self._refill(
            self.township_combo, [(f"{t.name}（{t.township}）", t.township) for t in towns]
        )

    def add_items(self, items: dict[str, str]) -> None:
        """Items (code → name) to filter by: those known locally and those seen in the inbox."""
        known = {self.item_combo.itemData(i) for i in range(1, self.item_combo.count())}
        fresh = {code: name for code, name in items.items() if code not in known}
        if not fresh:
            return
        current = [(self.item_combo.itemText(i), self.item_combo.itemData(i))
                   for i in range(1, self.item_combo.count())]  # fmt: skip
        choices = current + [(f"{name}（{code}）", code) for code, name in fresh.items()]
        self._refill(self.item_combo, sorted(choices))

    def _refill(self, combo: QComboBox, choices: list[tuple[str, str]]) -> None:
        chosen = combo.currentData()
        combo.blockSignals(True)
        while combo.count() > 1:
            combo.removeItem(1)
        for text, value in choices:
            combo.addItem(text, value)
        combo.setCurrentIndex(max(0, combo.findData(chosen)))
        combo.blockSignals(False)
        if combo.currentData() != chosen:
            self.queryChanged.emit()  # the chosen township is gone: the filter changed

    # --- pages --------------------------------------------------------------------------

    def show_page(self, page: CasePage, today: date, calendar: WorkCalendar) -> None:
        """Show a page, keeping the selected case selected if it is still on it."""
        selected = self.selected_uuid()
        self.offset, self.limit, self.total = page.offset, page.limit, page.total
        self.model.set_page(page, today, calendar)
        self.add_items({c.item_code: c.item_name for c in page.cases})
        self._show_pager()
        row = self.model.row_of(selected) if selected else None
        if row is not None:
            self._restoring = True
            self.table.selectRow(row)
            self._restoring = False

    def _show_pager(self) -> None:
        pages = max(1, -(-self.total // self.limit))
        current = self.offset // self.limit + 1
        self.page_label.setText(f"第 {current} / {pages} 页，共 {self.total} 件")
        self.prev_button.setEnabled(self.offset > 0)
        self.next_button.setEnabled(self.offset + self.limit < self.total)

    def selected_uuid(self) -> str | None:
        index = self.table.currentIndex()
        if not index.isValid() or index.row() >= len(self.model.lines):
            return None
        return str(self.model.lines[index.row()].case.case_uuid)

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and not self._restoring:
            self.caseSelected.emit(str(self.model.lines[current.row()].case.case_uuid))

    def focus_filters(self) -> None:
        self.township_combo.setFocus()
