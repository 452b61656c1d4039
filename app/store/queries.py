"""Queue and search queries (all list queries live here): paged, index-backed, no full loads."""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import peewee as pw

from app.store.models import ApplicantRecord, CaseRecord

_CASE_NO_PART = re.compile(r"^\d{9}-[A-Z0-9]{0,2}(-\d{0,8}(-\d{0,4})?)?$")
_TAIL = re.compile(r"^\d{3}[\dX]$")


@dataclass(frozen=True)
class QueueFilter:
    """Who looks (township, station, county) and what they ask for (states, search text)."""

    township: str | None = None
    station: str | None = None
    states: tuple[str, ...] | None = None
    at_county: bool | None = None
    search: str = ""
    id_index: str | None = None
    phone_index: str | None = None


@dataclass(frozen=True)
class CaseRow:
    """One line of a queue: no decrypted personal data."""

    id: int
    case_no: str
    item_name: str
    applicant_name: str
    state: str
    station: str | None
    deadline: date | None
    deadline_provisional: bool
    received_at: datetime
    version: int
    township: str
    handling_mode: str


def _search_clause(f: QueueFilter) -> pw.Expression | None:
    text = f.search.strip().upper()
    if not text and not f.id_index and not f.phone_index:
        return None
    if f.id_index or f.phone_index:
        return CaseRecord.applicant.in_(
            ApplicantRecord.select(ApplicantRecord.id).where(
                (ApplicantRecord.id_index == (f.id_index or ""))
                | (ApplicantRecord.phone_index == (f.phone_index or ""))
            )
        )
    if _CASE_NO_PART.match(text):
        return (CaseRecord.case_no >= text) & (CaseRecord.case_no < text + "~")
    if _TAIL.match(text):
        tails = ApplicantRecord.select(ApplicantRecord.id).where(
            (ApplicantRecord.id_tail == text) | (ApplicantRecord.phone_tail == text)
        )
        return CaseRecord.applicant.in_(tails)
    name = f.search.strip()
    return (CaseRecord.applicant_name >= name) & (CaseRecord.applicant_name < name + "\uffff")


def _where(f: QueueFilter) -> pw.Expression | pw.SQL:
    """The filter, in index column order (township, at_county, station, state)."""
    parts: list[pw.Expression] = []
    if f.township is not None:
        parts.append(CaseRecord.township == f.township)
    if f.at_county is not None:
        parts.append(CaseRecord.at_county == f.at_county)
    if f.station is not None:
        parts.append(CaseRecord.station == f.station)
    if f.states is not None:
        parts.append(CaseRecord.state.in_(list(f.states)))
    search = _search_clause(f)
    if search is not None:
        parts.append(search)
    if not parts:
        return pw.SQL("1 = 1")
    return functools.reduce(operator.and_, parts)


_ROW_FIELDS = (
    CaseRecord.id,
    CaseRecord.case_no,
    CaseRecord.item_name,
    CaseRecord.applicant_name,
    CaseRecord.state,
    CaseRecord.station,
    CaseRecord.deadline,
    CaseRecord.deadline_provisional,
    CaseRecord.received_at,
    CaseRecord.version,
    CaseRecord.township,
    CaseRecord.handling_mode,
)


def change_token(f: QueueFilter) -> tuple[str, int]:
    """A cheap fingerprint of the visible cases: it changes when any of them changes.

    Another desk's change bumps the newest `updated_at`, or the count when a case leaves the
    slice, so a queue can poll this every few seconds instead of reloading rows."""
    row = (
        CaseRecord.select(pw.fn.MAX(CaseRecord.updated_at), pw.fn.COUNT(CaseRecord.id))
        .where(_where(f))
        .tuples()
        .first()
    )
    newest, count = cast(tuple[Any, int], row) if row else (None, 0)
    return (str(newest or ""), int(count or 0))


def _count_query(f: QueueFilter) -> pw.ModelSelect[CaseRecord]:
    return CaseRecord.select(pw.fn.COUNT(CaseRecord.id)).where(_where(f))


def count_cases(f: QueueFilter) -> int:
    return int(_count_query(f).scalar() or 0)


URGENT = "urgent"
RECENT = "recent"


def _page_query(f: QueueFilter, offset: int, limit: int, order: str) -> pw.ModelSelect[CaseRecord]:
    ordering: tuple[Any, ...]
    if order == URGENT:
        ordering = (CaseRecord.deadline.asc(nulls="LAST"), CaseRecord.received_at, CaseRecord.id)
    else:
        ordering = (CaseRecord.received_at.desc(), CaseRecord.id.desc())
    return (
        CaseRecord.select(*_ROW_FIELDS)
        .where(_where(f))
        .order_by(*ordering)
        .offset(offset)
        .limit(limit)
    )


def page_cases(f: QueueFilter, offset: int, limit: int, *, order: str = URGENT) -> list[CaseRow]:
    """A page: a work queue most urgent first (deadline, then arrival); a search or a state
    filter newest first."""
    query = _page_query(f, offset, limit, order).tuples()
    return [CaseRow(*row) for row in cast(Iterable[tuple[Any, ...]], query)]


def queue_sql(f: QueueFilter, limit: int, *, order: str = URGENT) -> list[tuple[str, list[Any]]]:
    """The SQL text and parameters of the count and of the first page (for benchmarks)."""
    return [_count_query(f).sql(), _page_query(f, 0, limit, order).sql()]
