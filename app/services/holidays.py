"""The holiday table: seeded from chinese_calendar, importable from a county file."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from app.domain.calendar import (
    HolidayDay,
    WorkCalendar,
    dump_holiday_file,
    missing_year_warning,
    parse_holiday_file,
)
from app.domain.roles import Actor
from app.services import audit
from app.store import db as dbmod
from app.store.models import HolidayRecord, HolidayYearRecord

if TYPE_CHECKING:
    from app.services.runtime import Runtime


def _read_calendar() -> WorkCalendar:
    years = [r.year for r in HolidayYearRecord.select()]
    days = [
        HolidayDay(r.day, "workday" if r.kind == "workday" else "holiday", r.name)
        for r in HolidayRecord.select()
    ]
    return WorkCalendar(days, years)


def _store_years(years: set[int], days: list[HolidayDay], source: str, at: datetime) -> None:
    HolidayRecord.delete().where(HolidayRecord.day.year.in_(sorted(years))).execute()
    HolidayYearRecord.delete().where(HolidayYearRecord.year.in_(sorted(years))).execute()
    rows = [{"day": d.day, "kind": d.kind, "name": d.name} for d in days]
    for start in range(0, len(rows), 500):
        HolidayRecord.insert_many(rows[start : start + 500]).execute()
    HolidayYearRecord.insert_many(
        [{"year": y, "source": source, "imported_at": at} for y in sorted(years)]
    ).execute()


def load_calendar(rt: Runtime) -> WorkCalendar:
    """The calendar in the database; an empty table is seeded from chinese_calendar first."""
    if HolidayYearRecord.select().count() == 0:
        from app.domain.holiday_data import seed_from_chinese_calendar

        years, days = seed_from_chinese_calendar()
        with dbmod.write_transaction():
            if HolidayYearRecord.select().count() == 0:
                _store_years(years, days, "chinese_calendar", rt.now())
                audit.record(
                    rt,
                    None,
                    "holidays.seed",
                    object_type="holiday",
                    details={"years": f"{min(years)}-{max(years)}", "days": len(days)},
                )
    return _read_calendar()


def import_holidays(rt: Runtime, actor: Actor | None, text: str, *, source: str) -> list[int]:
    """Replace the schedule of the years in a holiday file; returns those years."""
    years, days = parse_holiday_file(text)
    with dbmod.write_transaction():
        _store_years(years, days, source[:40], rt.now())
        audit.record(
            rt,
            actor,
            "holidays.import",
            object_type="holiday",
            details={"years": sorted(years), "days": len(days), "source": source[:40]},
        )
    rt.calendar = _read_calendar()
    return sorted(years)


def export_holidays(rt: Runtime, years: list[int] | None = None) -> str:
    cal = rt.calendar
    chosen = set(years) if years else set(cal.covered_years)
    days = [d for d in cal.entries() if d.day.year in chosen]
    return dump_holiday_file(chosen & set(cal.covered_years), days)


def calendar_warning(rt: Runtime) -> str | None:
    return missing_year_warning(rt.calendar, rt.today())
