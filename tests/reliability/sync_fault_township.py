"""One township of the fault test: its own database, its 帮代办 cases and its outbox worker.

`python sync_fault_township.py --data D --db URL --code C --name N --cases K --seed S
--deadline SECONDS`:

1. builds the township (desk, catalog, a window clerk) and K county-level cases through the
   real workflow, each accepted with two attachments (a PDF and a JPEG or PNG whose bytes
   differ per case; every tenth case's second file is one that every township holds) and
   handed off; every WITHDRAW_EVERY-th case is then withdrawn, a second revision. Prints
   "queued <outbox rows>".
2. On a "send <county url> <credential>" line, runs the outbox worker
   (`sync.client.outbox.run_once`) pass after pass, moving its clock on two hours each time
   so that no backoff holds a row back, and prints "pass <delivered> <waiting> <need a
   person> <attempts>" after each, until nothing waits (or the deadline passes: "deadline").
   Prints "done" and exits. A pass cut short because the county could not be reached is
   followed by a pause until a "wake" line (the test has restarted the server) or 2 seconds,
   where the real worker would wait for its next cycle.
"""

from __future__ import annotations

import argparse
import os
import random
import select
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers.factories import ADMIN, World, drive, make_case, make_user  # noqa: E402
from helpers.fixtures import FakeClock  # noqa: E402

from app.domain.case import Action  # noqa: E402
from app.domain.roles import Role  # noqa: E402
from app.domain.states import CaseState  # noqa: E402
from app.security import passwords  # noqa: E402
from app.services import catalog, org  # noqa: E402
from app.services.attachments import add_attachment  # noqa: E402
from app.services.runtime import Runtime, open_runtime  # noqa: E402
from app.store.models import OutboxRecord  # noqa: E402
from forms.catalog import dump_catalog, load_demo_catalog  # noqa: E402
from sync.client.config import SyncConfig  # noqa: E402
from sync.client.http import CountyClient  # noqa: E402
from sync.client.outbox import run_once  # noqa: E402
from sync.client.status import CONTACT, NEEDS_PERSON, WAITING  # noqa: E402

WITHDRAW_EVERY = 9
COMMON_EVERY = 10
START = datetime(2026, 11, 16, 9, 30)
# A scan every township holds (a blank county form): the county must still get it from each.
COMMON_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
READ_TIMEOUT = 10.0
WAKE_TIMEOUT = 2.0
LINE_TIMEOUT = 600.0


def open_township(data: Path, url: str, passphrase: str, clock: FakeClock | None = None) -> Runtime:
    """The township's runtime; its key is wrapped in its database under `passphrase`."""
    return open_runtime(
        data, url, keystore=None, ask_passphrase=lambda: passphrase, now=clock or (lambda: START)
    )


def scans(code: str, serial: int, rng: random.Random) -> tuple[bytes, bytes]:
    """Two small valid files, different for every case (except the common one)."""
    tag = f"{code}-{serial}".encode()
    pdf = b"%PDF-1.4\n%" + tag + b"\n" + rng.randbytes(rng.randrange(500, 6000)) + b"\n%%EOF\n"
    if serial % COMMON_EVERY == 0:
        return pdf, COMMON_PNG
    magic = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" if serial % 2 else b"\x89PNG\r\n\x1a\n"
    return pdf, magic + tag + rng.randbytes(rng.randrange(500, 6000))


def build(rt: Runtime, code: str, name: str, cases: int, rng: random.Random) -> int:
    """The township and its handed-off cases; the number of outbox rows."""
    org.add_township(rt, ADMIN, code=code, name=name, county_code=code[:6], county_name="青禾县")
    org.add_desk(rt, ADMIN, township=code, code="A1", name="综合窗口")
    catalog.import_catalog(rt, ADMIN, dump_catalog(load_demo_catalog()))
    window, _ = make_user(rt, "window1", Role.WINDOW, township=code)
    world = World(catalog.get_catalog(), window, window, {}, window)
    materials = [m.name for m in world.county_item().materials]
    for serial in range(1, cases + 1):
        ref = make_case(rt, world, CaseState.ACCEPTED, county=True)
        for n, data in enumerate(scans(code, serial, rng)):
            add_attachment(rt, window, ref.id, data, original_name=f"扫描件{n + 1}",
                           material=materials[n % len(materials)])  # fmt: skip
        ref = drive(rt, world, ref, window, Action.HAND_OFF)
        if serial % WITHDRAW_EVERY == 0:
            drive(rt, world, ref, window, Action.WITHDRAW, {"reason": "申请人来电撤回申请"})
    return int(OutboxRecord.select().count())


def counts() -> tuple[int, int, int]:
    """Rows waiting, rows that need a person, and all attempts so far."""
    waiting = OutboxRecord.select().where(OutboxRecord.status.in_(WAITING)).count()
    stuck = OutboxRecord.select().where(OutboxRecord.status.in_(NEEDS_PERSON)).count()
    attempts = sum(r.attempts for r in OutboxRecord.select(OutboxRecord.attempts))
    return waiting, stuck, attempts


class Input:
    """Lines from the test on stdin (unbuffered, so that waiting on it with select works)."""

    def __init__(self) -> None:
        self.buffer = b""
        self.closed = False

    def line(self, timeout: float) -> str | None:
        """The next line, or None after `timeout` seconds (or at the end of input)."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if self.closed or left <= 0 or not select.select([0], [], [], left)[0]:
                time.sleep(max(0.0, deadline - time.monotonic()))
                return None
            chunk = os.read(0, 4096)
            self.closed = not chunk
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode()


def send(rt: Runtime, clock: FakeClock, config: SyncConfig, deadline: float, inbox: Input) -> None:
    client = CountyClient(config, read_timeout=READ_TIMEOUT)
    try:
        while True:
            clock.advance(hours=2)
            report = run_once(rt, client)
            waiting, stuck, attempts = counts()
            print(f"pass {report.delivered} {waiting} {stuck} {attempts}", flush=True)
            if waiting == 0:
                return
            if time.monotonic() > deadline:
                print("deadline", flush=True)
                return
            if CONTACT.read()[0] is False:  # the pass ended at a county it could not reach
                while inbox.line(WAKE_TIMEOUT) not in (None, "wake"):
                    pass
            elif report.delivered == 0:
                time.sleep(0.02)
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    for option in ("--data", "--db", "--code", "--name"):
        parser.add_argument(option, required=True)
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--deadline", type=float, required=True)
    args = parser.parse_args()
    passwords.set_default_params(passwords.ScryptParams(n=2**8, r=8, p=1))  # as in the tests
    clock = FakeClock(START)
    rt = open_township(Path(args.data), args.db, os.environ["BUJIANMIAN_PASSPHRASE"], clock)
    try:
        rows = build(rt, args.code, args.name, args.cases, random.Random(args.seed))
        print(f"queued {rows}", flush=True)
        inbox = Input()
        command = (inbox.line(LINE_TIMEOUT) or "").split()
        if len(command) != 3 or command[0] != "send":
            raise SystemExit("expected 'send <url> <credential>'")
        _, url, credential = command
        send(rt, clock, SyncConfig(url, credential), time.monotonic() + args.deadline, inbox)
    finally:
        rt.close()
    print("done", flush=True)


if __name__ == "__main__":
    main()
