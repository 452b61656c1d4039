"""One 收件回执 against a bare reportlab page with the same font and a table of the same size;
monthly statistics (PDF + xlsx) over the benchmark database."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from bench.common import figure, timed


def _receipt_text(pdf: bytes) -> str:
    """The words of a rendered receipt (so the baseline sets the same glyphs)."""
    import subprocess

    done = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True)
    return "".join(done.stdout.decode("utf-8").split())


def _bare_page(text: str, rows: int, cols: int) -> bytes:
    """The baseline: one A4 page in the same CJK fonts (heading and body), a title and a
    rows×cols table of paragraphs holding the receipt's own words: reportlab's inherent cost
    for this much text, without our layout, page furniture or QR code."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Table

    from reports.fonts import register_fonts

    fonts = register_fonts()
    body = ParagraphStyle("b", fontName=fonts.body, fontSize=9, wordWrap="CJK")
    title = ParagraphStyle("t", fontName=fonts.heading, fontSize=18, wordWrap="CJK")
    size = -(-len(text) // (rows * cols))
    cells = [text[i : i + size] for i in range(0, len(text), size)]
    data = [
        [
            Paragraph(cells[r * cols + c] if r * cols + c < len(cells) else "", body)
            for c in range(cols)
        ]
        for r in range(rows)
    ]
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=A4, initialFontName=fonts.body)
    doc.build([Paragraph("收件回执", title), Table(data)])
    return out.getvalue()


def receipt(quick: bool) -> list[dict[str, Any]]:
    from reports.documents import render_pdf
    from reports.samples import sample_data

    data = sample_data("receipt")
    # The receipt's tables: the 8-row head table and the materials table (header + one row per
    # material), six columns at most.
    rows = 8 + len(data.materials) + 1  # type: ignore[union-attr]
    text = _receipt_text(render_pdf("receipt", data))
    repeat = 10 if quick else 30
    value = timed(lambda: render_pdf("receipt", data), repeat=repeat, warmup=3)
    baseline = timed(lambda: _bare_page(text, rows, 6), repeat=repeat, warmup=3)
    return [
        figure("document.receipt_warm", value, "ms", 50.0, baseline=baseline),
        figure(
            "document.receipt_vs_bare_page",
            value / baseline,
            "ratio",
            1.5,
            value_ms=value,
            baseline_ms=baseline,
        ),
    ]


def monthly_stats(rt: Any, tmp: Any) -> list[dict[str, Any]]:
    """Statistics for the busiest month of the benchmark database, PDF + xlsx, end to end."""
    import time

    import peewee as pw

    from app.domain.roles import Actor, Role
    from app.services import stats_export
    from app.store.models import CaseRecord

    month = (
        CaseRecord.select(pw.fn.SUBSTR(CaseRecord.received_at, 1, 7).alias("m"))
        .group_by(pw.SQL("m"))
        .order_by(pw.fn.COUNT(CaseRecord.id).desc())
        .scalar()
    )
    start = date.fromisoformat(f"{month}-01")
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    actor = Actor(None, "bench", Role.ADMIN, township="370999101")
    began = time.perf_counter()
    report = stats_export.export(rt, actor, start, end, pdf=tmp / "m.pdf", xlsx=tmp / "m.xlsx")
    seconds = time.perf_counter() - began
    total = CaseRecord.select().count()
    return [
        figure(
            "stats.monthly_pdf_xlsx",
            seconds,
            "s",
            3.0,
            month=month,
            month_cases=report.total,
            cases=total,
        )
    ]
