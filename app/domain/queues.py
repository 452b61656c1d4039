"""Which cases each role's work queue holds (the states it acts on)."""

from __future__ import annotations

from app.domain.roles import Role
from app.domain.states import CaseState

S = CaseState

ROLE_QUEUES: dict[Role, tuple[CaseState, ...]] = {
    Role.WINDOW: (S.RECEIVED, S.CORRECTION_REQUIRED, S.ACCEPTED),
    Role.STATION: (S.IN_REVIEW,),
    Role.ISSUANCE: (S.DECIDED, S.READY_TO_ISSUE, S.ISSUED),
    Role.COUNTY: (S.RECEIVED, S.ACCEPTED, S.IN_REVIEW, S.CORRECTION_REQUIRED, S.DECIDED),
}

# The window's follow-up list: cases out with a station or the county that may come back.
WINDOW_FOLLOW_UP: tuple[CaseState, ...] = (S.IN_REVIEW, S.HANDED_OFF, S.CORRECTION_REQUIRED)
