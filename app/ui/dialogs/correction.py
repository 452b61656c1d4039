"""一次性告知 at the window: every missing or defective material with the reason the applicant
reads, and one due date — all gaps at once, so nobody has to come back twice for the same case."""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from app.domain.errors import ValidationError
from app.services.case_view import CaseDetail
from app.services.intake_support import GapLine, gap_lines
from app.ui.dialogs.decision import ActionDialog, Submit, case_summary

COL_NAME, COL_STATE, COL_REASON = range(3)
NOTE = "一次性告知：须把需要补正的材料一次全部列明。缺少或不符合要求的必要材料已勾选。"


def _state_text(line: GapLine) -> str:
    return f"{line.status.label}（{'必要' if line.required else '非必要'}）"


class CorrectionDialog(ActionDialog):
    """Tick each material to bring (the gaps are ticked already), edit the reason, set the
    due date; OK takes the action and the workspace prints the 补正材料通知书."""

    def __init__(
        self,
        detail: CaseDetail,
        submit: Submit,
        parent: QWidget | None = None,
        *,
        today: date,
        due: date,
    ) -> None:
        super().__init__("一次性告知补正材料", submit, parent, ok_text="出具一次性告知书")
        self.lines = gap_lines(detail)
        self.hint_label.setText("空格勾选，直接输入改写原因；Enter 确定，Esc 取消")
        self.table = self._table()
        self.all_button = QPushButton("勾选全部缺口(&G)")
        self.all_button.clicked.connect(self.check_gaps)
        self.due_edit = QDateEdit(QDate(due.year, due.month, due.day))
        self.due_edit.setCalendarPopup(True)
        self.due_edit.setDisplayFormat("yyyy-MM-dd")
        self.due_edit.setMinimumDate(QDate(today.year, today.month, today.day))
        note = QLabel(NOTE)
        note.setWordWrap(True)
        note.setStyleSheet("color: #5f6368;")
        due_row = QHBoxLayout()
        due_row.addWidget(self.due_edit)
        due_row.addStretch(1)
        due_row.addWidget(self.all_button)
        self.fields.update(missing=self.table, due_date=self.due_edit)
        self.form.addRow("办件：", case_summary(detail))
        self.form.addRow("", note)
        self.form.addRow("补正材料(&M)：", self.table)
        due_label = QLabel("补正期限(&D)：")
        due_label.setBuddy(self.due_edit)  # a row holding a layout gets no buddy by itself
        self.form.addRow(due_label, due_row)
        self.setTabOrder(self.table, self.due_edit)
        self.setTabOrder(self.due_edit, self.all_button)
        self.resize(800, self.sizeHint().height())
        self.table.setFocus()
        self.table.setCurrentCell(0, COL_NAME)

    def _table(self) -> QTableWidget:
        table = QTableWidget(len(self.lines), 3)
        table.setHorizontalHeaderLabels(["材料", "接件时情况", "补正原因（写入告知书）"])
        table.verticalHeader().setVisible(False)
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectItems)
        table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        header = table.horizontalHeader()
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_STATE, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(COL_REASON, QHeaderView.ResizeMode.Stretch)
        for row, line in enumerate(self.lines):
            name = QTableWidgetItem(line.name)
            name.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
            name.setCheckState(Qt.CheckState.Checked if line.gap else Qt.CheckState.Unchecked)
            name.setToolTip(line.name)
            state = QTableWidgetItem(_state_text(line))
            state.setFlags(Qt.ItemFlag.ItemIsEnabled)
            table.setItem(row, COL_NAME, name)
            table.setItem(row, COL_STATE, state)
            table.setItem(row, COL_REASON, QTableWidgetItem(line.reason if line.gap else ""))
        rows = max(4, min(len(self.lines), 8))
        table.setMinimumHeight(table.verticalHeader().defaultSectionSize() * (rows + 1) + 4)
        return table

    def _cell(self, row: int, column: int) -> QTableWidgetItem:
        cell = self.table.item(row, column)
        assert cell is not None  # every cell was filled when the table was built
        return cell

    def row_of(self, name: str) -> int:
        return next(n for n, line in enumerate(self.lines) if line.name == name)

    def set_checked(self, name: str, checked: bool, reason: str | None = None) -> None:
        row = self.row_of(name)
        state = Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        self._cell(row, COL_NAME).setCheckState(state)
        if reason is not None:
            self._cell(row, COL_REASON).setText(reason)

    def check_gaps(self) -> None:
        """Tick every gap again (after the clerk unticked one by mistake)."""
        for row, line in enumerate(self.lines):
            if line.gap:
                self._cell(row, COL_NAME).setCheckState(Qt.CheckState.Checked)
                reason = self._cell(row, COL_REASON)
                if not reason.text().strip():
                    reason.setText(line.reason)

    def values(self) -> dict[str, Any]:
        missing, unlisted = [], []
        for row, line in enumerate(self.lines):
            checked = self._cell(row, COL_NAME).checkState() == Qt.CheckState.Checked
            reason = self._cell(row, COL_REASON).text().strip()
            if checked:
                if not reason:
                    raise ValidationError(f"请写明「{line.name}」需要补正的原因", field="missing")
                missing.append({"name": line.name, "reason": reason})
            elif line.gap and line.required:
                unlisted.append(line.name)
        if unlisted:
            raise ValidationError(
                "一次性告知须列明全部需补正的材料，以下材料尚未勾选：" + "、".join(unlisted),
                field="missing",
            )
        if not missing:
            raise ValidationError("请勾选申请人需要补正的材料", field="missing")
        due = self.due_edit.date()
        return {"missing": missing, "due_date": date(due.year(), due.month(), due.day())}


def main() -> int:
    """Preview: the dialog for a demo case just received; nothing is saved."""
    from app.domain.states import CaseState
    from app.services import case_view, intake_support
    from app.ui.application import make_app
    from app.ui.context import preview_context, preview_data

    app = make_app(sys.argv)
    data = preview_data(cases=60)
    ctx = preview_context(data, "window1", "A1")
    scope = case_view.queue_filter(data.rt, ctx.actor, states=(CaseState.RECEIVED,))
    [row] = case_view.queue_page(scope, 0, 1)
    detail = case_view.get_case(data.rt, ctx.actor, row.id)
    due = intake_support.default_correction_due(data.rt)
    dialog = CorrectionDialog(detail, print, today=data.rt.today(), due=due)
    dialog.show()
    code = app.exec()
    data.rt.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
