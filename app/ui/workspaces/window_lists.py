"""The 综合窗口's lists and hints: the follow-up list (cases out with a station or the county,
or waiting for the applicant's materials) and the next step for the case on display."""

from __future__ import annotations

from app.domain.case import Action
from app.domain.queues import WINDOW_FOLLOW_UP
from app.domain.states import CaseState
from app.services.case_view import CaseDetail
from app.ui.widgets.queue import QUEUE_CHOICE, QueueWidget

_GAP_VALUES = frozenset({"missing", "defective"})


def case_hint(detail: CaseDetail, allowed: frozenset[Action]) -> str:
    """The next step for the case on display, in the clerk's words."""
    state = detail.state
    if state is CaseState.RECEIVED:
        gaps = [m.name for m in detail.materials if m.required and m.status in _GAP_VALUES]
        if gaps:
            return f"必要材料未齐（{'、'.join(gaps)}）：出具一次性告知书（F3）或不予受理。"
        return "材料齐全：受理（F2）并打印收件回执。"
    if state is CaseState.ACCEPTED and Action.HAND_OFF in allowed:
        return "县级事项：移交县级帮代办（F4），打印委托书和移交单随纸质材料寄送。"
    if state is CaseState.ACCEPTED:
        return "已受理：分送站办所（F4）。"
    if state is CaseState.CORRECTION_REQUIRED:
        due = f"，补正期限 {detail.correction_due.isoformat()}" if detail.correction_due else ""
        return f"等待申请人补正材料{due}；材料补齐后点“补正材料已收”。"
    if state is CaseState.IN_REVIEW:
        return "站办所审批中。"
    if state is CaseState.HANDED_OFF:
        return "已移交县级，等待县级办理结果。"
    return ""


class FollowUpQueue(QueueWidget):
    """Cases out with a station or the county, or waiting for the applicant's materials."""

    def _fill_states(self) -> None:
        self.state_combo.addItem("全部跟踪办件", QUEUE_CHOICE)
        for state in WINDOW_FOLLOW_UP:
            self.state_combo.addItem(state.label, state.value)

    def _states(self) -> tuple[CaseState, ...] | None:
        choice = self.state_combo.currentData()
        if choice == QUEUE_CHOICE:
            return WINDOW_FOLLOW_UP
        return (CaseState(choice),)
