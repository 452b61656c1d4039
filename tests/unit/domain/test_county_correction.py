"""A county correction arriving late (after an outage) is applied with its own due date."""

from __future__ import annotations

from datetime import date

import pytest

from app.domain.case import Action, CaseFacts, Context
from app.domain.errors import ValidationError
from app.domain.holiday_data import default_calendar
from app.domain.roles import Actor, Role
from app.domain.states import CaseState
from app.domain.workflow import transition

TODAY = date(2026, 11, 16)
PAST = {"missing": [{"name": "户口簿", "reason": "县级审核：需原件"}], "due_date": "2026-11-10"}


def _facts(state: CaseState, level: str) -> CaseFacts:
    return CaseFacts(
        state=state,
        township="370999101",
        level=level,
        station=None if level == "county" else "minzheng",
        limit_days=10,
        accepted_on=date(2026, 11, 2),
        has_proxy=True,
    )


def test_county_correction_with_a_past_due_date_is_applied():
    sync = Actor(None, "county-sync", Role.SYNC, township="370999101")
    outcome = transition(
        _facts(CaseState.HANDED_OFF, "county"),
        Action.REQUEST_CORRECTION,
        sync,
        PAST,
        Context(TODAY, default_calendar()),
    )
    assert outcome.state is CaseState.CORRECTION_REQUIRED
    assert outcome.changes["correction_due"] == date(2026, 11, 10)


def test_a_station_cannot_set_a_past_due_date():
    station = Actor(1, "st", Role.STATION, township="370999101", station="minzheng")
    with pytest.raises(ValidationError, match="补正期限不能早于今天"):
        transition(
            _facts(CaseState.IN_REVIEW, "township"),
            Action.REQUEST_CORRECTION,
            station,
            {**PAST, "missing": PAST["missing"]},
            Context(TODAY, default_calendar()),
        )
