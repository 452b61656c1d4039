"""Catalog versions, the holiday table, statistics and backups through the services."""

from __future__ import annotations

import json
from datetime import date

import pytest
from helpers.factories import ADMIN, make_case

from app.domain.errors import PermissionDenied, ValidationError
from app.domain.states import CaseState
from app.services import backup, catalog, holidays, stats
from app.store.models import CaseRecord, CatalogVersionRecord, HolidayYearRecord
from forms.catalog import dump_catalog, load_demo_catalog


def test_catalog_version_is_immutable_and_cases_keep_theirs(rt, world):
    text = dump_catalog(load_demo_catalog())
    data = json.loads(text)
    data["items"][0]["fee"] = "按规定收取工本费"
    with pytest.raises(ValidationError, match="已存在且内容不同"):
        catalog.import_catalog(rt, ADMIN, json.dumps(data, ensure_ascii=False))
    ref = make_case(rt, world, CaseState.RECEIVED)
    data["version"] = "2026.12.1"
    catalog.import_catalog(rt, ADMIN, json.dumps(data, ensure_ascii=False))
    assert catalog.get_catalog().version == "2026.12.1"
    assert CaseRecord.get_by_id(ref.id).catalog_version == "2026.11.1"
    assert catalog.get_catalog("2026.11.1").items[0].fee != "按规定收取工本费"
    assert [v for v, active, _ in catalog.list_versions() if active] == ["2026.12.1"]


def test_catalog_import_rejects_catch_all_and_non_admin(rt, world):
    data = json.loads(dump_catalog(load_demo_catalog()))
    data["version"] = "2026.12.2"
    data["items"][0]["materials"][0]["name"] = "其他相关材料"
    with pytest.raises(ValidationError) as err:
        catalog.import_catalog(rt, ADMIN, json.dumps(data, ensure_ascii=False))
    assert data["items"][0]["code"] in err.value.message
    assert CatalogVersionRecord.select().count() == 1
    with pytest.raises(PermissionDenied):
        catalog.import_catalog(rt, world.window, dump_catalog(load_demo_catalog()))


def test_item_search_by_pinyin_initials_and_name(rt, world):
    names = [i.name for i in catalog.search_items("syd")]
    assert "生育登记" in names
    assert next(i.name for i in catalog.search_items("最低生活")).startswith("最低生活保障")


def test_holidays_seeded_and_2027_import_changes_deadlines(rt, world):
    assert rt.calendar.has_data(2026) and not rt.calendar.has_data(2027)
    assert HolidayYearRecord.select().count() >= 20
    assert rt.calendar.add_working_days(date(2026, 12, 30), 2).provisional
    text = json.dumps(
        {"years": [2027], "days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]}
    )
    assert holidays.import_holidays(rt, ADMIN, text, source="county") == [2027]
    result = rt.calendar.add_working_days(date(2026, 12, 30), 2)
    assert (result.day, result.provisional) == (date(2027, 1, 4), False)
    assert '"2027-01-01"' in holidays.export_holidays(rt, [2027])


def test_missing_next_year_warning_from_december(rt, clock):
    assert holidays.calendar_warning(rt) is None
    clock.value = clock.value.replace(month=12, day=1)
    assert "2027" in (holidays.calendar_warning(rt) or "")


def test_stats_count_what_the_database_holds(rt, world):
    for state in (CaseState.CLOSED, CaseState.REFUSED, CaseState.IN_REVIEW, CaseState.RECEIVED):
        make_case(rt, world, state)
    s = stats.compute(date(2026, 11, 1), date(2026, 12, 1), today=rt.today())
    assert s.total == CaseRecord.select().count() == 4
    assert s.by_state == {"closed": 1, "refused": 1, "in_review": 1, "received": 1}
    assert s.by_issue_method == {"pickup": 1}
    assert s.ratings == {5: 1}
    assert sum(s.by_desk.values()) == 4
    with pytest.raises(ValidationError):
        stats.month_range("2026-13")


def test_backup_and_restore_sqlite(rt, world, tmp_path):
    if "sqlite" not in rt.url:
        pytest.skip("restore is SQLite-only (PostgreSQL: pg_dump/psql by the DBA)")
    make_case(rt, world, CaseState.RECEIVED)
    target = backup.backup(rt, ADMIN, tmp_path / "b.sqlite3")
    assert backup.check_sqlite_file(target) >= 1
    make_case(rt, world, CaseState.RECEIVED)
    assert CaseRecord.select().count() == 2
    backup.restore(rt, ADMIN, target)
    assert CaseRecord.select().count() == 1
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"not a database" * 100)
    from app.domain.errors import KnownError

    with pytest.raises(KnownError):
        backup.restore(rt, ADMIN, bad)
    assert CaseRecord.select().count() == 1
