"""Statistics export: the PDF and the workbook agree with the database; atomic files; audit."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date, datetime

import pytest
from helpers.factories import OTHER_TOWNSHIP, SYNC, TOWNSHIP, drive, intake, make_case, make_user
from openpyxl import load_workbook

from app.domain.case import Action
from app.domain.errors import KnownError, PermissionDenied, ValidationError
from app.domain.roles import Role
from app.domain.states import CaseState
from app.services import audit, feedback, stats, stats_export
from app.store.db import is_postgres, make_database
from app.store.models import AuditEventRecord, CaseRecord

NOVEMBER = (date(2026, 11, 1), date(2026, 12, 1))
SHEETS = ["概览", "按窗口", "按事项", "按站办所", "按状态", "即办承诺", "出件方式", "好差评"]
TITLE = "青禾镇便民服务中心办件统计（2026年11月）"


def _mailed_and_rated(rt, world, rating: int) -> None:
    """A promised-kind case sent by post and closed with a rating."""
    item = world.township_item("minzheng", immediate=False)
    ref = intake(rt, world, item)
    ref = drive(rt, world, ref, world.window, Action.ACCEPT)
    ref = drive(rt, world, ref, world.window, Action.ROUTE)
    ref = drive(rt, world, ref, world.stations["minzheng"], Action.APPROVE, {"opinion": "同意"})
    ref = drive(rt, world, ref, world.issuance, Action.NOTIFY, {"channel": "电话"})
    mail = {
        "method": "mail",
        "address": "青禾县青禾镇东村一组12号",
        "carrier": "中国邮政EMS",
        "tracking_no": "EMS1234567890",
    }
    ref = drive(rt, world, ref, world.issuance, Action.ISSUE, mail)
    drive(rt, world, ref, world.issuance, Action.CLOSE, {"rating": rating})


@pytest.fixture
def month(rt, world, clock):
    """November in 青禾镇: cases in several states, stations and pickup ways, two ratings,
    a complaint, and one case of the other township that must not be counted."""
    make_case(rt, world, CaseState.CLOSED)  # 计生, 自取, 非常满意
    _mailed_and_rated(rt, world, rating=2)  # 民政, 邮寄, 不满意
    make_case(rt, world, CaseState.IN_REVIEW, item=world.township_item("laodong", immediate=True))
    make_case(rt, world, CaseState.IN_REVIEW, item=world.township_item("nongye"))
    make_case(rt, world, CaseState.RECEIVED)
    make_case(rt, world, CaseState.REFUSED)
    make_case(rt, world, CaseState.HANDED_OFF)  # county item: no station
    feedback.record_complaint(rt, world.window, channel="12345热线", content="等候时间太长")
    intake(rt, world, world.township_item(), actor=world.other_window)
    # Later in the month: the 即办 case still in review is now overdue.
    clock.advance(days=5)


def _tool(name: str) -> str:
    found = shutil.which(name)
    assert found, f"{name} (poppler-utils) is needed to read the PDF back"
    return found


def _run(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout


def _sheet_rows(ws) -> dict[str, int]:
    return {row[0]: row[1] for row in ws.iter_rows(min_row=2, values_only=True)}


def test_export_writes_pdf_and_xlsx_that_agree_with_the_database(rt, world, month, tmp_path):
    pdf, xlsx = tmp_path / "stats.pdf", tmp_path / "stats.xlsx"
    report = stats_export.export(rt, world.window, *NOVEMBER, pdf=pdf, xlsx=xlsx)
    counted = stats.compute(*NOVEMBER, today=rt.today(), township=TOWNSHIP)
    in_db = CaseRecord.select().where(CaseRecord.township == TOWNSHIP).count()
    assert in_db == counted.total == report.total == 7
    assert counted.overdue_open >= 1 and counted.complaints == 1

    wb = load_workbook(xlsx)
    assert wb.sheetnames == SHEETS
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2", ws.title
        assert ws["A1"].font.bold and ws["A1"].fill.fill_type == "solid", ws.title
        assert [c.value for c in ws[ws.max_row]][:2] == ["合计", in_db], ws.title
    for ws in wb.worksheets[1:]:
        body = list(ws.iter_rows(min_row=2, max_row=ws.max_row - 1, values_only=True))
        assert sum(row[1] for row in body) == in_db, ws.title
    overview = _sheet_rows(wb["概览"])
    assert overview["在办超期"] == counted.overdue_open
    assert overview["临近期限"] == counted.near_due_open
    assert overview["投诉"] == counted.complaints == 1
    assert _sheet_rows(wb["按状态"]) == {
        "办结": 2, "审批中": 2, "已接件": 1, "不予受理": 1, "已移交县级": 1, "合计": 7,
    }  # fmt: skip
    stations = _sheet_rows(wb["按站办所"])
    assert stations["计生（卫生计生办）"] == counted.by_station["jisheng"]
    assert stations["退役军人（退役军人服务站）"] == 0  # idle stations are listed too
    assert stations["县级事项（帮代办）"] == 1
    assert _sheet_rows(wb["出件方式"]) == {"自取": 1, "邮寄": 1, "尚未出件": 5, "合计": 7}
    ratings = _sheet_rows(wb["好差评"])
    assert list(ratings) == [
        "非常满意",
        "满意",
        "基本满意",
        "不满意",
        "非常不满意",
        "未评价",
        "合计",
    ]
    assert ratings["非常满意"] == ratings["不满意"] == 1 and ratings["未评价"] == 5
    kinds = _sheet_rows(wb["即办承诺"])
    assert kinds["即办件"] == counted.by_kind.get("immediate", 0)
    assert kinds["承诺件"] == counted.by_kind.get("promised", 0)

    text = _run(_tool("pdftotext"), "-layout", str(pdf), "-")
    assert TITLE in text
    lines = text.splitlines()
    assert any("接件总数" in line and f" {in_db} " in f"{line} " for line in lines)
    totals = [line.split() for line in lines if line.strip().startswith("合计")]
    assert len(totals) == len(SHEETS) - 1
    assert all(parts[1] == str(in_db) for parts in totals)
    fonts = _run(_tool("pdffonts"), str(pdf)).splitlines()[2:]
    assert fonts and all(row.split()[-5] == "yes" for row in fonts), fonts

    events = audit.events_for("stats", "2026-11-01/2026-12-01")
    assert [e.action for e in events] == ["stats.export"]
    assert events[0].account == world.window.username
    assert events[0].details["total"] == 7
    assert events[0].details["files"] == ["stats.pdf", "stats.xlsx"]
    assert audit.verify(rt.audit_key).ok


def test_labels_are_chinese_and_breakdowns_add_up(rt, world, month):
    counted = stats.compute(*NOVEMBER, today=rt.today(), township=TOWNSHIP)
    report = stats_export.build_report(rt, counted, "青禾镇", township=TOWNSHIP)
    assert report.title == TITLE
    assert report.generated_at == rt.now()
    assert report.by_desk == [("A1（综合窗口）", 7)]
    assert dict(report.by_state)["审批中"] == 2
    assert [label for label, _ in report.by_issue_method] == ["自取", "邮寄"]
    assert [label for label, _ in report.ratings] == [
        "非常满意", "满意", "基本满意", "不满意", "非常不满意"
    ]  # fmt: skip
    assert len(report.by_station) == 6
    for breakdown in report.breakdowns():
        assert sum(n for _, n in breakdown.full_rows(report.total)) == report.total


def test_files_are_replaced_atomically_and_a_failure_changes_nothing(rt, world, month, tmp_path):
    pdf, xlsx = tmp_path / "stats.pdf", tmp_path / "stats.xlsx"
    pdf.write_bytes(b"old report")
    stats_export.export(rt, world.window, *NOVEMBER, pdf=pdf, xlsx=None)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert not xlsx.exists()

    pdf.write_bytes(b"old report")
    events = AuditEventRecord.select().count()
    with pytest.raises(KnownError) as err:
        stats_export.export(
            rt, world.window, *NOVEMBER, pdf=pdf, xlsx=tmp_path / "missing" / "s.xlsx"
        )
    assert "无法写入文件" in err.value.message and "文件夹不存在" in err.value.message
    assert pdf.read_bytes() == b"old report"  # the PDF was staged but never put in place
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert AuditEventRecord.select().count() == events


def test_bad_requests_are_refused(rt, world, tmp_path):
    target = tmp_path / "s.pdf"
    with pytest.raises(PermissionDenied):
        stats_export.export(rt, SYNC, *NOVEMBER, pdf=target, xlsx=None)
    with pytest.raises(ValidationError) as err:
        stats_export.export(rt, world.window, *NOVEMBER, pdf=None, xlsx=None)
    assert err.value.field == "format"
    with pytest.raises(ValidationError) as err:
        stats_export.export(
            rt, world.window, date(2026, 11, 2), date(2026, 11, 2), pdf=target, xlsx=None
        )
    assert err.value.field == "end"
    assert not target.exists()


def test_a_day_for_the_township_and_the_whole_county_for_a_county_account(
    rt, world, month, tmp_path
):
    day = (date(2026, 11, 16), date(2026, 11, 17))
    report = stats_export.export(rt, world.window, *day, pdf=None, xlsx=tmp_path / "d.xlsx")
    assert report.title == "青禾镇便民服务中心办件统计（2026年11月16日）"
    assert report.total == 7
    assert load_workbook(tmp_path / "d.xlsx")["概览"]["B2"].value == report.title

    county, _ = make_user(rt, "county1", Role.COUNTY, township="")
    whole = stats_export.export(rt, county, *NOVEMBER, pdf=None, xlsx=tmp_path / "c.xlsx")
    assert whole.total == CaseRecord.select().count() == 8
    assert whole.township_name == "青禾县"
    other = stats.compute(*NOVEMBER, today=rt.today(), township=OTHER_TOWNSHIP)
    assert other.total == 1


def test_counts_come_from_one_snapshot_while_another_desk_writes(
    rt, world, month, db_url, tmp_path, monkeypatch
):
    """A case moved out of the period by another connection between two GROUP BYs must not
    make the breakdowns disagree with the total (the export reads one snapshot)."""
    moved = CaseRecord.select().where(CaseRecord.township == TOWNSHIP).first()
    other = make_database(db_url)
    other.connect()
    original, calls = stats._grouped, []

    def grouped_then_someone_writes(where, column):
        result = original(where, column)
        if not calls:
            other.execute_sql(
                "UPDATE case_file SET received_at = %s WHERE id = %s"
                if is_postgres(other)
                else "UPDATE case_file SET received_at = ? WHERE id = ?",
                (datetime(2025, 1, 6, 9, 0), moved.id),
            )
        calls.append(column)
        return result

    monkeypatch.setattr(stats, "_grouped", grouped_then_someone_writes)
    try:
        report = stats_export.export(
            rt, world.window, *NOVEMBER, pdf=None, xlsx=tmp_path / "s.xlsx"
        )
    finally:
        other.close()
    assert len(calls) > 1
    assert report.total == 7  # the state before the other desk's change, everywhere
    complete = [
        b for b in report.breakdowns() if b.name in ("按窗口", "按事项", "按状态", "即办承诺")
    ]
    for breakdown in complete:  # every case has a desk, an item, a state and a kind
        assert sum(n for _, n in breakdown.rows) == 7, breakdown.name
    # Outside the export's snapshot the change is visible.
    after = stats.compute(*NOVEMBER, today=rt.today(), township=TOWNSHIP)
    assert after.total == 6
