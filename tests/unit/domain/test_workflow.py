"""The workflow table, generated: every (state, action, role) triple against an oracle."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from app.domain.case import Action, CaseFacts, Context, MaterialCheck, Outcome
from app.domain.errors import DomainError, KnownError, PermissionDenied, ValidationError
from app.domain.holiday_data import default_calendar
from app.domain.roles import Actor, Role
from app.domain.states import CaseState, Decision, IssueMethod, MaterialStatus
from app.domain.workflow import TABLE, allowed_by_table, can, transition

S, A, R = CaseState, Action, Role
TODAY = date(2026, 11, 16)  # a Monday without holidays around it
CAL = default_calendar()
CTX = Context(TODAY, CAL)
TOWN, OTHER_TOWN, STATION = "370999101", "370999102", "minzheng"
ACCEPTED_ON, PAUSED_SINCE = date(2026, 11, 9), date(2026, 11, 11)
YESTERDAY = TODAY - timedelta(days=1)
CHINESE = re.compile(r"[\u4e00-\u9fff]")
# States a township node reaches only with a county-level (帮代办) case.
COUNTY_ONLY_STATES = {S.HANDED_OFF}
DECIDED_STATES = {S.DECIDED, S.READY_TO_ISSUE, S.ISSUED, S.CLOSED, S.HANDED_OFF}

ID_CARD, HOUSEHOLD, OPTIONAL = "申请人居民身份证", "居民户口簿", "残疾人证"
MATERIALS = (
    MaterialCheck(ID_CARD, True, MaterialStatus.RECEIVED),
    MaterialCheck(HOUSEHOLD, True, MaterialStatus.RECEIVED, deferrable=True),
    MaterialCheck(OPTIONAL, False, MaterialStatus.MISSING),
)
PICKUP = {"method": "pickup", "collector_name": "张三", "collector_role": "applicant",
          "id_checked": True}  # fmt: skip
VALID_DATA: dict[Action, dict[str, Any]] = {
    A.ACCEPT: {},
    A.REQUEST_CORRECTION: {
        "missing": [{"name": ID_CARD, "reason": "复印件不清晰"}],
        "due_date": TODAY + timedelta(days=10),
    },
    A.SUPPLEMENT: {"received": [ID_CARD]},
    A.REFUSE: {"reason": "不属于本机关职权范围", "basis": "《行政许可法》第三十二条"},
    A.ROUTE: {},
    A.HAND_OFF: {},
    A.APPROVE: {"opinion": "材料齐全，同意办理"},
    A.DENY: {"opinion": "不符合条件", "basis": "《社会救助暂行办法》第九条"},
    A.NOTIFY: {"channel": "电话"},
    A.ISSUE: PICKUP,
    A.CLOSE: {"rating": 5},
    A.WITHDRAW: {"reason": "申请人主动撤回"},
    A.COUNTY_SIGNED: {"on": "2026-11-13"},
    A.COUNTY_DECIDED: {"decision": "denied", "opinion": "县级审核不予通过", "on": TODAY},
    A.COUNTY_DISPATCHED: {"method": "township_pickup"},
}


def facts_for(state: CaseState, action: Action, role: Role, *, paused: bool = True) -> CaseFacts:
    """A case in `state` that satisfies every precondition of the action's effect."""
    county = action is A.HAND_OFF or state in COUNTY_ONLY_STATES or role is R.COUNTY
    accepted = state not in {S.RECEIVED} and not (state is S.CORRECTION_REQUIRED and not paused)
    return CaseFacts(
        state=state,
        township=TOWN,
        level="county" if county else "township",
        station=None if county else STATION,
        limit_days=10,
        accepted_on=ACCEPTED_ON if accepted else None,
        paused_since=PAUSED_SINCE if accepted and state is S.CORRECTION_REQUIRED else None,
        paused_working_days=1 if accepted else 0,
        decision=Decision.APPROVED if state in DECIDED_STATES else None,
        has_proxy=county,
        at_county=role is R.COUNTY,
        materials=MATERIALS,
    )


def actor_for(role: Role, facts: CaseFacts, *, township: str = TOWN) -> Actor:
    station = (facts.station or STATION) if role is R.STATION else None
    return Actor(7, f"user-{role.value}", role, township, desk="A1", station=station)


def expected_legal(facts: CaseFacts, action: Action, role: Role) -> bool:
    """The oracle: the table, then the level and acceptance guards (scope is fine by build)."""
    if not allowed_by_table(facts.state, action, role):
        return False
    if action is A.ROUTE and role is R.WINDOW and facts.level != "township":
        return False
    if action is A.HAND_OFF and facts.level != "county":
        return False
    return not (action is A.REFUSE and facts.accepted_on is not None)


# fmt: off
TARGETS: dict[Action, CaseState] = {
    A.ACCEPT: S.ACCEPTED, A.REQUEST_CORRECTION: S.CORRECTION_REQUIRED, A.REFUSE: S.REFUSED,
    A.ROUTE: S.IN_REVIEW, A.HAND_OFF: S.HANDED_OFF, A.APPROVE: S.DECIDED, A.DENY: S.DECIDED,
    A.NOTIFY: S.READY_TO_ISSUE, A.ISSUE: S.ISSUED, A.CLOSE: S.CLOSED, A.WITHDRAW: S.WITHDRAWN,
    A.COUNTY_SIGNED: S.HANDED_OFF, A.COUNTY_DECIDED: S.HANDED_OFF,
    A.COUNTY_DISPATCHED: S.READY_TO_ISSUE,
}
# fmt: on


def expected_target(facts: CaseFacts, action: Action) -> CaseState:
    if action is A.SUPPLEMENT:
        if facts.accepted_on is None:
            return S.RECEIVED
        return S.HANDED_OFF if facts.level == "county" and not facts.at_county else S.IN_REVIEW
    return TARGETS[action]


def deadline(accepted: date, working_days: int) -> date:
    return CAL.add_working_days(accepted, working_days).day


def check_changes(facts: CaseFacts, action: Action, out: Outcome) -> None:
    """What each action must write (and, for the clock, what it must leave alone)."""
    c, data = out.changes, VALID_DATA[action]
    if action is A.ACCEPT:
        assert (c["accepted_on"], c["paused_since"], c["paused_working_days"]) == (TODAY, None, 0)
        assert c["deadline"] == deadline(TODAY, facts.limit_days) == date(2026, 11, 30)
    elif action is A.REQUEST_CORRECTION:
        assert c["correction_items"] == data["missing"]
        assert c["correction_due"] == data["due_date"]
        if facts.accepted_on is not None:
            assert c["paused_since"] == TODAY
            assert c["paused_working_days"] == facts.paused_working_days
            assert c["deadline"] == deadline(ACCEPTED_ON, facts.limit_days + 1)
        else:
            assert "paused_since" not in c and "deadline" not in c
    elif action is A.SUPPLEMENT:
        assert c["correction_items"] == [] and c["correction_due"] is None
        if facts.accepted_on is not None:
            # 11-11 (Wed) to 11-16 (Mon): Thu, Fri, Mon were paused.
            assert (c["paused_since"], c["paused_working_days"]) == (None, 1 + 3)
            assert c["deadline"] == deadline(ACCEPTED_ON, 10 + 4) == date(2026, 11, 27)
    elif action is A.REFUSE:
        assert c == {
            "refusal_reason": data["reason"],
            "refusal_basis": data["basis"],
            "finished_on": TODAY,
        }
    elif action in (A.APPROVE, A.DENY):
        denied = action is A.DENY
        assert c["decision"] is (Decision.DENIED if denied else Decision.APPROVED)
        assert c["opinion"] == data["opinion"] and c["decided_on"] == TODAY
        assert c["decision_basis"] == (data["basis"] if denied else "")
    else:
        check_other_changes(facts, action, out)


def check_other_changes(facts: CaseFacts, action: Action, out: Outcome) -> None:
    c = out.changes
    # fmt: off
    expected: dict[Action, dict[str, Any]] = {
        A.ROUTE: {"routed_on": TODAY},
        A.HAND_OFF: {"handed_off_on": TODAY},
        A.NOTIFY: {"notified_on": TODAY, "notify_channel": "电话"},
        A.ISSUE: {"issued_on": TODAY, "issue_method": IssueMethod.PICKUP,
                  "collector_role": "applicant"},
        A.CLOSE: {"finished_on": TODAY},
        A.WITHDRAW: {"withdraw_reason": "申请人主动撤回", "finished_on": TODAY},
        A.COUNTY_SIGNED: {"county_signed_on": date(2026, 11, 13)},
        A.COUNTY_DECIDED: {"decision": Decision.DENIED, "opinion": "县级审核不予通过",
                           "decision_basis": "", "decided_on": TODAY},
        A.COUNTY_DISPATCHED: {"county_dispatch": "township_pickup"},
    }
    # fmt: on
    assert c == expected[action]


def expected_outbox(facts: CaseFacts, action: Action) -> bool:
    township_county_case = facts.level == "county" and not facts.at_county
    if action in (A.HAND_OFF, A.SUPPLEMENT, A.WITHDRAW):
        holds = facts.state is S.HANDED_OFF or (
            facts.state is S.CORRECTION_REQUIRED and facts.accepted_on is not None
        )
        return township_county_case and (action is A.HAND_OFF or holds)
    return False


def _variants(state: CaseState, action: Action, role: Role) -> list[CaseFacts]:
    if state is S.CORRECTION_REQUIRED:
        return [facts_for(state, action, role, paused=p) for p in (True, False)]
    return [facts_for(state, action, role)]


TRIPLES = list(itertools.product(CaseState, Action, Role))


@pytest.mark.parametrize(
    ("state", "action", "role"), TRIPLES, ids=[f"{s}-{a}-{r}" for s, a, r in TRIPLES]
)
def test_every_triple_follows_the_table(state: CaseState, action: Action, role: Role) -> None:
    for facts in _variants(state, action, role):
        actor = actor_for(role, facts)
        legal = expected_legal(facts, action, role)
        assert can(facts, action, actor) is legal
        if legal:
            out = transition(facts, action, actor, VALID_DATA[action], CTX)
            assert out.state is expected_target(facts, action)
            assert out.outbox is expected_outbox(facts, action)
            check_changes(facts, action, out)
            continue
        with pytest.raises(DomainError) as err:
            transition(facts, action, actor, VALID_DATA[action], CTX)
        assert CHINESE.search(err.value.message), err.value.message
        role_has_rule = any(role in r.roles for r in TABLE if r.action is action)
        # Station accounts never reach county items (those have no station).
        out_of_scope = role is R.STATION and facts.station is None
        assert isinstance(err.value, PermissionDenied) is (not role_has_rule or out_of_scope)


OPEN = {S.RECEIVED, S.CORRECTION_REQUIRED, S.ACCEPTED, S.IN_REVIEW, S.HANDED_OFF, S.DECIDED,
        S.READY_TO_ISSUE}  # fmt: skip
# The workflow as DESIGN.md describes it, written out independently of TABLE.
SPEC: dict[Action, dict[Role, set[CaseState]]] = {
    A.ACCEPT: {R.WINDOW: {S.RECEIVED}, R.COUNTY: {S.RECEIVED}},
    A.REQUEST_CORRECTION: {
        R.WINDOW: {S.RECEIVED},
        R.STATION: {S.IN_REVIEW},
        R.COUNTY: {S.RECEIVED, S.ACCEPTED, S.IN_REVIEW},
        R.SYNC: {S.HANDED_OFF},
    },
    A.SUPPLEMENT: {r: {S.CORRECTION_REQUIRED} for r in (R.WINDOW, R.COUNTY, R.SYNC)},
    A.REFUSE: {r: {S.RECEIVED, S.CORRECTION_REQUIRED} for r in (R.WINDOW, R.COUNTY)},
    A.ROUTE: {R.WINDOW: {S.ACCEPTED}, R.COUNTY: {S.ACCEPTED}},
    A.HAND_OFF: {R.WINDOW: {S.ACCEPTED}},
    A.APPROVE: {R.STATION: {S.IN_REVIEW}, R.COUNTY: {S.IN_REVIEW}},
    A.DENY: {R.STATION: {S.IN_REVIEW}, R.COUNTY: {S.IN_REVIEW}},
    A.NOTIFY: {r: {S.DECIDED, S.READY_TO_ISSUE} for r in (R.ISSUANCE, R.COUNTY)},
    A.ISSUE: {R.ISSUANCE: {S.READY_TO_ISSUE}, R.COUNTY: {S.READY_TO_ISSUE}},
    A.CLOSE: {R.ISSUANCE: {S.ISSUED}, R.COUNTY: {S.ISSUED}},
    A.WITHDRAW: {r: OPEN for r in (R.WINDOW, R.COUNTY, R.SYNC)},
    A.COUNTY_SIGNED: {R.SYNC: {S.HANDED_OFF}},
    A.COUNTY_DECIDED: {R.SYNC: {S.HANDED_OFF}},
    A.COUNTY_DISPATCHED: {R.SYNC: {S.HANDED_OFF}},
}


def test_table_matches_the_written_spec() -> None:
    for state, action, role in itertools.product(CaseState, Action, Role):
        spec = state in SPEC[action].get(role, set())
        assert allowed_by_table(state, action, role) is spec, (state, action, role)
    for rule in TABLE:
        if rule.target is not None:
            assert rule.target is TARGETS[rule.action]


def test_table_covers_every_action_and_admin_roles_have_none() -> None:
    assert {r.action for r in TABLE} == set(Action)
    for rule in TABLE:
        assert not rule.roles & {R.ADMIN, R.AUDITOR}
    assert not any(allowed_by_table(s, a, R.ISSUANCE) for s in S for a in (A.ACCEPT, A.APPROVE))
    assert not any(allowed_by_table(s, a, R.WINDOW) for s in S for a in (A.APPROVE, A.DENY))
    final = (S.CLOSED, S.REFUSED, S.WITHDRAWN)
    assert not any(allowed_by_table(s, a, r) for s in final for a in A for r in R)


LEGAL_TOWNSHIP = [
    (s, a, r)
    for s, a, r in TRIPLES
    if r is not R.COUNTY and expected_legal(facts_for(s, a, r), a, r)
]


@pytest.mark.parametrize(("state", "action", "role"), LEGAL_TOWNSHIP)
def test_other_township_is_denied(state: CaseState, action: Action, role: Role) -> None:
    facts = facts_for(state, action, role)
    stranger = actor_for(role, facts, township=OTHER_TOWN)
    assert not can(facts, action, stranger)
    with pytest.raises(PermissionDenied) as err:
        transition(facts, action, stranger, VALID_DATA[action], CTX)
    assert "不属于本乡镇" in err.value.message


@pytest.mark.parametrize("action", [A.APPROVE, A.DENY, A.REQUEST_CORRECTION])
def test_other_station_is_denied(action: Action) -> None:
    facts = facts_for(S.IN_REVIEW, action, R.STATION)
    own = actor_for(R.STATION, facts)
    assert can(facts, action, own)
    for station in ("nongye", None):
        other = replace(own, station=station)
        assert not can(facts, action, other)
        with pytest.raises(PermissionDenied, match="不属于本站办所"):
            transition(facts, action, other, VALID_DATA[action], CTX)


def test_county_scope_both_ways() -> None:
    at_county = facts_for(S.RECEIVED, A.ACCEPT, R.COUNTY)
    window = actor_for(R.WINDOW, at_county)
    with pytest.raises(PermissionDenied, match="县级办理"):
        transition(at_county, A.ACCEPT, window, {}, CTX)
    township_case = replace(at_county, at_county=False)
    county = actor_for(R.COUNTY, township_case, township="")
    with pytest.raises(PermissionDenied, match="县级窗口只能办理"):
        transition(township_case, A.ACCEPT, county, {}, CTX)
    # The county window serves every township.
    other = replace(county, township=OTHER_TOWN)
    assert transition(at_county, A.ACCEPT, other, {}, CTX).state is S.ACCEPTED
    # A station account without a station never matches a county item (which has none).
    county_review = replace(township_case, state=S.IN_REVIEW)
    stationless = Actor(8, "st-none", R.STATION, TOWN, station=None)
    with pytest.raises(PermissionDenied, match="不属于本站办所"):
        transition(county_review, A.APPROVE, stationless, VALID_DATA[A.APPROVE], CTX)


def _legal_case(action: Action) -> tuple[CaseFacts, Actor]:
    for state, role in itertools.product(CaseState, (R.WINDOW, R.STATION, R.ISSUANCE, R.SYNC)):
        facts = facts_for(state, action, role)
        if expected_legal(facts, action, role):
            return facts, actor_for(role, facts)
    raise LookupError(action)


def _data(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """`base` with keys changed; a None value removes the key."""
    merged = {**base, **changes}
    return {k: v for k, v in merged.items() if v is not None}


CORRECTION = {"missing": [{"name": ID_CARD, "reason": "缺"}], "due_date": TODAY}
MAIL = {"method": "mail", "address": "青禾镇东村一号院", "carrier": "顺丰速运",
        "tracking_no": "SF1234567890"}  # fmt: skip
MISSING_DATA: list[tuple[Action, dict[str, Any], str]] = [
    (A.APPROVE, {"opinion": " "}, "opinion"),
    (A.DENY, {"opinion": "不符合条件"}, "basis"),
    (A.DENY, {"basis": "《条例》第九条"}, "opinion"),
    (A.REQUEST_CORRECTION, _data(CORRECTION, missing=None), "missing"),
    (A.REQUEST_CORRECTION, _data(CORRECTION, missing=[]), "missing"),
    (A.REQUEST_CORRECTION, _data(CORRECTION, missing=[{"name": ID_CARD}]), "missing"),
    (A.REQUEST_CORRECTION, _data(CORRECTION, missing=CORRECTION["missing"] * 2), "missing"),
    (A.REQUEST_CORRECTION, _data(CORRECTION, due_date=None), "due_date"),
    (A.REQUEST_CORRECTION, _data(CORRECTION, due_date=TODAY - timedelta(days=1)), "due_date"),
    (A.SUPPLEMENT, {"received": []}, "received"),
    (A.REFUSE, _data(VALID_DATA[A.REFUSE], reason=None), "reason"),
    (A.REFUSE, _data(VALID_DATA[A.REFUSE], basis=None), "basis"),
    (A.WITHDRAW, {"reason": ""}, "reason"),
    (A.NOTIFY, {"channel": "飞鸽传书"}, "channel"),
    (A.ISSUE, {}, "method"),
    (A.ISSUE, _data(PICKUP, id_checked=False), "id_checked"),
    (A.ISSUE, _data(PICKUP, id_checked="yes"), "id_checked"),
    (A.ISSUE, _data(PICKUP, collector_role="proxy"), "authorisation_checked"),
    (A.ISSUE, _data(MAIL, tracking_no=None), "tracking_no"),
    (A.ISSUE, _data(MAIL, tracking_no="SF12"), "tracking_no"),
    (A.ISSUE, _data(MAIL, carrier=None), "carrier"),
    (A.ISSUE, _data(MAIL, address="东村"), "address"),
    (A.CLOSE, {"rating": 6}, "rating"),
    (A.CLOSE, {"rating": True}, "rating"),
    (A.COUNTY_SIGNED, {"on": "昨天"}, "on"),
    (A.COUNTY_DECIDED, _data(VALID_DATA[A.COUNTY_DECIDED], decision="maybe"), "decision"),
    (A.COUNTY_DISPATCHED, {"method": "pigeon"}, "method"),
]


@pytest.mark.parametrize(("action", "data", "field"), MISSING_DATA)
def test_missing_or_bad_data_is_a_validation_error(
    action: Action, data: dict[str, Any], field: str
) -> None:
    facts, actor = _legal_case(action)
    with pytest.raises(ValidationError) as err:
        transition(facts, action, actor, data, CTX)
    assert err.value.field == field
    assert CHINESE.search(err.value.message)
    assert transition(facts, action, actor, VALID_DATA[action], CTX).state is not None


def test_valid_mail_issue_normalises_the_tracking_number() -> None:
    facts, actor = _legal_case(A.ISSUE)
    data = _data(MAIL, tracking_no=" sf1234567890 ")
    out = transition(facts, A.ISSUE, actor, data, CTX)
    assert out.changes["tracking_no"] == "SF1234567890"
    assert out.changes["issue_method"] is IssueMethod.MAIL


def _accept(*materials: MaterialCheck) -> Outcome:
    facts = replace(facts_for(S.RECEIVED, A.ACCEPT, R.WINDOW), materials=materials)
    return transition(facts, A.ACCEPT, actor_for(R.WINDOW, facts), {}, CTX)


@pytest.mark.parametrize("status", [MaterialStatus.MISSING, MaterialStatus.DEFECTIVE])
def test_accept_refused_when_a_required_material_is_not_there(status: MaterialStatus) -> None:
    with pytest.raises(DomainError) as err:
        _accept(MATERIALS[0], MaterialCheck(HOUSEHOLD, True, status))
    assert err.value.code == "materials"
    assert HOUSEHOLD in err.value.message and ID_CARD not in err.value.message
    assert "一次性告知" in err.value.message


def test_accept_ignores_a_missing_optional_material() -> None:
    assert _accept(*MATERIALS).state is S.ACCEPTED


def test_accept_with_deferral_and_commitment() -> None:
    due = TODAY + timedelta(days=7)
    out = _accept(
        MaterialCheck(ID_CARD, True, MaterialStatus.COMMITTED, commitment_allowed=True),
        MaterialCheck(HOUSEHOLD, True, MaterialStatus.DEFERRED, deferrable=True, due_date=due),
    )
    assert out.state is S.ACCEPTED
    assert out.details == {
        "deferred": [{"name": HOUSEHOLD, "due_date": due.isoformat()}],
        "committed": [ID_CARD],
    }
    due_today = MaterialCheck(HOUSEHOLD, True, MaterialStatus.DEFERRED, True, due_date=TODAY)
    assert _accept(due_today).state is S.ACCEPTED


@pytest.mark.parametrize(
    ("material", "why"),
    [
        (MaterialCheck(HOUSEHOLD, True, MaterialStatus.DEFERRED, due_date=TODAY), "不允许容缺"),
        (MaterialCheck(HOUSEHOLD, True, MaterialStatus.DEFERRED, deferrable=True), "补交日期"),
        (
            MaterialCheck(HOUSEHOLD, True, MaterialStatus.DEFERRED, True, due_date=YESTERDAY),
            "补交日期",
        ),
        (MaterialCheck(HOUSEHOLD, True, MaterialStatus.COMMITTED), "不适用告知承诺"),
    ],
)
def test_accept_refuses_improper_deferral_or_commitment(material: MaterialCheck, why: str) -> None:
    with pytest.raises(DomainError, match=why):
        _accept(MATERIALS[0], material)


def _do(
    facts: CaseFacts, action: Action, role: Role, data: Any = None, day: date = TODAY
) -> Outcome:
    data = VALID_DATA[action] if data is None else data
    return transition(facts, action, actor_for(role, facts), data, Context(day, CAL))


def test_correction_pauses_and_supplement_resumes_the_clock() -> None:
    original = _do(facts_for(S.RECEIVED, A.ACCEPT, R.WINDOW), A.ACCEPT, R.WINDOW)
    assert original.changes["deadline"] == date(2026, 11, 30)
    facts = replace(facts_for(S.IN_REVIEW, A.APPROVE, R.STATION), accepted_on=TODAY,
                    paused_working_days=0)  # fmt: skip
    pause_day, resume_day = date(2026, 11, 18), date(2026, 11, 23)  # Wednesday, next Monday
    paused = _do(facts, A.REQUEST_CORRECTION, R.STATION, day=pause_day)
    assert paused.changes["paused_since"] == pause_day
    assert paused.changes["deadline"] == date(2026, 11, 30)
    defective = (replace(MATERIALS[0], status=MaterialStatus.DEFECTIVE),)
    waiting = replace(facts, state=S.CORRECTION_REQUIRED, paused_since=pause_day,
                      materials=defective)  # fmt: skip
    resumed = _do(waiting, A.SUPPLEMENT, R.WINDOW, day=resume_day)
    assert resumed.state is S.IN_REVIEW
    # Thursday, Friday and Monday were paused: three working days, the weekend adds nothing.
    assert resumed.changes["paused_working_days"] == 3
    assert resumed.changes["paused_since"] is None
    assert resumed.changes["deadline"] == date(2026, 12, 3)
    same_day = _do(waiting, A.SUPPLEMENT, R.WINDOW, day=pause_day)
    assert same_day.changes["paused_working_days"] == 0
    assert same_day.changes["deadline"] == date(2026, 11, 30)


def test_correction_must_list_every_gap_and_supplement_must_fill_them() -> None:
    gaps = (
        MaterialCheck(ID_CARD, True, MaterialStatus.MISSING),
        MaterialCheck(HOUSEHOLD, True, MaterialStatus.DEFECTIVE, reason="过期"),
    )
    facts = replace(facts_for(S.RECEIVED, A.REQUEST_CORRECTION, R.WINDOW), materials=gaps)
    window = actor_for(R.WINDOW, facts)
    with pytest.raises(ValidationError, match=f"尚未列入：{HOUSEHOLD}"):
        transition(facts, A.REQUEST_CORRECTION, window, VALID_DATA[A.REQUEST_CORRECTION], CTX)
    both = {"missing": [{"name": m.name, "reason": "缺"} for m in gaps], "due_date": TODAY}
    assert transition(facts, A.REQUEST_CORRECTION, window, both, CTX).state is S.CORRECTION_REQUIRED
    waiting = replace(facts, state=S.CORRECTION_REQUIRED)
    with pytest.raises(ValidationError, match=f"尚未补齐.*{HOUSEHOLD}"):
        transition(waiting, A.SUPPLEMENT, window, {"received": [ID_CARD]}, CTX)
    out = transition(waiting, A.SUPPLEMENT, window, {"received": [ID_CARD, HOUSEHOLD]}, CTX)
    assert out.state is S.RECEIVED and "paused_since" not in out.changes


def test_route_of_a_county_item_and_hand_off_of_a_township_item_are_refused() -> None:
    county = facts_for(S.ACCEPTED, A.HAND_OFF, R.WINDOW)
    window = actor_for(R.WINDOW, county)
    assert allowed_by_table(S.ACCEPTED, A.ROUTE, R.WINDOW) and not can(county, A.ROUTE, window)
    with pytest.raises(DomainError, match="县级事项须移交县级帮代办") as err:
        transition(county, A.ROUTE, window, {}, CTX)
    assert err.value.code == "level"
    township = facts_for(S.ACCEPTED, A.ROUTE, R.WINDOW)
    with pytest.raises(DomainError, match="乡镇事项由站办所办理"):
        transition(township, A.HAND_OFF, window, {}, CTX)
    with pytest.raises(DomainError, match="代办人") as err:
        transition(replace(county, has_proxy=False), A.HAND_OFF, window, {}, CTX)
    assert err.value.code == "no_proxy"


def test_refusal_only_before_acceptance() -> None:
    accepted = facts_for(S.CORRECTION_REQUIRED, A.REFUSE, R.WINDOW, paused=True)
    window = actor_for(R.WINDOW, accepted)
    assert not can(accepted, A.REFUSE, window)
    with pytest.raises(DomainError, match="已受理") as err:
        transition(accepted, A.REFUSE, window, VALID_DATA[A.REFUSE], CTX)
    assert not isinstance(err.value, PermissionDenied)


def test_withdrawing_a_case_the_county_holds_notifies_the_county() -> None:
    corrected = facts_for(S.CORRECTION_REQUIRED, A.HAND_OFF, R.WINDOW)
    assert corrected.level == "county" and corrected.accepted_on is not None
    window = actor_for(R.WINDOW, corrected)
    assert transition(corrected, A.WITHDRAW, window, VALID_DATA[A.WITHDRAW], CTX).outbox
    before_acceptance = replace(corrected, accepted_on=None, paused_since=None)
    assert not transition(before_acceptance, A.WITHDRAW, window, VALID_DATA[A.WITHDRAW], CTX).outbox


def test_county_dispatch_needs_a_county_decision() -> None:
    facts = replace(facts_for(S.HANDED_OFF, A.COUNTY_DISPATCHED, R.SYNC), decision=None)
    with pytest.raises(DomainError, match="县级尚未办结") as err:
        transition(facts, A.COUNTY_DISPATCHED, actor_for(R.SYNC, facts), {"method": "mail"}, CTX)
    assert not isinstance(err.value, ValidationError | PermissionDenied)


def test_every_known_error_message_is_chinese() -> None:
    for state, action, role in TRIPLES:
        facts = facts_for(state, action, role)
        try:
            transition(facts, action, actor_for(role, facts), {}, CTX)
        except KnownError as exc:
            assert CHINESE.search(exc.message), (state, action, role, exc.message)


def test_a_county_mailed_result_is_issued_by_mail_only():
    from app.domain.effects import EFFECTS

    facts = CaseFacts(
        state=S.READY_TO_ISSUE, township="370999101", level="county", station=None,
        limit_days=10, decision=Decision.APPROVED, at_county=True, county_dispatch="mail",
    )  # fmt: skip
    ctx = CTX
    outcome = EFFECTS[A.ISSUE](facts, {"method": "mail"}, ctx)
    assert (outcome.state, outcome.changes["issue_method"]) == (S.ISSUED, "mail")
    assert "carrier" not in outcome.changes and "tracking_no" not in outcome.changes
    with pytest.raises(ValidationError, match="按邮寄送达登记出件"):
        EFFECTS[A.ISSUE](facts, {"method": "pickup", "id_checked": True}, ctx)
