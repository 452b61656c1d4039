"""Tests for the working-day calendar, deadlines, the case clock and holiday files."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import FrozenInstanceError
from datetime import date, timedelta

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.calendar import (
    CaseClock,
    DeadlineResult,
    DeadlineStatus,
    HolidayDay,
    WorkCalendar,
    deadline_status,
    dump_holiday_file,
    missing_year_warning,
    parse_holiday_file,
)
from app.domain.errors import DomainError, ValidationError
from app.domain.holiday_data import default_calendar, seed_from_chinese_calendar

CAL = default_calendar()

# 2027 as a county would distribute it; only 元旦 (Friday 1 January) matters to these tests.
HOLIDAYS_2027 = json.dumps(
    {
        "years": [2027],
        "days": [
            {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
            {"date": "2027-02-07", "kind": "workday", "name": "春节"},
        ],
    },
    ensure_ascii=False,
)


def package_last_year() -> int:
    """The package's last supported year, found independently of the code under test."""
    year = 2026
    while True:
        try:
            chinese_calendar.is_workday(date(year + 1, 6, 1))
        except NotImplementedError:
            return year
        year += 1


def naive_add(start: date, n: int, is_workday: Callable[[date], bool]) -> date:
    """Reference deadline: step day by day from the acceptance day."""
    day = start
    while n > 0:
        day += timedelta(days=1)
        if is_workday(day):
            n -= 1
    return day


def days_of(year: int, months: tuple[int, ...]) -> list[date]:
    day, out = date(year, 1, 1), []
    while day.year == year:
        if day.month in months:
            out.append(day)
        day += timedelta(days=1)
    return out


def calendar_with_2027() -> WorkCalendar:
    years, days = parse_holiday_file(HOLIDAYS_2027)
    return CAL.with_years(years, days)


# --- seeding from chinese_calendar -------------------------------------------------------


def test_seed_matches_package_for_every_date() -> None:
    last = package_last_year()
    assert CAL.covered_years == frozenset(range(2004, last + 1))
    day = date(2004, 1, 1)
    while day.year <= last:
        assert CAL.is_workday(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


def test_seed_stops_at_package_end_without_crashing() -> None:
    last = package_last_year()
    years, days = seed_from_chinese_calendar(2020, last + 3)
    assert years == set(range(2020, last + 1))
    assert all(2020 <= entry.day.year <= last for entry in days)
    assert seed_from_chinese_calendar(last + 1, last + 2) == (set(), [])
    # Years before the package's range are skipped rather than ending the search.
    assert min(seed_from_chinese_calendar(1995, 2005)[0]) == 2004


def test_seed_entries_are_weekday_holidays_and_weekend_workdays() -> None:
    for entry in CAL.entries():
        weekday = entry.day.weekday() < 5
        assert (entry.kind == "holiday") == weekday, entry
        assert chinese_calendar.is_workday(entry.day) == (entry.kind == "workday"), entry


@pytest.mark.parametrize(
    ("day", "kind", "name"),
    [
        (date(2026, 1, 2), "holiday", "元旦"),
        (date(2026, 1, 4), "workday", "元旦"),
        (date(2026, 2, 16), "holiday", "春节"),
        (date(2026, 4, 6), "holiday", "清明节"),
        (date(2026, 5, 9), "workday", "劳动节"),
        (date(2026, 6, 19), "holiday", "端午节"),
        (date(2026, 9, 25), "holiday", "中秋节"),
        (date(2026, 9, 20), "workday", "国庆节"),
        (date(2026, 10, 1), "holiday", "国庆节"),
        (date(2025, 10, 1), "holiday", "国庆节、中秋节"),
        (date(2025, 10, 6), "holiday", "国庆节、中秋节"),
        (date(2025, 9, 28), "workday", "国庆节、中秋节"),
        (date(2023, 9, 29), "holiday", "国庆节、中秋节"),
        (date(2020, 10, 1), "holiday", "国庆节、中秋节"),
        (date(2015, 9, 3), "holiday", "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日"),
        (date(2015, 10, 1), "holiday", "国庆节"),
    ],
)
def test_seed_chinese_names(day: date, kind: str, name: str) -> None:
    assert CAL.entry(day) == HolidayDay(day, kind, name)  # type: ignore[arg-type]


# --- deadlines -----------------------------------------------------------------------------


def test_national_day_2026_swap_days_come_from_package() -> None:
    autumn = days_of(2026, (9, 10))
    from_package = [d for d in autumn if d.weekday() >= 5 and chinese_calendar.is_workday(d)]
    assert from_package == [date(2026, 9, 20), date(2026, 10, 10)]
    ours = [d for d in autumn if (e := CAL.entry(d)) is not None and e.kind == "workday"]
    assert ours == from_package
    assert all(not CAL.is_workday(date(2026, 10, day)) for day in range(1, 8))


def test_deadline_across_national_day_2026() -> None:
    # Accepted Wed 30 Sept: 1–7 Oct off, then Thu 8, Fri 9, Sat 10 (调休) are days 1–3.
    assert CAL.add_working_days(date(2026, 9, 30), 3) == DeadlineResult(date(2026, 10, 10), False)
    # Sun 20 Sept is a worked day, so one working day after Fri 18 Sept is that Sunday.
    assert CAL.add_working_days(date(2026, 9, 18), 1).day == date(2026, 9, 20)
    for start in days_of(2026, (9, 10)):
        for n in (1, 3, 5, 10):
            expected = naive_add(start, n, chinese_calendar.is_workday)
            assert CAL.add_working_days(start, n).day == expected, (start, n)


def test_deadline_across_spring_festival_2026() -> None:
    # Sat 14 Feb and Sat 28 Feb are worked; 15–23 Feb are off.
    assert CAL.add_working_days(date(2026, 2, 13), 1).day == date(2026, 2, 14)
    assert CAL.add_working_days(date(2026, 2, 13), 2).day == date(2026, 2, 24)
    assert CAL.add_working_days(date(2026, 2, 13), 6).day == date(2026, 2, 28)
    assert CAL.working_days_between(date(2026, 2, 14), date(2026, 2, 24)) == 1
    for start in days_of(2026, (1, 2, 3)):
        for n in (1, 2, 7, 20):
            expected = naive_add(start, n, chinese_calendar.is_workday)
            assert CAL.add_working_days(start, n).day == expected, (start, n)


def test_immediate_case_deadline_is_acceptance_day() -> None:
    assert CAL.add_working_days(date(2026, 3, 10), 0) == DeadlineResult(date(2026, 3, 10), False)
    # Even on a day off (accepted during 国庆 duty), 即办 means the same day.
    assert CAL.add_working_days(date(2026, 10, 3), 0).day == date(2026, 10, 3)
    assert CAL.add_working_days(date(2027, 3, 10), 0) == DeadlineResult(date(2027, 3, 10), True)


def test_negative_limit_rejected() -> None:
    with pytest.raises(ValidationError, match="不能为负数"):
        CAL.add_working_days(date(2026, 3, 10), -1)


def test_working_days_between() -> None:
    assert CAL.working_days_between(date(2026, 9, 30), date(2026, 9, 30)) == 0
    assert CAL.working_days_between(date(2026, 9, 30), date(2026, 10, 10)) == 3
    assert CAL.working_days_between(date(2026, 10, 10), date(2026, 9, 30)) == -3
    # A whole covered year counted across the year boundary matches the package.
    full_2025 = sum(chinese_calendar.is_workday(d) for d in days_of(2025, tuple(range(1, 13))))
    assert CAL.working_days_between(date(2024, 12, 31), date(2025, 12, 31)) == full_2025


def test_year_boundary_is_provisional_until_2027_is_imported() -> None:
    start = date(2026, 12, 30)
    assert CAL.add_working_days(start, 1) == DeadlineResult(date(2026, 12, 31), False)
    # Without 2027 data, Fri 1 Jan 2027 counts as a working day, marked 暂定.
    assert CAL.add_working_days(start, 2) == DeadlineResult(date(2027, 1, 1), True)
    imported = calendar_with_2027()
    assert imported.add_working_days(start, 2) == DeadlineResult(date(2027, 1, 4), False)
    assert imported.is_workday(date(2027, 2, 7))
    assert not imported.is_workday(date(2027, 1, 1))
    # 2028 is still unknown, so a deadline reaching it stays provisional.
    assert imported.add_working_days(date(2027, 12, 29), 5).provisional
    # Importing builds a new calendar; the seeded one is unchanged.
    assert not CAL.has_data(2027)
    assert CAL.is_workday(date(2027, 1, 1))


def test_calendar_rejects_days_outside_covered_years_and_duplicates() -> None:
    entry = HolidayDay(date(2027, 1, 1), "holiday", "元旦")
    with pytest.raises(ValidationError, match="不在已声明"):
        WorkCalendar([entry], {2026})
    with pytest.raises(ValidationError, match="重复"):
        WorkCalendar([entry, entry], {2027})


# --- status --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "remaining", "status"),
    [
        (date(2026, 9, 30), 3, DeadlineStatus.GREEN),
        (date(2026, 10, 7), 3, DeadlineStatus.GREEN),
        (date(2026, 10, 8), 2, DeadlineStatus.YELLOW),
        (date(2026, 10, 9), 1, DeadlineStatus.YELLOW),
        (date(2026, 10, 10), 0, DeadlineStatus.YELLOW),
        # Sunday after a Saturday (调休) deadline: no working day has passed, but it is late.
        (date(2026, 10, 11), 0, DeadlineStatus.RED),
        (date(2026, 10, 12), -1, DeadlineStatus.RED),
        (date(2026, 10, 14), -3, DeadlineStatus.RED),
    ],
)
def test_remaining_days_and_status(today: date, remaining: int, status: DeadlineStatus) -> None:
    deadline = date(2026, 10, 10)
    assert CAL.remaining_working_days(today, deadline) == remaining
    assert deadline_status(CAL, today, deadline) is status


def test_status_labels() -> None:
    assert [s.label for s in DeadlineStatus] == ["正常", "临近", "超期"]
    assert DeadlineStatus("red") is DeadlineStatus.RED
    assert isinstance(DeadlineStatus.YELLOW, str)
    assert str(DeadlineStatus.YELLOW) == "yellow"


# --- case clock ----------------------------------------------------------------------------


def test_clock_pause_over_weekend_and_national_day_is_not_counted() -> None:
    clock = CaseClock(accepted_on=date(2026, 9, 28), limit_days=5)
    assert clock.deadline(CAL) == DeadlineResult(date(2026, 10, 10), False)
    paused = clock.pause(date(2026, 9, 29))
    assert paused.is_paused and not clock.is_paused
    # While paused, the shown deadline moves with the pause so far: (29 Sept, 30 Sept] = 1 day.
    assert paused.deadline(CAL, today=date(2026, 9, 30)) == DeadlineResult(
        date(2026, 10, 12), False
    )
    assert paused.deadline(CAL, today=date(2026, 9, 29)) == clock.deadline(CAL)
    resumed = paused.resume(date(2026, 10, 9), CAL)
    # (29 Sept, 9 Oct] holds 30 Sept, 8 Oct and 9 Oct: three working days.
    assert resumed == CaseClock(date(2026, 9, 28), 5, paused_working_days=3)
    assert resumed.deadline(CAL, today=date(2026, 10, 20)) == DeadlineResult(
        date(2026, 10, 14), False
    )


def test_clock_pause_over_plain_weekend_and_same_day_resume() -> None:
    clock = CaseClock(accepted_on=date(2026, 3, 2), limit_days=3)
    # Paused Friday, resumed Monday: only Monday is a paused working day.
    weekend = clock.pause(date(2026, 3, 6)).resume(date(2026, 3, 9), CAL)
    assert weekend.paused_working_days == 1
    same_day = weekend.pause(date(2026, 3, 10)).resume(date(2026, 3, 10), CAL)
    assert same_day.paused_working_days == 1
    assert same_day.deadline(CAL) == DeadlineResult(date(2026, 3, 6), False)


def test_clock_misuse_raises_domain_errors() -> None:
    clock = CaseClock(accepted_on=date(2026, 3, 2), limit_days=3)
    with pytest.raises(DomainError, match="已处于补正暂停计时状态"):
        clock.pause(date(2026, 3, 3)).pause(date(2026, 3, 4))
    with pytest.raises(DomainError, match="未处于补正暂停计时状态"):
        clock.resume(date(2026, 3, 4), CAL)
    with pytest.raises(DomainError, match="早于暂停"):
        clock.pause(date(2026, 3, 5)).resume(date(2026, 3, 4), CAL)
    with pytest.raises(DomainError, match="早于受理"):
        clock.pause(date(2026, 3, 1))
    with pytest.raises(DomainError, match="尚未受理"):
        CaseClock(accepted_on=None, limit_days=3).pause(date(2026, 3, 1))
    with pytest.raises(DomainError, match="不能为负数"):
        CaseClock(accepted_on=date(2026, 3, 2), limit_days=-1)
    with pytest.raises(FrozenInstanceError):
        clock.limit_days = 4  # type: ignore[misc]


def test_clock_without_acceptance_has_no_deadline() -> None:
    assert CaseClock(accepted_on=None, limit_days=5).deadline(CAL) is None


# --- missing-year warning ------------------------------------------------------------------


def test_missing_year_warning() -> None:
    assert missing_year_warning(CAL, date(2026, 11, 30)) is None
    warning = missing_year_warning(CAL, date(2026, 12, 1))
    assert warning is not None
    assert "2027年" in warning and "暂定" in warning and "导入节假日文件" in warning
    assert missing_year_warning(CAL, date(2027, 3, 1)) == warning
    imported = calendar_with_2027()
    assert missing_year_warning(imported, date(2026, 12, 1)) is None
    assert missing_year_warning(imported, date(2027, 11, 30)) is None
    next_year = missing_year_warning(imported, date(2027, 12, 1))
    assert next_year is not None and "2028年" in next_year


# --- holiday files -------------------------------------------------------------------------


def test_holiday_file_round_trip() -> None:
    years, days = parse_holiday_file(HOLIDAYS_2027)
    assert years == {2027}
    assert days == [
        HolidayDay(date(2027, 1, 1), "holiday", "元旦"),
        HolidayDay(date(2027, 2, 7), "workday", "春节"),
    ]
    assert parse_holiday_file(dump_holiday_file(years, reversed(days))) == (years, days)
    text = dump_holiday_file(CAL.covered_years, CAL.entries())
    assert parse_holiday_file(text) == (set(CAL.covered_years), CAL.entries())


def test_holiday_on_weekend_is_accepted() -> None:
    text = '{"years": [2027], "days": [{"date": "2027-01-02", "kind": "holiday", "name": "元旦"}]}'
    years, days = parse_holiday_file(text)
    assert not WorkCalendar(days, years).is_workday(date(2027, 1, 2))


def _file(*days: object, years: object = (2027,)) -> str:
    return json.dumps({"years": list(years) if isinstance(years, tuple) else years, "days": days})


def _day(day: str, kind: str = "holiday", name: str = "元旦") -> dict[str, str]:
    return {"date": day, "kind": kind, "name": name}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{years: [2027]}", "不是有效的 JSON"),
        ("[2027]", "最外层"),
        (_file(years=[]), "非空的年份列表"),
        (_file(years="2027"), "非空的年份列表"),
        (_file(years=[True]), "年份“True”无效"),
        (_file(years=["2027"]), "年份“2027”无效"),
        (_file(years=[2027, 2027]), "年份 2027 重复"),
        ('{"years": [2027], "days": {}}', "days 应为列表"),
        (_file(_day("2027-02-30")), "日期“2027-02-30”无效"),
        (_file(_day("2027/01/01")), "无效"),
        (_file(_day("20270101")), "无效"),
        (_file(_day("2027-01-01", kind="off")), "类型“off”无效"),
        (_file(_day("2027-01-01", name=" ")), "缺少节日名称"),
        (_file({"date": "2027-01-01", "kind": "holiday"}), "只含 date、kind、name"),
        (_file({**_day("2027-01-01"), "note": "x"}), "只含 date、kind、name"),
        (_file(_day("2028-01-03")), "不在文件声明的年份内"),
        (_file(_day("2027-01-04", kind="workday")), "是周一，本来就是工作日"),
        (_file(_day("2027-01-01"), _day("2027-01-01")), "第2条：日期 2027-01-01 重复"),
    ],
)
def test_holiday_file_errors(text: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_holiday_file(text)


def test_dump_refuses_invalid_content() -> None:
    with pytest.raises(ValidationError, match="本来就是工作日"):
        dump_holiday_file([2027], [HolidayDay(date(2027, 1, 4), "workday", "春节")])


# --- properties ----------------------------------------------------------------------------

# 2001–2029 spans years with data and uncovered years on both sides.
starts = st.dates(min_value=date(2001, 1, 1), max_value=date(2029, 12, 31))
counts = st.integers(min_value=0, max_value=600)


@settings(deadline=None)
@given(start=starts, n=counts)
def test_property_add_then_count_is_identity(start: date, n: int) -> None:
    result = CAL.add_working_days(start, n)
    assert CAL.working_days_between(start, result.day) == n
    assert result.day == naive_add(start, n, CAL.is_workday)
    uncovered = any(not CAL.has_data(y) for y in range(start.year, result.day.year + 1))
    assert result.provisional == uncovered


@settings(deadline=None)
@given(start=starts, n=counts, more=st.integers(min_value=1, max_value=50))
def test_property_monotonic_in_n(start: date, n: int, more: int) -> None:
    assert CAL.add_working_days(start, n).day < CAL.add_working_days(start, n + more).day


@settings(deadline=None)
@given(a=starts, b=starts)
def test_property_count_then_add_reaches_working_day(a: date, b: date) -> None:
    between = CAL.working_days_between(a, b)
    assert CAL.working_days_between(b, a) == -between
    if b >= a and CAL.is_workday(b):
        assert CAL.add_working_days(a, between).day == b
