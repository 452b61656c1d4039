"""办件统计 PDF: headline numbers, charts and one table per breakdown, from plain data."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import IO, Any
from xml.sax.saxutils import escape

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.piecharts import Pie
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from reports.fonts import FontSet, register_fonts
from reports.styles import TABLE_SIZE, styles

Row = tuple[str, int]
TOTAL_LABEL = "合计"
PAGE_WIDTH = A4[0]
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = 20 * mm, 18 * mm, 20 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
BAR_COLOR = colors.HexColor("#2E75B6")
PIE_COLORS = (colors.HexColor("#2E75B6"), colors.HexColor("#ED7D31"))
# 非常满意 … 非常不满意: green through red, so the eye reads the chart before the labels.
RATING_COLORS = ("#2E7D32", "#7CB342", "#FBC02D", "#F57C00", "#C62828")
HEADER_BG = colors.HexColor("#DDEBF7")
GRID = colors.HexColor("#A6A6A6")
CHART_FONT_SIZE = 8
KEEP_WHOLE_ROWS = 15  # tables up to this many rows are never split across pages


@dataclass(frozen=True)
class Breakdown:
    """One breakdown: its sheet/section name, the label column, and its counted rows."""

    name: str
    column: str
    rows: Sequence[Row]
    remainder: str  # label for the cases that no row covers (e.g. not yet issued)

    def full_rows(self, total: int) -> list[Row]:
        """The rows plus a remainder row, so that they always add up to `total`."""
        rest = total - sum(n for _, n in self.rows)
        return [*self.rows, *([(self.remainder, rest)] if rest > 0 else [])]


@dataclass(frozen=True)
class StatsReport:
    """Statistics for cases received in [start, end), with Chinese labels already applied."""

    township_name: str
    start: date
    end: date  # exclusive
    generated_at: datetime
    total: int
    overdue_open: int = 0
    near_due_open: int = 0
    finished_late: int = 0
    complaints: int = 0
    by_desk: list[Row] = field(default_factory=list)
    by_item: list[Row] = field(default_factory=list)
    by_station: list[Row] = field(default_factory=list)
    by_state: list[Row] = field(default_factory=list)
    by_kind: list[Row] = field(default_factory=list)
    by_issue_method: list[Row] = field(default_factory=list)
    ratings: list[Row] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        for breakdown in self.breakdowns():
            if sum(n for _, n in breakdown.rows) > self.total:
                raise ValueError(f"breakdown {breakdown.name} counts more than the total")

    @property
    def period_label(self) -> str:
        return period_label(self.start, self.end)

    @property
    def period_range(self) -> str:
        return f"{self.start:%Y-%m-%d} 至 {self.end - timedelta(days=1):%Y-%m-%d}"

    @property
    def title(self) -> str:
        return f"{self.township_name}便民服务中心办件统计（{self.period_label}）"

    def share(self, count: int) -> float:
        return count / self.total if self.total else 0.0

    def headline(self) -> list[tuple[str, int, str]]:
        """Label, count and an explanation of each headline number besides the total."""
        return [
            ("在办超期", self.overdue_open, "本期接件中尚未办结且已过办理期限"),
            ("临近期限", self.near_due_open, "本期接件中尚未办结、剩余不超过2个工作日"),
            ("超期办结", self.finished_late, "办结日期晚于办理期限"),
            ("投诉", self.complaints, "本期收到的投诉"),
        ]

    def breakdowns(self) -> list[Breakdown]:
        return [
            Breakdown("按窗口", "窗口", self.by_desk, "未记录窗口"),
            Breakdown("按事项", "事项名称", self.by_item, "未记录事项"),
            Breakdown("按站办所", "站办所", self.by_station, "县级事项（帮代办）"),
            Breakdown("按状态", "办件状态", self.by_state, "未记录状态"),
            Breakdown("即办承诺", "办件类型", self.by_kind, "未记录类型"),
            Breakdown("出件方式", "出件方式", self.by_issue_method, "尚未出件"),
            Breakdown("好差评", "评价等级", self.ratings, "未评价"),
        ]


def _day(d: date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def period_label(start: date, end: date) -> str:
    """A day, a calendar month, or a range of days; `end` is exclusive."""
    last = end - timedelta(days=1)
    if last == start:
        return _day(start)
    next_month = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    if start.day == 1 and end == next_month:
        return f"{start.year}年{start.month}月"
    return f"{_day(start)}至{_day(last)}"


def _axis(peak: int) -> tuple[int, int]:
    """Axis top and step: whole steps of 1, 2 or 5 × 10^k, with headroom for bar labels."""
    raw = max(peak, 1) / 5
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(f * magnitude for f in (1, 2, 5, 10) if f * magnitude >= raw)
    return math.ceil(max(peak, 1) * 1.15 / step) * step, step


def _style_value_axis(axis: Any, peak: int, font: str) -> None:
    axis.valueMin = 0
    axis.valueMax, axis.valueStep = _axis(peak)
    axis.labelTextFormat = "%d"
    axis.labels.fontName, axis.labels.fontSize = font, CHART_FONT_SIZE
    axis.visibleGrid = True
    axis.gridStrokeColor = colors.HexColor("#E0E0E0")


def _drawing(width: float, height: float, font: str) -> Drawing:
    drawing = Drawing(width, height)
    # The renderer starts each drawing in Helvetica, which would be referenced, not embedded.
    drawing.initialFontName = font
    drawing.initialFontSize = CHART_FONT_SIZE
    return drawing


def station_chart(rows: Sequence[Row], font: str, width: float = FRAME_WIDTH) -> Drawing:
    """Horizontal bars, names at the left: long station names never collide."""
    bar_height = 18
    label_width = max(stringWidth(label, font, CHART_FONT_SIZE) for label, _ in rows)
    chart = HorizontalBarChart()
    chart.x, chart.y = label_width + 10, 16
    chart.width, chart.height = width - chart.x - 30, bar_height * len(rows)
    # The first category is drawn at the bottom; reverse so the list reads top-down.
    chart.data = [[n for _, n in reversed(rows)]]
    chart.categoryAxis.categoryNames = [label for label, _ in reversed(rows)]
    labels = chart.categoryAxis.labels
    labels.fontName, labels.fontSize, labels.boxAnchor, labels.dx = font, CHART_FONT_SIZE, "e", -4
    _style_value_axis(chart.valueAxis, max(n for _, n in rows), font)
    chart.bars[0].fillColor = BAR_COLOR
    chart.bars[0].strokeColor = None
    chart.barWidth = 10
    chart.barLabelFormat = "%d"
    values = chart.barLabels
    values.fontName, values.fontSize, values.boxAnchor, values.dx = font, CHART_FONT_SIZE, "w", 3
    drawing = _drawing(width, chart.height + chart.y + 6, font)
    drawing.add(chart)
    return drawing


def ratings_chart(rows: Sequence[Row], font: str, width: float, height: float) -> Drawing:
    """Vertical bars for the five 好差评 levels, each level in its own colour."""
    chart = VerticalBarChart()
    chart.x, chart.y = 28, 22
    chart.width, chart.height = width - chart.x - 6, height - chart.y - 10
    chart.data = [[n for _, n in rows]]
    chart.categoryAxis.categoryNames = [label for label, _ in rows]
    labels = chart.categoryAxis.labels
    labels.fontName, labels.fontSize, labels.dy = font, CHART_FONT_SIZE - 0.5, -2
    _style_value_axis(chart.valueAxis, max(n for _, n in rows), font)
    chart.bars.strokeColor = None
    for index in range(len(rows)):
        chart.bars[(0, index)].fillColor = colors.HexColor(RATING_COLORS[index % 5])
    chart.barLabelFormat = "%d"
    values = chart.barLabels
    values.fontName, values.fontSize, values.boxAnchor, values.dy = font, CHART_FONT_SIZE, "s", 2
    drawing = _drawing(width, height, font)
    drawing.add(chart)
    return drawing


def issue_pie(rows: Sequence[Row], font: str, width: float, height: float) -> Drawing:
    """自取 vs 邮寄 with a legend beside the pie: labels never run into the next column.
    Empty slices are left out of the pie (a zero-width wedge draws as a stray line) but
    stay in the legend, so a reader sees 邮寄 0件 rather than nothing."""
    issued = sum(n for _, n in rows)
    fills = [PIE_COLORS[index % len(PIE_COLORS)] for index in range(len(rows))]
    shown = [index for index, (_, n) in enumerate(rows) if n > 0]
    pie = Pie()
    # Room at the right for "邮寄 12345件（100.0%）" at 8 pt inside half the frame.
    size = min(height - 20, width * 0.36)
    pie.x, pie.y = 4, (height - size) / 2
    pie.width = pie.height = size
    pie.data = [rows[index][1] for index in shown]
    pie.slices.strokeColor = colors.white
    for slot, index in enumerate(shown):
        pie.slices[slot].fillColor = fills[index]
    legend = Legend()
    legend.x, legend.y = pie.x + size + 14, height / 2 + 7 * len(rows)
    legend.fontName, legend.fontSize = font, CHART_FONT_SIZE
    legend.alignment = "right"
    legend.deltay = 14
    legend.colorNamePairs = [
        (fill, f"{label} {n}件（{n / issued:.1%}）")
        for fill, (label, n) in zip(fills, rows, strict=True)
    ]
    drawing = _drawing(width, height, font)
    drawing.add(pie)
    drawing.add(legend)
    return drawing


def _grid_style(fonts: FontSet, *, total_row: bool) -> TableStyle:
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), fonts.body, TABLE_SIZE),
        ("FONT", (0, 0), (-1, 0), fonts.heading, TABLE_SIZE),
        ("BACKGROUND", (0, 0), (-1, 0), HEADER_BG),
        ("GRID", (0, 0), (-1, -1), 0.5, GRID),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
        ("ALIGN", (0, 0), (-1, 0), "CENTER"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    if total_row:
        commands += [
            ("FONT", (0, -1), (-1, -1), fonts.heading, TABLE_SIZE),
            ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#F2F2F2")),
        ]
    return TableStyle(commands)


def breakdown_table(report: StatsReport, breakdown: Breakdown, fonts: FontSet) -> Table:
    """Label (wrapped), count and share of every row, then 合计 = the total."""
    cell = styles()["cell"]
    data: list[list[Any]] = [[breakdown.column, "件数", "占比"]]
    for label, count in breakdown.full_rows(report.total):
        data.append([Paragraph(escape(label), cell), count, f"{report.share(count):.1%}"])
    data.append([TOTAL_LABEL, report.total, "100.0%" if report.total else "0.0%"])
    table = Table(data, colWidths=[FRAME_WIDTH - 50 * mm, 25 * mm, 25 * mm], repeatRows=1)
    table.setStyle(_grid_style(fonts, total_row=True))
    return table


def overview_table(report: StatsReport, fonts: FontSet) -> Table:
    data: list[list[Any]] = [["项目", "件数", "说明"], ["接件总数", report.total, "按接件日期统计"]]
    data += [[label, count, note] for label, count, note in report.headline()]
    table = Table(data, colWidths=[35 * mm, 25 * mm, FRAME_WIDTH - 60 * mm])
    table.setStyle(_grid_style(fonts, total_row=False))
    table.setStyle(TableStyle([("ALIGN", (2, 1), (2, -1), "LEFT")]))
    return table


def _caption(text: str, style: str = "label") -> Paragraph:
    return Paragraph(escape(text), styles()[style])


def charts(report: StatsReport, fonts: FontSet) -> list[Flowable]:
    """Stations across the page; 自取/邮寄 and 好差评 side by side below."""
    story: list[Flowable] = [_caption("图1　各站办所办件量（件）")]
    if any(n for _, n in report.by_station):
        story.append(station_chart(report.by_station, fonts.body))
    else:
        story.append(_caption("本期没有需站办所办理的办件。", "small_center"))
    half, height = FRAME_WIDTH / 2, 62 * mm
    issued = sum(n for _, n in report.by_issue_method)
    pie: Flowable = (
        issue_pie(report.by_issue_method, fonts.body, half, height)
        if issued
        else _caption("本期尚无出件记录。", "small_center")
    )
    rated = sum(n for _, n in report.ratings)
    bars: Flowable = (
        ratings_chart(report.ratings, fonts.body, half - 6, height)
        if rated
        else _caption("本期尚无好差评记录。", "small_center")
    )
    pair = Table(
        [[_caption("图2　出件方式（自取/邮寄）"), _caption("图3　好差评（件）")], [pie, bars]],
        colWidths=[half, half],
    )
    # A table's cells default to Helvetica even when they hold only paragraphs and drawings.
    layout = [("FONT", (0, 0), (-1, -1), fonts.body), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")]
    pair.setStyle(TableStyle([*layout, ("ALIGN", (0, 0), (-1, -1), "CENTER")]))
    return [*story, Spacer(1, 4 * mm), pair]


def build_story(report: StatsReport) -> list[Flowable]:
    fonts = register_fonts()
    st = styles()
    subtitle = (
        f"统计期间：{report.period_range}（按接件日期）　　"
        f"生成时间：{report.generated_at:%Y-%m-%d %H:%M}"
    )
    story: list[Flowable] = [
        Paragraph(escape(report.title), st["title"]),
        Paragraph(escape(subtitle), st["small_center"]),
        Spacer(1, 4 * mm),
        Paragraph("一、总体情况", st["heading"]),
        overview_table(report, fonts),
        Spacer(1, 4 * mm),
        Paragraph("二、图表", st["heading"]),
        *charts(report, fonts),
    ]
    numbers = "一二三四五六七八九十"
    for index, breakdown in enumerate(report.breakdowns()):
        # Headings travel with their table, never alone at a page foot.
        part = [Paragraph("三、分类统计", st["heading"])] if index == 0 else []
        heading = Paragraph(f"（{numbers[index]}）{breakdown.name}", st["heading"])
        table = breakdown_table(report, breakdown, fonts)
        if len(breakdown.full_rows(report.total)) <= KEEP_WHOLE_ROWS:
            story += [KeepTogether([*part, heading, table]), Spacer(1, 3 * mm)]
        else:
            # A long table starts where it is (a KeepTogether would push it to a new page
            # and leave the rest of this one blank) once a heading and a few rows fit.
            story += [CondPageBreak(45 * mm), *part, heading, table, Spacer(1, 3 * mm)]
    return story


class _NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab ships no type hints
    """Holds pages back until the end so every footer can say 第 i 页 共 n 页."""

    def __init__(self, *args: Any, footer_font: str, footer_left: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []
        self._footer_font, self._footer_left = footer_font, footer_left

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        count = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._footer(number, count)
            super().showPage()
        super().save()

    def _footer(self, number: int, count: int) -> None:
        self.saveState()
        self.setStrokeColor(GRID)
        self.setLineWidth(0.5)
        y = MARGIN_BOTTOM - 6 * mm
        self.line(MARGIN_X, y + 4 * mm, PAGE_WIDTH - MARGIN_X, y + 4 * mm)
        self.setFont(self._footer_font, 8)
        self.drawString(MARGIN_X, y, self._footer_left)
        self.drawRightString(PAGE_WIDTH - MARGIN_X, y, f"第{number}页 共{count}页")
        self.restoreState()


def write_pdf(report: StatsReport, out: IO[bytes]) -> None:
    """Write the statistics PDF (A4, Chinese fonts embedded) to a binary file object."""
    fonts = register_fonts()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=report.title,
        author="不见面小系统",
        subject="办件统计",
        # Otherwise every page starts in Helvetica, a font that is never embedded.
        initialFontName=fonts.body,
    )
    maker = functools.partial(_NumberedCanvas, footer_font=fonts.body, footer_left=report.title)
    doc.build(build_story(report), canvasmaker=maker)
