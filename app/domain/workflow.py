"""The case workflow: one table of who may do what from where, and one `transition()`.

The UI asks `can()` to grey out buttons; services call `transition()` and apply the outcome
in one transaction. Nothing here touches storage.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.domain.case import Action, CaseFacts, Context, Outcome
from app.domain.effects import EFFECTS
from app.domain.errors import DomainError, PermissionDenied
from app.domain.roles import Actor, Role
from app.domain.states import CaseState

S = CaseState


@dataclass(frozen=True)
class Rule:
    """One row of the workflow table."""

    action: Action
    sources: frozenset[CaseState]
    roles: frozenset[Role]
    target: CaseState | None  # None: computed by the action's effect


def _rule(action: Action, sources: set[CaseState], roles: set[Role], target: S | None) -> Rule:
    return Rule(action, frozenset(sources), frozenset(roles), target)


W, ST, IS, CO, SY = Role.WINDOW, Role.STATION, Role.ISSUANCE, Role.COUNTY, Role.SYNC
WITHDRAWABLE = {
    S.RECEIVED,
    S.CORRECTION_REQUIRED,
    S.ACCEPTED,
    S.IN_REVIEW,
    S.HANDED_OFF,
    S.DECIDED,
    S.READY_TO_ISSUE,
}

# The workflow table. The county node runs the same rows with the county window role.
TABLE: tuple[Rule, ...] = (
    _rule(Action.ACCEPT, {S.RECEIVED}, {W, CO}, S.ACCEPTED),
    _rule(Action.REQUEST_CORRECTION, {S.RECEIVED}, {W, CO}, S.CORRECTION_REQUIRED),
    _rule(Action.REQUEST_CORRECTION, {S.IN_REVIEW}, {ST, CO}, S.CORRECTION_REQUIRED),
    _rule(Action.REQUEST_CORRECTION, {S.ACCEPTED}, {CO}, S.CORRECTION_REQUIRED),
    _rule(Action.REQUEST_CORRECTION, {S.HANDED_OFF}, {SY}, S.CORRECTION_REQUIRED),
    _rule(Action.SUPPLEMENT, {S.CORRECTION_REQUIRED}, {W, CO, SY}, None),
    _rule(Action.REFUSE, {S.RECEIVED, S.CORRECTION_REQUIRED}, {W, CO}, S.REFUSED),
    _rule(Action.ROUTE, {S.ACCEPTED}, {W, CO}, S.IN_REVIEW),
    _rule(Action.HAND_OFF, {S.ACCEPTED}, {W}, S.HANDED_OFF),
    _rule(Action.APPROVE, {S.IN_REVIEW}, {ST, CO}, S.DECIDED),
    _rule(Action.DENY, {S.IN_REVIEW}, {ST, CO}, S.DECIDED),
    # From READY_TO_ISSUE too: a result the county sent back arrives there, and the applicant
    # is told (or told again) before coming to collect it.
    _rule(Action.NOTIFY, {S.DECIDED, S.READY_TO_ISSUE}, {IS, CO}, S.READY_TO_ISSUE),
    _rule(Action.ISSUE, {S.READY_TO_ISSUE}, {IS, CO}, S.ISSUED),
    _rule(Action.CLOSE, {S.ISSUED}, {IS, CO}, S.CLOSED),
    _rule(Action.WITHDRAW, WITHDRAWABLE, {W, CO, SY}, S.WITHDRAWN),
    _rule(Action.COUNTY_SIGNED, {S.HANDED_OFF}, {SY}, S.HANDED_OFF),
    _rule(Action.COUNTY_DECIDED, {S.HANDED_OFF}, {SY}, S.HANDED_OFF),
    _rule(Action.COUNTY_DISPATCHED, {S.HANDED_OFF}, {SY}, S.READY_TO_ISSUE),
)


def rules_for(action: Action) -> tuple[Rule, ...]:
    return tuple(r for r in TABLE if r.action is action)


def allowed_by_table(state: CaseState, action: Action, role: Role) -> bool:
    """The table alone: may this role take this action from this state?"""
    return any(state in r.sources and role in r.roles for r in rules_for(action))


def _scope_error(facts: CaseFacts, actor: Actor) -> str | None:
    """The actor's reach: own township, own station; the county node only for county roles."""
    if actor.role is Role.COUNTY:
        return None if facts.at_county else "县级窗口只能办理已移交到县级的办件"
    if facts.at_county and actor.role is not Role.SYNC:
        return "该办件由县级办理，乡镇账号不能操作"
    if actor.township != facts.township:
        return "该办件不属于本乡镇，无权操作"
    # A station account without a station must not match a case without one (county items).
    if actor.role is Role.STATION and (actor.station is None or actor.station != facts.station):
        return "该办件不属于本站办所，无权操作"
    return None


def check_allowed(facts: CaseFacts, action: Action, actor: Actor) -> Rule:
    """Return the matching rule, or raise a Chinese domain error saying why not."""
    rules = rules_for(action)
    if not any(actor.role in r.roles for r in rules):
        raise PermissionDenied(f"{actor.role.label}无权执行「{action.label}」")
    scope = _scope_error(facts, actor)
    if scope:
        raise PermissionDenied(scope)
    for rule in rules:
        if facts.state in rule.sources and actor.role in rule.roles:
            return rule
    raise DomainError(
        f"办件当前状态为「{facts.state.label}」，不能执行「{action.label}」", code="illegal_state"
    )


def can(facts: CaseFacts, action: Action, actor: Actor) -> bool:
    """For greying out buttons: the table, the actor's scope and the guards (no data)."""
    try:
        check_allowed(facts, action, actor)
        _guard(facts, action, actor)
    except DomainError:
        return False
    return True


def _guard(facts: CaseFacts, action: Action, actor: Actor) -> None:
    """Rules the table cannot express: the item's level, and refusal only before acceptance."""
    if action is Action.ROUTE and actor.role is Role.WINDOW and facts.level != "township":
        raise DomainError("县级事项须移交县级帮代办，不能分送站办所", code="level")
    if action is Action.HAND_OFF and facts.level != "county":
        raise DomainError("乡镇事项由站办所办理，不能移交县级", code="level")
    # 不予受理 answers an application; once accepted (a correction during review) it is too late.
    if action is Action.REFUSE and facts.accepted_on is not None:
        raise DomainError("办件已受理，不能再作出不予受理决定", code="accepted")


def transition(
    facts: CaseFacts, action: Action, actor: Actor, data: Mapping[str, Any], ctx: Context
) -> Outcome:
    """Check everything and compute the outcome; raises a KnownError with a Chinese message."""
    rule = check_allowed(facts, action, actor)
    _guard(facts, action, actor)
    outcome = EFFECTS[action](facts, data, ctx)
    if rule.target is not None:
        outcome.state = rule.target
    return outcome
