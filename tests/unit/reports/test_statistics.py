"""Statistics report from plain data: the PDF (text, fonts, pages) and the formatted workbook."""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from reportlab import rl_config

from reports.statistics import TOTAL_LABEL, StatsReport, period_label, write_pdf
from reports.xlsx import MAX_WIDTH, display_width, write_xlsx

SHEETS = ["概览", "按窗口", "按事项", "按站办所", "按状态", "即办承诺", "出件方式", "好差评"]
LONG_ITEM = "困难残疾人生活补贴和重度残疾人护理补贴申请（含跨县迁入人员补贴资格重新认定及补发）"


def sample(**changes: object) -> StatsReport:
    report = StatsReport(
        township_name="青禾镇",
        start=date(2026, 11, 1),
        end=date(2026, 12, 1),
        generated_at=datetime(2026, 11, 16, 9, 30),
        total=120,
        overdue_open=7,
        near_due_open=5,
        finished_late=2,
        complaints=3,
        by_desk=[("A1（综合窗口）", 80), ("A2（综合窗口）", 40)],
        by_item=[("生育登记", 60), (LONG_ITEM, 40), ("失业登记", 20)],
        by_station=[("计生（卫生计生办）", 50), ("民政（民政办）", 40), ("劳动（劳动保障所）", 20)],
        by_state=[("办结", 70), ("审批中", 30), ("已接件", 20)],
        by_kind=[("即办件", 70), ("承诺件", 50)],
        by_issue_method=[("自取", 60), ("邮寄", 10)],
        ratings=[("非常满意", 40), ("满意", 15), ("基本满意", 5), ("不满意", 2), ("非常不满意", 1)],
    )
    return dataclasses.replace(report, **changes)  # type: ignore[arg-type]


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} (poppler-utils) is needed to read the PDF back"
    return found


def pdf_bytes(report: StatsReport) -> bytes:
    out = io.BytesIO()
    write_pdf(report, out)
    return out.getvalue()


def pdf_text(data: bytes, tmp_path: Path) -> str:
    path = tmp_path / "stats.pdf"
    path.write_bytes(data)
    run = [_tool("pdftotext"), "-layout", str(path), "-"]
    return subprocess.run(run, capture_output=True, text=True, check=True).stdout


def pdf_fonts(data: bytes, tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    out = subprocess.run(
        [_tool("pdffonts"), str(path)], capture_output=True, text=True, check=True
    ).stdout
    return [line.split() for line in out.splitlines()[2:] if line.strip()]


def workbook(report: StatsReport):  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    write_xlsx(report, out)
    out.seek(0)
    return load_workbook(out)


@pytest.mark.parametrize(
    ("start", "end", "label"),
    [
        (date(2026, 11, 1), date(2026, 12, 1), "2026年11月"),
        (date(2026, 12, 1), date(2027, 1, 1), "2026年12月"),
        (date(2026, 11, 16), date(2026, 11, 17), "2026年11月16日"),
        (date(2026, 11, 1), date(2026, 11, 16), "2026年11月1日至2026年11月15日"),
        (date(2026, 11, 2), date(2026, 12, 2), "2026年11月2日至2026年12月1日"),
    ],
)
def test_period_label_names_a_day_a_month_or_a_range(start, end, label):
    assert period_label(start, end) == label


def test_title_and_rows_that_always_add_up_to_the_total():
    report = sample()
    assert report.title == "青禾镇便民服务中心办件统计（2026年11月）"
    by_name = {b.name: b for b in report.breakdowns()}
    assert list(by_name) == SHEETS[1:]
    assert by_name["出件方式"].full_rows(report.total)[-1] == ("尚未出件", 50)
    assert by_name["好差评"].full_rows(report.total)[-1] == ("未评价", 57)
    assert by_name["按窗口"].full_rows(report.total) == report.by_desk  # nothing left over
    for breakdown in by_name.values():
        assert sum(n for _, n in breakdown.full_rows(report.total)) == report.total


def test_inconsistent_data_is_refused():
    with pytest.raises(ValueError, match="按状态"):
        sample(by_state=[("办结", 121)])
    with pytest.raises(ValueError, match="end"):
        sample(end=date(2026, 11, 1))


def test_display_width_counts_chinese_characters_double():
    assert display_width("A1") == 2
    assert display_width("合计") == 4
    assert display_width("（自取）") == 8
    assert display_width(0.125) == len("12.5%")
    assert display_width(None) == 0


def test_workbook_has_one_formatted_sheet_per_breakdown_each_closed_by_the_total():
    report = sample()
    wb = workbook(report)
    assert wb.sheetnames == SHEETS
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        header = list(ws[1])
        assert all(c.font.bold and c.fill.fill_type == "solid" for c in header), ws.title
        last = [c.value for c in ws[ws.max_row]]
        assert last[:2] == [TOTAL_LABEL, report.total], ws.title
        assert ws[ws.max_row][0].font.bold
    for ws in wb.worksheets[1:]:
        body = list(ws.iter_rows(min_row=2, max_row=ws.max_row - 1, values_only=True))
        assert sum(row[1] for row in body) == report.total, ws.title
        assert ws.cell(ws.max_row, 3).value == 1.0
        assert ws.cell(2, 3).number_format == "0.0%"
    items = wb["按事项"]
    assert [r[0] for r in items.iter_rows(min_row=2, values_only=True)] == [
        "生育登记", LONG_ITEM, "失业登记", TOTAL_LABEL
    ]  # fmt: skip
    # Fitted to the text, except that an over-long name wraps in a capped column.
    assert wb["按站办所"].column_dimensions["A"].width >= display_width("劳动（劳动保障所）")
    assert wb["按窗口"].column_dimensions["A"].width < 20
    assert items.column_dimensions["A"].width == MAX_WIDTH < display_width(LONG_ITEM)
    assert items["A3"].alignment.wrap_text
    assert items.cell(3, 3).value == pytest.approx(40 / 120)
    overview = {row[0]: row[1] for row in wb["概览"].iter_rows(min_row=2, values_only=True)}
    assert overview["报表名称"] == report.title
    assert overview["在办超期"] == 7 and overview["投诉"] == 3
    assert wb["好差评"]["A7"].value == "未评价" and wb["好差评"]["B7"].value == 57


def test_pdf_shows_title_numbers_and_totals_in_embedded_chinese_fonts(tmp_path):
    report = sample()
    data = pdf_bytes(report)
    text = pdf_text(data, tmp_path)
    assert report.title in text
    assert "生成时间：2026-11-16 09:30" in text
    lines = text.splitlines()
    assert any("接件总数" in line and "120" in line for line in lines)
    assert any("在办超期" in line and " 7 " in f" {line} " for line in lines)
    totals = [line.split() for line in lines if line.strip().startswith(TOTAL_LABEL)]
    assert len(totals) == len(SHEETS) - 1  # one 合计 per breakdown table
    assert all(parts[1] == "120" for parts in totals)
    for label in ("图1", "图2", "图3", "自取 60件（85.7%）", "非常不满意", "县级事项（帮代办）"):
        assert label in text
    assert "第1页 共" in text
    fonts = pdf_fonts(data, tmp_path)
    assert fonts, "the PDF names no font at all"
    assert all(row[-5] == "yes" for row in fonts), fonts  # the emb column
    assert not any(row[0].endswith("Helvetica") for row in fonts)


def test_pdf_for_an_empty_period_explains_instead_of_drawing_empty_charts(tmp_path):
    empty = StatsReport("青禾镇", date(2026, 11, 16), date(2026, 11, 17), datetime(2026, 11, 16), 0)
    text = pdf_text(pdf_bytes(empty), tmp_path)
    assert "青禾镇便民服务中心办件统计（2026年11月16日）" in text
    assert "本期没有需站办所办理的办件" in text
    assert "本期尚无出件记录" in text and "本期尚无好差评记录" in text
    totals = [line.split() for line in text.splitlines() if line.strip().startswith(TOTAL_LABEL)]
    assert totals and all(parts[1] == "0" for parts in totals)


def test_many_items_flow_over_pages_with_the_header_repeated(tmp_path):
    items = [(f"测试事项{n:03d}", 1) for n in range(150)]
    report = sample(total=150, by_item=items, by_desk=[("A1", 150)])
    text = pdf_text(pdf_bytes(report), tmp_path)
    pages = text.split("\f")
    item_pages = [p for p in pages if "测试事项" in p]
    assert len(item_pages) >= 3
    assert all("事项名称" in p for p in item_pages)
    count = len([p for p in pages if p.strip()])
    assert f"第{count}页 共{count}页" in text


def test_pdf_is_byte_stable_when_reportlab_is_invariant(monkeypatch):
    monkeypatch.setattr(rl_config, "invariant", 1)
    assert pdf_bytes(sample()) == pdf_bytes(sample())
    assert pdf_bytes(sample()) != pdf_bytes(sample(complaints=4))
