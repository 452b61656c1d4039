"""Packages: exactly once per (UUID, revision), conflicts refused, attachments first, PII sealed."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from county_helpers import (
    ADDRESS,
    APPLICANT_ID,
    APPLICANT_PHONE,
    JPEG,
    PDF,
    PNG,
    PROXY_ID,
    attachment,
    package,
    sha,
)
from fastapi.testclient import TestClient

from app.domain.masking import find_unmasked_ids
from sync.server.app import create_app
from sync.server.store import CountyCaseRecord, CountyPackageRecord


def counts(county) -> tuple[int, int]:
    with county.db.connection_context():
        return CountyCaseRecord.select().count(), CountyPackageRecord.select().count()


def upload(client, headers, *blobs: bytes) -> None:
    for data in blobs:
        response = client.put(f"/api/v1/blobs/{sha(data)}", content=data, headers=headers)
        assert response.status_code in (200, 201), response.text


def signed(client, creds, case_uuid: str) -> None:
    event = {"case_uuid": case_uuid, "kind": "signed", "data": {"on": "2026-11-16"}}
    assert client.post("/api/v1/events", json=event, headers=creds.w).status_code == 201


def correction(client, creds, case_uuid: str) -> None:
    data = {"missing": [{"name": "残疾人证", "reason": "照片页不清晰"}], "due_date": "2026-11-30"}
    event = {"case_uuid": case_uuid, "kind": "correction", "data": data}
    assert client.post("/api/v1/events", json=event, headers=creds.w).status_code == 201


def test_receipt_names_case_revision_and_every_attachment(client, creds):
    upload(client, creds.t, PDF, PNG)
    data = package(
        attachments=[
            attachment(PDF, material="残疾人证"),
            attachment(PNG, "image/png", "居民身份证"),
        ]
    )
    response = client.post("/api/v1/packages", json=data, headers=creds.t)
    assert response.status_code == 201
    receipt = response.json()
    assert receipt["case_uuid"] == data["case_uuid"] and receipt["revision"] == 1
    assert receipt["attachments"] == [sha(PDF), sha(PNG)]
    assert receipt["case_no"] == data["case_no"] and receipt["received_at"] == "2026-11-16T09:30:00"


def test_resend_gets_the_original_receipt_and_stores_nothing_twice(county, client, creds, clock):
    upload(client, creds.t, PDF)
    data = package(attachments=[attachment(PDF)])
    first = client.post("/api/v1/packages", json=data, headers=creds.t)
    clock.advance(hours=3)
    # Same content, other key order and spacing: the canonical content is what counts.
    body = json.dumps(dict(reversed(list(data.items()))), ensure_ascii=False, indent=3)
    headers = {**creds.t, "content-type": "application/json"}
    again = client.post("/api/v1/packages", content=body.encode(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.content == first.content
    assert counts(county) == (1, 1)


def test_other_content_under_the_same_revision_is_409_and_changes_nothing(county, client, creds):
    data = package()
    original = client.post("/api/v1/packages", json=data, headers=creds.t)
    changed = {**data, "item_name": "另一个事项"}
    response = client.post("/api/v1/packages", json=changed, headers=creds.t)
    assert response.status_code == 409
    assert response.json()["code"] == "revision_conflict"
    assert "不要自动重发" in response.json()["detail"]
    assert counts(county) == (1, 1)
    with county.db.connection_context():
        assert CountyCaseRecord.get().item_name == data["item_name"]
    replay = client.post("/api/v1/packages", json=data, headers=creds.t)
    assert replay.status_code == 200 and replay.content == original.content


def test_package_before_its_attachments_is_422_naming_the_missing(county, client, creds):
    upload(client, creds.t, PDF)
    upload(client, creds.o, JPEG)  # another township's copy does not count
    data = package(
        attachments=[attachment(PDF), attachment(PNG, "image/png"), attachment(JPEG, "image/jpeg")]
    )
    response = client.post("/api/v1/packages", json=data, headers=creds.t)
    assert response.status_code == 422
    assert response.json()["code"] == "missing_blobs"
    assert response.json()["missing"] == [sha(PNG), sha(JPEG)]
    assert counts(county) == (0, 0)
    upload(client, creds.t, PNG, JPEG)
    assert client.post("/api/v1/packages", json=data, headers=creds.t).status_code == 201


def test_supplement_after_a_correction_then_withdraw(county, client, creds):
    data = package()
    assert client.post("/api/v1/packages", json=data, headers=creds.t).status_code == 201
    supplement = {**data, "revision": 2, "action": "supplement"}
    early = client.post("/api/v1/packages", json=supplement, headers=creds.t)
    assert early.status_code == 409 and early.json()["code"] == "state_conflict"
    assert "待签收" in early.json()["detail"]
    signed(client, creds, data["case_uuid"])
    correction(client, creds, data["case_uuid"])
    assert client.post("/api/v1/packages", json=supplement, headers=creds.t).status_code == 201
    withdraw = {**data, "revision": 3, "action": "withdraw", "reason": "申请人决定不再申请"}
    assert client.post("/api/v1/packages", json=withdraw, headers=creds.t).status_code == 201
    with county.db.connection_context():
        case = CountyCaseRecord.get()
        assert (case.status, case.latest_revision) == ("withdrawn", 3)
    late = {**data, "revision": 4, "action": "supplement"}
    assert client.post("/api/v1/packages", json=late, headers=creds.t).json()["code"] == (
        "state_conflict"
    )


@pytest.mark.parametrize(
    ("first", "second", "code"),
    [
        (
            {"revision": 5},
            {"revision": 3, "action": "withdraw", "reason": "撤回"},
            "stale_revision",
        ),
        (
            {},
            {
                "revision": 2,
                "action": "withdraw",
                "reason": "撤回",
                "case_no": "370999101-A1-20261116-0009",
            },
            "case_no_changed",
        ),
        ({}, {"case_uuid": "6f0e4c1a-1111-4d2b-8c3e-2a1b3c4d5e6f"}, "case_no_taken"),
    ],
)
def test_revisions_go_forward_and_numbers_stay(client, creds, first, second, code):
    data = package(**first)
    assert client.post("/api/v1/packages", json=data, headers=creds.t).status_code == 201
    response = client.post("/api/v1/packages", json={**data, **second}, headers=creds.t)
    assert response.status_code == 409 and response.json()["code"] == code


def test_the_first_package_must_be_the_hand_off(county, client, creds):
    data = package(action="withdraw", reason="撤回")
    response = client.post("/api/v1/packages", json=data, headers=creds.t)
    assert response.status_code == 409 and response.json()["code"] == "not_handed_off"
    assert counts(county) == (0, 0)


def test_personal_numbers_are_sealed_at_rest_and_open_for_staff(county, client, creds):
    data = package()
    data["form_data"]["spouse_phone"] = "13600001111"
    assert client.post("/api/v1/packages", json=data, headers=creds.t).status_code == 201
    with county.db.connection_context():
        body = CountyPackageRecord.get().body
    assert find_unmasked_ids(body) == []
    for secret in (APPLICANT_ID, PROXY_ID, APPLICANT_PHONE, ADDRESS, "13600001111"):
        assert secret not in body
    assert json.loads(body)["applicant"]["name"] == data["applicant"]["name"]
    detail = client.get(f"/api/v1/county/cases/{data['case_uuid']}", headers=creds.w).json()
    assert detail["package"]["applicant"]["id_number"] == APPLICANT_ID
    assert detail["package"]["form_data"]["spouse_phone"] == "13600001111"
    assert detail["history"] == [
        {"revision": 1, "action": "hand_off", "received_at": "2026-11-16T09:30:00"}
    ]


def test_the_same_package_sent_twice_at_once_is_stored_once(county, creds):
    """Two copies racing (a retry overtaking the original) give one 201 and one 200."""
    data = package()
    start = threading.Barrier(2)
    app = create_app(county)

    def send() -> tuple[int, bytes]:
        client = TestClient(app)
        start.wait()
        response = client.post("/api/v1/packages", json=data, headers=creds.t)
        return response.status_code, response.content

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: send(), range(2)))
    assert sorted(code for code, _ in results) == [200, 201]
    assert results[0][1] == results[1][1]
    assert counts(county) == (1, 1)
