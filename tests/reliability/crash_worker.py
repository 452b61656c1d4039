"""Child process for the crash-safety test: does case work on a shared database until SIGKILLed.

Two modes:
- plain (`--data D --db URL`): open the runtime, print "ready <pid>", work forever;
- `--fork-server`: import everything once, then for each "fork <seed>" line on stdin fork a
  worker that opens the runtime itself, prints "ready <pid>" and works forever; a "reap" line
  reaps that worker and prints "reaped <pid> <exit code>". A fresh interpreter costs ~0.8 s of
  imports, which would make hundreds of kills far too slow; a fork costs milliseconds. The
  worker stays a zombie until "reap", so the parent can never signal a recycled PID.

The database and the world (township, catalog, accounts) are made by the parent beforehand.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import random
import sys
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from helpers.factories import TOWNSHIP, World, intake, person  # noqa: E402

from app.domain.case import Action  # noqa: E402
from app.domain.errors import StaleError  # noqa: E402
from app.domain.roles import Actor, Role  # noqa: E402
from app.domain.states import CaseState, MaterialStatus  # noqa: E402
from app.security.keystore import KeyStore, MemoryKeyring, unwrap_key  # noqa: E402
from app.services import accounts, cases, catalog  # noqa: E402
from app.services.runtime import Runtime, get_setting, open_runtime  # noqa: E402
from app.store.models import AccountRecord, CaseMaterialRecord, CaseRecord  # noqa: E402

PASSPHRASE = "test-passphrase-123"
REFUSAL_BASIS = "《行政许可法》第三十二条"
SYNC = Actor(None, "county-sync", Role.SYNC, township=TOWNSHIP, display_name="县级同步")
OPEN_STATES = [
    s.value
    for s in (
        CaseState.RECEIVED, CaseState.CORRECTION_REQUIRED, CaseState.ACCEPTED,
        CaseState.IN_REVIEW, CaseState.HANDED_OFF, CaseState.DECIDED,
        CaseState.READY_TO_ISSUE, CaseState.ISSUED,
    )
]  # fmt: skip
Move = tuple[Actor, Action, dict[str, Any]]


def open_rt(data_dir: Path, url: str, keystore: KeyStore | None = None) -> Runtime:
    """The runtime; the master key is wrapped in the database under the test passphrase."""
    return open_runtime(data_dir, url, keystore=keystore, ask_passphrase=lambda: PASSPHRASE)


def unlocked_keyring(data_dir: Path, url: str) -> KeyStore:
    """An in-memory keyring already holding the master key, for the forked workers.

    Unwrapping the passphrase costs ~0.15 s of scrypt per open; the keyring path of
    `open_runtime` skips it. Should the key name ever differ, `open_runtime` still falls
    back to the passphrase, so this only saves time and never changes what is tested.
    """
    rt = open_rt(data_dir, url)
    try:
        wrapped = base64.b64decode(get_setting("wrapped_master_key") or "")
        name = f"pii-master-key:{get_setting('database_id')}"
    finally:
        rt.close()
    store = KeyStore(backend=MemoryKeyring())
    store.set_secret(name, base64.b64encode(unwrap_key(wrapped, PASSPHRASE)).decode())
    return store


def load_world() -> World:
    """The parent's world, rebuilt from the accounts stored in the database."""

    def actor(username: str, desk: str) -> Actor:
        return accounts.actor_of(AccountRecord.get(AccountRecord.username == username), desk)

    stations = AccountRecord.select().where(AccountRecord.role == Role.STATION.value)
    return World(
        catalog=catalog.get_catalog(),
        window=actor("window1", "A1"),
        issuance=actor("issue1", "C1"),
        stations={a.station: accounts.actor_of(a, "S1") for a in stations},
        other_window=actor("window9", "A1"),
    )


def new_case(rt: Runtime, world: World, rng: random.Random) -> None:
    """接件 of a township item (sometimes with a required material missing) or a county item."""
    if rng.random() < 0.2:
        intake(rt, world, world.county_item(), who=person(rng.randrange(1, 10**6)))
        return
    item = rng.choice(world.catalog.township_items())
    required = [m.name for m in item.materials if m.required]
    missing = (rng.choice(required),) if required and rng.random() < 0.15 else ()
    intake(rt, world, item, missing=missing, who=person(rng.randrange(1, 10**6)))


def _correction(names: list[str], rt: Runtime) -> dict[str, Any]:
    return {
        "missing": [{"name": n, "reason": "材料不齐或不清晰"} for n in names],
        "due_date": rt.today() + timedelta(days=10),
    }


def _at_window(rt: Runtime, world: World, case: CaseRecord, rng: random.Random) -> Move:
    """The window's next step on a received, corrected or accepted case."""
    w = world.window
    materials = list(CaseMaterialRecord.select().where(CaseMaterialRecord.case == case.id))
    lacking = [m.name for m in materials if m.status != MaterialStatus.RECEIVED.value]
    if case.state == CaseState.RECEIVED.value:
        if any(m.required and m.name in lacking for m in materials):
            return w, Action.REQUEST_CORRECTION, _correction(lacking, rt)
        roll = rng.random()
        if roll < 0.04:
            return w, Action.REFUSE, {"reason": "不属于受理范围", "basis": REFUSAL_BASIS}
        if roll < 0.07:
            return w, Action.WITHDRAW, {"reason": "申请人主动撤回"}
        return w, Action.ACCEPT, {}
    if case.state == CaseState.CORRECTION_REQUIRED.value:
        if case.accepted_on is None and rng.random() < 0.1:
            return w, Action.REFUSE, {"reason": "逾期未补正", "basis": REFUSAL_BASIS}
        return w, Action.SUPPLEMENT, {"received": lacking or [materials[0].name]}
    return w, (Action.ROUTE if case.level == "township" else Action.HAND_OFF), {}


def _at_county(rt: Runtime, case: CaseRecord) -> Move:
    if case.county_signed_on is None:
        return SYNC, Action.COUNTY_SIGNED, {"on": rt.today()}
    if case.decision is None:
        decided = {"decision": "approved", "opinion": "县级审核通过，准予办理", "on": rt.today()}
        return SYNC, Action.COUNTY_DECIDED, decided
    return SYNC, Action.COUNTY_DISPATCHED, {"method": "township_pickup"}


def _at_issuance(world: World, case: CaseRecord, rng: random.Random) -> Move:
    clerk = world.issuance
    if case.state == CaseState.DECIDED.value:
        return clerk, Action.NOTIFY, {"channel": "电话"}
    if case.state == CaseState.ISSUED.value:
        return clerk, Action.CLOSE, {"rating": rng.randint(1, 5)}
    if rng.random() < 0.5:
        pickup = {"method": "pickup", "collector_name": "申请人本人",
                  "collector_role": "applicant", "id_checked": True}  # fmt: skip
        return clerk, Action.ISSUE, pickup
    mail = {"method": "mail", "address": "青禾县青禾镇东村8组12号", "carrier": "中国邮政EMS",
            "tracking_no": f"EB{rng.randint(10**8, 10**9 - 1)}CN"}  # fmt: skip
    return clerk, Action.ISSUE, mail


def next_move(rt: Runtime, world: World, case: CaseRecord, rng: random.Random) -> Move:
    """The next workflow step for `case`, taken by whoever holds it."""
    state = CaseState(case.state)
    if state is CaseState.IN_REVIEW:
        station = world.stations[case.station]
        roll = rng.random()
        if roll < 0.08:
            first = CaseMaterialRecord.get(
                (CaseMaterialRecord.case == case.id) & (CaseMaterialRecord.position == 1)
            )
            return station, Action.REQUEST_CORRECTION, _correction([first.name], rt)
        if roll < 0.15:
            return station, Action.DENY, {"opinion": "不符合条件", "basis": "事项办理条件第一项"}
        return station, Action.APPROVE, {"opinion": "材料齐全，同意办理"}
    if state is CaseState.HANDED_OFF:
        return _at_county(rt, case)
    if state in (CaseState.DECIDED, CaseState.READY_TO_ISSUE, CaseState.ISSUED):
        return _at_issuance(world, case, rng)
    return _at_window(rt, world, case, rng)


def step(rt: Runtime, world: World, rng: random.Random) -> None:
    """One unit of work: a new case, or the next action on a random open case."""
    from peewee import fn

    case = None
    if rng.random() >= 0.3:
        case = (
            CaseRecord.select()
            .where(CaseRecord.state.in_(OPEN_STATES))
            .order_by(fn.Random())
            .first()
        )
    if case is None:
        new_case(rt, world, rng)
        return
    actor, action, data = next_move(rt, world, case, rng)
    # On PostgreSQL the killed predecessor's COMMIT may still land after we read the case:
    # its server session outlives the client by a moment. The service refuses the stale
    # view, as it would at a desk; the next step reads afresh.
    with contextlib.suppress(StaleError):
        cases.act(rt, actor, case.id, action, data, expected_version=case.version)


def announce(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def work_forever(data_dir: Path, url: str, seed: int, keystore: KeyStore | None = None) -> None:
    """Open the runtime, say "ready", then work until killed (or until the parent is gone)."""
    parent = os.getppid()
    rt = open_rt(data_dir, url, keystore)
    world = load_world()
    rng = random.Random(seed)
    announce(f"ready {os.getpid()}")
    while os.getppid() == parent:  # an orphaned worker stops by itself
        step(rt, world, rng)


def _forked_worker(data_dir: Path, url: str, seed: int, keystore: KeyStore) -> None:
    """In the forked child: work, and never return into the server's loop."""
    code = 1
    try:
        work_forever(data_dir, url, seed, keystore)
        code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        sys.stderr.flush()
        os._exit(code)


def serve(data_dir: Path, url: str) -> None:
    """Fork one worker per "fork <seed>" line; reap it on the following "reap" line."""
    keystore = unlocked_keyring(data_dir, url)  # the database is closed again before any fork
    announce("serving")
    pid = 0
    while line := sys.stdin.readline():
        command, _, argument = line.strip().partition(" ")
        if command == "fork" and not pid:
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:
                _forked_worker(data_dir, url, int(argument), keystore)
        elif command == "reap" and pid:
            _, status = os.waitpid(pid, 0)
            announce(f"reaped {pid} {os.waitstatus_to_exitcode(status)}")
            pid = 0
        else:
            raise SystemExit(f"unexpected command {line!r}")
    if pid:  # stdin closed with a worker alive: end it rather than leave it behind
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True, type=Path)
    parser.add_argument("--db", required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fork-server", action="store_true")
    args = parser.parse_args()
    if args.fork_server:
        serve(args.data, args.db)
    else:
        work_forever(args.data, args.db, args.seed)


if __name__ == "__main__":
    main()
