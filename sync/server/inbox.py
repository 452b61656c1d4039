"""What county staff read: the inbox across townships, one case in full, per-township figures."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import peewee as pw

from sync.protocol import PackageAction
from sync.protocol_county import (
    CaseDetail,
    CasePage,
    CaseSummary,
    CountyStatus,
    PackageInfo,
    TownshipStats,
)
from sync.server import store
from sync.server.casework import OPEN_AT_COUNTY, events_of_case
from sync.server.context import CountyServer
from sync.server.errors import ApiError
from sync.server.packages import unseal
from sync.server.store import CountyCaseRecord, CountyPackageRecord, CountyTownshipRecord

INBOX_PAGE_MAX = 200


@dataclass(frozen=True)
class InboxFilter:
    township: str | None = None
    item_code: str | None = None
    status: CountyStatus | None = None
    due_before: date | None = None


def _summary(case: CountyCaseRecord, names: dict[str, str]) -> CaseSummary:
    status = CountyStatus(case.status)
    return CaseSummary(
        case_uuid=case.uuid,
        township=case.township,
        township_name=names.get(case.township, ""),
        case_no=case.case_no,
        item_code=case.item_code,
        item_name=case.item_name,
        status=status,
        status_label=status.label,
        deadline=case.deadline,
        handed_off_on=case.handed_off_on,
        latest_revision=case.latest_revision,
        received_at=case.received_at,
        updated_at=case.updated_at,
    )


def _township_names() -> dict[str, str]:
    return {t.code: t.name for t in CountyTownshipRecord.select()}


def list_cases(server: CountyServer, where: InboxFilter, offset: int, limit: int) -> CasePage:
    """Cases filtered by township, item, status and deadline; soonest deadline first."""
    limit = max(1, min(limit, INBOX_PAGE_MAX))
    condition: pw.Expression = CountyCaseRecord.id > 0
    if where.township:
        condition &= CountyCaseRecord.township == where.township
    if where.item_code:
        condition &= CountyCaseRecord.item_code == where.item_code
    if where.status:
        condition &= CountyCaseRecord.status == where.status.value
    if where.due_before:
        condition &= CountyCaseRecord.deadline <= where.due_before
    with store.connection(server.db):
        query = CountyCaseRecord.select().where(condition)
        total = query.count()
        rows = list(
            query.order_by(
                CountyCaseRecord.deadline.is_null(),
                CountyCaseRecord.deadline,
                CountyCaseRecord.id,
            )
            .offset(offset)
            .limit(limit)
        )
        names = _township_names()
    cases = [_summary(r, names) for r in rows]
    return CasePage(cases=cases, total=total, offset=offset, limit=limit)


def case_detail(server: CountyServer, case_uuid: str) -> CaseDetail:
    """One case with its latest package decrypted, its package history and its events."""
    with store.connection(server.db):
        case = CountyCaseRecord.get_or_none(CountyCaseRecord.uuid == case_uuid)
        if case is None:
            raise ApiError(404, "办件不存在", code="not_found")
        packages = list(
            CountyPackageRecord.select()
            .where(CountyPackageRecord.case == case.id)
            .order_by(CountyPackageRecord.revision)
        )
        events = events_of_case(case.id, case.uuid, case.case_no)
        names = _township_names()
    history = [
        PackageInfo(revision=p.revision, action=PackageAction(p.action), received_at=p.received_at)
        for p in packages
    ]
    latest = unseal(server.cipher, json.loads(packages[-1].body))
    return CaseDetail(summary=_summary(case, names), package=latest, history=history, events=events)


def township_stats(server: CountyServer, today: date) -> list[TownshipStats]:
    """Cases per township and status, and how many open ones are past their deadline."""
    with store.connection(server.db):
        townships = list(CountyTownshipRecord.select().order_by(CountyTownshipRecord.code))
        counts: Any = (
            CountyCaseRecord.select(
                CountyCaseRecord.township, CountyCaseRecord.status, pw.fn.COUNT(CountyCaseRecord.id)
            )
            .group_by(CountyCaseRecord.township, CountyCaseRecord.status)
            .tuples()
        )
        by_township: dict[str, dict[CountyStatus, int]] = {}
        for code, status, count in counts:
            by_township.setdefault(code, {})[CountyStatus(status)] = int(count)
        overdue_rows: Any = (
            CountyCaseRecord.select(CountyCaseRecord.township, pw.fn.COUNT(CountyCaseRecord.id))
            .where(
                CountyCaseRecord.status.in_([s.value for s in OPEN_AT_COUNTY])
                & (CountyCaseRecord.deadline < today)
            )
            .group_by(CountyCaseRecord.township)
            .tuples()
        )
        overdue = {code: int(count) for code, count in overdue_rows}
    return [
        TownshipStats(
            township=t.code,
            name=t.name,
            total=sum(by_township.get(t.code, {}).values()),
            by_status=by_township.get(t.code, {}),
            overdue=overdue.get(t.code, 0),
        )
        for t in townships
    ]
