"""The fault test's moving parts: which fault each request meets and when the server dies
(one seeded generator), the township processes, and extra databases of the test's kind."""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys
import threading
from collections import Counter, deque
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.fixtures import pg_schema
from sync_fault_county import ROOT, child_env
from sync_fault_proxy import Fault, Request

TOWNSHIP_SCRIPT = Path(__file__).with_name("sync_fault_township.py")
LINE_TIMEOUT = 120.0
RECENT = 40  # kills are armed for the kinds of request among the last RECENT


@dataclass(frozen=True)
class KillKind:
    name: str
    route: str  # the request that triggers the kill; "" for a timer in the test's thread
    fault: Fault | None
    weight: int


KILL_KINDS = (
    KillKind("blob upload cut half-way", "PUT /blobs", Fault.KILL_IN_BODY, 20),
    KillKind("blob sent, no answer yet", "PUT /blobs", Fault.KILL_AFTER_REQUEST, 12),
    KillKind("blob stored, reply dropped", "PUT /blobs", Fault.KILL_AFTER_REPLY, 12),
    KillKind("package committed, reply dropped", "POST /packages", Fault.KILL_AFTER_REPLY, 30),
    KillKind("package sent, no answer yet", "POST /packages", Fault.KILL_AFTER_REQUEST, 14),
    KillKind("random moment", "", None, 12),
)
# Faults that do not kill: the chance of each for any request.
OTHER_FAULTS = (
    (Fault.DROP_REPLY, 0.06),
    (Fault.TRUNCATE_REPLY, 0.03),
    (Fault.TWICE_TOGETHER, 0.04),
    (Fault.TWICE_AFTER, 0.04),
    (Fault.TWICE_LATE, 0.03),
)


class FaultPlan:
    """Decides each request's fault (called from the proxy's threads) and arms the kills."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.kills: Counter[str] = Counter()
        self.fired = threading.Event()
        self._lock = threading.Lock()
        self._flowing = threading.Condition(self._lock)
        self._armed: KillKind | None = None
        self._after = 0
        self._seen = 0
        self._recent: deque[str] = deque(maxlen=RECENT)

    def choose_kill(self) -> KillKind:
        """A kill for a kind of request that is flowing now (or at a random moment)."""
        with self._lock:
            kinds = [k for k in KILL_KINDS if not k.route or k.route in self._recent]
            return self.rng.choices(kinds, [k.weight for k in kinds])[0]

    def wait_requests(self, n: int, timeout: float) -> None:
        """Until `n` more requests have come (or `timeout` seconds have passed)."""
        with self._lock:
            until = self._seen + n
            self._flowing.wait_for(lambda: self._seen >= until, timeout)

    def count(self, name: str) -> None:
        with self._lock:
            self.kills[name] += 1

    def arm(self, kind: KillKind, skip: int) -> None:
        """Kill on the first request of `kind.route` once `skip` more requests have passed."""
        with self._lock:
            self.fired.clear()
            self._armed, self._after = kind, self._seen + skip

    def disarm(self) -> bool:
        """Stop waiting for the armed kill; False if it has fired meanwhile."""
        with self._lock:
            armed, self._armed = self._armed, None
            return armed is not None

    def decide(self, request: Request) -> Fault:
        with self._lock:
            self._seen += 1
            self._recent.append(request.route)
            self._flowing.notify_all()
            armed = self._armed
            if armed and armed.fault and request.route == armed.route and self._seen > self._after:
                self._armed = None
                self.kills[armed.name] += 1
                self.fired.set()
                return armed.fault
            roll = self.rng.random()
        for fault, chance in OTHER_FAULTS:
            if roll < chance:
                return fault
            roll -= chance
        return Fault.FORWARD


class TownshipProcess:
    """sync_fault_township.py for one township; a thread reads its lines as they come."""

    def __init__(self, code: str, name: str, data: Path, db: str, cases: int, seed: int,
                 deadline: float) -> None:  # fmt: skip
        self.code, self.data, self.db = code, data, db
        self.stderr = data.with_suffix(".stderr")
        data.mkdir(parents=True, exist_ok=True)
        with self.stderr.open("ab") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, str(TOWNSHIP_SCRIPT), "--data", str(data), "--db", db,
                 "--code", code, "--name", name, "--cases", str(cases), "--seed", str(seed),
                 "--deadline", str(deadline)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, cwd=ROOT,
                env=child_env(), bufsize=0,
            )  # fmt: skip
        self.queued = 0
        self.delivered = 0
        self.attempts = 0
        self.passes = 0
        self.outcome = ""  # "done" or "deadline"
        self._ready = threading.Event()
        self._ended = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        try:
            for raw in self.proc.stdout:
                word, *figures = raw.decode().split()
                if word == "queued":
                    self.queued = int(figures[0])
                    self._ready.set()
                elif word == "pass":
                    self.delivered += int(figures[0])
                    self.attempts = int(figures[3])
                    self.passes += 1
                elif word in ("done", "deadline"):
                    self.outcome = self.outcome or word
        finally:
            self._ready.set()
            self._ended.set()

    def fail(self, why: str) -> None:
        tail = self.stderr.read_text(encoding="utf-8", errors="replace")[-3000:]
        pytest.fail(f"township {self.code}: {why}; stderr:\n{tail}")

    def wait_queued(self) -> int:
        if not self._ready.wait(LINE_TIMEOUT) or not self.queued:
            self.fail("its cases were not queued")
        return self.queued

    def send(self, url: str, credential: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"send {url} {credential}\n".encode())
        self.proc.stdin.flush()

    def wake(self) -> None:
        """The county is back: a worker pausing after a failed connection goes on now."""
        if self.running:
            assert self.proc.stdin is not None
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.write(b"wake\n")
                self.proc.stdin.flush()

    @property
    def running(self) -> bool:
        return not self._ended.is_set()

    def wait(self, timeout: float) -> None:
        """Until it has ended by itself (delivered everything or reached its deadline)."""
        if not self._ended.wait(timeout):
            self.fail("it did not end in time")
        code = self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        if code != 0 or self.outcome != "done":
            self.fail(f"it ended with exit code {code} after {self.outcome or 'nothing'}")

    def close(self) -> None:
        """Kill it if it still runs (a failed test), and release its pipes."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=30)
        self._reader.join(timeout=30)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


@contextmanager
def more_databases(db_url: str, tmp_path: Path, names: list[str]) -> Iterator[dict[str, str]]:
    """Empty databases of the same kind as `db_url`: SQLite files or PostgreSQL schemas."""
    if db_url.startswith("sqlite"):
        yield {name: f"sqlite:///{tmp_path / f'{name}.sqlite3'}" for name in names}
        return
    with ExitStack() as stack:
        yield {name: stack.enter_context(pg_schema("f")) for name in names}
