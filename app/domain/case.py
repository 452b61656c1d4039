"""The case as the workflow sees it: actions, facts, context and outcome (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from app.domain.calendar import CaseClock, WorkCalendar
from app.domain.states import CaseState, Decision, MaterialStatus


class Action(StrEnum):
    ACCEPT = "accept"
    REQUEST_CORRECTION = "request_correction"
    SUPPLEMENT = "supplement"
    REFUSE = "refuse"
    ROUTE = "route"
    HAND_OFF = "hand_off"
    APPROVE = "approve"
    DENY = "deny"
    NOTIFY = "notify"
    ISSUE = "issue"
    CLOSE = "close"
    WITHDRAW = "withdraw"
    COUNTY_SIGNED = "county_signed"
    COUNTY_DECIDED = "county_decided"
    COUNTY_DISPATCHED = "county_dispatched"

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


ACTION_LABELS: dict[Action, str] = {
    Action.ACCEPT: "受理",
    Action.REQUEST_CORRECTION: "一次性告知补正",
    Action.SUPPLEMENT: "补正材料已收",
    Action.REFUSE: "不予受理",
    Action.ROUTE: "分送站办所",
    Action.HAND_OFF: "移交县级帮代办",
    Action.APPROVE: "审批准予",
    Action.DENY: "审批不予",
    Action.NOTIFY: "通知申请人领取",
    Action.ISSUE: "出件",
    Action.CLOSE: "办结",
    Action.WITHDRAW: "撤回",
    Action.COUNTY_SIGNED: "县级已签收",
    Action.COUNTY_DECIDED: "县级已办结",
    Action.COUNTY_DISPATCHED: "县级已寄送结果",
}


@dataclass(frozen=True)
class MaterialCheck:
    """One line of the materials checklist as the workflow sees it."""

    name: str
    required: bool
    status: MaterialStatus
    deferrable: bool = False
    commitment_allowed: bool = False
    due_date: date | None = None
    reason: str = ""


@dataclass(frozen=True)
class CaseFacts:
    """What the workflow needs to know about a case (plain data, read from storage)."""

    state: CaseState
    township: str
    level: str  # "township" (decided by a station) or "county" (帮代办)
    station: str | None
    limit_days: int
    accepted_on: date | None = None
    paused_since: date | None = None
    paused_working_days: int = 0
    decision: Decision | None = None
    has_proxy: bool = False
    at_county: bool = False
    county_dispatch: str = ""  # "mail" when the county sent the result to the applicant itself
    materials: tuple[MaterialCheck, ...] = ()

    @property
    def clock(self) -> CaseClock:
        return CaseClock(
            accepted_on=self.accepted_on,
            limit_days=self.limit_days,
            paused_working_days=self.paused_working_days,
            paused_since=self.paused_since,
        )


@dataclass(frozen=True)
class Context:
    """When the action happens, and the working-day calendar in force."""

    today: date
    calendar: WorkCalendar


@dataclass
class Outcome:
    """The result of a legal transition: the new state and the field changes to store."""

    state: CaseState
    changes: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    outbox: bool = False
