"""The audit trail (全程留痕): append-only, HMAC hash-chained, verifiable."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from app.domain.masking import find_unmasked_ids
from app.domain.roles import Actor
from app.store import db as dbmod
from app.store.models import AuditEventRecord, AuditHeadRecord

if TYPE_CHECKING:
    from app.services.runtime import Runtime

GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One event as a reader sees it."""

    seq: int
    at: datetime
    account: str
    desk: str
    action: str
    object_type: str
    object_id: str
    outcome: str
    details: dict[str, Any]


def _canonical(row: dict[str, Any]) -> bytes:
    fields = [
        row["seq"],
        row["at"].isoformat(),
        row["account"],
        row["desk"],
        row["action"],
        row["object_type"],
        row["object_id"],
        row["outcome"],
        row["details"],
        row["prev_hash"],
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def chain_hash(key: bytes, row: dict[str, Any]) -> str:
    return hmac.new(key, _canonical(row), hashlib.sha256).hexdigest()


def _details_text(details: dict[str, Any]) -> str:
    text = json.dumps(details, ensure_ascii=False, sort_keys=True, default=str)
    leaked = find_unmasked_ids(text)
    if leaked:
        # A bug, not a user error: personal numbers must never reach the audit trail.
        raise AssertionError("audit details contain an unmasked personal number")
    return text


def record(
    rt: Runtime,
    actor: Actor | None,
    action: str,
    *,
    object_type: str = "",
    object_id: str = "",
    outcome: str = "ok",
    details: dict[str, Any] | None = None,
    at: datetime | None = None,
    account: str | None = None,
) -> int:
    """Append one event, timed by the runtime's clock. Call it inside the caller's write
    transaction, so the event and the change it records commit together or not at all."""
    seq, prev_hash = _lock_head()
    row: dict[str, Any] = {
        "seq": seq + 1,
        "at": at or rt.now(),
        "account": account if account is not None else (actor.username if actor else "system"),
        "desk": actor.desk if actor else "",
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "outcome": outcome,
        "details": _details_text(details or {}),
        "prev_hash": prev_hash,
    }
    row["hash"] = chain_hash(rt.audit_key, row)
    # Hand-written SQL (app.store.db.execute): every action of every desk passes here.
    dbmod.execute(None, _INSERT_EVENT, [_EVENT_FIELDS[k].db_value(row[k]) for k in _EVENT_COLUMNS])
    dbmod.execute(None, _MOVE_HEAD, (row["seq"], row["hash"]))
    return int(row["seq"])


_EVENT_FIELDS = AuditEventRecord._meta.fields
_EVENT_COLUMNS = ("seq", "at", "account", "desk", "action", "object_type", "object_id", "outcome",
                  "details", "prev_hash", "hash")  # fmt: skip
_HEAD = AuditHeadRecord._meta.table_name
_MOVE_HEAD = f"UPDATE {_HEAD} SET seq = ?, hash = ? WHERE id = 1"
_INSERT_EVENT = (
    f"INSERT INTO {AuditEventRecord._meta.table_name} "
    f"({', '.join(_EVENT_FIELDS[k].column_name for k in _EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_EVENT_COLUMNS))})"
)


def _lock_head() -> tuple[int, str]:
    """The chain's head (last seq and hash), locked until commit (PostgreSQL: the row lock;
    SQLite: the write transaction's)."""
    query = f"SELECT seq, hash FROM {_HEAD} WHERE id = 1"
    if dbmod.is_postgres():
        query += " FOR UPDATE"
    head = dbmod.execute(None, query).fetchone()
    if head is None:
        AuditHeadRecord.insert(id=1, seq=0, hash=GENESIS).on_conflict_ignore().execute()
        head = dbmod.execute(None, query).fetchone()
    assert head is not None
    return int(head[0]), str(head[1])


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    problems: list[str]

    def summary(self) -> str:
        if self.ok:
            return f"留痕链校验通过：共 {self.count} 条记录，未发现篡改、删除或调序。"
        return f"留痕链校验失败（共 {self.count} 条）：\n" + "\n".join(self.problems[:50])


def verify(key: bytes, *, batch: int = 5000) -> VerifyResult:
    """Walk the chain in seq order; any edited, deleted or reordered row breaks it."""
    problems: list[str] = []
    expected_seq, prev, count = 1, GENESIS, 0
    last_id = 0
    while True:
        query = (
            AuditEventRecord.select()
            .where(AuditEventRecord.id > last_id)
            .order_by(AuditEventRecord.id)
            .limit(batch)
            .dicts()
        )
        rows = cast(list[dict[str, Any]], list(query))
        if not rows:
            break
        for row in rows:
            count += 1
            last_id = row["id"]
            problems.extend(_check_row(key, row, expected_seq, prev))
            expected_seq, prev = row["seq"] + 1, row["hash"]
    head = AuditHeadRecord.get_or_none(AuditHeadRecord.id == 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != expected_seq - 1 or head_hash != prev:
        problems.append(
            f"链尾不符：记录止于第 {expected_seq - 1} 条，"
            f"链头登记为第 {head_seq} 条（可能有记录被删除）"
        )
    return VerifyResult(not problems, count, problems)


def _check_row(key: bytes, row: dict[str, Any], expected_seq: int, prev: str) -> list[str]:
    problems = []
    seq = row["seq"]
    if seq != expected_seq:
        problems.append(f"第 {expected_seq} 条缺失或顺序被调换（实际为第 {seq} 条）")
    if row["prev_hash"] != prev:
        problems.append(f"第 {seq} 条与前一条的链接不符（记录被删除、插入或调换）")
    if not hmac.compare_digest(chain_hash(key, row), row["hash"]):
        problems.append(f"第 {seq} 条内容与其校验值不符（记录被修改）")
    return problems


def events_for(object_type: str, object_id: str) -> list[AuditEntry]:
    """The timeline of one object, oldest first."""
    rows = (
        AuditEventRecord.select()
        .where(
            (AuditEventRecord.object_type == object_type)
            & (AuditEventRecord.object_id == object_id)
        )
        .order_by(AuditEventRecord.seq)
    )
    return [
        AuditEntry(
            r.seq,
            r.at,
            r.account,
            r.desk,
            r.action,
            r.object_type,
            r.object_id,
            r.outcome,
            json.loads(r.details),
        )
        for r in rows
    ]
