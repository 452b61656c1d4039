"""Applying the county's events to township cases: each exactly once, with its cursor.

An event and the cursor that passes it commit in one transaction, so a crash either applies
both or neither. The stored cursor is read under a lock in that transaction, so two desks
running the worker on one PostgreSQL database never apply an event twice. An event that
cannot be applied (unknown case, a move the workflow refuses) is recorded in the audit log and
passed over: one bad event must not stop all the rest.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.domain.case import Action
from app.domain.errors import KnownError
from app.domain.roles import Actor, Role
from app.services import audit
from app.services.cases import act
from app.services.runtime import get_setting, set_setting
from app.store import db as dbmod
from app.store.models import CaseRecord, SettingRecord
from sync.client.config import CURSOR_KEY
from sync.client.http import CountyClient, SyncError
from sync.client.status import note_contact
from sync.protocol import CountyEvent, EventKind

if TYPE_CHECKING:
    from app.services.runtime import Runtime

ACTIONS: dict[EventKind, Action] = {
    EventKind.SIGNED: Action.COUNTY_SIGNED,
    EventKind.CORRECTION: Action.REQUEST_CORRECTION,
    EventKind.DECIDED: Action.COUNTY_DECIDED,
    EventKind.DISPATCHED: Action.COUNTY_DISPATCHED,
}
PAGE_SIZE = 100


@dataclass
class PullReport:
    applied: int = 0
    recorded: int = 0
    skipped: list[str] = field(default_factory=list)
    cursor: int = 0


def sync_actor(township: str) -> Actor:
    return Actor(None, "county-sync", Role.SYNC, township=township, display_name="县级同步")


def cursor() -> int:
    value = get_setting(CURSOR_KEY) or "0"
    return int(value) if value.isdigit() else 0


def _record(rt: Runtime, actor: Actor, event: CountyEvent, outcome: str, note: str) -> None:
    audit.record(
        rt,
        actor,
        f"sync.event_{event.kind}",
        object_type="case",
        object_id=str(event.case_uuid),
        outcome=outcome,
        details={"seq": event.seq, "case_no": event.case_no, "note": note},
    )


def _locked(query: Any) -> Any:
    """The query locking its rows until the transaction ends (PostgreSQL; SQLite's write
    transaction already holds the whole database)."""
    return query.for_update() if dbmod.is_postgres() else query


def _stored_cursor() -> int:
    """The stored cursor, its row locked: a second worker waits here until this event is done."""
    SettingRecord.insert(key=CURSOR_KEY, value="0").on_conflict_ignore().execute()
    row = _locked(SettingRecord.select().where(SettingRecord.key == CURSOR_KEY)).get()
    return int(row.value) if row.value.isdigit() else 0


def _apply(rt: Runtime, actor: Actor, event: CountyEvent) -> str:
    """Move the case for one event; '' when applied, else why it was passed over."""
    # Locked before its version is read: a desk saving the case meanwhile must not turn the
    # county's event into a stale edit that is passed over for good.
    case = _locked(
        CaseRecord.select().where(
            (CaseRecord.uuid == event.case_uuid) & (CaseRecord.township == actor.township)
        )
    ).first()
    if case is None:
        return f"本乡镇没有办件 {event.case_no}，县级事件未应用"
    action = ACTIONS.get(EventKind(event.kind))
    data: dict[str, Any] = event.data.model_dump(mode="json")
    if action is None:  # closed: the township only notes it
        _record(rt, actor, event, "ok", "县级已归档")
        return ""
    try:
        with dbmod.write_transaction():  # a savepoint: a refused move leaves nothing behind
            act(rt, actor, case.id, action, data, expected_version=case.version)
    except KnownError as exc:
        return f"办件 {event.case_no} 未能应用县级事件：{exc.message}"
    return ""


def _apply_once(rt: Runtime, actor: Actor, event: CountyEvent) -> str | None:
    """Apply one event and move the cursor past it, all in one transaction: '' when applied,
    why it was passed over, or None when another worker had already applied it."""
    with dbmod.write_transaction():
        if _stored_cursor() >= event.seq:
            return None
        problem = _apply(rt, actor, event)
        if problem:
            _record(rt, actor, event, "skipped", problem)
        set_setting(CURSOR_KEY, str(event.seq))
    return problem


def apply_event(rt: Runtime, actor: Actor, event: CountyEvent) -> str:
    """Apply one event unless the cursor is past it; '' when applied, else why it was not."""
    return _apply_once(rt, actor, event) or ""


def pull_events(rt: Runtime, client: CountyClient) -> PullReport:
    """Fetch and apply every event after the stored cursor, page by page."""
    actor = sync_actor(client.config.township)
    report = PullReport(cursor=cursor())
    while True:
        try:
            page = client.events(report.cursor, PAGE_SIZE)
        except SyncError as exc:
            note_contact(False, exc.message)
            raise
        note_contact(True)
        start = report.cursor
        for event in page.events:
            if event.seq <= report.cursor:
                continue  # already applied (a repeated page): exactly once means skip
            problem = _apply_once(rt, actor, event)
            if problem:
                report.skipped.append(problem)
            elif problem == "":  # None: another desk's worker applied it first
                if event.kind == EventKind.CLOSED.value:
                    report.recorded += 1
                else:
                    report.applied += 1
            report.cursor = event.seq
        # A page that moved nothing on (a server repeating itself) must not loop for ever.
        if not page.has_more or report.cursor == start:
            return report
