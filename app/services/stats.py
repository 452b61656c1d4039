"""Statistics queries: counts by desk, item, station, state; overdue; 自取/邮寄; 好差评."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast

import peewee as pw

from app.domain.calendar import YELLOW_WORKING_DAYS, WorkCalendar
from app.domain.holiday_data import default_calendar
from app.domain.states import FINAL_STATES, CaseState
from app.store import db as dbmod
from app.store.models import CaseRecord, ComplaintRecord, EvaluationRecord

RATING_LABELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


@dataclass
class Stats:
    """Counts for cases received in [start, end)."""

    start: date
    end: date
    total: int = 0
    by_desk: dict[str, int] = field(default_factory=dict)
    by_item: dict[str, int] = field(default_factory=dict)
    by_station: dict[str, int] = field(default_factory=dict)
    by_state: dict[str, int] = field(default_factory=dict)
    by_kind: dict[str, int] = field(default_factory=dict)
    by_issue_method: dict[str, int] = field(default_factory=dict)
    ratings: dict[int, int] = field(default_factory=dict)
    overdue_open: int = 0
    near_due_open: int = 0
    finished_late: int = 0
    complaints: int = 0


def month_range(month: str) -> tuple[date, date]:
    from app.domain.errors import ValidationError

    try:
        start = datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise ValidationError("月份格式应为 YYYY-MM，如 2026-11", field="month") from None
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start, end


def _grouped(where: pw.Expression, column: pw.Field) -> dict[str, int]:
    query = (
        CaseRecord.select(column, pw.fn.COUNT(CaseRecord.id))
        .where(where)
        .group_by(column)
        .order_by(pw.fn.COUNT(CaseRecord.id).desc(), column)
        .tuples()
    )
    rows = cast(Iterable[tuple[Any, int]], query)
    return {str(key) if key is not None else "": int(n) for key, n in rows}


def compute(
    start: date,
    end: date,
    *,
    today: date,
    township: str | None = None,
    calendar: WorkCalendar | None = None,
) -> Stats:
    """Statistics for cases received in [start, end); overdue and near-due (the yellow light:
    at most 2 working days left) are judged as of `today`. All counts come from one snapshot."""
    with dbmod.read_snapshot():
        return _compute(start, end, today, township, calendar or default_calendar())


def _compute(
    start: date, end: date, today: date, township: str | None, calendar: WorkCalendar
) -> Stats:
    begin, stop = (
        datetime.combine(start, datetime.min.time()),
        datetime.combine(end, datetime.min.time()),
    )
    where = (CaseRecord.received_at >= begin) & (CaseRecord.received_at < stop)
    if township:
        where &= CaseRecord.township == township
    stats = Stats(start, end)
    stats.by_state = _grouped(where, CaseRecord.state)
    stats.total = sum(stats.by_state.values())
    stats.by_desk = _grouped(where, CaseRecord.desk)
    stats.by_item = _grouped(where, CaseRecord.item_name)
    stats.by_station = _grouped(where & CaseRecord.station.is_null(False), CaseRecord.station)
    stats.by_kind = _grouped(where, CaseRecord.kind)
    stats.by_issue_method = _grouped(
        where & CaseRecord.issue_method.is_null(False), CaseRecord.issue_method
    )
    open_states = [s.value for s in CaseState if s not in FINAL_STATES]
    near_limit = calendar.add_working_days(today, YELLOW_WORKING_DAYS).day
    open_clause = where & CaseRecord.state.in_(open_states) & CaseRecord.deadline.is_null(False)
    stats.overdue_open = (
        CaseRecord.select().where(open_clause & (CaseRecord.deadline < today)).count()
    )
    stats.near_due_open = (
        CaseRecord.select()
        .where(open_clause & (CaseRecord.deadline >= today) & (CaseRecord.deadline <= near_limit))
        .count()
    )
    stats.finished_late = (
        CaseRecord.select()
        .where(
            where
            & CaseRecord.decided_on.is_null(False)
            & (CaseRecord.decided_on > CaseRecord.deadline)
        )
        .count()
    )
    ratings = (
        EvaluationRecord.select(EvaluationRecord.level, pw.fn.COUNT(EvaluationRecord.id))
        .join(CaseRecord)
        .where(where)
        .group_by(EvaluationRecord.level)
        .tuples()
    )
    stats.ratings = {int(level): int(n) for level, n in cast(Iterable[tuple[int, int]], ratings)}
    complaint_where = (ComplaintRecord.received_at >= begin) & (ComplaintRecord.received_at < stop)
    if township:
        complaint_where &= ComplaintRecord.township == township
    stats.complaints = ComplaintRecord.select().where(complaint_where).count()
    return stats
