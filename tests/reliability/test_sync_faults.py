"""Sync under faults: every case reaches the county exactly once, every attachment intact.

Four townships, each with its own database and credential, queue 500 帮代办 cases (two
attachments each; some are withdrawn again, a second revision) while the link to the county
is cut: refused, then black-holed. Then their outbox workers send through a fault proxy
(sync_fault_proxy.py) while the test SIGKILLs the real county server over a hundred times:
half-way through a blob upload, once a blob or package was sent, after the server committed a
package but before its reply reaches the township, and at random moments; each time it is
restarted on the same port, database and data folder, and now and then the link stays cut a
while longer. Other requests meet dropped or truncated replies and second copies (at once,
right after the first, or a couple of hundred requests later).

Afterwards every township's outbox must be delivered, and the county (its staff API, its
database and its blob folder) must hold every case exactly once (by UUID and by case number),
every revision once, the exact package the township sent, and every attachment with bytes that
hash to its name: lost 0, duplicated 0, corrupted 0. The seed is in every assertion message.

Controls: the audit does see a lost grant, a second copy of a revision and a damaged file;
and for what the faults brought up, a restarted server removes the spool files of uploads a
kill cut short, the outbox's backoff and a county's Retry-After stay capped however long the
county is away, and a pass cut short by an unreachable county ends "offline" even when a
case sent alongside was answered after.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from helpers.factories import make_case
from helpers.fixtures import PG_ENV
from playhouse.shortcuts import model_to_dict
from sync_fault_check import Audit, StaffApi, TownshipCase, county_audit, dump, township_cases
from sync_fault_county import PASSPHRASE, FaultCounty
from sync_fault_plan import FaultPlan, TownshipProcess, more_databases
from sync_fault_proxy import FaultProxy, Link

from app.domain.states import CaseState
from app.security.keystore import KeyStore, MemoryKeyring
from app.store.models import OutboxRecord
from sync.client.http import ServerTrouble, Unreachable
from sync.client.outbox import backoff, process, run_once
from sync.client.status import CONTACT, note_contact
from sync.protocol import HandoffPackage
from sync.server import store
from sync.server.context import open_server
from sync.server.store import CountyBlobGrantRecord, CountyPackageRecord

TOWNSHIPS = (
    ("370999101", "青禾镇"),
    ("370999102", "白杨镇"),
    ("370999103", "柳河镇"),
    ("370999104", "石桥镇"),
)
CASES_PER_TOWNSHIP = 125
KILLS = 100
FRESH_EVERY = 20  # every 20th restart is a new `bujianmian county serve` interpreter
ARM_WAIT = 3.0  # a kill waiting this long for its request becomes a kill at a random moment
TIMER_MAX = 0.1
CUT_CHANCE = 0.08  # after a kill the link stays cut a while longer
CUT_SECONDS = (0.2, 0.6)
QUEUED_CUT = (1.5, 2.0)  # refused, then black-holed, with everything queued
SEND_DEADLINE = 300.0
SEED_ENV = "BUJIANMIAN_TEST_FAULT_SEED"  # replays a run's choices (not its thread timing)

# When the suite runs on both databases, the full run (500 cases, 100 kills) goes to the
# county's production database, PostgreSQL, and SQLite gets a shorter one with the same
# faults; on SQLite alone the full run is SQLite's.
SHORT_RUN = (40, 30)  # cases per township, kills


def run_size(db_url: str) -> tuple[int, int]:
    """(cases per township, kills) for a run on this database."""
    if db_url.startswith("sqlite") and os.environ.get(PG_ENV):
        return SHORT_RUN
    return CASES_PER_TOWNSHIP, KILLS


class FaultRun:
    """The kill loop (in the test's thread) around the proxy's per-request faults."""

    def __init__(self, county: FaultCounty, proxy: FaultProxy, plan: FaultPlan,
                 towns: list[TownshipProcess], rng: random.Random,
                 target: int = KILLS) -> None:  # fmt: skip
        self.county, self.proxy, self.plan, self.towns, self.rng = county, proxy, plan, towns, rng
        self.rows = sum(t.queued for t in towns)
        self.target = target
        self.kills = 0
        self.restarts: Counter[str] = Counter()
        self.restart_seconds = 0.0
        self.cuts: Counter[str] = Counter()
        proxy.kill = self.kill

    def _skip(self) -> int:
        """How many requests pass before the next armed kill: spread over the work left."""
        left = max(0, self.rows - sum(t.delivered for t in self.towns))
        spacing = 4 * left / (self.target - self.kills + 5) / 2
        return self.rng.randint(0, int(2 * spacing))

    def kill(self) -> None:
        """SIGKILL the server (from any thread); from now on connections are refused, as
        they are by a server that is down."""
        if self.county.signal_kill():
            self.proxy.cut(Link.REFUSE)

    def _cut_a_while(self) -> None:
        how = self.rng.choice((Link.REFUSE, Link.BLACK_HOLE))
        self.cuts[how.value] += 1
        self.proxy.cut(how)
        time.sleep(self.rng.uniform(*CUT_SECONDS))

    def kill_once(self) -> None:
        self.plan.wait_requests(1, ARM_WAIT)  # the townships are sending again
        kind, skip = self.plan.choose_kill(), self._skip()
        if kind.fault is None:
            self.plan.wait_requests(skip, ARM_WAIT)
            time.sleep(self.rng.uniform(0, TIMER_MAX))
            self.plan.count(kind.name)
            self.kill()
        else:
            self.plan.arm(kind, skip)
            if not self.plan.fired.wait(ARM_WAIT) and self.plan.disarm():
                self.plan.count("random moment (the armed request did not come)")
                self.kill()
        # The proxy's thread kills once the server has the request (or has answered it).
        if not self.county.killed.wait(10):
            self.kill()
        self.kills += 1
        self.county.reap()
        if self.rng.random() < CUT_CHANCE:
            self._cut_a_while()
        fresh = self.kills % FRESH_EVERY == 0
        self.restarts["fresh" if fresh else "forked"] += 1
        started = time.monotonic()
        self.county.restart(fresh=fresh)
        self.restart_seconds += time.monotonic() - started
        self.proxy.restore()
        for town in self.towns:
            town.wake()

    def run(self) -> None:
        """Kill `target` times, then let the townships finish (other faults go on)."""
        deadline = time.monotonic() + SEND_DEADLINE
        while any(t.running for t in self.towns) and time.monotonic() < deadline:
            if self.kills < self.target:
                self.kill_once()
            else:
                time.sleep(0.1)


def queue_behind_cut_link(proxy: FaultProxy, towns: list[TownshipProcess], api: StaffApi,
                          why: str) -> int:  # fmt: skip
    """With every case queued the link is refused, then black-holed: nothing arrives."""
    proxy.cut(Link.REFUSE)
    time.sleep(QUEUED_CUT[0])
    proxy.cut(Link.BLACK_HOLE)
    time.sleep(QUEUED_CUT[1])
    attempts = sum(t.attempts for t in towns)
    arrived = api.get("/county/cases", limit=1).json()["total"]
    assert all(t.attempts > 0 for t in towns), f"{why}: a township never tried"
    assert (arrived, sum(t.delivered for t in towns)) == (0, 0), why
    proxy.restore()
    for town in towns:
        town.wake()
    return attempts


def start_townships(db_url: str, urls: dict[str, str], tmp_path: Path, rng: random.Random,
                    stack: ExitStack, cases: int) -> list[TownshipProcess]:  # fmt: skip
    """Every township process, building its cases (the first on the `db_url` database)."""
    towns = []
    for code, name in TOWNSHIPS:
        data, url = tmp_path / f"town-{code}", urls.get(code, db_url)
        seed = rng.randrange(10**9)
        town = TownshipProcess(code, name, data, url, cases, seed, SEND_DEADLINE)
        stack.callback(town.close)
        towns.append(town)
    return towns


def report(backend: str, seed: int, run: FaultRun, proxy: FaultProxy, audit: Audit,
           times: dict[str, float]) -> None:  # fmt: skip
    figures = ", ".join(f"{k} {v:.0f} s" for k, v in times.items())
    print(f"sync faults [{backend}] seed {seed}: {figures}")
    print(f"  {run.kills} kills {dict(run.plan.kills)}")
    print(f"  restarts {dict(run.restarts)}, {run.restart_seconds / run.kills:.2f} s each")
    print(f"  link cuts after a kill {dict(run.cuts)}; faults {dict(proxy.applied)}")
    print(f"  requests {dict(proxy.routes)}; replies {dict(proxy.replies)}")
    print(f"  attempts per township {[t.attempts for t in run.towns]}; county {dump(audit)}")
    print(f"  {audit.summary()}")


@pytest.mark.slow
def test_every_case_arrives_once_despite_kills_drops_duplicates_and_cuts(
    db_url: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get(SEED_ENV) or random.randrange(2**32))
    rng, why = random.Random(seed), f"seed {seed} (replay with {SEED_ENV}={seed})"
    print(f"\nsync faults: seed {seed}")
    began = time.monotonic()
    codes = [code for code, _ in TOWNSHIPS]
    with more_databases(db_url, tmp_path, ["county", *codes[1:]]) as urls, ExitStack() as stack:
        per_township, kills = run_size(db_url)
        towns = start_townships(db_url, urls, tmp_path, rng, stack, per_township)
        county = FaultCounty(tmp_path, urls["county"])
        stack.callback(county.stop)
        credentials = {codes[0]: county.township}
        credentials.update({code: county.add_township(code, name) for code, name in TOWNSHIPS[1:]})
        county.start()
        county.prepare_forks()
        plan = FaultPlan(random.Random(rng.randrange(2**32)))  # used by the proxy's threads
        proxy = FaultProxy(county.port, plan.decide)
        stack.callback(proxy.close)
        proxy.cut(Link.REFUSE)
        rows = sum(t.wait_queued() for t in towns)
        api = StaffApi(county.url, county.staff)
        times = {"set-up": time.monotonic() - began}

        for town in towns:
            town.send(proxy.url, credentials[town.code])
        queued_attempts = queue_behind_cut_link(proxy, towns, api, why)
        run = FaultRun(county, proxy, plan, towns, rng, kills)
        run.run()
        for town in towns:
            town.wait(30)
        times["sending"] = time.monotonic() - began - sum(times.values())

        audit = Audit(figures={"attempts while the link was cut": queued_attempts})
        expected, statuses = [], {}
        for town in towns:
            cases, statuses[town.code] = township_cases(town.data, town.db, PASSPHRASE, audit)
            expected += cases
        county_audit(api, urls["county"], county.data / "blobs", expected, audit)
        audit.figures["package POSTs in the server log"] = county.package_posts()
        times["checks"] = time.monotonic() - began - sum(times.values())
    times["total"] = time.monotonic() - began
    report(db_url.split(":")[0], seed, run, proxy, audit, times)

    assert len(expected) == len(TOWNSHIPS) * per_township, why
    assert sum(c.revision for c in expected) == rows, why
    assert statuses == {t.code: Counter(delivered=t.queued) for t in towns}, why
    assert run.kills >= kills, why
    # Resends and second copies get the stored answer; nothing is ever refused or fails.
    assert all(reply.endswith((" 200", " 201")) for reply in proxy.replies), why
    # A kill mid-upload leaves a spool file; the restarted server removes it.
    assert audit.figures["half uploads left in .incoming"] == 0, why
    assert (audit.lost, audit.duplicated, audit.corrupted) == ([], [], []), (
        f"{why}: {audit.summary()}\n{audit.problems()}"
    )


def test_a_restarted_server_drops_the_uploads_a_crash_cut_short(tmp_path: Path) -> None:
    data = tmp_path / "county-data"
    kept = data / "blobs" / "ab" / ("ab" + "0" * 62)
    half = data / "blobs" / ".incoming" / "4f2a.part"
    for path in (kept, half):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"%PDF-1.4 half")
    keystore = KeyStore(backend=MemoryKeyring())
    server = open_server(f"sqlite:///{tmp_path / 'county.sqlite3'}", data, keystore=keystore)
    server.close()
    assert not half.exists() and kept.exists()


def test_backoff_stays_capped_however_long_the_county_is_away() -> None:
    rng = random.Random(7)
    waits = [backoff(n, rng) for n in (8, 1025, 10**6)]
    assert all(timedelta(minutes=30) <= w <= timedelta(hours=1) for w in waits)


class BusyCounty:
    """A county that answers every call with 429 and an absurd Retry-After."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        def busy(*args: object) -> None:
            raise ServerTrouble("县级服务器繁忙，稍后自动重试", status=429, retry_after=10**12)

        return busy


def test_a_huge_retry_after_parks_a_row_no_longer_than_the_backoff_cap(rt, world) -> None:
    ref = make_case(rt, world, CaseState.HANDED_OFF)
    row = OutboxRecord.get(OutboxRecord.case == ref.id)
    assert process(rt, BusyCounty(), row, random.Random(1)) == "pending"
    row = OutboxRecord.get_by_id(row.id)
    assert row.status == "pending" and "繁忙" in row.last_error
    assert rt.now() < row.next_attempt_at <= rt.now() + timedelta(hours=1)


def tamper(db_url: str, blobs_dir: Path, case: TownshipCase) -> tuple[str, str]:
    """Lose a grant of the case's first file, store its revision 1 again as revision 2 and
    damage its second file; the two hashes."""
    lost, damaged = case.attachments
    db = store.open_database(db_url)
    try:
        with store.transaction(db):
            CountyBlobGrantRecord.delete().where(
                (CountyBlobGrantRecord.sha256 == lost)
                & (CountyBlobGrantRecord.township == case.township)
            ).execute()
            first = CountyPackageRecord.get(
                (CountyPackageRecord.uuid == case.uuid) & (CountyPackageRecord.revision == 1)
            )
            copy = {k: v for k, v in model_to_dict(first, recurse=False).items() if k != "id"}
            CountyPackageRecord.create(**{**copy, "revision": 2})
    finally:
        db.close()
    path = blobs_dir / damaged[:2] / damaged
    path.write_bytes(path.read_bytes()[:-1] + b"?")
    return lost, damaged


def test_the_audit_sees_what_is_lost_doubled_or_damaged(db_url: str, tmp_path: Path) -> None:
    """Control: the checks above fail when the county lacks, doubles or damages something."""
    code, name = TOWNSHIPS[0]
    with more_databases(db_url, tmp_path, ["county"]) as urls, ExitStack() as stack:
        town = TownshipProcess(code, name, tmp_path / "town", db_url, 2, 1, SEND_DEADLINE)
        stack.callback(town.close)
        county = FaultCounty(tmp_path, urls["county"])
        stack.callback(county.stop)
        county.start()
        town.wait_queued()
        town.send(county.url, county.township)
        town.wait(SEND_DEADLINE)
        api, blobs = StaffApi(county.url, county.staff), county.data / "blobs"

        def audit() -> tuple[Audit, list[TownshipCase]]:
            found = Audit()
            cases, _ = township_cases(town.data, town.db, PASSPHRASE, found)
            return county_audit(api, urls["county"], blobs, cases, found), cases

        clean, cases = audit()
        assert (clean.lost, clean.duplicated, clean.corrupted) == ([], [], [])
        lost, damaged = tamper(urls["county"], blobs, cases[0])
        found, _ = audit()
    assert found.lost == [f"grant of {lost} to {code}"]
    assert found.duplicated == [
        f"{cases[0].case_no}: revisions [1, 2]",
        f"package row {cases[0].uuid} rev 2",
    ]
    assert found.corrupted == [f"blob {damaged}: 409", f"blob file {damaged}"]


class HalfReachable:
    """The county answers the first case's package only once the second case's send has
    found it unreachable (and the pass has noted so): the answer comes last."""

    def __init__(self, answered: str) -> None:
        self.answered = answered

    def post_package(self, body: bytes) -> dict[str, object]:
        package = HandoffPackage.model_validate_json(body)
        if package.case_no != self.answered:
            raise Unreachable("无法连接县级服务器", code="offline")
        deadline = time.monotonic() + 30
        while CONTACT.read()[0] is not False and time.monotonic() < deadline:
            time.sleep(0.01)
        return {"case_uuid": str(package.case_uuid), "revision": package.revision,
                "attachments": []}  # fmt: skip


def test_a_pass_cut_short_by_an_unreachable_county_ends_offline(rt, world) -> None:
    first = make_case(rt, world, CaseState.HANDED_OFF)
    make_case(rt, world, CaseState.HANDED_OFF)
    note_contact(True)
    report = run_once(rt, HalfReachable(first.case_no), senders=2)
    assert (report.delivered, report.retrying) == (1, 1)
    assert CONTACT.read() == (False, "无法连接县级服务器")
