"""办件统计 .xlsx: one formatted sheet per breakdown, each closed by a 合计 row, from plain data."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from reports.statistics import TOTAL_LABEL, Breakdown, StatsReport

OVERVIEW_SHEET = "概览"
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
TOTAL_FONT = Font(bold=True)
TOTAL_FILL = PatternFill("solid", fgColor="DDEBF7")
_THIN = Side(style="thin", color="A6A6A6")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
PERCENT_FORMAT = "0.0%"
# Excel measures column width in "0" characters; a CJK glyph is about two of them.
MAX_WIDTH = 60


def display_width(value: Any) -> int:
    """Width of a cell's text in Excel character units (CJK and full-width count double)."""
    text = f"{value:.1%}" if isinstance(value, float) else "" if value is None else str(value)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _fit_columns(ws: Worksheet, rows: Sequence[Sequence[Any]]) -> None:
    """Each column as wide as its widest text; past MAX_WIDTH the column wraps instead."""
    widths: dict[int, int] = {}
    for row in rows:
        for index, value in enumerate(row, start=1):
            widths[index] = max(widths.get(index, 0), display_width(value))
    for index, width in widths.items():
        # Bold header text and the cell margins need a little more than the glyphs.
        ws.column_dimensions[get_column_letter(index)].width = min(width + 4, MAX_WIDTH)
        if width + 4 > MAX_WIDTH:
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.alignment = Alignment(wrap_text=True, vertical="center")


def _fill_sheet(ws: Worksheet, header: Sequence[str], body: Sequence[Sequence[Any]]) -> None:
    """Header row (bold, filled, frozen), the body, then the last body row styled as 合计."""
    ws.append(list(header))
    for row in body:
        ws.append(list(row))
    for cell in ws[1]:
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for row_cells in ws.iter_rows(min_row=1, max_row=ws.max_row):
        for cell in row_cells:
            cell.border = BORDER
            if isinstance(cell.value, float):
                cell.number_format = PERCENT_FORMAT
    for cell in ws[ws.max_row]:
        cell.font = TOTAL_FONT
        cell.fill = TOTAL_FILL
    ws.freeze_panes = "A2"
    _fit_columns(ws, [header, *body])


def overview_rows(report: StatsReport) -> list[list[Any]]:
    """The 概览 sheet: what, when, the headline numbers, and 合计 = cases received."""
    rows: list[list[Any]] = [
        ["报表名称", report.title, ""],
        ["统计乡镇", report.township_name, ""],
        ["统计期间", report.period_label, f"{report.period_range}，按接件日期统计"],
        ["生成时间", f"{report.generated_at:%Y-%m-%d %H:%M}", ""],
    ]
    rows += [[label, count, note] for label, count, note in report.headline()]
    rows.append([TOTAL_LABEL, report.total, "本期接件总数，各分表的合计均与此相等"])
    return rows


def breakdown_rows(report: StatsReport, breakdown: Breakdown) -> list[list[Any]]:
    """Label, count and share of every row (remainder included), then 合计."""
    rows: list[list[Any]] = [
        [label, count, report.share(count)] for label, count in breakdown.full_rows(report.total)
    ]
    rows.append([TOTAL_LABEL, report.total, 1.0 if report.total else 0.0])
    return rows


def build_workbook(report: StatsReport) -> Workbook:
    wb = Workbook()
    overview = wb.active
    assert overview is not None  # a new workbook always has one sheet
    overview.title = OVERVIEW_SHEET
    _fill_sheet(overview, ["项目", "数值", "说明"], overview_rows(report))
    for breakdown in report.breakdowns():
        ws = wb.create_sheet(breakdown.name)
        _fill_sheet(ws, [breakdown.column, "件数", "占比"], breakdown_rows(report, breakdown))
    wb.properties.title = report.title
    wb.properties.creator = "不见面小系统"
    # Stable metadata: the same report gives the same workbook properties.
    wb.properties.created = report.generated_at
    wb.properties.modified = report.generated_at
    return wb


def write_xlsx(report: StatsReport, out: IO[bytes]) -> None:
    """Write the workbook to a binary file object."""
    build_workbook(report).save(out)
