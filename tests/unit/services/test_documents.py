"""Issuing documents: readiness, numbering, reprint, double-click, file on disk, audit."""

from __future__ import annotations

import hashlib
import subprocess
import threading

import pytest
from helpers.factories import correction_data, drive, make_case

from app.domain.case import Action
from app.domain.errors import DomainError, PermissionDenied
from app.domain.masking import find_unmasked_ids
from app.domain.states import CaseState
from app.services import audit, documents
from app.store.models import CaseRecord, DocumentRecord


def _text(path) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_receipt_is_recorded_numbered_and_reprinted_identically(rt, world):
    ref = make_case(rt, world, CaseState.ACCEPTED)
    first = documents.issue(rt, world.window, "receipt", case_id=ref.id)
    assert first.number == "青禾便民收〔2026〕00001号" and not first.reprint
    assert hashlib.sha256(first.path.read_bytes()).hexdigest() == first.sha256
    text = _text(first.path)
    assert "收件回执" in text and ref.case_no in text and first.number in text
    assert not find_unmasked_ids(text)
    again = documents.issue(rt, world.window, "receipt", case_id=ref.id)
    assert (again.number, again.sha256, again.reprint) == (first.number, first.sha256, True)
    other = make_case(rt, world, CaseState.ACCEPTED)
    assert documents.issue(rt, world.window, "receipt", case_id=other.id).number.endswith("00002号")
    uuid = str(CaseRecord.get_by_id(ref.id).uuid)
    actions = [e.action for e in audit.events_for("case", uuid)]
    assert actions.count("document.issue") == 1 and actions.count("document.reprint") == 1


def test_double_click_makes_one_document(rt, world):
    ref = make_case(rt, world, CaseState.ACCEPTED)
    results = []
    threads = [
        threading.Thread(
            target=lambda: results.append(
                documents.issue(rt, world.window, "receipt", case_id=ref.id)
            )
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({r.number for r in results}) == 1
    assert DocumentRecord.select().where(DocumentRecord.case == ref.id).count() == 1
    assert sorted(r.reprint for r in results) == [False, True]


def test_not_ready_and_wrong_role_refused_without_record(rt, world):
    ref = make_case(rt, world, CaseState.RECEIVED)
    with pytest.raises(DomainError, match="尚未受理"):
        documents.issue(rt, world.window, "acceptance", case_id=ref.id)
    with pytest.raises(PermissionDenied):
        documents.issue(rt, world.stations["nongye"], "receipt", case_id=ref.id)
    with pytest.raises(DomainError, match="尚未出件"):
        documents.issue(rt, world.issuance, "delivery", case_id=ref.id)
    assert DocumentRecord.select().count() == 0


def test_each_correction_occasion_gets_its_own_notice(rt, world):
    item = world.township_item()
    ref = make_case(rt, world, CaseState.CORRECTION_REQUIRED, item=item)
    first = documents.issue(rt, world.window, "correction", case_id=ref.id)
    assert "补正材料通知书" in _text(first.path)
    ref = drive(
        rt, world, ref, world.window, Action.SUPPLEMENT, {"received": [item.materials[0].name]}
    )
    ref = drive(rt, world, ref, world.window, Action.ACCEPT)
    ref = drive(rt, world, ref, world.window, Action.ROUTE)
    station = world.stations[item.station]
    drive(rt, world, ref, station, Action.REQUEST_CORRECTION, correction_data(item, rt.today()))
    second = documents.issue(rt, world.window, "correction", case_id=ref.id)
    assert second.number != first.number


def test_every_case_document_for_a_full_journey(rt, world):
    ref = make_case(rt, world, CaseState.CLOSED)
    for kind, actor in (
        ("receipt", world.window),
        ("acceptance", world.window),
        ("completion", world.issuance),
        ("delivery", world.issuance),
    ):
        doc = documents.issue(rt, actor, kind, case_id=ref.id)
        assert doc.title.replace("书", "") in _text(doc.path).replace("书", "")
    guide = documents.issue(rt, world.window, "guide", item_code=world.township_item().code)
    assert world.township_item().name in _text(guide.path)
    assert [d.kind for d in documents.list_for_case(world.window, ref.id)] == [
        "receipt",
        "acceptance",
        "completion",
        "delivery",
    ]
