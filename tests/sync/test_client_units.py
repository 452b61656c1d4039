"""Township sync pieces without a server: package, frozen body, events passed over, status."""

from __future__ import annotations

import json
import random
import uuid
from datetime import timedelta
from typing import Any

import pytest
from county_helpers import PDF
from helpers.factories import drive, make_case

from app.domain.case import Action
from app.domain.errors import KnownError, ValidationError
from app.domain.states import CaseState
from app.services import audit
from app.services.attachments import add_attachment
from app.services.runtime import set_setting
from app.store.models import CaseRecord, OutboxRecord
from sync.client import config
from sync.client.config import URL_KEY
from sync.client.events import apply_event, cursor, sync_actor
from sync.client.outbox import backoff, frozen_body
from sync.client.status import CONTACT, current
from sync.protocol import DispatchedEvent, HandoffPackage, SignedEvent

CREDENTIAL = "bjt.370999101." + "A" * 43


def handed_off(rt: Any, world: Any) -> tuple[Any, OutboxRecord]:
    ref = make_case(rt, world, CaseState.ACCEPTED, county=True)
    material = world.county_item().materials[0].name
    add_attachment(rt, world.window, ref.id, PDF, original_name="扫描件.pdf", material=material)
    ref = drive(rt, world, ref, world.window, Action.HAND_OFF)
    return ref, OutboxRecord.get(OutboxRecord.case == ref.id)


def test_package_carries_full_numbers_and_attachments(rt: Any, world: Any):
    ref, row = handed_off(rt, world)
    package = HandoffPackage.model_validate_json(frozen_body(rt, row))
    case = CaseRecord.get_by_id(ref.id)
    assert (package.case_uuid, package.revision, package.action) == (case.uuid, 1, "hand_off")
    assert package.case_no == case.case_no and package.applicant.name == case.applicant_name
    assert len(package.applicant.id_number) == 18 and package.proxy.phone == "13700000001"
    assert [a.size for a in package.attachments] == [len(PDF)]
    stored = OutboxRecord.get_by_id(row.id).payload
    assert package.applicant.id_number not in stored and json.loads(stored)["sealed"]


def test_body_is_built_once_and_resent_byte_identical(rt: Any, world: Any):
    ref, row = handed_off(rt, world)
    first = frozen_body(rt, row)
    CaseRecord.update(authorisation="事后改动的委托说明").where(CaseRecord.id == ref.id).execute()
    again = frozen_body(rt, OutboxRecord.get_by_id(row.id))
    assert again == first and "事后改动" not in again.decode("utf-8")


def test_backoff_grows_and_is_capped_with_jitter():
    rng = random.Random(7)
    waits = [backoff(n, rng) for n in (1, 2, 3, 12, 30)]
    assert timedelta(seconds=15) <= waits[0] <= timedelta(seconds=30)
    assert timedelta(seconds=30) <= waits[1] <= timedelta(seconds=60)
    assert timedelta(seconds=60) <= waits[2] <= timedelta(seconds=120)
    assert all(timedelta(minutes=30) <= w <= timedelta(hours=1) for w in waits[3:])


def _signed(case_uuid: uuid.UUID, seq: int, case_no: str) -> SignedEvent:
    return SignedEvent.model_validate(
        {
            "seq": seq,
            "case_uuid": str(case_uuid),
            "case_no": case_no,
            "at": "2026-11-16T10:00:00",
            "kind": "signed",
            "data": {"on": "2026-11-16"},
        }
    )


def test_event_for_unknown_case_is_recorded_and_passed(rt: Any, world: Any):
    stranger = uuid.uuid4()
    event = _signed(stranger, 1, "370999101-A1-20261116-0999")
    problem = apply_event(rt, sync_actor("370999101"), event)
    assert "没有办件" in problem and cursor() == 1
    [entry] = audit.events_for("case", str(stranger))
    assert entry.outcome == "skipped" and entry.details["seq"] == 1


def test_illegal_move_is_passed_without_changing_the_case(rt: Any, world: Any):
    ref, _ = handed_off(rt, world)
    case = CaseRecord.get_by_id(ref.id)
    event = DispatchedEvent.model_validate(
        {
            "seq": 4,
            "case_uuid": str(case.uuid),
            "case_no": case.case_no,
            "at": "2026-11-16T10:00:00",
            "kind": "dispatched",
            "data": {"method": "township_pickup", "on": "2026-11-16"},
        }
    )
    problem = apply_event(rt, sync_actor("370999101"), event)
    assert "县级尚未办结" in problem and cursor() == 4
    after = CaseRecord.get_by_id(ref.id)
    assert (after.state, after.version) == (CaseState.HANDED_OFF.value, case.version)
    assert audit.events_for("case", str(case.uuid))[-1].outcome == "skipped"


def test_status_counts_waiting_and_shows_last_error(rt: Any, world: Any):
    handed_off(rt, world)
    _, row = handed_off(rt, world)
    OutboxRecord.update(status="conflict", last_error="县级拒收，需人工处理").where(
        OutboxRecord.id == row.id
    ).execute()
    set_setting(URL_KEY, "https://county.example:8750")
    CONTACT.note(False, "无法连接县级服务器")
    try:
        status = current(rt)
        assert (status.online, status.waiting, status.needs_person) == (False, 1, 1)
        assert "离线" in status.text and "待发送 1 件" in status.text
        CONTACT.note(True)
        assert current(rt).last_error == "县级拒收，需人工处理"
    finally:
        CONTACT.note(None, "")


def test_credential_lives_in_keyring_or_is_asked(keystore: Any, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(config.CREDENTIAL_ENV, raising=False)
    with pytest.raises(KnownError, match="sync configure"):
        config.load_credential(None, ask=None)
    assert config.load_credential(None, ask=lambda prompt: CREDENTIAL) == CREDENTIAL
    monkeypatch.setenv(config.CREDENTIAL_ENV, CREDENTIAL)
    assert config.load_credential(None, ask=None) == CREDENTIAL
    assert config.store_credential(CREDENTIAL, None) is False
    assert config.store_credential(CREDENTIAL, keystore) is True
    monkeypatch.delenv(config.CREDENTIAL_ENV)
    assert config.load_credential(keystore, ask=None) == CREDENTIAL
    assert config.township_of(CREDENTIAL) == "370999101"
    with pytest.raises(ValidationError):
        config.store_credential("bjs.county1." + "A" * 43, keystore)
