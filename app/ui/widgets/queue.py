"""A role's case queue: a model that fetches 100 rows at a time, search, state filter, deadline
colours, and a live refresh that notices other desks' changes within seconds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor
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
from app.store.queries import CaseRow
from app.ui.context import UiContext
from app.ui.errors import reporting

PAGE = 100
COLUMNS = ("办件编号", "事项", "申请人", "状态", "期限", "接件时间")
COL_CASE_NO, COL_ITEM, COL_APPLICANT, COL_STATE, COL_DEADLINE, COL_RECEIVED = range(6)
CASE_ID_ROLE = int(Qt.ItemDataRole.UserRole) + 1
# The same states the case view colours: the clock runs, or is paused for a correction.
TIMED_STATES = frozenset(s.value for s in CLOCK_STATES | {CaseState.CORRECTION_REQUIRED})
# (background, text) per deadline status: pale fills keep the text readable in every row.
STATUS_COLOURS: dict[DeadlineStatus, tuple[str, str]] = {
    DeadlineStatus.GREEN: ("#e2f3e4", "#1e6b2c"),
    DeadlineStatus.YELLOW: ("#fff1c2", "#7a5200"),
    DeadlineStatus.RED: ("#fbd9d6", "#a3161a"),
}
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

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._lines)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def canFetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> bool:
        return not parent.isValid() and len(self._lines) < self._total

    def fetchMore(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> None:
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
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == COL_DEADLINE:
            return self._deadline_tip(line)
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
