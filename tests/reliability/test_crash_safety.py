"""Crash safety: a worker SIGKILLed at random moments never leaves a half-written case.

The worker (crash_worker.py) does intakes and workflow actions on a shared database. It is
killed hundreds of times; afterwards the database must be intact, every case complete (full
checklist, intake trace, state matching its last traced transition, outbox rows for every
revision) or absent, and the audit chain must verify.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import select
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path
from typing import IO, Any

import pytest
from helpers.factories import make_case, make_world

from app.domain.states import CaseState
from app.services import audit, catalog
from app.services.runtime import Runtime, open_runtime
from app.store.db import is_postgres
from app.store.models import AuditEventRecord, CaseMaterialRecord, CaseRecord, OutboxRecord

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("crash_worker.py")
PASSPHRASE = "test-passphrase-123"
FRESH_KILLS = 5  # a new interpreter each time: the literal "restart the app" case
FORKED_KILLS = 200  # forked workers: the same kill, without 0.8 s of imports each time
MAX_DELAY = 0.150
ANSWER_TIMEOUT = 60.0


def open_rt(data_dir: Path, url: str) -> Runtime:
    return open_runtime(data_dir, url, keystore=None, ask_passphrase=lambda: PASSPHRASE)


class LineReader:
    """Lines from a child's stdout; a child that hangs or dies fails the test, not the run."""

    def __init__(self, stream: IO[bytes], stderr_path: Path) -> None:
        self.fd = stream.fileno()
        self.buffer = b""
        self.stderr_path = stderr_path

    def fail(self, why: str) -> None:
        tail = self.stderr_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        pytest.fail(f"{why}; worker stderr:\n{tail}")

    def next(self) -> str:
        deadline = time.monotonic() + ANSWER_TIMEOUT
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.fd], [], [], max(0.0, remaining))
            if not ready:
                self.fail("the worker did not answer in time")
            chunk = os.read(self.fd, 4096)
            if not chunk:
                self.fail("the worker closed its output")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()


def _spawn(
    args: list[str], stderr: IO[bytes], *, stdin: int | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args], stdin=stdin, stdout=subprocess.PIPE,
        stderr=stderr, cwd=ROOT, bufsize=0,
    )  # fmt: skip


def kill_fresh_worker(data: Path, url: str, seed: int, delay: float, err: Path) -> None:
    """Start a new interpreter, let it work `delay` seconds after "ready", SIGKILL and reap it."""
    with err.open("ab") as stderr:
        proc = _spawn(["--data", str(data), "--db", url, "--seed", str(seed)], stderr)
    try:
        assert proc.stdout is not None
        lines = LineReader(proc.stdout, err)
        assert lines.next() == f"ready {proc.pid}"
        time.sleep(delay)
        # Until wait() reaps it the child stays at least a zombie, so this PID is still ours.
        os.kill(proc.pid, signal.SIGKILL)
        code = proc.wait(timeout=ANSWER_TIMEOUT)
        if code != -signal.SIGKILL:
            lines.fail(f"the worker had died by itself (exit code {code})")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


class ForkServer:
    """crash_worker.py --fork-server: forks a worker on request; we kill it, it reaps it."""

    def __init__(self, data: Path, url: str, err: Path) -> None:
        with err.open("ab") as stderr:
            self.proc = _spawn(
                ["--data", str(data), "--db", url, "--fork-server"], stderr, stdin=subprocess.PIPE
            )
        assert self.proc.stdout is not None
        self.lines = LineReader(self.proc.stdout, err)
        self.worker = 0

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def start(self) -> None:
        if self.lines.next() != "serving":
            self.lines.fail("the fork server did not start")

    def kill_one(self, seed: int, delay: float) -> None:
        self.send(f"fork {seed}")
        word, _, pid = self.lines.next().partition(" ")
        assert word == "ready"
        self.worker = int(pid)
        time.sleep(delay)
        # The server reaps only on "reap", so the worker's PID cannot have been recycled.
        os.kill(self.worker, signal.SIGKILL)
        self.send("reap")
        answer = self.lines.next()
        self.worker = 0
        if answer != f"reaped {pid} {-signal.SIGKILL}":
            self.lines.fail(f"the worker had died by itself ({answer})")

    def close(self) -> None:
        """End the server (and a worker it may still have); both are reaped."""
        if self.worker:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.worker, signal.SIGKILL)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()  # on end of input the server kills and reaps its worker
        try:
            self.proc.wait(timeout=ANSWER_TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()


def run_kills(data: Path, url: str, rng: random.Random, err: Path) -> int:
    for _ in range(FRESH_KILLS):
        kill_fresh_worker(data, url, rng.randrange(10**9), rng.uniform(0, MAX_DELAY), err)
    server = ForkServer(data, url, err)
    try:
        server.start()
        for _ in range(FORKED_KILLS):
            server.kill_one(rng.randrange(10**9), rng.uniform(0, MAX_DELAY))
    finally:
        server.close()
    assert server.proc.returncode == 0
    return FRESH_KILLS + FORKED_KILLS


def _case_events() -> dict[str, list[dict[str, Any]]]:
    """Every case.* audit event, grouped by case UUID, in chain order."""
    events: dict[str, list[dict[str, Any]]] = defaultdict(list)
    query = (
        AuditEventRecord.select(
            AuditEventRecord.object_id, AuditEventRecord.action, AuditEventRecord.details
        )
        .where(AuditEventRecord.object_type == "case")
        .order_by(AuditEventRecord.seq)
    )
    for row in query.tuples().iterator():
        events[row[0]].append({"action": row[1], **json.loads(row[2])})
    return events


def _case_problems(case: CaseRecord, events: list[dict[str, Any]], materials: list[int],
                   outbox: int) -> list[str]:  # fmt: skip
    """What is half-written about one case (an empty list for a complete case)."""
    problems = []
    item = catalog.get_catalog(case.catalog_version).item(case.item_code)
    if sorted(materials) != list(range(1, len(item.materials) + 1)):
        problems.append(f"checklist positions {sorted(materials)} for {len(item.materials)}")
    if not events or events[0]["action"] != "case.intake":
        problems.append("no intake audit event")
    moves = [e for e in events if "to" in e]
    last = moves[-1]["to"] if moves else "received"
    if last != case.state:
        problems.append(f"state {case.state} but the last traced transition went to {last}")
    if case.version != len(events):
        problems.append(f"version {case.version} after {len(events)} traced steps")
    if outbox != case.revision:
        problems.append(f"revision {case.revision} with {outbox} outbox rows")
    return [f"{case.case_no}: {p}" for p in problems]


def check_cases() -> Counter[str]:
    """Every case complete, nothing without its case; returns the count per state."""
    events = _case_events()
    materials: dict[int, list[int]] = defaultdict(list)
    for case_id, position in CaseMaterialRecord.select(
        CaseMaterialRecord.case, CaseMaterialRecord.position
    ).tuples():
        materials[case_id].append(position)
    outbox = Counter(case_id for (case_id,) in OutboxRecord.select(OutboxRecord.case).tuples())
    problems: list[str] = []
    states: Counter[str] = Counter()
    uuids, ids = set(), set()
    for case in CaseRecord.select().iterator():
        uuids.add(str(case.uuid))
        ids.add(case.id)
        states[case.state] += 1
        problems += _case_problems(case, events[str(case.uuid)], materials[case.id],
                                   outbox[case.id])  # fmt: skip
    problems += [f"audit events for a missing case {u}" for u in set(events) - uuids]
    problems += [f"checklist rows of a missing case {i}" for i in set(materials) - ids]
    problems += [f"outbox rows of a missing case {i}" for i in set(outbox) - ids]
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:20])
    return states


def check_sqlite_file(rt: Runtime) -> None:
    assert rt.db.execute_sql("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert rt.db.execute_sql("PRAGMA foreign_key_check").fetchall() == []


def test_killed_worker_loses_no_committed_case(db_url: str, tmp_path: Path) -> None:
    data, err = tmp_path / "data", tmp_path / "worker-stderr.txt"
    rt = open_rt(data, db_url)
    make_world(rt)
    rt.close()
    seed = random.randrange(2**32)
    print(f"\ncrash safety: seed {seed}")
    kills = run_kills(data, db_url, random.Random(seed), err)

    rt = open_rt(data, db_url)
    try:
        if not is_postgres(rt.db):
            check_sqlite_file(rt)
        states = check_cases()
        result = audit.verify(rt.audit_key)
        assert result.ok, result.summary()
    finally:
        rt.close()
    committed = sum(states.values())
    print(f"crash safety: {kills} kills, {committed} cases committed, "
          f"{result.count} audit events, states {dict(states)}")  # fmt: skip
    assert kills >= 200
    assert committed > 0
    assert sum(n for s, n in states.items() if s != "received") > 0, "no action was ever taken"


def _lose_checklist_row(rt: Runtime, case: CaseRecord) -> None:
    CaseMaterialRecord.delete().where(
        (CaseMaterialRecord.case == case.id) & (CaseMaterialRecord.position == 1)
    ).execute()


def _change_state_untraced(rt: Runtime, case: CaseRecord) -> None:
    CaseRecord.update(state="withdrawn").where(CaseRecord.id == case.id).execute()


def _lose_intake_trace(rt: Runtime, case: CaseRecord) -> None:
    AuditEventRecord.delete().where(
        (AuditEventRecord.object_id == str(case.uuid)) & (AuditEventRecord.action == "case.intake")
    ).execute()


def _lose_outbox_row(rt: Runtime, case: CaseRecord) -> None:
    OutboxRecord.delete().where(OutboxRecord.case == case.id).execute()


def _trace_without_case(rt: Runtime, case: CaseRecord) -> None:
    with rt.db.atomic():
        audit.record(rt, None, "case.intake", object_type="case",
                     object_id=str(uuid.uuid4()), details={"case_no": "never"})  # fmt: skip


HALF_WRITES = {
    "checklist row lost": (_lose_checklist_row, "checklist positions"),
    "state without trace": (_change_state_untraced, "last traced transition went to"),
    "intake trace lost": (_lose_intake_trace, "no intake audit event"),
    "outbox row lost": (_lose_outbox_row, "outbox rows"),
    "trace without case": (_trace_without_case, "audit events for a missing case"),
}


@pytest.mark.parametrize("half_write", list(HALF_WRITES))
def test_consistency_check_sees_half_writes(rt: Runtime, world: Any, half_write: str) -> None:
    """Control: the checks above do fail on each kind of half-written case."""
    make_case(rt, world, CaseState.CLOSED)
    ref = make_case(rt, world, CaseState.HANDED_OFF)
    assert check_cases()["handed_off"] == 1
    damage, symptom = HALF_WRITES[half_write]
    damage(rt, CaseRecord.get_by_id(ref.id))
    with pytest.raises(AssertionError, match=symptom):
        check_cases()
