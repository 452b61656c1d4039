"""What the status bar shows about the county sync: online or not, how many wait, last error."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.store.models import OutboxRecord

if TYPE_CHECKING:
    from app.services.runtime import Runtime

WAITING = ("pending", "uncertain")
NEEDS_PERSON = ("conflict", "refused")


@dataclass(frozen=True)
class SyncStatus:
    online: bool | None  # None: no contact with the county in this session yet
    waiting: int
    last_error: str
    needs_person: int = 0

    @property
    def text(self) -> str:
        """One line for the status bar."""
        state = {None: "县级同步：未连接", True: "县级同步：在线", False: "县级同步：离线"}
        parts = [state[self.online], f"待发送 {self.waiting} 件"]
        if self.needs_person:
            parts.append(f"{self.needs_person} 件需人工处理")
        if self.last_error:
            parts.append(f"最近错误：{self.last_error}")
        return "，".join(parts)


class _Contact:
    """The last exchange with the county in this process (the worker thread writes it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.online: bool | None = None
        self.error = ""

    def note(self, online: bool | None, error: str = "") -> None:
        with self._lock:
            self.online = online
            self.error = error

    def read(self) -> tuple[bool | None, str]:
        with self._lock:
            return self.online, self.error


CONTACT = _Contact()


def note_contact(online: bool, error: str = "") -> None:
    CONTACT.note(online, error)


def current(rt: Runtime) -> SyncStatus:
    """The sync status from the outbox table and this session's last contact."""
    online, error = CONTACT.read()
    waiting = OutboxRecord.select().where(OutboxRecord.status.in_(WAITING)).count()
    stuck = (
        OutboxRecord.select()
        .where(OutboxRecord.status.in_(NEEDS_PERSON))
        .order_by(OutboxRecord.id.desc())
    )
    if not error:
        latest = (
            OutboxRecord.select(OutboxRecord.last_error)
            .where(
                OutboxRecord.status.in_(WAITING + NEEDS_PERSON) & (OutboxRecord.last_error != "")
            )
            .order_by(OutboxRecord.id.desc())
            .first()
        )
        error = latest.last_error if latest is not None else ""
    return SyncStatus(online, waiting, error, stuck.count())
