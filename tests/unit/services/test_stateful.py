"""Random journeys through the case services, checked against a model after every step."""

from __future__ import annotations

import itertools
import random
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from helpers.factories import SYNC, World, intake, make_user, make_world
from helpers.fixtures import FakeClock
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from app.domain.case import Action
from app.domain.errors import DomainError, KnownError, PermissionDenied, StaleError, ValidationError
from app.domain.roles import Actor, Role
from app.domain.states import CaseState
from app.security.keystore import KeyStore, MemoryKeyring
from app.services import audit, cases
from app.services.runtime import Runtime, open_runtime
from app.store.models import AuditEventRecord, CaseRecord
from forms.schema import Item

S, A, R = CaseState, Action, Role
WHO = ("window", "other_window", "own_station", "other_station", "issuance", "sync", "admin",
       "auditor", "county")  # fmt: skip
ROLE_OF = {"window": R.WINDOW, "other_window": R.WINDOW, "own_station": R.STATION,
           "other_station": R.STATION, "issuance": R.ISSUANCE, "sync": R.SYNC,
           "admin": R.ADMIN, "auditor": R.AUDITOR, "county": R.COUNTY}  # fmt: skip
PICKUP = {"method": "pickup", "collector_name": "本人", "collector_role": "applicant",
          "id_checked": True}  # fmt: skip
# Data that each action must reject; actions without required data have no entry.
INVALID: dict[Action, dict[str, Any]] = {
    A.REQUEST_CORRECTION: {"missing": [], "due_date": date(2030, 1, 1)},
    A.SUPPLEMENT: {"received": []},
    A.REFUSE: {"reason": "不属于受理范围"},
    A.APPROVE: {},
    A.DENY: {"opinion": "不同意"},
    A.NOTIFY: {"channel": "信鸽"},
    A.ISSUE: {**PICKUP, "id_checked": False},
    A.CLOSE: {"rating": 9},
    A.WITHDRAW: {},
    A.COUNTY_SIGNED: {},
    A.COUNTY_DECIDED: {"decision": "maybe", "opinion": "意见", "on": date(2026, 11, 16)},
    A.COUNTY_DISPATCHED: {"method": "carrier-pigeon"},
}
OPEN = {S.RECEIVED, S.CORRECTION_REQUIRED, S.ACCEPTED, S.IN_REVIEW, S.HANDED_OFF, S.DECIDED,
        S.READY_TO_ISSUE}  # fmt: skip
# Who may take which action from where, written out from DESIGN.md (independent of TABLE).
SPEC: dict[Action, dict[Role, set[CaseState]]] = {
    A.ACCEPT: {R.WINDOW: {S.RECEIVED}, R.COUNTY: {S.RECEIVED}},
    A.REQUEST_CORRECTION: {R.WINDOW: {S.RECEIVED}, R.STATION: {S.IN_REVIEW},
                           R.COUNTY: {S.RECEIVED, S.ACCEPTED, S.IN_REVIEW},
                           R.SYNC: {S.HANDED_OFF}},
    A.SUPPLEMENT: {r: {S.CORRECTION_REQUIRED} for r in (R.WINDOW, R.COUNTY, R.SYNC)},
    A.REFUSE: {r: {S.RECEIVED, S.CORRECTION_REQUIRED} for r in (R.WINDOW, R.COUNTY)},
    A.ROUTE: {R.WINDOW: {S.ACCEPTED}, R.COUNTY: {S.ACCEPTED}},
    A.HAND_OFF: {R.WINDOW: {S.ACCEPTED}},
    A.APPROVE: {R.STATION: {S.IN_REVIEW}, R.COUNTY: {S.IN_REVIEW}},
    A.DENY: {R.STATION: {S.IN_REVIEW}, R.COUNTY: {S.IN_REVIEW}},
    # Told again while waiting: a county result arrives ready to issue and is then announced.
    A.NOTIFY: {R.ISSUANCE: {S.DECIDED, S.READY_TO_ISSUE}, R.COUNTY: {S.DECIDED, S.READY_TO_ISSUE}},
    A.ISSUE: {R.ISSUANCE: {S.READY_TO_ISSUE}, R.COUNTY: {S.READY_TO_ISSUE}},
    A.CLOSE: {R.ISSUANCE: {S.ISSUED}, R.COUNTY: {S.ISSUED}},
    A.WITHDRAW: {r: OPEN for r in (R.WINDOW, R.COUNTY, R.SYNC)},
    A.COUNTY_SIGNED: {R.SYNC: {S.HANDED_OFF}},
    A.COUNTY_DECIDED: {R.SYNC: {S.HANDED_OFF}},
    A.COUNTY_DISPATCHED: {R.SYNC: {S.HANDED_OFF}},
}  # fmt: skip


def allowed_by_spec(state: CaseState, action: Action, role: Role) -> bool:
    return state in SPEC[action].get(role, set())


START = datetime(2026, 11, 16, 9, 30)
HAS_DECISION = {S.DECIDED, S.READY_TO_ISSUE, S.ISSUED, S.CLOSED}
FINAL = {S.CLOSED, S.REFUSED, S.WITHDRAWN}


@dataclass
class ModelCase:
    """What the model expects of one case."""

    id: int
    uuid: str
    item: Item
    version: int = 1
    state: CaseState = S.RECEIVED
    revision: int = 0
    outstanding: set[str] = field(default_factory=set)
    accepted_on: date | None = None
    paused_since: date | None = None
    paused_days: int = 0
    decided: bool = False

    @property
    def county(self) -> bool:
        return self.item.level == "county"


@dataclass
class Template:
    """A migrated database with the world in it, copied for each example (setup is slow)."""

    db_file: Path
    keyring: MemoryKeyring
    world: World
    extra: dict[str, Actor]

    @classmethod
    def build(cls, root: Path) -> Template:
        keyring = MemoryKeyring()
        db_file = root / "template.sqlite3"
        rt = open_runtime(root / "data", f"sqlite:///{db_file}",
                          keystore=KeyStore(backend=keyring), now=FakeClock(START))  # fmt: skip
        try:
            world = make_world(rt)
            extra = {
                "admin": make_user(rt, "admin1", R.ADMIN)[0],
                "auditor": make_user(rt, "auditor1", R.AUDITOR)[0],
                "county": make_user(rt, "county1", R.COUNTY, township="")[0],
            }
        finally:
            rt.close()  # checkpoints the WAL into the file copied below
        return cls(db_file, keyring, world, extra)


class CaseMachine(RuleBasedStateMachine):
    """Cases on one township node, driven by every kind of account; the model says what
    must happen."""

    template: Template

    def __init__(self) -> None:
        super().__init__()
        t = self.template
        self.tmp = Path(tempfile.mkdtemp(prefix="example-", dir=t.db_file.parent))
        shutil.copyfile(t.db_file, self.tmp / "test.sqlite3")
        self.clock = FakeClock(START)
        url = f"sqlite:///{self.tmp / 'test.sqlite3'}"
        keystore = KeyStore(backend=t.keyring)
        self.rt: Runtime = open_runtime(self.tmp / "data", url, keystore=keystore, now=self.clock)
        self.world, self.extra = t.world, t.extra
        self.items = {
            "promised": self.world.township_item("minzheng", immediate=False),
            "immediate": self.world.township_item(immediate=True),
            "county": self.world.county_item(),
        }
        self.cases: list[ModelCase] = []

    def teardown(self) -> None:
        self.rt.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- rules ---------------------------------------------------------------------------

    @initialize()
    def first_cases(self) -> None:
        for kind, gap in (("promised", True), ("immediate", False), ("county", False)):
            self.take_in(kind, gap)

    @precondition(
        lambda self: len(self.cases) < 8 and sum(c.state not in FINAL for c in self.cases) < 3
    )
    @rule(kind=st.sampled_from(["promised", "immediate", "county"]), gap=st.booleans())
    def take_in(self, kind: str, gap: bool) -> None:
        item = self.items[kind]
        missing = (item.materials[1].name,) if gap else ()
        assert item.materials[1].required
        ref = intake(self.rt, self.world, item, missing=missing)
        self.cases.append(ModelCase(ref.id, ref.uuid, item, outstanding=set(missing)))

    @rule(
        mode=st.sampled_from(["random", "near_miss", "probe", "forward", "forward", "forward"]),
        rnd=st.randoms(use_true_random=False),
    )
    def step(self, mode: str, rnd: random.Random) -> None:
        """A burst of moves, with 0–3 days passing before each: any role and action at random,
        a move the table allows but the data or a guard must refuse, every refused move on one
        case, or a legal move."""
        for _ in range(rnd.randint(1, 3)):
            self.clock.advance(days=rnd.randint(0, 3), hours=rnd.randint(0, 8))
            # Finished cases refuse everything: look at them in random mode only.
            open_cases = [c for c in self.cases if c.state not in FINAL]
            case = rnd.choice(self.cases if mode == "random" else open_cases or self.cases)
            if mode == "random":
                self.attempt(case, rnd.choice(WHO), rnd.choice(list(Action)), rnd.random() < 0.5)
            elif mode == "near_miss":
                self.near_miss(case, rnd)
            elif mode == "probe":
                self.probe(case)
            else:
                self.forward(case, rnd)

    def probe(self, case: ModelCase) -> None:
        """Every role and action the model says must be refused, with valid data."""
        for who, action in itertools.product(WHO, Action):
            if self.predict(case, who, action, valid=True) is not None:
                self.attempt(case, who, action, valid=True)

    def near_miss(self, case: ModelCase, rnd: random.Random) -> None:
        """A role the table allows, refused for its data or by a guard."""
        moves = [
            (w, a, v)
            for w, a, v in itertools.product(WHO, Action, (True, False))
            if allowed_by_spec(case.state, a, ROLE_OF[w]) and self.predict(case, w, a, v)
        ]
        if moves:
            self.attempt(case, *rnd.choice(moves))

    def forward(self, case: ModelCase, rnd: random.Random) -> None:
        """A legal move; detours and endings only now and then, so that random journeys also
        get to the end of the workflow."""
        # Applicants who do not bring the missing materials back tend to give up.
        ending = 0.3 if case.state is S.CORRECTION_REQUIRED else 0.05
        rare = {A.WITHDRAW: ending, A.REFUSE: ending, A.REQUEST_CORRECTION: 0.3}
        moves = [
            (w, a)
            for w, a in itertools.product(WHO, Action)
            if self.predict(case, w, a, valid=True) is None and rnd.random() < rare.get(a, 1.0)
        ]
        if moves:
            self.attempt(case, *rnd.choice(moves), valid=True)

    def attempt(self, case: ModelCase, who: str, action: Action, valid: bool) -> None:
        """Act through the services and check the result against the model's prediction."""
        actor = self.actor(who, case)
        valid = valid or action not in INVALID
        data = self.valid_data(action, case) if valid else self.invalid_data(action, case)
        expected = self.predict(case, who, action, valid)
        events = AuditEventRecord.select().count()
        try:
            ref = cases.act(self.rt, actor, case.id, action, data, expected_version=case.version)
        except KnownError as exc:
            assert type(exc) is expected, (who, action, case.state, exc.message)
            assert AuditEventRecord.select().count() == events
            return
        assert expected is None, (who, action, case.state, "should have been refused")
        self.apply(case, action)
        assert (ref.state, ref.version) == (case.state, case.version)
        assert AuditEventRecord.select().count() == events + 1

    @precondition(lambda self: any(c.version > 1 for c in self.cases))
    @rule(pick=st.integers(0, 5))
    def act_on_a_stale_view(self, pick: int) -> None:
        stale = [c for c in self.cases if c.version > 1]
        case = stale[pick % len(stale)]
        try:
            cases.act(self.rt, self.world.window, case.id, A.WITHDRAW, {"reason": "申请人撤回"},
                      expected_version=case.version - 1)  # fmt: skip
        except StaleError as exc:
            assert "已被他人更新" in exc.message
        else:
            raise AssertionError("a stale view must not be acted on")

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def cases_match_the_model(self) -> None:
        for case in self.cases:
            row = CaseRecord.get_by_id(case.id)
            assert CaseState(row.state) is case.state
            assert (row.version, row.revision) == (case.version, case.revision)
            if row.level == "township" and case.state in HAS_DECISION:
                assert row.decision in ("approved", "denied")
            assert (row.accepted_on, row.paused_since) == (case.accepted_on, case.paused_since)
            assert row.paused_working_days == case.paused_days
            if case.accepted_on is None:
                assert row.deadline is None
                continue
            limit = case.item.promised_limit_days + case.paused_days
            assert row.deadline == self.rt.calendar.add_working_days(case.accepted_on, limit).day

    @invariant()
    def audit_chain_verifies(self) -> None:
        assert audit.verify(self.rt.audit_key).ok

    # -- the model -----------------------------------------------------------------------

    def actor(self, who: str, case: ModelCase) -> Actor:
        world, station = self.world, case.item.station or "minzheng"
        if who == "own_station":
            return world.stations[station]
        if who == "other_station":
            return world.stations["nongye" if station != "nongye" else "minzheng"]
        fixed = {"window": world.window, "other_window": world.other_window,
                 "issuance": world.issuance, "sync": SYNC, **self.extra}  # fmt: skip
        return fixed[who]

    def valid_data(self, action: Action, case: ModelCase) -> dict[str, Any]:
        today, first = self.rt.today(), case.item.materials[0].name
        names = sorted(case.outstanding) or [first]
        table: dict[Action, dict[str, Any]] = {
            A.REQUEST_CORRECTION: {
                "missing": [{"name": n, "reason": "须补充原件"} for n in names],
                "due_date": today + timedelta(days=10),
            },
            A.SUPPLEMENT: {"received": sorted(case.outstanding) or [first]},
            A.REFUSE: {"reason": "不属于受理范围", "basis": "《行政许可法》第三十二条"},
            A.APPROVE: {"opinion": "同意办理"},
            A.DENY: {"opinion": "不符合条件", "basis": "《条例》第九条"},
            A.NOTIFY: {"channel": "电话"},
            A.ISSUE: PICKUP,
            A.CLOSE: {"rating": 5},
            A.WITHDRAW: {"reason": "申请人主动撤回"},
            A.COUNTY_SIGNED: {"on": today},
            A.COUNTY_DECIDED: {"decision": "denied", "opinion": "县级不予", "on": today},
            A.COUNTY_DISPATCHED: {"method": "township_pickup"},
        }
        return table.get(action, {})

    def invalid_data(self, action: Action, case: ModelCase) -> dict[str, Any]:
        """Data the action must reject; with materials outstanding, an incomplete list."""
        others = [m.name for m in case.item.materials if m.name not in case.outstanding]
        if case.outstanding and action is A.SUPPLEMENT:
            return {"received": others[:1]}
        if case.outstanding and action is A.REQUEST_CORRECTION:
            missing = [{"name": others[0], "reason": "须补充原件"}]
            return {"missing": missing, "due_date": self.rt.today()}
        return INVALID[action]

    def predict(self, case: ModelCase, who: str, action: Action, valid: bool) -> type | None:
        """The error class the services must raise, or None when the action must succeed."""
        role, valid = ROLE_OF[who], valid or action not in INVALID
        if role not in SPEC[action]:
            return PermissionDenied
        foreign = who in ("other_window", "other_station", "county")
        if foreign or (role is R.STATION and case.county):
            return PermissionDenied
        if not allowed_by_spec(case.state, action, role):
            return DomainError
        if self.guarded(case, action, role):
            return DomainError
        return None if valid else ValidationError

    def guarded(self, case: ModelCase, action: Action, role: Role) -> bool:
        """Refusals that do not depend on the data: level, acceptance, materials, decision."""
        return (
            (action is A.ROUTE and role is R.WINDOW and case.county)
            or (action is A.HAND_OFF and not case.county)
            or (action is A.REFUSE and case.accepted_on is not None)
            or (action is A.ACCEPT and bool(case.outstanding))
            or (action is A.COUNTY_DISPATCHED and not case.decided)
        )

    def apply(self, case: ModelCase, action: Action) -> None:
        today, was = self.rt.today(), case.state
        case.version += 1
        if action is A.ACCEPT:
            case.accepted_on, case.paused_days = today, 0
        elif action is A.REQUEST_CORRECTION:
            case.outstanding = set(sorted(case.outstanding) or [case.item.materials[0].name])
            if case.accepted_on is not None and case.paused_since is None:
                case.paused_since = today
        elif action is A.SUPPLEMENT:
            case.outstanding = set()
            if case.paused_since is not None:
                case.paused_days += self.rt.calendar.working_days_between(case.paused_since, today)
                case.paused_since = None
        elif action in (A.APPROVE, A.DENY, A.COUNTY_DECIDED):
            case.decided = True
        case.state = self.target(case, action)
        county_holds = was is S.HANDED_OFF or (
            was is S.CORRECTION_REQUIRED and case.accepted_on is not None
        )
        sends = action is A.HAND_OFF or (action in (A.SUPPLEMENT, A.WITHDRAW) and county_holds)
        if case.county and sends:
            case.revision += 1

    def target(self, case: ModelCase, action: Action) -> CaseState:
        if action is A.SUPPLEMENT:
            if case.accepted_on is None:
                return S.RECEIVED
            return S.HANDED_OFF if case.county else S.IN_REVIEW
        targets = {A.ACCEPT: S.ACCEPTED, A.REQUEST_CORRECTION: S.CORRECTION_REQUIRED,
                   A.REFUSE: S.REFUSED, A.ROUTE: S.IN_REVIEW, A.HAND_OFF: S.HANDED_OFF,
                   A.APPROVE: S.DECIDED, A.DENY: S.DECIDED, A.NOTIFY: S.READY_TO_ISSUE,
                   A.ISSUE: S.ISSUED, A.CLOSE: S.CLOSED, A.WITHDRAW: S.WITHDRAWN,
                   A.COUNTY_SIGNED: S.HANDED_OFF, A.COUNTY_DECIDED: S.HANDED_OFF,
                   A.COUNTY_DISPATCHED: S.READY_TO_ISSUE}  # fmt: skip
        return targets[action]


def test_random_journeys_match_the_model(tmp_path: Path) -> None:
    CaseMachine.template = Template.build(tmp_path)
    run_state_machine_as_test(
        CaseMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
