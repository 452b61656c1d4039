"""Which desk talks to the county: one lease row that every desk on a database shares.

Several desks on one PostgreSQL database each run a sync worker, but only the lease holder
sends the outbox and applies county events. The row (a setting) names the holder and a beat
counter that the holder bumps at least every RENEW_SECONDS while it works. Another desk takes
the lease over when it is free, or when the beat has not moved for LEASE_SECONDS by its own
clock (the holder's process is gone): desks never compare their clocks with each other's,
except that a lease last renewed more than STALE_AFTER ago by the reader's clock is dead at
first sight. Every read-and-write of the row happens under a lock (SQLite: BEGIN IMMEDIATE;
PostgreSQL: SELECT … FOR UPDATE), so two desks can never both take it.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.services.runtime import get_setting
from app.store import db as dbmod
from app.store.models import SettingRecord

if TYPE_CHECKING:
    from app.services.runtime import Runtime

LEASE_KEY = "county_sync_lease"
LEASE_SECONDS = 120.0
RENEW_SECONDS = 20.0
STALE_AFTER = timedelta(minutes=10)


class LeaseLost(Exception):
    """Another desk took the lease over: stop sending at once (nothing to record on a row)."""

    def __init__(self, holder: str) -> None:
        super().__init__(f"lease taken over by {holder}")
        self.holder = holder


@dataclass(frozen=True)
class LeaseRow:
    """The stored lease: who holds it and what that desk last knew of the county."""

    token: str
    label: str
    beat: int
    at: str
    online: bool | None = None
    error: str = ""

    @property
    def renewed_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.at)
        except ValueError:
            return None


def _parse(value: str | None) -> LeaseRow | None:
    if not value:
        return None
    try:
        data: Any = json.loads(value)
        return LeaseRow(**data) if isinstance(data, dict) else None
    except (ValueError, TypeError):
        return None  # an unreadable row is a free lease, never a stuck one


def read_lease() -> LeaseRow | None:
    """The current holder as last written (no lock: for the status bar)."""
    return _parse(get_setting(LEASE_KEY))


def _locked_row() -> LeaseRow | None:
    """The row, locked until the caller's transaction ends (created empty if missing)."""
    SettingRecord.insert(key=LEASE_KEY, value="").on_conflict_ignore().execute()
    query = SettingRecord.select(SettingRecord.value).where(SettingRecord.key == LEASE_KEY)
    if dbmod.is_postgres():
        query = query.for_update()
    return _parse(query.scalar())


def _write(row: LeaseRow | None) -> None:
    value = json.dumps(asdict(row), ensure_ascii=False, sort_keys=True) if row else ""
    SettingRecord.update(value=value).where(SettingRecord.key == LEASE_KEY).execute()


class SendLease:
    """This desk's side of the lease; `label` (the desk) is what other desks show."""

    def __init__(
        self,
        rt: Runtime,
        label: str,
        *,
        seconds: float = LEASE_SECONDS,
        renew_seconds: float = RENEW_SECONDS,
    ) -> None:
        self.rt = rt
        self.label = label
        self.token = uuid.uuid4().hex
        self.seconds = timedelta(seconds=seconds)
        self.renew_every = timedelta(seconds=renew_seconds)
        self.held = False
        self.holder = ""  # the other desk's label while it holds the lease
        self._seen: tuple[str, int] | None = None
        self._seen_at: datetime | None = None
        self._renewed_at: datetime | None = None

    def _stale(self, row: LeaseRow, now: datetime) -> bool:
        """The other holder's beat has not moved for the lease time, as this desk saw it."""
        renewed = row.renewed_at
        if renewed is not None and now - renewed >= STALE_AFTER:
            return True
        if self._seen != (row.token, row.beat) or self._seen_at is None:
            self._seen, self._seen_at = (row.token, row.beat), now
            return False
        return now - self._seen_at >= self.seconds

    def _take(self, row: LeaseRow | None, now: datetime) -> None:
        mine = row is not None and row.token == self.token
        beat = row.beat + 1 if row is not None and mine else 1
        kept = row if row is not None and mine else LeaseRow(self.token, self.label, 0, "")
        _write(replace(kept, label=self.label, beat=beat, at=now.isoformat(timespec="seconds")))
        self.held, self.holder, self._renewed_at = True, "", now

    def acquire(self) -> bool:
        """Take or renew the lease; False (and `holder` set) while another desk has it."""
        now = self.rt.now()
        with dbmod.write_transaction():
            row = _locked_row()
            if row is None or row.token == self.token or self._stale(row, now):
                self._take(row, now)
            else:
                self.held, self.holder = False, row.label
        return self.held

    def keep(self) -> None:
        """Renew when due while working; LeaseLost when another desk has taken over."""
        now = self.rt.now()
        if self.held and self._renewed_at is not None and now - self._renewed_at < self.renew_every:
            return
        with dbmod.write_transaction():
            row = _locked_row()
            if row is not None and row.token != self.token:
                self.held, self.holder = False, row.label
                raise LeaseLost(row.label)
            self._take(row, now)

    def note(self, online: bool | None, error: str) -> None:
        """Publish what this desk last knew of the county, for the other desks' status bars."""
        if not self.held:
            return
        with dbmod.write_transaction():
            row = _locked_row()
            if row is not None and row.token == self.token:
                _write(replace(row, online=online, error=error[:300]))

    def release(self) -> None:
        """Give the lease up (logout, close) so another desk can take over at once."""
        if not self.held:
            return
        with dbmod.write_transaction():
            row = _locked_row()
            if row is not None and row.token == self.token:
                _write(None)
        self.held = False
