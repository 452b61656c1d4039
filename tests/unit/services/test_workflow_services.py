"""The workflow through the services: every role and action, scope, the clock, county items."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from helpers.factories import SYNC, World, correction_data, drive, make_case, make_user
from helpers.fixtures import FakeClock

from app.domain.case import Action
from app.domain.errors import (
    DomainError,
    KnownError,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from app.domain.roles import Actor, Role
from app.domain.states import CaseState
from app.domain.workflow import TABLE, allowed_by_table
from app.services import audit, case_view, cases
from app.store.models import AuditEventRecord, CaseMaterialRecord, CaseRecord, OutboxRecord
from app.store.queries import page_cases
from forms.schema import Item

S, A, R = CaseState, Action, Role
CHINESE = re.compile(r"[\u4e00-\u9fff]")
PICKUP = {"method": "pickup", "collector_name": "本人", "collector_role": "applicant",
          "id_checked": True}  # fmt: skip
MAIL = {"method": "mail", "address": "青禾县青禾镇东村8号", "carrier": "中国邮政EMS",
        "tracking_no": "EA123456789CN"}  # fmt: skip
# States a case can be driven to on the township node, in the order the matrix tries them.
BUILDABLE = (S.RECEIVED, S.CORRECTION_REQUIRED, S.ACCEPTED, S.IN_REVIEW, S.DECIDED,
             S.READY_TO_ISSUE, S.ISSUED, S.HANDED_OFF)  # fmt: skip
CANONICAL = {A.ACCEPT: S.RECEIVED, A.REQUEST_CORRECTION: S.RECEIVED,
             A.SUPPLEMENT: S.CORRECTION_REQUIRED, A.REFUSE: S.RECEIVED, A.ROUTE: S.ACCEPTED,
             A.HAND_OFF: S.ACCEPTED, A.APPROVE: S.IN_REVIEW, A.DENY: S.IN_REVIEW,
             A.NOTIFY: S.DECIDED, A.ISSUE: S.READY_TO_ISSUE, A.CLOSE: S.ISSUED,
             A.WITHDRAW: S.RECEIVED, A.COUNTY_SIGNED: S.HANDED_OFF,
             A.COUNTY_DECIDED: S.HANDED_OFF, A.COUNTY_DISPATCHED: S.HANDED_OFF}  # fmt: skip
TARGETS = {A.ACCEPT: S.ACCEPTED, A.REQUEST_CORRECTION: S.CORRECTION_REQUIRED,
           A.SUPPLEMENT: S.RECEIVED, A.REFUSE: S.REFUSED, A.ROUTE: S.IN_REVIEW,
           A.HAND_OFF: S.HANDED_OFF, A.APPROVE: S.DECIDED, A.DENY: S.DECIDED,
           A.NOTIFY: S.READY_TO_ISSUE, A.ISSUE: S.ISSUED, A.CLOSE: S.CLOSED,
           A.WITHDRAW: S.WITHDRAWN, A.COUNTY_SIGNED: S.HANDED_OFF,
           A.COUNTY_DECIDED: S.HANDED_OFF, A.COUNTY_DISPATCHED: S.READY_TO_ISSUE}  # fmt: skip
COUNTY_ACTIONS = {A.HAND_OFF, A.COUNTY_SIGNED, A.COUNTY_DECIDED, A.COUNTY_DISPATCHED}


def valid_data(action: Action, item: Item, today: date) -> dict[str, Any]:
    first = item.materials[0].name
    table: dict[Action, dict[str, Any]] = {
        A.REQUEST_CORRECTION: correction_data(item, today),
        A.SUPPLEMENT: {"received": [first]},
        A.REFUSE: {"reason": "不属于受理范围", "basis": "《行政许可法》第三十二条"},
        A.APPROVE: {"opinion": "同意办理"},
        A.DENY: {"opinion": "不符合条件", "basis": "《条例》第九条"},
        A.NOTIFY: {"channel": "短信"},
        A.ISSUE: PICKUP,
        A.CLOSE: {"rating": 4, "comment": "满意"},
        A.WITHDRAW: {"reason": "申请人主动撤回"},
        A.COUNTY_SIGNED: {"on": today},
        A.COUNTY_DECIDED: {"decision": "approved", "opinion": "县级准予", "on": today},
        A.COUNTY_DISPATCHED: {"method": "township_pickup"},
    }
    return table.get(action, {})


def snapshot(case_id: int) -> tuple[Any, ...]:
    """Everything an action may write: the case row, the audit trail, the outbox."""
    case = CaseRecord.get_by_id(case_id)
    outbox = OutboxRecord.select().where(OutboxRecord.case == case_id).count()
    return case.state, case.version, case.revision, AuditEventRecord.select().count(), outbox


def material(case_id: int, name: str) -> tuple[str, str]:
    row = CaseMaterialRecord.get(
        (CaseMaterialRecord.case == case_id) & (CaseMaterialRecord.name == name)
    )
    return row.status, row.reason


def last_event() -> AuditEventRecord:
    return AuditEventRecord.select().order_by(AuditEventRecord.seq.desc()).get()


def assert_refused(rt: Any, actor: Actor, ref: cases.CaseRef, action: Action,
                   data: dict[str, Any], error: type[KnownError]) -> KnownError:  # fmt: skip
    before = snapshot(ref.id)
    with pytest.raises(error) as err:
        cases.act(rt, actor, ref.id, action, data, expected_version=ref.version)
    assert CHINESE.search(err.value.message)
    assert snapshot(ref.id) == before
    return err.value


def assert_done(rt: Any, actor: Actor, ref: cases.CaseRef, action: Action,
                data: dict[str, Any], target: CaseState) -> cases.CaseRef:  # fmt: skip
    _, version, _, events, _ = snapshot(ref.id)
    new = cases.act(rt, actor, ref.id, action, data, expected_version=ref.version)
    assert (new.state, new.version) == (target, version + 1)
    assert AuditEventRecord.select().count() == events + 1
    event = last_event()
    assert (event.action, event.object_id, event.account) == (
        f"case.{action.value}",
        ref.uuid,
        actor.username,
    )
    assert audit.verify(rt.audit_key).ok
    return new


@pytest.fixture
def others(rt: Any, world: World) -> dict[Role, Actor]:
    """The accounts the world has no use for: admin, auditor, county window."""
    return {
        R.ADMIN: make_user(rt, "admin1", R.ADMIN)[0],
        R.AUDITOR: make_user(rt, "auditor1", R.AUDITOR)[0],
        R.COUNTY: make_user(rt, "county1", R.COUNTY, township="")[0],
    }


def build(rt: Any, world: World, state: CaseState, action: Action) -> tuple[cases.CaseRef, Item]:
    county = action in COUNTY_ACTIONS or state is S.HANDED_OFF
    item = world.county_item() if county else world.township_item(immediate=False)
    ref = make_case(rt, world, state, item=item)
    if action is A.COUNTY_DISPATCHED:
        for step in (A.COUNTY_SIGNED, A.COUNTY_DECIDED):
            ref = drive(rt, world, ref, SYNC, step, valid_data(step, item, rt.today()))
    return ref, item


def actor_for(role: Role, world: World, others: dict[Role, Actor], item: Item) -> Actor:
    fixed = {R.WINDOW: world.window, R.ISSUANCE: world.issuance, R.SYNC: SYNC, **others}
    return world.stations[item.station or "minzheng"] if role is R.STATION else fixed[role]


def expected_error(role: Role, state: CaseState, action: Action, county: bool) -> type | None:
    """None when the action must succeed; otherwise the error class it must raise."""
    has_rule = any(role in r.roles for r in TABLE if r.action is action)
    out_of_scope = role is R.COUNTY or (role is R.STATION and county)
    if not has_rule or out_of_scope:
        return PermissionDenied
    if not allowed_by_table(state, action, role):
        return DomainError
    return None


@contextmanager
def about(*what: object) -> Iterator[None]:
    """Name the combination in the failure message of a looped check."""
    try:
        yield
    except (AssertionError, pytest.fail.Exception) as exc:
        raise AssertionError(f"{what}: {exc}") from exc


def test_every_role_and_action(rt: Any, world: World, others: dict[Role, Actor]):
    for role, action in itertools.product(Role, Action):
        state = next((s for s in BUILDABLE if allowed_by_table(s, action, role)), CANONICAL[action])
        ref, item = build(rt, world, state, action)
        actor = actor_for(role, world, others, item)
        data = valid_data(action, item, rt.today())
        error = expected_error(role, state, action, item.level == "county")
        with about(role, action, state):
            if error is None:
                assert_done(rt, actor, ref, action, data, TARGETS[action])
                continue
            raised = assert_refused(rt, actor, ref, action, data, error)
            assert isinstance(raised, PermissionDenied) is (error is PermissionDenied), raised


def test_station_cannot_see_or_act_on_another_station_case(rt: Any, world: World):
    ref = make_case(rt, world, S.IN_REVIEW, item=world.township_item("minzheng"))
    own, other = world.stations["minzheng"], world.stations["nongye"]
    for action, data in ((A.APPROVE, {"opinion": "同意"}), (A.REQUEST_CORRECTION, {}),
                         (A.DENY, {"opinion": "不同意", "basis": "依据"})):  # fmt: skip
        err = assert_refused(rt, other, ref, action, data, PermissionDenied)
        assert "不属于本站办所" in err.message

    def queue(actor: Actor) -> list[int]:
        scope = case_view.visibility(actor)
        return [row.id for row in page_cases(scope, 0, 50)]

    assert ref.id in queue(own) and ref.id not in queue(other)
    with pytest.raises(NotFound):
        case_view.get_case(rt, other, ref.id)
    with pytest.raises(NotFound):
        case_view.allowed_actions(other, ref.id)
    assert case_view.get_case(rt, own, ref.id).case_no == ref.case_no
    assert {A.APPROVE, A.DENY, A.REQUEST_CORRECTION} <= case_view.allowed_actions(own, ref.id)
    assert_done(rt, own, ref, A.APPROVE, {"opinion": "同意"}, S.DECIDED)


def test_issuance_cannot_accept_and_window_cannot_approve(rt: Any, world: World):
    received = make_case(rt, world, S.RECEIVED)
    err = assert_refused(rt, world.issuance, received, A.ACCEPT, {}, PermissionDenied)
    assert err.message == "出件窗口无权执行「受理」"
    review = make_case(rt, world, S.IN_REVIEW)
    err = assert_refused(rt, world.window, review, A.APPROVE, {"opinion": "同意"}, PermissionDenied)
    assert err.message == "综合窗口无权执行「审批准予」"
    stranger = world.other_window
    err = assert_refused(rt, stranger, received, A.ACCEPT, {}, PermissionDenied)
    assert "不属于本乡镇" in err.message


def test_admin_and_auditor_take_no_case_action(rt: Any, world: World, others: dict[Role, Actor]):
    item = world.township_item()
    for state in (S.RECEIVED, S.CORRECTION_REQUIRED, S.IN_REVIEW, S.DECIDED, S.READY_TO_ISSUE):
        ref = make_case(rt, world, state, item=item)
        for role, action in itertools.product((R.ADMIN, R.AUDITOR), Action):
            with about(state, role, action):
                data = valid_data(action, item, rt.today())
                err = assert_refused(rt, others[role], ref, action, data, PermissionDenied)
                assert err.message == f"{role.label}无权执行「{action.label}」"


def test_immediate_item_is_decided_on_the_spot(rt: Any, world: World):
    item = world.township_item(immediate=True)
    ref = make_case(rt, world, S.DECIDED, item=item)
    case = CaseRecord.get_by_id(ref.id)
    assert item.promised_limit_days == 0
    assert case.accepted_on == case.deadline == case.decided_on == date(2026, 11, 16)
    assert case.decision == "approved" and not case.deadline_provisional


def test_correction_pauses_the_clock_across_a_weekend(rt: Any, world: World, clock: FakeClock):
    item = world.township_item("minzheng", immediate=False)
    ref = make_case(rt, world, S.IN_REVIEW, item=item)
    before = CaseRecord.get_by_id(ref.id)
    assert (
        before.deadline
        == rt.calendar.add_working_days(date(2026, 11, 16), item.promised_limit_days).day
    )
    clock.advance(days=2)  # Wednesday 11-18
    ref = assert_done(rt, world.stations["minzheng"], ref, A.REQUEST_CORRECTION,
                      correction_data(item, rt.today()), S.CORRECTION_REQUIRED)  # fmt: skip
    paused = CaseRecord.get_by_id(ref.id)
    assert (paused.paused_since, paused.deadline) == (date(2026, 11, 18), before.deadline)
    first = item.materials[0].name
    assert paused.correction_items == [{"name": first, "reason": "复印件不清晰"}]
    assert material(ref.id, first) == ("defective", "复印件不清晰")
    clock.advance(days=5)  # Monday 11-23, over the weekend
    partial = {"received": [item.materials[1].name]}
    err = assert_refused(rt, world.window, ref, A.SUPPLEMENT, partial, ValidationError)
    assert first in err.message and "尚未补齐" in err.message
    supplement = {"received": [first]}
    ref = assert_done(rt, world.window, ref, A.SUPPLEMENT, supplement, S.IN_REVIEW)
    resumed = CaseRecord.get_by_id(ref.id)
    # Thursday, Friday, Monday: the weekend is not a working day and is not added.
    assert (resumed.paused_since, resumed.paused_working_days) == (None, 3)
    assert rt.calendar.working_days_between(before.deadline, resumed.deadline) == 3
    assert resumed.correction_items == [] and resumed.correction_due is None
    assert material(ref.id, first) == ("received", "")


def test_refusal_at_intake_and_not_after_acceptance(rt: Any, world: World):
    ref = make_case(rt, world, S.RECEIVED)
    data = {"reason": "不属于本机关职权范围", "basis": "《行政许可法》第三十二条"}
    assert_done(rt, world.window, ref, A.REFUSE, data, S.REFUSED)
    case = CaseRecord.get_by_id(ref.id)
    assert (case.refusal_reason, case.refusal_basis) == (data["reason"], data["basis"])
    assert case.finished_on == date(2026, 11, 16) and case.accepted_on is None
    item = world.township_item(immediate=False)
    review = make_case(rt, world, S.IN_REVIEW, item=item)
    station = world.stations[item.station or ""]
    review = drive(
        rt, world, review, station, A.REQUEST_CORRECTION, correction_data(item, rt.today())
    )
    err = assert_refused(rt, world.window, review, A.REFUSE, data, DomainError)
    assert "已受理" in err.message


def outbox_rows(case_id: int) -> list[tuple[str, int, str]]:
    rows = OutboxRecord.select().where(OutboxRecord.case == case_id).order_by(OutboxRecord.id)
    return [(r.kind, r.revision, r.status) for r in rows]


def test_county_item_through_the_township(rt: Any, world: World, clock: FakeClock):
    item = world.county_item()
    ref = make_case(rt, world, S.ACCEPTED, item=item)
    err = assert_refused(rt, world.window, ref, A.ROUTE, {}, DomainError)
    assert err.message == "县级事项须移交县级帮代办，不能分送站办所"
    ref = assert_done(rt, world.window, ref, A.HAND_OFF, {}, S.HANDED_OFF)
    assert outbox_rows(ref.id) == [("hand_off", 1, "pending")]
    clock.advance(days=1)
    ref = assert_done(rt, SYNC, ref, A.REQUEST_CORRECTION, correction_data(item, rt.today()),
                      S.CORRECTION_REQUIRED)  # fmt: skip
    assert len(outbox_rows(ref.id)) == 1  # the county asked: nothing to send back yet
    clock.advance(days=1)
    supplement = {"received": [item.materials[0].name]}
    ref = assert_done(rt, world.window, ref, A.SUPPLEMENT, supplement, S.HANDED_OFF)
    assert outbox_rows(ref.id) == [("hand_off", 1, "pending"), ("supplement", 2, "pending")]
    case = CaseRecord.get_by_id(ref.id)
    assert (case.revision, case.paused_working_days, case.paused_since) == (2, 1, None)


WITHDRAWABLE = [S.RECEIVED, S.CORRECTION_REQUIRED, S.ACCEPTED, S.IN_REVIEW, S.HANDED_OFF,
                S.DECIDED, S.READY_TO_ISSUE]  # fmt: skip


def test_withdraw_from_each_withdrawable_state(rt: Any, world: World):
    for state in WITHDRAWABLE:
        ref = make_case(rt, world, state)
        before = outbox_rows(ref.id)
        with about(state):
            ref = assert_done(rt, world.window, ref, A.WITHDRAW, {"reason": "申请人主动撤回"},
                              S.WITHDRAWN)  # fmt: skip
            case = CaseRecord.get_by_id(ref.id)
            assert case.withdraw_reason == "申请人主动撤回"
            assert case.finished_on == date(2026, 11, 16)
            # Only a case the county holds needs the county told.
            expected = [("withdraw", 2, "pending")] if state is S.HANDED_OFF else []
            assert outbox_rows(ref.id) == before + expected


def test_withdraw_of_a_county_corrected_case_tells_the_county(rt: Any, world: World):
    item = world.county_item()
    ref = make_case(rt, world, S.HANDED_OFF, item=item)
    ref = drive(rt, world, ref, SYNC, A.REQUEST_CORRECTION, correction_data(item, rt.today()))
    assert_done(rt, world.window, ref, A.WITHDRAW, {"reason": "申请人放弃办理"}, S.WITHDRAWN)
    assert outbox_rows(ref.id) == [("hand_off", 1, "pending"), ("withdraw", 2, "pending")]


def test_no_withdrawal_once_finished(rt: Any, world: World):
    for state in (S.ISSUED, S.CLOSED, S.REFUSED, S.WITHDRAWN):
        ref = make_case(rt, world, state)
        with about(state):
            err = assert_refused(rt, world.window, ref, A.WITHDRAW, {"reason": "撤回"}, DomainError)
            assert not isinstance(err, PermissionDenied) and state.label in err.message


def test_each_action_leaves_one_audit_event_and_the_chain_verifies(rt, world, clock):
    item = world.county_item()
    ref = make_case(rt, world, S.HANDED_OFF, item=item)
    steps = [
        (SYNC, A.COUNTY_SIGNED, valid_data(A.COUNTY_SIGNED, item, rt.today()), S.HANDED_OFF),
        (SYNC, A.COUNTY_DECIDED, valid_data(A.COUNTY_DECIDED, item, rt.today()), S.HANDED_OFF),
        (SYNC, A.COUNTY_DISPATCHED, {"method": "mail", "carrier": "顺丰速运",
                                     "tracking_no": "SF1234567890"}, S.READY_TO_ISSUE),
        (world.issuance, A.ISSUE, MAIL, S.ISSUED),
        (world.issuance, A.CLOSE, {"rating": 5}, S.CLOSED),
    ]  # fmt: skip
    for actor, action, data, target in steps:
        clock.advance(hours=3)
        ref = assert_done(rt, actor, ref, action, data, target)
    case = CaseRecord.get_by_id(ref.id)
    assert (case.decision, case.county_dispatch, case.issue_method) == ("approved", "mail", "mail")
    # The county mailed it: the desk records the handover, the county's carrier and number
    # stand, and no address is typed or stored at the township.
    assert (case.carrier, case.tracking_no) == ("顺丰速运", "SF1234567890")
    assert case.mail_address_cipher is None
    timeline = [e.action for e in audit.events_for("case", ref.uuid)]
    assert timeline == ["case.intake", "case.accept", "case.hand_off", "case.county_signed",
                        "case.county_decided", "case.county_dispatched", "case.issue",
                        "case.close"]  # fmt: skip
    result = audit.verify(rt.audit_key)
    assert result.ok and result.count == AuditEventRecord.select().count()
