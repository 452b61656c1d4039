"""What the status bar shows about the county sync: online or not, how many wait, last error,
and which desk talks to the county when it is not this one."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.services.runtime import get_setting
from app.store.models import CaseRecord, CatalogVersionRecord, OutboxRecord
from sync.client.config import URL_KEY
from sync.client.lease import read_lease

if TYPE_CHECKING:
    from app.services.runtime import Runtime

WAITING = ("pending", "uncertain")
NEEDS_PERSON = ("conflict", "refused")
NOT_CONFIGURED = "未配置县级同步"
STATE_TEXT = {None: "未连接", True: "在线", False: "离线"}
LISTED_CASES = 5


@dataclass(frozen=True)
class SyncStatus:
    online: bool | None  # None: no contact with the county in this session yet
    waiting: int
    last_error: str
    needs_person: int = 0
    sender: str = ""  # another desk holds the send lease and talks to the county
    configured: bool = True
    url: str = ""
    catalog: str = ""  # the active catalog version
    stuck_cases: tuple[str, ...] = ()  # case numbers (with revision) that need a person

    @property
    def text(self) -> str:
        """One line for the status bar."""
        if not self.configured:  # rows may still wait from before the address was removed
            parts = [NOT_CONFIGURED] + ([f"待发送 {self.waiting} 件"] if self.waiting else [])
        else:
            head = f"县级同步：{STATE_TEXT[self.online]}"
            if self.sender:
                head += f"（由 {self.sender} 发送）"
            parts = [head, f"待发送 {self.waiting} 件"]
        if self.needs_person:
            parts.append(f"{self.needs_person} 件需人工处理")
        if self.last_error:
            parts.append(f"最近错误：{self.last_error}")
        return "，".join(parts)

    @property
    def details(self) -> str:
        """Several lines for the tooltip."""
        if not self.configured:
            return "尚未设置县级服务器地址：管理员可运行 bujianmian sync configure --url …"
        lines = [f"县级服务器：{self.url}", f"连接状态：{STATE_TEXT[self.online]}"]
        if self.sender:
            lines.append(f"本库的外发和县级事件由 {self.sender} 处理，本窗口不重复发送")
        lines.append(f"待发送：{self.waiting} 件")
        if self.needs_person:
            cases = "、".join(self.stuck_cases)
            more = " 等" if self.needs_person > len(self.stuck_cases) else ""
            lines.append(f"需人工处理：{self.needs_person} 件（{cases}{more}）")
        if self.catalog:
            lines.append(f"事项目录版本：{self.catalog}")
        if self.last_error:
            lines.append(f"最近错误：{self.last_error}")
        return "\n".join(lines)


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


def _latest_row_error() -> str:
    latest = (
        OutboxRecord.select(OutboxRecord.last_error)
        .where(OutboxRecord.status.in_(WAITING + NEEDS_PERSON) & (OutboxRecord.last_error != ""))
        .order_by(OutboxRecord.id.desc())
        .first()
    )
    return str(latest.last_error) if latest is not None else ""


def _stuck_cases() -> tuple[str, ...]:
    rows = (
        OutboxRecord.select(OutboxRecord.revision, CaseRecord.case_no)
        .join(CaseRecord)
        .where(OutboxRecord.status.in_(NEEDS_PERSON))
        .order_by(OutboxRecord.id.desc())
        .limit(LISTED_CASES)
    )
    return tuple(f"{row.case.case_no}（第{row.revision}版）" for row in rows)


def current(rt: Runtime, token: str | None = None) -> SyncStatus:
    """The sync status from the outbox table, this process's last contact and the lease row
    (`token`: this desk's lease, so that its own holding is not shown as another desk's)."""
    url = get_setting(URL_KEY) or ""
    online, error = CONTACT.read()
    sender = ""
    lease = read_lease()
    if lease is not None and lease.token != token:
        # Another desk talks to the county: what it last knew is what counts, not whatever
        # this process saw before it lost (or without ever holding) the lease.
        sender, online, error = lease.label, lease.online, lease.error
    waiting = OutboxRecord.select().where(OutboxRecord.status.in_(WAITING)).count()
    stuck = OutboxRecord.select().where(OutboxRecord.status.in_(NEEDS_PERSON)).count()
    active = (
        CatalogVersionRecord.select(CatalogVersionRecord.version)
        .where(CatalogVersionRecord.active == True)  # noqa: E712
        .scalar()
    )
    return SyncStatus(
        online,
        waiting,
        error or _latest_row_error(),
        stuck,
        sender=sender,
        configured=bool(url),
        url=url,
        catalog=active or "",
        stuck_cases=_stuck_cases() if stuck else (),
    )
