"""Working-day calendar: official holiday schedule, deadlines in working days, the case clock."""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Literal, cast

from app.domain.errors import DomainError, ValidationError

HolidayKind = Literal["holiday", "workday"]

# Yellow once this many working days or fewer are left (the deadline day itself counts as 0).
YELLOW_WORKING_DAYS = 2

_WEEKDAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY_KEYS = frozenset({"date", "kind", "name"})


@dataclass(frozen=True)
class HolidayDay:
    """One exception to the Monday–Friday rule in the official schedule.

    kind "holiday": a weekday that is a day off; kind "workday": a weekend day worked (调休).
    A "holiday" on a weekend is harmless (the day is off anyway) and is kept as given.
    """

    day: date
    kind: HolidayKind
    name: str


@dataclass(frozen=True)
class DeadlineResult:
    """A computed deadline; provisional when a year on the way has no official schedule."""

    day: date
    provisional: bool


class WorkCalendar:
    """Working days of the official schedule; years without data fall back to Monday–Friday.

    Immutable once built: per-year sorted arrays of working-day ordinals are computed lazily
    and searched with bisect, so every query costs O(log n) plus one step per year crossed.
    """

    def __init__(self, days: Iterable[HolidayDay], covered_years: Iterable[int]) -> None:
        self._covered = frozenset(covered_years)
        overrides: dict[date, HolidayDay] = {}
        for entry in days:
            stamp = entry.day.isoformat()
            if entry.day.year not in self._covered:
                raise ValidationError(f"节假日安排中的 {stamp} 不在已声明有数据的年份内")
            if entry.day in overrides:
                raise ValidationError(f"节假日安排中的 {stamp} 重复出现")
            overrides[entry.day] = entry
        self._overrides = overrides
        self._year_days: dict[int, list[int]] = {}

    @property
    def covered_years(self) -> frozenset[int]:
        """Years whose official schedule is known."""
        return self._covered

    def has_data(self, year: int) -> bool:
        """Whether the official schedule of `year` is known."""
        return year in self._covered

    def entry(self, day: date) -> HolidayDay | None:
        """The schedule entry for `day` (a holiday or a 调休 workday), if any."""
        return self._overrides.get(day)

    def entries(self) -> list[HolidayDay]:
        """All schedule entries sorted by date, e.g. to export them as a holiday file."""
        return sorted(self._overrides.values(), key=lambda entry: entry.day)

    def with_years(self, years: Iterable[int], days: Iterable[HolidayDay]) -> WorkCalendar:
        """A new calendar where the schedule of `years` is replaced by `days` (an import)."""
        replaced = frozenset(years)
        kept = [e for e in self._overrides.values() if e.day.year not in replaced]
        return WorkCalendar([*kept, *days], self._covered | replaced)

    def is_workday(self, day: date) -> bool:
        """Whether `day` is a working day (Monday–Friday rule in a year without data)."""
        entry = self._overrides.get(day)
        if entry is not None:
            return entry.kind == "workday"
        return day.weekday() < 5

    def add_working_days(self, start: date, n: int) -> DeadlineResult:
        """The deadline `n` working days after the acceptance day `start`.

        Rule: the acceptance day itself is day 0 and never counts, whatever it is; the deadline
        is the n-th working day strictly after `start`. n == 0 (即办件) gives `start` itself.
        Provisional when any year from `start` to the deadline has no official schedule.
        """
        if n < 0:
            raise ValidationError("办理时限（工作日数）不能为负数", field="limit_days")
        if n == 0:
            return DeadlineResult(start, not self.has_data(start.year))
        year, after, remaining = start.year, start.toordinal(), n
        while True:
            days = self._working_ordinals(year)
            first_after = bisect_right(days, after)
            available = len(days) - first_after
            if remaining <= available:
                end = date.fromordinal(days[first_after + remaining - 1])
                break
            remaining -= available
            year += 1
        return DeadlineResult(end, self._any_uncovered(start.year, end.year))

    def working_days_between(self, a: date, b: date) -> int:
        """Number of working days in (a, b]: 0 for the same day, negative when b < a."""
        if b < a:
            return -self.working_days_between(b, a)
        first = self._working_ordinals(a.year)
        before_a = bisect_right(first, a.toordinal())
        if a.year == b.year:
            return bisect_right(first, b.toordinal()) - before_a
        count = len(first) - before_a
        for year in range(a.year + 1, b.year):
            count += len(self._working_ordinals(year))
        return count + bisect_right(self._working_ordinals(b.year), b.toordinal())

    def remaining_working_days(self, today: date, deadline: date) -> int:
        """Working days left: 0 on the deadline day; when overdue, minus the working days
        after the deadline up to and including today."""
        return self.working_days_between(today, deadline)

    def _any_uncovered(self, first_year: int, last_year: int) -> bool:
        return any(year not in self._covered for year in range(first_year, last_year + 1))

    def _working_ordinals(self, year: int) -> list[int]:
        days = self._year_days.get(year)
        if days is None:
            day, days = date(year, 1, 1), []
            while day.year == year:
                if self.is_workday(day):
                    days.append(day.toordinal())
                day += timedelta(days=1)
            # A racing thread may build the same list; both results are equal, so no lock.
            self._year_days[year] = days
        return days


class DeadlineStatus(StrEnum):
    """Traffic-light state of a case's deadline."""

    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def label(self) -> str:
        """Chinese label shown to the user."""
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    DeadlineStatus.GREEN: "正常",
    DeadlineStatus.YELLOW: "临近",
    DeadlineStatus.RED: "超期",
}


def deadline_status(calendar: WorkCalendar, today: date, deadline: date) -> DeadlineStatus:
    """Red once today is past the deadline; yellow with at most 2 working days left
    (the deadline day itself, with 0 left, is yellow); green otherwise."""
    if today > deadline:
        return DeadlineStatus.RED
    if calendar.remaining_working_days(today, deadline) <= YELLOW_WORKING_DAYS:
        return DeadlineStatus.YELLOW
    return DeadlineStatus.GREEN


@dataclass(frozen=True)
class CaseClock:
    """The clock of a case: its time limit, and correction time that does not count.

    补正期间不计时: the working days in (paused_since, resumed] are added to the limit.
    Immutable: pause/resume return a new clock so the workflow can store its fields.
    """

    accepted_on: date | None
    limit_days: int
    paused_working_days: int = 0
    paused_since: date | None = None

    def __post_init__(self) -> None:
        if self.limit_days < 0:
            raise DomainError("办理时限（工作日数）不能为负数")
        if self.paused_working_days < 0:
            raise DomainError("补正暂停的工作日数不能为负数")

    @property
    def is_paused(self) -> bool:
        """Whether the clock is stopped for a correction (补正)."""
        return self.paused_since is not None

    def pause(self, day: date) -> CaseClock:
        """Stop the clock on `day` (a correction notice was issued)."""
        if self.accepted_on is None:
            raise DomainError("办件尚未受理，不能暂停计时")
        if self.paused_since is not None:
            raise DomainError("办件已处于补正暂停计时状态")
        if day < self.accepted_on:
            raise DomainError("暂停计时的日期不能早于受理日期")
        return replace(self, paused_since=day)

    def resume(self, day: date, calendar: WorkCalendar) -> CaseClock:
        """Restart the clock on `day`; resuming on the day of the pause adds nothing."""
        if self.paused_since is None:
            raise DomainError("办件未处于补正暂停计时状态，无需恢复计时")
        if day < self.paused_since:
            raise DomainError("恢复计时的日期不能早于暂停计时的日期")
        added = calendar.working_days_between(self.paused_since, day)
        return replace(
            self, paused_working_days=self.paused_working_days + added, paused_since=None
        )

    def deadline(self, calendar: WorkCalendar, today: date | None = None) -> DeadlineResult | None:
        """The deadline, or None before acceptance.

        While paused, the pause so far (up to `today`, when given) is counted as well, so the
        deadline shown moves on day by day until the clock is resumed.
        """
        if self.accepted_on is None:
            return None
        paused = self.paused_working_days
        if self.paused_since is not None and today is not None and today > self.paused_since:
            paused += calendar.working_days_between(self.paused_since, today)
        return calendar.add_working_days(self.accepted_on, self.limit_days + paused)


def missing_year_warning(calendar: WorkCalendar, today: date) -> str | None:
    """A Chinese warning when this year's schedule is missing, or next year's from 1 December."""
    if not calendar.has_data(today.year):
        return _missing_year_text(today.year)
    if today.month == 12 and not calendar.has_data(today.year + 1):
        return _missing_year_text(today.year + 1)
    return None


def _missing_year_text(year: int) -> str:
    return (
        f"尚未获得{year}年法定节假日安排，期限按周一至周五临时计算并标注为“暂定”，"
        "请尽快从县级同步或导入节假日文件"
    )


def parse_holiday_file(text: str) -> tuple[set[int], list[HolidayDay]]:
    """Read a holiday file distributed by the county; reject anything doubtful.

    Format: {"years": [2027], "days": [{"date": "2027-01-01", "kind": "holiday",
    "name": "元旦"}, ...]}. Extra top-level keys (e.g. a version) are ignored; entries must
    have exactly date/kind/name. A "holiday" on a weekend is accepted (harmless); a "workday"
    on a weekday means nothing and is rejected, as are dates outside the declared years and
    duplicate dates.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"节假日文件不是有效的 JSON（第{exc.lineno}行第{exc.colno}列附近有错误）"
        ) from exc
    if not isinstance(data, dict):
        raise ValidationError("节假日文件格式错误：最外层应为包含 years 和 days 的对象")
    years = _parse_years(data.get("years"))
    raw_days = data.get("days")
    if not isinstance(raw_days, list):
        raise ValidationError("节假日文件格式错误：days 应为列表", field="days")
    days: list[HolidayDay] = []
    seen: set[date] = set()
    for number, raw in enumerate(raw_days, start=1):
        entry = _parse_day(raw, number, years)
        if entry.day in seen:
            raise ValidationError(
                f"节假日文件第{number}条：日期 {entry.day.isoformat()} 重复出现", field="days"
            )
        seen.add(entry.day)
        days.append(entry)
    return years, days


def dump_holiday_file(years: Iterable[int], days: Iterable[HolidayDay]) -> str:
    """Write a holiday file (the format `parse_holiday_file` reads); refuses invalid content."""
    payload = {
        "years": sorted(set(years)),
        "days": [
            {"date": entry.day.isoformat(), "kind": entry.kind, "name": entry.name}
            for entry in sorted(days, key=lambda entry: entry.day)
        ],
    }
    text = json.dumps(payload, ensure_ascii=False, indent=1)
    # Never hand out a file the townships would reject on import.
    parse_holiday_file(text)
    return text + "\n"


def _parse_years(raw: object) -> set[int]:
    if not isinstance(raw, list) or not raw:
        raise ValidationError("节假日文件格式错误：years 应为非空的年份列表", field="years")
    years: set[int] = set()
    for value in raw:
        # bool is an int subclass; true/false in the file is a mistake, not a year.
        if isinstance(value, bool) or not isinstance(value, int) or not 1900 <= value <= 2200:
            raise ValidationError(f"节假日文件中的年份“{value}”无效", field="years")
        if value in years:
            raise ValidationError(f"节假日文件中的年份 {value} 重复出现", field="years")
        years.add(value)
    return years


def _parse_day(raw: object, number: int, years: set[int]) -> HolidayDay:
    where = f"节假日文件第{number}条"
    if not isinstance(raw, dict) or set(raw) != _DAY_KEYS:
        raise ValidationError(f"{where}：应为只含 date、kind、name 三项的对象", field="days")
    fields = cast(dict[str, Any], raw)
    day = _parse_date(fields["date"], where)
    kind, name = fields["kind"], fields["name"]
    if kind not in ("holiday", "workday"):
        raise ValidationError(f"{where}：类型“{kind}”无效，应为 holiday 或 workday", field="days")
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"{where}：缺少节日名称", field="days")
    if day.year not in years:
        raise ValidationError(f"{where}：日期 {day.isoformat()} 不在文件声明的年份内", field="days")
    if kind == "workday" and day.weekday() < 5:
        raise ValidationError(
            f"{where}：{day.isoformat()}是{_WEEKDAY_NAMES[day.weekday()]}，本来就是工作日，"
            "不能标为调休上班",
            field="days",
        )
    return HolidayDay(day, cast(HolidayKind, kind), name.strip())


def _parse_date(raw: object, where: str) -> date:
    # fromisoformat alone also takes forms like 20270101; the file format is YYYY-MM-DD only.
    if isinstance(raw, str) and _ISO_DATE.fullmatch(raw):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise ValidationError(f"{where}：日期“{raw}”无效，应为 YYYY-MM-DD 格式的真实日期", field="days")
