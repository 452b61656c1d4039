"""Per-township figures of the county window: cases by county status and the overdue ones."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.calendar import DeadlineStatus
from app.ui.widgets.queue import STATUS_COLOURS
from sync.protocol_county import CountyStatus, TownshipStats

HEADERS = ("乡镇", "合计", *(s.label for s in CountyStatus), "逾期")
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
NOTE = "逾期：县级尚未办结（待签收、已签收、已补正待审）且已超过办结期限的办件。"


class StatsView(QWidget):
    """One row per township and a county total; overdue counts in red."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(list(HEADERS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        # Figures share the width evenly; the township column takes what its names need.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.updated_label = QLabel("尚未读取")
        note = QLabel(NOTE)
        note.setWordWrap(True)
        note.setStyleSheet("color: #5f6368;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.updated_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(note)

    def show_stats(self, towns: list[TownshipStats], at: datetime) -> None:
        rows = [self._row(f"{t.name}（{t.township}）", t.total, t.by_status, t.overdue)
                for t in towns]  # fmt: skip
        totals = {s: sum(t.by_status.get(s, 0) for t in towns) for s in CountyStatus}
        total, overdue = sum(t.total for t in towns), sum(t.overdue for t in towns)
        rows.append(self._row("全县合计", total, totals, overdue))
        self.table.setRowCount(len(rows))
        bold = QFont(self.table.font())
        bold.setBold(True)
        red = [QColor(c) for c in STATUS_COLOURS[DeadlineStatus.RED]]
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                if c > 0:
                    item.setTextAlignment(RIGHT)
                if r == len(rows) - 1:
                    item.setFont(bold)
                if c == len(values) - 1 and value != "0":
                    item.setBackground(red[0])
                    item.setForeground(red[1])
                self.table.setItem(r, c, item)
        self.updated_label.setText(f"共 {len(towns)} 个乡镇，数据读取于 {at:%Y-%m-%d %H:%M}")

    @staticmethod
    def _row(name: str, total: int, by_status: dict[CountyStatus, int], overdue: int) -> list[str]:
        return [name, str(total), *(str(by_status.get(s, 0)) for s in CountyStatus), str(overdue)]
