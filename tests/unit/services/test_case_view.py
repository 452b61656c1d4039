"""Reading cases: scope, masking, audited reveal, queues and every kind of search."""

from __future__ import annotations

import pytest
from helpers.factories import intake, make_case, person

from app.domain.errors import NotFound, PermissionDenied
from app.domain.masking import find_unmasked_ids
from app.domain.states import CaseState
from app.services import audit
from app.services.case_view import get_case, queue_count, queue_filter, queue_page, reveal


def test_detail_masks_numbers_and_reveal_is_audited(rt, world):
    who = person(42)
    ref = intake(rt, world, world.township_item(), who=who)
    detail = get_case(rt, world.window, ref.id)
    assert detail.applicant_id_masked == who.id_number[:3] + "*" * 11 + who.id_number[-4:]
    assert detail.applicant_phone_masked == who.phone[:3] + "****" + who.phone[-4:]
    assert not find_unmasked_ids(repr(detail))
    before = len(audit.events_for("case", detail.uuid))
    assert reveal(rt, world.window, ref.id, "applicant_id") == who.id_number
    events = audit.events_for("case", detail.uuid)
    assert len(events) == before + 1
    assert events[-1].action == "pii.reveal"
    assert events[-1].details["field"] == "applicant_id"
    assert who.id_number not in str(events[-1].details)


def test_station_sees_only_its_own_cases(rt, world):
    item = world.township_item(station="minzheng")
    ref = make_case(rt, world, CaseState.IN_REVIEW, item=item)
    own, other = world.stations["minzheng"], world.stations["nongye"]
    assert get_case(rt, own, ref.id).case_no == ref.case_no
    with pytest.raises(NotFound):
        get_case(rt, other, ref.id)
    with pytest.raises(NotFound):
        reveal(rt, other, ref.id, "applicant_phone")
    assert [r.id for r in queue_page(queue_filter(rt, own), 0)] == [ref.id]
    assert queue_count(queue_filter(rt, other)) == 0


def test_other_township_cannot_see(rt, world):
    ref = make_case(rt, world, CaseState.RECEIVED)
    with pytest.raises(NotFound):
        get_case(rt, world.other_window, ref.id)
    assert queue_count(queue_filter(rt, world.other_window)) == 0


def test_issuance_cannot_reveal_without_role(rt, world):
    from dataclasses import replace

    from app.domain.roles import Role

    ref = make_case(rt, world, CaseState.RECEIVED)
    auditor = replace(world.window, role=Role.AUDITOR)
    with pytest.raises(PermissionDenied):
        reveal(rt, auditor, ref.id, "applicant_id")


@pytest.mark.parametrize(
    "how", ["case_no", "name", "id_tail", "phone_tail", "id_full", "phone_full"]
)
def test_search_finds_the_case(rt, world, how):
    who = person(777)
    target = intake(rt, world, world.township_item(), who=who)
    for n in range(3):
        intake(rt, world, world.township_item(), who=person(900 + n))
    text = {
        "case_no": target.case_no,
        "name": who.name[:3],
        "id_tail": who.id_number[-4:],
        "phone_tail": who.phone[-4:],
        "id_full": who.id_number,
        "phone_full": who.phone,
    }[how]
    f = queue_filter(rt, world.window, search=text)
    rows = queue_page(f, 0, urgent=False)
    assert target.id in [r.id for r in rows]
    assert queue_count(f) == len(rows)
    if how in ("case_no", "id_full", "phone_full"):
        assert [r.id for r in rows] == [target.id]


def test_queue_orders_by_deadline_and_pages(rt, world, clock):
    refs = []
    for _ in range(5):
        refs.append(make_case(rt, world, CaseState.ACCEPTED))
        clock.advance(days=1)
    f = queue_filter(rt, world.window)
    first, second = queue_page(f, 0, 3), queue_page(f, 3, 3)
    ids = [r.id for r in first + second]
    assert ids == [r.id for r in refs]
    deadlines = [r.deadline for r in first + second]
    assert deadlines == sorted(deadlines)


def test_change_token_moves_when_another_desk_changes_a_case(rt, world, clock):
    from helpers.factories import drive

    from app.domain.case import Action
    from app.services.case_view import queue_changed_token

    ref = make_case(rt, world, CaseState.IN_REVIEW)
    station = world.stations[world.township_item().station]
    before = queue_changed_token(station)
    assert before == queue_changed_token(station)
    clock.advance(seconds=5)
    drive(rt, world, ref, station, Action.APPROVE, {"opinion": "同意"})
    assert queue_changed_token(station) != before
    assert queue_changed_token(world.other_window) == ("", 0)
