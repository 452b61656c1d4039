"""Paragraph styles of every document, in one place (sizes follow the Chinese 字号 scale)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from types import MappingProxyType

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle

from reports.fonts import FontSet, register_fonts

# 字号 in points: 小二 18, 小三 15, 小四 12, 五号 10.5, 小五 9.
TITLE_SIZE = 18.0
BODY_SIZE = 12.0
TABLE_SIZE = 10.5
SMALL_SIZE = 9.0
FURNITURE_SIZE = 9.0

GRID_COLOR = colors.black
HEAD_FILL = colors.HexColor("#EDEDED")
RULE_COLOR = colors.HexColor("#555555")


def _style(name: str, font: str, size: float, leading: float, **extra: object) -> ParagraphStyle:
    # wordWrap="CJK" lets lines break between any two Han characters (and inside long URLs);
    # without it a paragraph with no spaces overflows the frame.
    return ParagraphStyle(
        name, fontName=font, fontSize=size, leading=leading, wordWrap="CJK", **extra
    )


def _build(fonts: FontSet) -> dict[str, ParagraphStyle]:
    body, heading = fonts.body, fonts.heading
    table_leading = TABLE_SIZE * 1.4
    return {
        "title": _style("title", heading, TITLE_SIZE, 26, alignment=TA_CENTER, spaceAfter=2),
        "subtitle": _style("subtitle", body, BODY_SIZE, 18, alignment=TA_CENTER, spaceAfter=2),
        "docno": _style("docno", body, TABLE_SIZE, 15, alignment=TA_RIGHT, spaceAfter=8),
        "heading": _style("heading", heading, BODY_SIZE, 18, spaceBefore=8, spaceAfter=4),
        "body": _style("body", body, BODY_SIZE, 21, alignment=TA_JUSTIFY),
        # 公文 paragraphs start two characters in.
        "body_indent": _style(
            "body_indent", body, BODY_SIZE, 21, alignment=TA_JUSTIFY, firstLineIndent=BODY_SIZE * 2
        ),
        "salutation": _style("salutation", body, BODY_SIZE, 21, spaceBefore=4),
        # The number sits where an indented paragraph starts; wrapped lines hang after it.
        "list_item": _style(
            "list_item",
            body,
            BODY_SIZE,
            21,
            leftIndent=BODY_SIZE * 3.5,
            firstLineIndent=-BODY_SIZE * 1.5,
        ),
        "cell": _style("cell", body, TABLE_SIZE, table_leading, alignment=TA_LEFT),
        "cell_center": _style("cell_center", body, TABLE_SIZE, table_leading, alignment=TA_CENTER),
        "cell_right": _style("cell_right", body, TABLE_SIZE, table_leading, alignment=TA_RIGHT),
        "cell_head": _style("cell_head", heading, TABLE_SIZE, table_leading, alignment=TA_CENTER),
        "label": _style("label", heading, TABLE_SIZE, table_leading, alignment=TA_CENTER),
        "note": _style("note", body, 10, 15, alignment=TA_JUSTIFY),
        "small": _style("small", body, SMALL_SIZE, 12),
        "small_center": _style("small_center", body, SMALL_SIZE, 12, alignment=TA_CENTER),
        "seal": _style("seal", body, BODY_SIZE, 22, alignment=TA_CENTER),
        "signature": _style("signature", body, BODY_SIZE, 16),
    }


_lock = threading.Lock()
_styles: Mapping[str, ParagraphStyle] | None = None


def styles() -> Mapping[str, ParagraphStyle]:
    """The named styles (fonts registered on first use); the same read-only mapping each call.

    Names: title, subtitle, docno, heading, body, body_indent, salutation, list_item, cell,
    cell_center, cell_right, cell_head, label, note, small, small_center, seal, signature.
    """
    global _styles
    with _lock:
        if _styles is None:
            _styles = MappingProxyType(_build(register_fonts()))
        return _styles


def fonts() -> FontSet:
    """The registered font names (for canvas drawing and table styles)."""
    return register_fonts()
