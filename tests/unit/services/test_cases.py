"""Case services: intake, a full journey, stale views, outbox rows, scope."""

from __future__ import annotations

import pytest
from helpers.factories import TOWNSHIP, drive, intake, make_case, person

from app.domain.case import Action
from app.domain.errors import PermissionDenied, StaleError, ValidationError
from app.domain.states import CaseState
from app.services import audit
from app.store.models import CaseRecord, OutboxRecord


def test_full_journey_township_item(rt, world):
    ref = make_case(rt, world, CaseState.CLOSED)
    case = CaseRecord.get_by_id(ref.id)
    assert case.state == "closed"
    assert case.decision == "approved"
    assert case.issue_method == "pickup"
    assert case.case_no.startswith(f"{TOWNSHIP}-A1-20261116-")
    assert audit.verify(rt.audit_key).ok
    actions = [e.action for e in audit.events_for("case", str(case.uuid))]
    assert actions == [
        "case.intake", "case.accept", "case.route", "case.approve", "case.notify",
        "case.issue", "case.close",
    ]  # fmt: skip


def test_stale_view_is_refused_and_changes_nothing(rt, world):
    ref = make_case(rt, world, CaseState.RECEIVED)
    drive(rt, world, ref, world.window, Action.ACCEPT)
    with pytest.raises(StaleError) as err:
        drive(rt, world, ref, world.window, Action.REFUSE, {"reason": "理由", "basis": "依据"})
    assert "已被他人更新" in err.value.message and "已受理" in err.value.message
    assert CaseRecord.get_by_id(ref.id).state == "accepted"


def test_hand_off_writes_outbox_row_in_same_transaction(rt, world):
    ref = make_case(rt, world, CaseState.HANDED_OFF)
    rows = list(OutboxRecord.select().where(OutboxRecord.case == ref.id))
    assert [(r.kind, r.revision, r.status) for r in rows] == [("hand_off", 1, "pending")]


def test_other_township_cannot_act(rt, world):
    ref = make_case(rt, world, CaseState.RECEIVED)
    with pytest.raises(PermissionDenied):
        drive(rt, world, ref, world.other_window, Action.ACCEPT)
    assert CaseRecord.get_by_id(ref.id).version == ref.version


def test_bad_id_number_refused_without_writing(rt, world):
    item = world.township_item()
    bad = person(5)
    bad = type(bad)(
        **{
            **bad.__dict__,
            "id_number": bad.id_number[:-1] + ("0" if bad.id_number[-1] != "0" else "1"),
        }
    )
    before = CaseRecord.select().count()
    with pytest.raises(ValidationError) as err:
        intake(rt, world, item, who=bad)
    assert "校验位" in err.value.message
    assert CaseRecord.select().count() == before
