"""A case's status at the county (one table of moves) and the per-township event feed."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from pydantic import TypeAdapter

from sync.protocol import CountyEvent, EventKind, EventPage, NewCountyEvent, PackageAction
from sync.protocol_county import CountyStatus
from sync.server import store
from sync.server.auth import StaffPrincipal
from sync.server.context import CountyServer
from sync.server.errors import ApiError
from sync.server.store import CountyCaseRecord, CountyEventRecord

S = CountyStatus
OPEN_AT_COUNTY = frozenset({S.HANDED_OFF, S.SIGNED, S.CORRECTION, S.SUPPLEMENTED})

# (what happens, the statuses it may happen in, the status after it). None = no case yet.
MOVES: tuple[
    tuple[PackageAction | EventKind, frozenset[CountyStatus | None], CountyStatus], ...
] = (
    (PackageAction.HAND_OFF, frozenset({None}), S.HANDED_OFF),
    (PackageAction.SUPPLEMENT, frozenset({S.CORRECTION}), S.SUPPLEMENTED),
    (PackageAction.WITHDRAW, frozenset(OPEN_AT_COUNTY), S.WITHDRAWN),
    (EventKind.SIGNED, frozenset({S.HANDED_OFF}), S.SIGNED),
    (EventKind.CORRECTION, frozenset({S.SIGNED, S.SUPPLEMENTED}), S.CORRECTION),
    (EventKind.DECIDED, frozenset({S.SIGNED, S.SUPPLEMENTED}), S.DECIDED),
    (EventKind.DISPATCHED, frozenset({S.DECIDED}), S.DISPATCHED),
    (EventKind.CLOSED, frozenset({S.DISPATCHED}), S.CLOSED),
)
MOVE_LABELS: dict[PackageAction | EventKind, str] = {
    PackageAction.HAND_OFF: "移交",
    PackageAction.SUPPLEMENT: "补正",
    PackageAction.WITHDRAW: "撤回",
    EventKind.SIGNED: "签收",
    EventKind.CORRECTION: "要求补正",
    EventKind.DECIDED: "登记办结",
    EventKind.DISPATCHED: "登记结果送达",
    EventKind.CLOSED: "办结归档",
}
EVENT_PAGE_MAX = 500
_EVENTS: TypeAdapter[CountyEvent] = TypeAdapter(CountyEvent)


def _move(trigger: PackageAction | EventKind, status: CountyStatus | None) -> CountyStatus:
    for what, sources, target in MOVES:
        if what == trigger:
            if status in sources:
                return target
            break
    now = "尚未移交" if status is None else f"当前为「{status.label}」"
    raise ApiError(409, f"该办件在县级{now}，不能{MOVE_LABELS[trigger]}", code="state_conflict")


def after_package(status: CountyStatus | None, action: PackageAction) -> CountyStatus:
    """The status a package moves the case to; 409 when the case is not where it may."""
    return _move(action, status)


def event_of(row: CountyEventRecord, case_uuid: Any, case_no: str) -> CountyEvent:
    return _EVENTS.validate_python(
        {
            "seq": row.seq,
            "case_uuid": case_uuid,
            "case_no": case_no,
            "kind": row.kind,
            "at": row.at,
            "data": json.loads(row.data),
        }
    )


def _check_dates(event: NewCountyEvent, today: date) -> None:
    if event.kind == "correction" and event.data.due_date < today:
        raise ApiError(422, "补正期限不能早于今天", code="invalid")
    on = getattr(event.data, "on", None)
    if isinstance(on, date) and on > today:
        raise ApiError(422, "日期不能晚于今天", code="invalid")


def append_event(server: CountyServer, staff: StaffPrincipal, event: NewCountyEvent) -> CountyEvent:
    """Record what county staff did on a case and queue it for the case's township."""
    now = server.now().replace(microsecond=0)
    _check_dates(event, now.date())
    with store.transaction(server.db):
        case = CountyCaseRecord.get_or_none(CountyCaseRecord.uuid == event.case_uuid)
        if case is None:
            raise ApiError(404, "办件不存在", code="not_found")
        township = store.locked_township(server.db, case.township)
        case = CountyCaseRecord.get_by_id(case.id)  # re-read under the lock
        status = _move(EventKind(event.kind), CountyStatus(case.status))
        seq = int(township.event_seq) + 1
        store.CountyTownshipRecord.update(event_seq=seq).where(
            store.CountyTownshipRecord.id == township.id
        ).execute()
        row = CountyEventRecord.create(
            township=case.township,
            seq=seq,
            case=case.id,
            kind=event.kind,
            at=now,
            data=event.data.model_dump_json(),
            staff=staff.username,
        )
        CountyCaseRecord.update(status=status.value, updated_at=now).where(
            CountyCaseRecord.id == case.id
        ).execute()
    return event_of(row, case.uuid, case.case_no)


def list_events(server: CountyServer, township: str, after: int, limit: int) -> EventPage:
    """The township's own events with seq > `after`, oldest first."""
    limit = max(1, min(limit, EVENT_PAGE_MAX))
    with store.connection(server.db):
        rows = list(
            CountyEventRecord.select(CountyEventRecord, CountyCaseRecord)
            .join(CountyCaseRecord)
            .where((CountyEventRecord.township == township) & (CountyEventRecord.seq > after))
            .order_by(CountyEventRecord.seq)
            .limit(limit + 1)
        )
    page = rows[:limit]
    events = [event_of(r, r.case.uuid, r.case.case_no) for r in page]
    cursor = int(page[-1].seq) if page else after
    return EventPage(events=events, next_cursor=cursor, has_more=len(rows) > limit)


def events_of_case(case_id: int, case_uuid: Any, case_no: str) -> list[CountyEvent]:
    rows = (
        CountyEventRecord.select()
        .where(CountyEventRecord.case == case_id)
        .order_by(CountyEventRecord.seq)
    )
    return [event_of(r, case_uuid, case_no) for r in rows]
