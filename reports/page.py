"""A4 page template: header line (office + title), footer (文书编号, 第x页 共y页), PDF output."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from reports.data import DocHead
from reports.styles import FURNITURE_SIZE, RULE_COLOR, fonts

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 20 * mm
MARGIN_TOP = 24 * mm
MARGIN_BOTTOM = 22 * mm
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
HEADER_BASELINE = PAGE_HEIGHT - 14 * mm
FOOTER_BASELINE = 12 * mm
CREATOR = "不见面小系统"
_NO_PADDING = {"leftPadding": 0, "rightPadding": 0, "topPadding": 0, "bottomPadding": 0}


def page_label(number: int, total: int) -> str:
    return f"第{number}页 共{total}页"


class PagedCanvas(Canvas):  # type: ignore[misc]  # reportlab is untyped
    """Holds every page back until the end so the footer can print the total page count."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._held_pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._held_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._held_pages)
        for number, state in enumerate(self._held_pages, start=1):
            self.__dict__.update(state)
            self.setFont(fonts().body, FURNITURE_SIZE)
            self.drawRightString(PAGE_WIDTH - MARGIN_X, FOOTER_BASELINE, page_label(number, total))
            super().showPage()
        super().save()


def _furniture(head: DocHead, title: str) -> Callable[[Canvas, BaseDocTemplate], None]:
    def draw(canvas: Canvas, _doc: BaseDocTemplate) -> None:
        canvas.saveState()
        names = fonts()
        canvas.setStrokeColor(RULE_COLOR)
        canvas.setLineWidth(0.6)
        canvas.setFont(names.body, FURNITURE_SIZE)
        canvas.drawString(MARGIN_X, HEADER_BASELINE, head.organ.header)
        canvas.setFont(names.heading, FURNITURE_SIZE)
        canvas.drawRightString(PAGE_WIDTH - MARGIN_X, HEADER_BASELINE, title)
        canvas.line(
            MARGIN_X, HEADER_BASELINE - 2 * mm, PAGE_WIDTH - MARGIN_X, HEADER_BASELINE - 2 * mm
        )
        rule_y = FOOTER_BASELINE + 4 * mm
        canvas.line(MARGIN_X, rule_y, PAGE_WIDTH - MARGIN_X, rule_y)
        canvas.setFont(names.body, FURNITURE_SIZE)
        canvas.drawString(MARGIN_X, FOOTER_BASELINE, f"文书编号：{head.document_no}")
        canvas.restoreState()

    return draw


def build_pdf(
    story: Sequence[Flowable], head: DocHead, title: str, *, invariant: bool = False
) -> bytes:
    """Lay the story out on A4 pages with header and footer and return the PDF bytes.

    `invariant` drops the creation time and random document ID, so the same data gives the
    same bytes (golden tests, and reprints that must match the archived copy).
    """
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN_X,
        rightMargin=MARGIN_X,
        topMargin=MARGIN_TOP,
        bottomMargin=MARGIN_BOTTOM,
        title=f"{title}（{head.document_no}）",
        author=head.organ.name,
        subject=title,
        creator=CREATOR,
        invariant=1 if invariant else 0,
        # Otherwise every page opens in Helvetica, a font that is never embedded.
        initialFontName=fonts().body,
        initialFontSize=FURNITURE_SIZE,
    )
    height = PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    # No frame padding: tables are sized to FRAME_WIDTH exactly.
    frame = Frame(MARGIN_X, MARGIN_BOTTOM, FRAME_WIDTH, height, id="body", **_NO_PADDING)
    doc.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=_furniture(head, title))])
    doc.build(list(story), canvasmaker=PagedCanvas)
    return buffer.getvalue()
