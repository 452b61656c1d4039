"""Seed the working-day calendar from the chinese_calendar package (2004 up to its last year)."""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import chinese_calendar

from app.domain.calendar import HolidayDay, HolidayKind, WorkCalendar

_NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}
_MERGED_NAMES = frozenset({"National Day", "Mid-autumn Festival"})
_MERGED_NAME = "国庆节、中秋节"
# Used only if a newer package version brings a holiday name this table does not know yet.
_FALLBACK_NAME = "法定节假日"
# The package keeps one label per date: when 中秋 falls on 1 October its label is lost, so the
# merged 国庆节、中秋节 break of those years cannot be told from the labels alone.
_MID_AUTUMN_ON_NATIONAL_DAY = frozenset({2020})
# Upper bound of the search for the package's last year when the caller gives none.
_SEARCH_LIMIT = 2200

# (day, is a day off, English holiday name or None) for every date of a year.
_DayDetail = tuple[date, bool, str | None]


def seed_from_chinese_calendar(
    first: int = 2004, last: int | None = None
) -> tuple[set[int], list[HolidayDay]]:
    """Covered years and schedule entries from the package, for `first`..`last`.

    Weekday days off become "holiday" entries, worked weekend days "workday" entries. The
    package's own range is found by trying year after year: years before it are skipped, the
    first unsupported year after it ends the search (so asking for 2027 never fails).
    `last=None` takes everything the installed package knows.
    """
    years: set[int] = set()
    days: list[HolidayDay] = []
    for year in range(first, (_SEARCH_LIMIT if last is None else last) + 1):
        details = _year_details(year)
        if details is None:
            if years:
                break
            continue
        years.add(year)
        days.extend(_year_entries(year, details))
    return years, days


@cache
def default_calendar() -> WorkCalendar:
    """The calendar seeded from the package (built once; the object is immutable)."""
    years, days = seed_from_chinese_calendar()
    return WorkCalendar(days, years)


def _year_details(year: int) -> list[_DayDetail] | None:
    details: list[_DayDetail] = []
    day = date(year, 1, 1)
    try:
        while day.year == year:
            off, raw_name = chinese_calendar.get_holiday_detail(day)
            # Older package versions return the Holiday enum, newer ones its string value.
            name = getattr(raw_name, "value", raw_name)
            details.append((day, bool(off), name if isinstance(name, str) else None))
            day += timedelta(days=1)
    except NotImplementedError:
        return None
    return details


def _year_entries(year: int, details: list[_DayDetail]) -> list[HolidayDay]:
    merged = _national_day_merged(year, details)
    entries: list[HolidayDay] = []
    for day, off, english in details:
        weekday = day.weekday() < 5
        kind: HolidayKind
        if weekday and off:
            kind = "holiday"
        elif not weekday and not off:
            kind = "workday"
        else:
            continue
        if merged and english in _MERGED_NAMES:
            name = _MERGED_NAME
        else:
            name = _NAMES.get(english or "", _FALLBACK_NAME)
        entries.append(HolidayDay(day, kind, name))
    return entries


def _national_day_merged(year: int, details: list[_DayDetail]) -> bool:
    """Whether 中秋 lies inside the unbroken run of days off around 1 October."""
    if year in _MID_AUTUMN_ON_NATIONAL_DAY:
        return True
    start = end = date(year, 10, 1).timetuple().tm_yday - 1
    if not details[start][1]:
        return False
    while start > 0 and details[start - 1][1]:
        start -= 1
    while end + 1 < len(details) and details[end + 1][1]:
        end += 1
    return any(name == "Mid-autumn Festival" for _, _, name in details[start : end + 1])
