"""The documents issued for a case, with reprint (the same number, the same file)."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.services import documents
from app.ui.context import UiContext
from app.ui.errors import reporting
from app.ui.widgets.actions import print_document


class DocumentsBox(QWidget):
    """文书 of one case: kind, number, who, when; 补打 reprints the selected one."""

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.case_id: int | None = None
        self.rows: list[documents.DocumentInfo] = []
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["文书", "文书编号", "出具人", "时间"])
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.reprint_button = QPushButton("补打所选文书(&P)")
        self.reprint_button.clicked.connect(self.reprint)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.reprint_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)

    def show_case(self, case_id: int | None) -> None:
        self.case_id = case_id
        self.rows = []
        if case_id is not None:
            with reporting(self):
                self.rows = documents.list_for_case(self.ctx.actor, case_id)
        self.table.setRowCount(len(self.rows))
        for row, info in enumerate(self.rows):
            when = (
                info.issued_at.strftime("%Y-%m-%d %H:%M")
                if hasattr(info.issued_at, "strftime")
                else ""
            )
            for column, text in enumerate((info.title, info.number, info.issued_by, when)):
                self.table.setItem(row, column, QTableWidgetItem(text))
        self.reprint_button.setEnabled(bool(self.rows))

    def reprint(self) -> None:
        row = self.table.currentRow()
        if self.case_id is None or not 0 <= row < len(self.rows):
            return
        print_document(self, self.ctx, self.rows[row].kind, case_id=self.case_id)
