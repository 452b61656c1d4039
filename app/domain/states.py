"""Case states and their Chinese labels."""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    RECEIVED = "received"
    CORRECTION_REQUIRED = "correction_required"
    ACCEPTED = "accepted"
    IN_REVIEW = "in_review"
    DECIDED = "decided"
    HANDED_OFF = "handed_off"
    READY_TO_ISSUE = "ready_to_issue"
    ISSUED = "issued"
    CLOSED = "closed"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS: dict[CaseState, str] = {
    CaseState.RECEIVED: "已接件",
    CaseState.CORRECTION_REQUIRED: "待补正",
    CaseState.ACCEPTED: "已受理",
    CaseState.IN_REVIEW: "审批中",
    CaseState.DECIDED: "已办结待出件",
    CaseState.HANDED_OFF: "已移交县级",
    CaseState.READY_TO_ISSUE: "待出件",
    CaseState.ISSUED: "已出件",
    CaseState.CLOSED: "办结",
    CaseState.REFUSED: "不予受理",
    CaseState.WITHDRAWN: "撤回",
}

FINAL_STATES: frozenset[CaseState] = frozenset(
    {CaseState.CLOSED, CaseState.REFUSED, CaseState.WITHDRAWN}
)
OPEN_STATES: frozenset[CaseState] = frozenset(CaseState) - FINAL_STATES - {CaseState.ISSUED}
# States in which the promised-time clock runs (accepted and not yet decided).
CLOCK_STATES: frozenset[CaseState] = frozenset(
    {CaseState.ACCEPTED, CaseState.IN_REVIEW, CaseState.HANDED_OFF}
)


class Decision(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"

    @property
    def label(self) -> str:
        return "准予" if self is Decision.APPROVED else "不予"


class MaterialStatus(StrEnum):
    """How a material of the checklist stands at intake."""

    RECEIVED = "received"
    MISSING = "missing"
    DEFECTIVE = "defective"
    DEFERRED = "deferred"  # 容缺: to be brought later, with a due date
    COMMITTED = "committed"  # 告知承诺: the applicant signed a commitment instead

    @property
    def label(self) -> str:
        return MATERIAL_STATUS_LABELS[self]


MATERIAL_STATUS_LABELS: dict[MaterialStatus, str] = {
    MaterialStatus.RECEIVED: "已收取",
    MaterialStatus.MISSING: "缺少",
    MaterialStatus.DEFECTIVE: "不符合要求",
    MaterialStatus.DEFERRED: "容缺后补",
    MaterialStatus.COMMITTED: "告知承诺",
}


class IssueMethod(StrEnum):
    PICKUP = "pickup"
    MAIL = "mail"

    @property
    def label(self) -> str:
        return "自取" if self is IssueMethod.PICKUP else "邮寄"
