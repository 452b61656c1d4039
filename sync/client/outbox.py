"""The outbox worker: sends each 帮代办 package until the county's receipt confirms it.

A package is built once, at its first send, and kept encrypted in the outbox row, so every
resend (after a timeout, a crash or a dropped reply) is byte-identical and can never become a
second case at the county. Rows of one case go strictly in revision order.

Before a package its blobs go up: the county is first asked which it lacks, and only those
are uploaded, one by one, so a later revision (which shares its scans with the first) or a
resend uploads nothing twice.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from app.domain.errors import KnownError
from app.services import audit
from app.services.attachments import blob_path
from app.store import db as dbmod
from app.store.models import CaseRecord, OutboxRecord
from sync.client.http import (
    BadCredential,
    CountyClient,
    Refused,
    ServerTrouble,
    SyncError,
    Uncertain,
    Unreachable,
)
from sync.client.package import build_package, case_id_of, seal, unseal
from sync.client.status import WAITING, note_contact
from sync.protocol import HandoffPackage

if TYPE_CHECKING:
    from app.services.runtime import Runtime

# Cases sent at once by one pass, each by its own sender thread (a case's revisions always
# by one sender, in order): one at a time left the county and this desk waiting on each other.
SENDERS = 4
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0
# 30 s doubled 7 times passes the cap; more doublings only risk a float overflow.
BACKOFF_MAX_DOUBLINGS = 16


@dataclass
class RunReport:
    delivered: int = 0
    retrying: int = 0
    stopped: int = 0
    blocked: int = 0


class ReceiptMismatch(Refused):
    """The county answered, but not about what we sent: a person must compare the two."""


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential (30 s, 60 s, … up to an hour) with jitter, so 30 townships coming back
    online after an outage do not all knock at the same second."""
    doublings = min(max(attempts - 1, 0), BACKOFF_MAX_DOUBLINGS)
    delay = min(BACKOFF_BASE_SECONDS * 2**doublings, BACKOFF_CAP_SECONDS)
    return timedelta(seconds=delay * (0.5 + (rng or random).random() / 2))


def due_rows(rt: Runtime) -> list[OutboxRecord]:
    return list(
        OutboxRecord.select()
        .where(OutboxRecord.status.in_(WAITING) & (OutboxRecord.next_attempt_at <= rt.now()))
        .order_by(OutboxRecord.id)
    )


def _earlier_open(row: OutboxRecord) -> bool:
    """An earlier revision of the same case is not delivered yet: this one must wait."""
    if row.revision <= 1:  # a case's first row has none before it
        return False
    return (
        OutboxRecord.select()
        .where(
            (OutboxRecord.case == case_id_of(row))
            & (OutboxRecord.revision < row.revision)
            & (OutboxRecord.status != "delivered")
        )
        .exists()
    )


def frozen_body(rt: Runtime, row: OutboxRecord) -> bytes:
    """The row's package bytes: built and stored at the first send, read back afterwards."""
    return _frozen(rt, row)[0]


def _frozen(rt: Runtime, row: OutboxRecord) -> tuple[bytes, HandoffPackage]:
    """`frozen_body` and the package those bytes hold (the one just built, at a first send:
    the bytes are its JSON, so they are not parsed back)."""
    payload: dict[str, Any] = json.loads(row.payload or "{}")
    if payload.get("sealed"):
        body = unseal(rt, str(payload["sealed"]))
        return body, HandoffPackage.model_validate_json(body)
    package = build_package(rt, row)
    body = package.model_dump_json().encode("utf-8")
    payload["sealed"] = seal(rt, body)
    stored = json.dumps(payload, sort_keys=True)
    with dbmod.write_transaction():
        _update(row, {"payload": stored})
    row.payload = stored
    return body, package


def _update(row: OutboxRecord, values: dict[str, Any]) -> None:
    """Set `values` (field name → value) on the row's record: hand-written SQL, as this runs
    once or twice for every package sent (see app.store.db.execute)."""
    fields = OutboxRecord._meta.fields
    columns = ", ".join(f"{fields[name].column_name} = ?" for name in values)
    params = [fields[name].db_value(value) for name, value in values.items()]
    table = OutboxRecord._meta.table_name
    dbmod.execute(None, f"UPDATE {table} SET {columns} WHERE id = ?", [*params, row.id])


def _damaged(sha256: str) -> KnownError:
    return KnownError(
        f"本机附件文件缺失或已损坏（{sha256[:12]}…），请重新扫描后再移交", code="blob_corrupt"
    )


# What the county says of an upload whose bytes are not those of its hash.
_NOT_ITS_BYTES = frozenset({"hash_mismatch", "empty"})


def _blob(rt: Runtime, sha256: str) -> bytes:
    """A scan's bytes as kept here. They are not hashed again before they go: the county
    hashes every upload and refuses bytes that are not those of its address (`_upload`
    reports that as a damaged file here). Hashing twice cost 0.18 ms of CPU per scan."""
    try:
        data = blob_path(rt, sha256).read_bytes()
    except OSError:
        raise _damaged(sha256) from None
    if not data:
        raise _damaged(sha256)
    return data


def _upload(rt: Runtime, client: CountyClient, hashes: list[str]) -> None:
    for sha256 in hashes:
        try:
            client.put_blob(sha256, _blob(rt, sha256))
        except Refused as exc:
            if exc.code in _NOT_ITS_BYTES:
                raise _damaged(sha256) from exc
            raise


def _check_receipt(package: HandoffPackage, receipt: dict[str, Any]) -> None:
    named = set(receipt.get("attachments") or [])
    if (
        receipt.get("case_uuid") != str(package.case_uuid)
        or receipt.get("revision") != package.revision
        or not set(package.attachment_hashes()) <= named
    ):
        raise ReceiptMismatch(
            f"县级回执与所发办件 {package.case_no}（第{package.revision}版）不符，"
            "未标记为已送达，请联系县级核对",
            code="receipt_mismatch",
            status=200,
        )


def send(
    rt: Runtime, client: CountyClient, body: bytes, *, package: HandoffPackage | None = None
) -> dict[str, Any]:
    """Blobs the county lacks, then the package; the receipt once it names everything sent.
    `package`: the body already parsed by the caller. Should the county still lack a blob when
    the package arrives, it names it and the package is sent once more after it."""
    package = package or HandoffPackage.model_validate_json(body)
    hashes = package.attachment_hashes()
    try:
        if hashes:
            _upload(rt, client, client.missing_blobs(hashes))
    except Uncertain as exc:
        # A lost answer about blobs leaves nothing in doubt: blobs are stored by content.
        raise ServerTrouble(exc.message) from exc
    try:
        receipt = client.post_package(body)
    except Refused as exc:
        if exc.code != "missing_blobs" or not exc.missing:
            raise
        _upload(rt, client, exc.missing)
        receipt = client.post_package(body)
    _check_receipt(package, receipt)
    return receipt


def _case_no(row: OutboxRecord) -> str:
    return str(CaseRecord.get_by_id(case_id_of(row)).case_no)


def _finish(
    rt: Runtime, row: OutboxRecord, status: str, error: str, *, case_no: str = "", **extra: Any
) -> None:
    """Record the row's new status; an audit event once it leaves the waiting ones.
    `case_no`: the case's number when the caller has it (read from the case otherwise)."""
    now = rt.now()
    values: dict[str, Any] = {"status": status, "attempts": row.attempts + 1, "last_error": error}
    values.update(extra)
    with dbmod.write_transaction():
        _update(row, values)
        if status != row.status and status not in WAITING:
            audit.record(
                rt,
                None,
                f"sync.{status}",
                object_type="outbox",
                object_id=str(row.id),
                details={
                    "case_no": case_no or _case_no(row),
                    "revision": row.revision,
                    "error": error,
                },
                account="county-sync",
                at=now,
            )


def _retry(rt: Runtime, row: OutboxRecord, exc: SyncError, rng: random.Random | None) -> None:
    # Once a package may have arrived it stays "uncertain" until a receipt settles it.
    uncertain = row.status == "uncertain" or isinstance(exc, Uncertain)
    wait = backoff(row.attempts + 1, rng)
    if isinstance(exc, ServerTrouble) and exc.retry_after:
        # Honoured up to the backoff cap: a huge Retry-After must not park the row for
        # years (or overflow the date).
        wait = max(wait, timedelta(seconds=min(exc.retry_after, BACKOFF_CAP_SECONDS)))
    status = "uncertain" if uncertain else "pending"
    _finish(rt, row, status, exc.message, next_attempt_at=rt.now() + wait)


def _stop(rt: Runtime, row: OutboxRecord, exc: KnownError, case_no: str) -> None:
    if isinstance(exc, Refused) and (exc.status == 409 or isinstance(exc, ReceiptMismatch)):
        message = f"县级拒收，需人工处理（不会自动重发）：{exc.message}"
        _finish(rt, row, "conflict", message, case_no=case_no)
    else:
        _finish(rt, row, "refused", f"未能发送，需人工处理：{exc.message}", case_no=case_no)


def process(rt: Runtime, client: CountyClient, row: OutboxRecord, rng: random.Random | None) -> str:
    """Send one row; its new status. Unreachable and BadCredential propagate after recording."""
    package: HandoffPackage | None = None
    try:
        body, package = _frozen(rt, row)
        send(rt, client, body, package=package)
    except (Unreachable, BadCredential) as exc:
        _retry(rt, row, exc, rng)
        raise
    except SyncError as exc:
        if exc.retry:
            _retry(rt, row, exc, rng)
            return "uncertain" if isinstance(exc, Uncertain) else "pending"
        _stop(rt, row, exc, package.case_no if package else "")
        return "stopped"
    except KnownError as exc:
        _stop(rt, row, exc, package.case_no if package else "")
        return "stopped"
    _finish(rt, row, "delivered", "", case_no=package.case_no, delivered_at=rt.now())
    return "delivered"


class _Pass:
    """What the senders of one pass share: the report, the stop flag, the first failure."""

    def __init__(self, lanes: list[list[OutboxRecord]]) -> None:
        self.report = RunReport()
        self.halt = threading.Event()
        self.failure: BaseException | None = None
        self.offline = ""  # why the county could not be reached, if that ended the pass
        self._lanes: Iterator[list[OutboxRecord]] = iter(lanes)
        self._lock = threading.Lock()

    def next_lane(self) -> list[OutboxRecord] | None:
        with self._lock:
            return None if self.halt.is_set() else next(self._lanes, None)

    def count(self, outcome: str) -> None:
        with self._lock:
            if outcome == "delivered":
                self.report.delivered += 1
            elif outcome == "stopped":
                self.report.stopped += 1
            elif outcome == "blocked":
                self.report.blocked += 1
            else:
                self.report.retrying += 1

    def fail(self, exc: BaseException) -> None:
        with self._lock:
            if self.failure is None:
                self.failure = exc
        self.halt.set()


def _lanes(rows: list[OutboxRecord]) -> list[list[OutboxRecord]]:
    """The due rows by case, cases in the order of their oldest row, revisions in order."""
    by_case: dict[int, list[OutboxRecord]] = {}
    for row in rows:
        by_case.setdefault(case_id_of(row), []).append(row)
    return [sorted(lane, key=lambda r: r.revision) for lane in by_case.values()]


def _send_case(
    rt: Runtime,
    client: CountyClient,
    lane: list[OutboxRecord],
    rng: random.Random | None,
    state: _Pass,
) -> None:
    """One case's due rows in revision order; a row waits while an earlier one is open."""
    for row in lane:
        if state.halt.is_set():
            return
        if _earlier_open(row):
            state.count("blocked")
            continue
        try:
            outcome = process(rt, client, row, rng)
        except SyncError as exc:  # unreachable or a refused credential: the pass ends
            note_contact(False, exc.message)
            state.offline = exc.message
            state.count("retrying")
            if isinstance(exc, BadCredential):
                state.fail(exc)
            state.halt.set()
            return
        note_contact(True)
        state.count(outcome)


def _sender(
    rt: Runtime, client: CountyClient, rng: random.Random | None, state: _Pass, own: bool
) -> None:
    """Take cases until none is left or the pass ends; `own`: a thread of this pass, whose
    database connection (peewee keeps one per thread) is closed at the end."""
    try:
        while (lane := state.next_lane()) is not None:
            _send_case(rt, client, lane, rng, state)
    except BaseException as exc:  # Stopped, LeaseLost, the database gone: the caller's
        state.fail(exc)
    finally:
        if own and not rt.db.is_closed():
            rt.db.close()


def run_once(
    rt: Runtime,
    client: CountyClient,
    rng: random.Random | None = None,
    *,
    senders: int = SENDERS,
) -> RunReport:
    """One pass over the due rows, oldest case first, up to `senders` cases at once.

    Every row goes through `process` exactly as when sent alone. The pass stops early when
    the county is unreachable (rows in flight finish); a refused credential, a stop or a lost
    lease is raised once every sender has ended.
    """
    lanes = _lanes(due_rows(rt))
    state = _Pass(lanes)
    threads = [
        threading.Thread(
            target=_sender, args=(rt, client, rng, state, True), name=f"county-send-{n}"
        )
        for n in range(min(senders, len(lanes)) - 1)
    ]
    for thread in threads:
        thread.start()
    _sender(rt, client, rng, state, False)
    for thread in threads:
        thread.join()
    if state.offline:  # rows still in flight then may have noted contact since: it is gone
        note_contact(False, state.offline)
    if state.failure is not None:
        raise state.failure
    return state.report
