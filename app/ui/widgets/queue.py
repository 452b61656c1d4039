"""A role's case queue: a model that fetches 100 rows at a time, search, state filter, deadline
colours, and a live refresh that notices other desks' changes within seconds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.domain.calendar import DeadlineStatus, deadline_status
from app.domain.queues import ROLE_QUEUES
from app.domain.states import CLOCK_STATES, CaseState
from app.services import case_view
from app.ui.context import UiContext
from app.ui.errors import reporting

if TYPE_CHECKING:
    from app.store.queries import CaseRow

PAGE = 100
COLUMNS = ("办件编号", "事项", "申请人", "状态", "期限", "接件时间")
COL_CASE_NO, COL_ITEM, COL_APPLICANT, COL_STATE, COL_DEADLINE, COL_RECEIVED = range(6)
CASE_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1
# The same states the case view colours: the clock runs, or is paused for a correction.
# 补正期间不计时: a case waiting for materials gets no colour, its clock is stopped.
TIMED_STATES = frozenset(s.value for s in CLOCK_STATES)
# (background, text) per deadline status: pale fills keep the text readable in every row.
STATUS_COLOURS: dict[DeadlineStatus, tuple[str, str]] = {
    DeadlineStatus.GREEN: ("#e2f3e4", "#1e6b2c"),
    DeadlineStatus.YELLOW: ("#fff1c2", "#7a5200"),
    DeadlineStatus.RED: ("#fbd9d6", "#a3161a"),
}
# The invisible root: a flat table has rows only under it.
_ROOT = QModelIndex()
QUEUE_CHOICE = ""
ALL_CHOICE = "*"


@dataclass(frozen=True)
class QueueLine:
    row: CaseRow
    status: DeadlineStatus | None


def deadline_text(line: QueueLine) -> str:
    row = line.row
    if row.deadline is None:
        return ""
    text = row.deadline.isoformat()
    if row.deadline_provisional:
        text += " 暂定"
    if row.state == CaseState.CORRECTION_REQUIRED.value:
        # 补正期间不计时: the date moves by the paused working days when materials arrive.
        return text + " 补正暂停计时"
    if line.status is not None:
        text += f" {line.status.label}"
    return text


class CaseQueueModel(QAbstractTableModel):
    """Rows come page by page as the view scrolls (canFetchMore/fetchMore); never all rows."""

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._lines: list[QueueLine] = []
        self._total = 0
        self._urgent = True
        self._filter = case_view.queue_filter(ctx.rt, ctx.actor)

    @property
    def total(self) -> int:
        """How many cases match, loaded or not."""
        return self._total

    def set_query(self, *, states: tuple[CaseState, ...] | None = None, search: str = "") -> None:
        """The role's queue (states None), or chosen states; narrowed by a search text."""
        self._filter = case_view.queue_filter(
            self.ctx.rt, self.ctx.actor, states=states, search=search
        )
        # A work queue is worked most urgent first; a search wants the newest first.
        self._urgent = states is None and not search.strip()
        self.reload()

    def reload(self, keep: int = PAGE) -> None:
        """Read the first `keep` rows again (at least one page)."""
        self.beginResetModel()
        self._total = case_view.queue_count(self._filter)
        self._lines = []
        wanted = min(max(PAGE, keep), self._total)
        while len(self._lines) < wanted:
            page = self._page(len(self._lines), min(PAGE * 5, wanted - len(self._lines)))
            if not page:
                break
            self._lines.extend(page)
        self.endResetModel()

    def _page(self, offset: int, limit: int) -> list[QueueLine]:
        rows = case_view.queue_page(self._filter, offset, limit, urgent=self._urgent)
        today, calendar = self.ctx.rt.today(), self.ctx.rt.calendar
        return [
            QueueLine(
                r,
                deadline_status(calendar, today, r.deadline)
                if r.deadline and r.state in TIMED_STATES
                else None,
            )
            for r in rows
        ]

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(self._lines)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> bool:
        return not parent.isValid() and len(self._lines) < self._total

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = _ROOT) -> None:
        if parent.isValid():
            return
        page = self._page(len(self._lines), PAGE)
        if not page:
            # Cases left the queue since it was counted: stop asking for more.
            self._total = len(self._lines)
            return
        first = len(self._lines)
        self.beginInsertRows(QModelIndex(), first, first + len(page) - 1)
        self._lines.extend(page)
        self.endInsertRows()

    def line(self, row: int) -> QueueLine:
        return self._lines[row]

    def case_id(self, row: int) -> int:
        return self._lines[row].row.id

    def row_of(self, case_id: int) -> int | None:
        """The loaded row showing `case_id`, if it is loaded."""
        for number, line in enumerate(self._lines):
            if line.row.id == case_id:
                return number
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = 0) -> Any:
        if not index.isValid() or index.row() >= len(self._lines):
            return None
        line = self._lines[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(line, index.column())
        if role == CASE_ID_ROLE:
            return line.row.id
        if index.column() == COL_DEADLINE and line.status is not None:
            background, foreground = STATUS_COLOURS[line.status]
            if role == Qt.ItemDataRole.BackgroundRole:
                return QColor(background)
            if role == Qt.ItemDataRole.ForegroundRole:
                return QColor(foreground)
        if role == Qt.ItemDataRole.ToolTipRole:
            if index.column() == COL_DEADLINE:
                return self._deadline_tip(line)
            if index.column() == COL_ITEM:
                return line.row.item_name
        return None

    def _text(self, line: QueueLine, column: int) -> str:
        row = line.row
        if column == COL_CASE_NO:
            return row.case_no
        if column == COL_ITEM:
            return row.item_name
        if column == COL_APPLICANT:
            return row.applicant_name
        if column == COL_STATE:
            return CaseState(row.state).label
        if column == COL_DEADLINE:
            return deadline_text(line)
        return row.received_at.strftime("%Y-%m-%d %H:%M")

    def _deadline_tip(self, line: QueueLine) -> str:
        row = line.row
        if row.deadline is None:
            return "尚未受理，没有办理期限"
        note = "（节假日安排缺失，按周一至周五暂定）" if row.deadline_provisional else ""
        if line.status is DeadlineStatus.RED:
            return f"已超过办理期限 {row.deadline.isoformat()}{note}"
        if line.status is None:
            return f"办理期限 {row.deadline.isoformat()}{note}"
        left = self.ctx.rt.calendar.remaining_working_days(self.ctx.rt.today(), row.deadline)
        return f"还剩 {left} 个工作日{note}"


def case_table(model: QAbstractTableModel, samples: dict[int, str], stretch: int) -> QTableView:
    """A read-only list of cases, one row selected at a time; column widths from sample texts
    (so they follow the font), the `stretch` column taking the rest."""
    table = QTableView()
    table.setModel(model)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.verticalHeader().setVisible(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 10)
    header = table.horizontalHeader()
    header.setHighlightSections(False)
    metrics = table.fontMetrics()
    for column, sample in samples.items():
        header.resizeSection(column, metrics.horizontalAdvance(sample) + 18)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    header.setMinimumSectionSize(metrics.horizontalAdvance("0") * 6)
    return table


class QueueWidget(QWidget):
    """Search box, state filter, count, and the table; emits the case the clerk picks."""

    caseActivated = Signal(int)
    caseSelected = Signal(int)
    refreshed = Signal()

    def __init__(
        self, ctx: UiContext, parent: QWidget | None = None, *, poll_ms: int = 3000
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._restoring = False
        self.model = CaseQueueModel(ctx, self)
        self.search_edit = QLineEdit()
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setPlaceholderText("办件编号、姓名、手机或证件号后4位、完整号码（Ctrl+F）")
        self.state_combo = QComboBox()
        self._fill_states()
        self.count_label = QLabel()
        self.table = self._make_table()
        top = QHBoxLayout()
        search_label = QLabel("查找(&S)：")
        search_label.setBuddy(self.search_edit)
        top.addWidget(search_label)
        top.addWidget(self.search_edit, 1)
        top.addWidget(self.state_combo)
        top.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self.setTabOrder(self.search_edit, self.state_combo)
        self.setTabOrder(self.state_combo, self.table)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(300)
        self._debounce.timeout.connect(self.apply_query)
        self.search_edit.textChanged.connect(lambda _text: self._debounce.start())
        self.search_edit.returnPressed.connect(self._search_now)
        self.state_combo.currentIndexChanged.connect(lambda _index: self.apply_query())
        self._token = case_view.queue_changed_token(ctx.actor)
        self.apply_query()
        self.poll_timer = QTimer(self)
        self.poll_timer.timeout.connect(self.poll)
        self.poll_timer.start(poll_ms)

    def _fill_states(self) -> None:
        if self.ctx.actor.role in ROLE_QUEUES:
            self.state_combo.addItem("本岗位待办", QUEUE_CHOICE)
        self.state_combo.addItem("全部办件", ALL_CHOICE)
        for state in CaseState:
            self.state_combo.addItem(state.label, state.value)

    def _make_table(self) -> QTableView:
        samples = {
            COL_CASE_NO: "370999101-A1-20261116-0001",
            COL_APPLICANT: "欧阳娜娜",
            COL_STATE: "已办结待出件",
            COL_DEADLINE: "2026-11-16 暂定 超期",
            COL_RECEIVED: "2026-11-16 09:30",
        }
        table = case_table(self.model, samples, COL_ITEM)
        table.activated.connect(self._activated)
        table.selectionModel().currentRowChanged.connect(self._current_changed)
        return table

    def _states(self) -> tuple[CaseState, ...] | None:
        choice = self.state_combo.currentData()
        if choice == QUEUE_CHOICE:
            return None
        if choice == ALL_CHOICE:
            return tuple(CaseState)
        return (CaseState(choice),)

    def apply_query(self) -> None:
        """Run the search and state filter now."""
        self._debounce.stop()
        with reporting(self):
            self.model.set_query(states=self._states(), search=self.search_edit.text())
        self._show_count()

    def _search_now(self) -> None:
        self.apply_query()
        if self.model.rowCount() > 0:
            self.table.setFocus()
            self.table.selectRow(0)

    def _show_count(self) -> None:
        self.count_label.setText(f"共 {self.model.total} 件")

    def focus_search(self) -> None:
        self.search_edit.setFocus()
        self.search_edit.selectAll()

    def selected_case_id(self) -> int | None:
        index = self.table.currentIndex()
        return self.model.case_id(index.row()) if index.isValid() else None

    def poll(self) -> None:
        """Reload when a case this account can see changed anywhere (another desk).

        A hidden queue (a closed window, a tab not shown) does not ask; it catches up as
        soon as it is shown again."""
        if self.ctx.session.locked or not self.isVisible():
            return
        with reporting(self):
            token = case_view.queue_changed_token(self.ctx.actor)
            if token != self._token:
                self._token = token
                self.refresh()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.poll()

    def refresh(self) -> None:
        """Read the rows again, keeping how far the list was scrolled and the selected case."""
        selected = self.selected_case_id()
        scroll = self.table.verticalScrollBar().value()
        with reporting(self):
            self._token = case_view.queue_changed_token(self.ctx.actor)
            self.model.reload(keep=self.model.rowCount())
        self._show_count()
        row = self.model.row_of(selected) if selected is not None else None
        if row is not None:
            # The same case stays selected: no caseSelected, the view did not change case.
            self._restoring = True
            self.table.setCurrentIndex(self.model.index(row, 0))
            self.table.selectRow(row)
            self._restoring = False
        self.table.verticalScrollBar().setValue(scroll)
        self.refreshed.emit()

    def _activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.caseActivated.emit(self.model.case_id(index.row()))

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid() and not self._restoring:
            self.caseSelected.emit(self.model.case_id(current.row()))
