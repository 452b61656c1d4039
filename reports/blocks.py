"""Building blocks shared by the documents: escaped paragraphs, grids, seal, signatures, QR."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TypeAlias
from xml.sax.saxutils import escape

import qrcode
import qrcode.constants
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer, Table, TableStyle

from reports.data import DocHead
from reports.page import FRAME_WIDTH
from reports.styles import GRID_COLOR, HEAD_FILL, fonts, styles

Cell: TypeAlias = str | Flowable | list[Flowable]
SEAL_MARK = "（盖章）"
QR_SIZE = 30 * mm
SEAL_WIDTH = 70 * mm
# No-break spaces: reportlab collapses ordinary and ideographic (U+3000) spaces.
HAND_DATE = "\u00a0" * 6 + "年" + "\u00a0" * 3 + "月" + "\u00a0" * 3 + "日"


def esc(text: str) -> str:
    """Escape user data for reportlab's paragraph markup (names may contain & or <)."""
    return escape(text)


def para(text: str, style: str = "body") -> Paragraph:
    """A paragraph of plain text (escaped)."""
    return Paragraph(esc(text), styles()[style])


def markup(text: str, style: str = "body") -> Paragraph:
    """A paragraph of trusted markup; every piece of data in it must have gone through esc()."""
    return Paragraph(text, styles()[style])


def date_cn(day: date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def datetime_cn(moment: datetime | None) -> str:
    return f"{date_cn(moment.date())} {moment:%H:%M}" if moment else ""


def title_block(title: str, document_no: str, subtitle: str = "") -> list[Flowable]:
    story: list[Flowable] = [para(title, "title")]
    if subtitle:
        story.append(para(subtitle, "subtitle"))
    story.append(para(f"文书编号：{document_no}", "docno"))
    return story


def _cell(value: Cell, style: str) -> list[Flowable]:
    # Always a list: reportlab splits a row across pages only for cells holding a list of
    # flowables; a bare Paragraph in a split row would be dropped.
    if isinstance(value, str):
        return [para(value, style)]
    return value if isinstance(value, list) else [value]


class FlowTable(Table):  # type: ignore[misc]  # reportlab is untyped
    """A table that splits a tall row at the page end rather than leaving a gap.

    reportlab first splits between rows; a tall row (a 500-character reason) then leaves a
    large gap and its remainder, header repeated, is squeezed into that gap on the same page.
    Splitting inside the row is preferred whenever the between-rows split would leave more
    than `GAP_LIMIT` points unused.
    """

    GAP_LIMIT = 72.0

    def split(self, availWidth: float, availHeight: float) -> list[Table]:
        by_rows: list[Table] = super().split(availWidth, availHeight)
        if len(by_rows) == 2:
            used = by_rows[0].wrap(availWidth, availHeight)[1]
            if availHeight - used > self.GAP_LIMIT:
                in_row: list[Table] = self._splitRows(availHeight, doInRowSplit=1)
                if len(in_row) == 2:
                    return in_row
        return by_rows


def plain_style(*commands: tuple[object, ...]) -> TableStyle:
    """A table style whose cell font is the body font.

    reportlab selects each cell's font even for flowable cells, and its default is Helvetica,
    which would then appear in the PDF as a font that is not embedded.
    """
    return TableStyle([("FONTNAME", (0, 0), (-1, -1), fonts().body), *commands])


def _grid_style(extra: Sequence[tuple[object, ...]] = ()) -> TableStyle:
    return plain_style(
        ("GRID", (0, 0), (-1, -1), 0.6, GRID_COLOR),
        # TOP, not MIDDLE: reportlab splits a row across pages correctly only for top-aligned
        # cells (a middle-aligned short cell carries its centring padding into the next page).
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ("LEFTPADDING", (0, 0), (-1, -1), 4),
        ("RIGHTPADDING", (0, 0), (-1, -1), 4),
        *extra,
    )


# Label / value / label / value: 26 + 59 + 26 + 59 = 170 mm, the frame width; 26 mm holds a
# six-character label such as 法定办结时限 on one line.
_INFO_WIDTHS = [26 * mm, 59 * mm, 26 * mm, FRAME_WIDTH - 111 * mm]


def info_table(rows: Sequence[Sequence[tuple[str, Cell]]]) -> Table:
    """Label/value pairs; each row holds one pair (spanning the width) or two pairs."""
    data: list[list[Flowable | str]] = []
    commands: list[tuple[object, ...]] = []
    for number, pairs in enumerate(rows):
        if len(pairs) == 1:
            ((label, value),) = pairs
            data.append([_cell(label, "label"), _cell(value, "cell"), "", ""])
            commands.append(("SPAN", (1, number), (3, number)))
        elif len(pairs) == 2:
            (label1, value1), (label2, value2) = pairs
            cells = [(label1, "label"), (value1, "cell"), (label2, "label"), (value2, "cell")]
            data.append([_cell(value, style) for value, style in cells])
            commands.append(("BACKGROUND", (2, number), (2, number), HEAD_FILL))
        else:
            raise ValueError("信息表每行只能有一组或两组项目")
    commands.append(("BACKGROUND", (0, 0), (0, -1), HEAD_FILL))
    return FlowTable(data, colWidths=_INFO_WIDTHS, style=_grid_style(commands), splitInRow=1)


def grid_table(
    header: Sequence[str],
    rows: Sequence[Sequence[Cell]],
    widths_mm: Sequence[float],
    aligns: Sequence[str] = (),
) -> Table:
    """A ruled table with a shaded header repeated on every page; long cells split across pages.

    `widths_mm` may leave one column as 0: it takes whatever width remains in the frame.
    """
    widths = [w * mm for w in widths_mm]
    if 0 in widths_mm:
        widths[list(widths_mm).index(0)] = FRAME_WIDTH - sum(widths)
    column_styles = [
        {"center": "cell_center", "right": "cell_right"}.get(a, "cell") for a in aligns
    ] + ["cell"] * (len(header) - len(aligns))
    data: list[list[list[Flowable]]] = [[[para(text, "cell_head")] for text in header]]
    for row in rows:
        data.append([_cell(value, column_styles[i]) for i, value in enumerate(row)])
    style = _grid_style([("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL)])
    # splitInRow: a row taller than the rest of the page (a 500-character reason) continues on
    # the next page instead of overflowing the frame.
    return FlowTable(data, colWidths=widths, style=style, repeatRows=1, splitInRow=1)


def numbered(lines: Sequence[str]) -> list[Flowable]:
    """ "1. …", "2. …" paragraphs with a hanging indent."""
    return [para(f"{number}. {line}", "list_item") for number, line in enumerate(lines, 1)]


def _seal_table(head: DocHead, organ_name: str) -> Table:
    # Organ name and date stay on separate short lines so the round seal (42 mm) covers both,
    # as the seal is pressed over the issuer's name and the date.
    name = organ_name or head.organ.name
    return Table(
        [
            [Spacer(1, 10 * mm)],
            [para(name, "seal")],
            [para(SEAL_MARK, "seal")],
            [para(date_cn(head.issued_on), "seal")],
        ],
        colWidths=[SEAL_WIDTH],
        hAlign="RIGHT",
        style=plain_style(
            ("TOPPADDING", (0, 0), (-1, -1), 0), ("BOTTOMPADDING", (0, 0), (-1, -1), 0)
        ),
    )


def seal_block(head: DocHead, organ_name: str = "") -> Flowable:
    """Right-aligned organ name, "（盖章）" and date, with room above for the seal."""
    return KeepTogether([Spacer(1, 4 * mm), _seal_table(head, organ_name)])


def _signature_table(signers: Sequence[tuple[str, str]], width: float, *, dated: bool) -> Table:
    style = styles()["signature"]
    label_width = (
        max(stringWidth(f"{label}：", style.fontName, style.fontSize) for label, _ in signers)
        + 4 * mm
    )
    date_width = stringWidth(HAND_DATE, style.fontName, style.fontSize) + 6 * mm if dated else 0
    rows = [
        [para(f"{label}：", "signature"), para(name, "signature")]
        + ([para(HAND_DATE, "signature")] if dated else [])
        for label, name in signers
    ]
    widths = [label_width, width - label_width - date_width] + ([date_width] if dated else [])
    return Table(
        rows,
        colWidths=widths,
        style=plain_style(
            ("LINEBELOW", (1, 0), (1, -1), 0.6, GRID_COLOR),
            ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
            ("TOPPADDING", (0, 0), (-1, -1), 14),  # room to write above the line
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
        ),
        hAlign="LEFT",
    )


def signature_lines(signers: Sequence[tuple[str, str]]) -> Flowable:
    """One line per signer: "label：<name or blank line>  年 月 日"; names prefilled when known."""
    return KeepTogether([Spacer(1, 3 * mm), _signature_table(signers, 150 * mm, dated=True)])


def sign_and_seal(
    signers: Sequence[tuple[str, str]], head: DocHead, organ_name: str = ""
) -> Flowable:
    """Signature lines on the left, the seal block on the right, side by side.

    No date column here: the date beside the seal is the document's; a signer whose own date
    matters (签收 starts the appeal period) gets a separate "签收日期" line from the caller.
    """
    left = FRAME_WIDTH - SEAL_WIDTH
    table = Table(
        [[_signature_table(signers, left - 6 * mm, dated=False), _seal_table(head, organ_name)]],
        colWidths=[left, SEAL_WIDTH],
        style=plain_style(
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("LEFTPADDING", (0, 0), (-1, -1), 0),
            ("RIGHTPADDING", (0, 0), (-1, -1), 0),
        ),
    )
    return KeepTogether([Spacer(1, 4 * mm), table])


QR_MASK = 2


class QrCode(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """A vector QR code (error correction M, 4-module quiet zone) that scanners read from print.

    Drawn as filled runs of modules straight on the canvas: reportlab's own QR widget goes
    through the graphics renderer, which selects Helvetica and so adds a non-embedded font.
    """

    def __init__(self, text: str, size: float = QR_SIZE) -> None:
        super().__init__()
        # A fixed mask: choosing the "best" of eight costs more than the rest of the receipt's
        # layout (about 12 ms), and any mask reads equally well from a printed page.
        code = qrcode.QRCode(
            error_correction=qrcode.constants.ERROR_CORRECT_M, border=4, mask_pattern=QR_MASK
        )
        code.add_data(text)
        code.make(fit=True)
        self.matrix: list[list[bool]] = code.get_matrix()
        self.size = size
        self.width = self.height = size

    def draw(self) -> None:
        modules = len(self.matrix)
        canvas = self.canv
        canvas.saveState()
        # One unit per module: integer coordinates keep the content stream short and exact.
        canvas.scale(self.size / modules, self.size / modules)
        path = canvas.beginPath()
        for row, line in enumerate(self.matrix):
            y = modules - row - 1
            column = 0
            while column < modules:
                if not line[column]:
                    column += 1
                    continue
                start = column
                while column < modules and line[column]:
                    column += 1
                path.rect(start, y, column - start, 1)
        canvas.setFillColor(colors.black)
        canvas.drawPath(path, stroke=0, fill=1)
        canvas.restoreState()


def qr_block(url: str, query_code: str, case_no: str, notes: Sequence[str] = ()) -> Flowable:
    """QR code on the left, the same lookup in words on the right (for phones without a camera).

    `notes` are short extra lines (温馨提示) set beside the code, where they cost no height.
    """
    text = [
        markup("<b>扫码查询办理进度</b>", "cell"),
        para(f"办件编号：{case_no}", "cell"),
        markup(f"查询码：<b>{esc(query_code)}</b>", "cell"),
        # The page's address to type by hand: the case number and code are printed above.
        para(f"查询网址：{url.split('?', 1)[0]}（输入办件编号和查询码）", "small"),
        para("查询页面只显示办理环节和日期，不显示个人信息。", "small"),
        *[para(note, "small") for note in notes],
    ]
    table = Table(
        [[QrCode(url), text]],
        colWidths=[QR_SIZE + 4 * mm, FRAME_WIDTH - QR_SIZE - 4 * mm],
        style=plain_style(
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("BOX", (0, 0), (-1, -1), 0.6, GRID_COLOR),
            ("LEFTPADDING", (0, 0), (0, 0), 2),
        ),
    )
    return KeepTogether([Spacer(1, 3 * mm), table])


def note_box(lines: Sequence[Flowable]) -> Table:
    """A boxed group of notes (温馨提示, legal notes)."""
    # Not split across pages: a tip cut in half reads as two unrelated boxes.
    return Table([[list(lines)]], colWidths=[FRAME_WIDTH], style=_grid_style())


def gap(height_mm: float = 3) -> Spacer:
    return Spacer(1, height_mm * mm)
