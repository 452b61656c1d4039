"""Who may call what: township credentials, staff tokens, roles, isolation, failure limits."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from county_helpers import OTHER, PDF, TOWNSHIP, bearer, package, sha

from app.security.passwords import verify_password
from sync.server import auth
from sync.server.auth import CredentialCache
from sync.server.ratelimit import RateLimiter
from sync.server.store import CountyStaffRecord, CountyTownshipRecord

TOWNSHIP_ROUTES = [
    ("post", "/api/v1/packages"),
    ("post", "/api/v1/blobs/missing"),
    ("put", f"/api/v1/blobs/{sha(PDF)}"),
    ("get", "/api/v1/events"),
    ("get", "/api/v1/packages/0b7f6c1e-7a3c-4a8e-9d55-3f1f7b0c2a11/1"),
]
STAFF_ROUTES = [
    ("post", "/api/v1/events"),
    ("post", "/api/v1/catalog"),
    ("post", "/api/v1/holidays"),
    ("get", "/api/v1/county/cases"),
    ("get", "/api/v1/county/stats"),
    ("get", f"/api/v1/county/blobs/{sha(PDF)}"),
]
SHARED_ROUTES = [("get", "/api/v1/catalog/latest"), ("get", "/api/v1/holidays")]


def _call(client, method, path, headers=None):
    return client.request(method, path, headers=headers or {}, json={})


@pytest.mark.parametrize(("method", "path"), TOWNSHIP_ROUTES + STAFF_ROUTES + SHARED_ROUTES)
def test_no_credential_is_401_in_chinese(client, creds, method, path):
    response = _call(client, method, path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "detail": "请提供凭据：Authorization: Bearer <凭据>",
        "code": "unauthorized",
    }


@pytest.mark.parametrize(
    "token",
    [
        "nonsense",
        f"bjt.{TOWNSHIP}.short",
        f"bjt.{TOWNSHIP}." + "A" * 43,  # well-formed, wrong secret
        "bjt.370999199." + "A" * 43,  # unknown township
        "bjt.370999101\x00." + "A" * 43,
    ],
)
def test_invalid_township_credential_is_401(client, creds, token):
    response = client.get("/api/v1/events", headers=bearer(token))
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_wrong_kind_of_credential_is_refused(client, creds):
    assert client.get("/api/v1/events", headers=creds.w).status_code == 401
    assert client.get("/api/v1/county/cases", headers=creds.t).status_code == 401
    assert client.get("/api/v1/county/cases", headers=creds.w).status_code == 200
    assert client.get("/api/v1/events", headers=creds.t).status_code == 200


def test_window_staff_may_not_publish(client, creds):
    response = client.post("/api/v1/catalog", headers=creds.w, json={"content": "{}"})
    assert response.status_code == 403
    assert "只有县级管理员" in response.json()["detail"]


def test_credentials_are_stored_only_as_scrypt_hashes(county, creds):
    row = CountyTownshipRecord.get(CountyTownshipRecord.code == TOWNSHIP)
    assert row.credential_hash.startswith("scrypt$")
    assert creds.township not in row.credential_hash
    assert verify_password(creds.township, row.credential_hash)
    staff = CountyStaffRecord.get(CountyStaffRecord.username == "county1")
    assert verify_password(creds.window, staff.token_hash)


def test_auth_happens_before_the_body_is_looked_at(client, creds):
    response = client.post("/api/v1/packages", json={"nonsense": True})
    assert response.status_code == 401


def test_disabled_township_and_reissued_credential_stop_working(county, client, creds):
    county.credentials = CredentialCache(ttl=0)  # read the row on every request
    assert client.get("/api/v1/events", headers=creds.t).status_code == 200
    new = auth.reissue_township_credential(county.db, TOWNSHIP)
    assert client.get("/api/v1/events", headers=creds.t).status_code == 401
    assert client.get("/api/v1/events", headers=bearer(new)).status_code == 200
    with county.db.connection_context():
        CountyTownshipRecord.update(disabled=True).where(
            CountyTownshipRecord.code == TOWNSHIP
        ).execute()
    assert client.get("/api/v1/events", headers=bearer(new)).status_code == 401


def test_repeated_failures_are_limited_per_address(county, client, creds):
    county.auth_failures = RateLimiter(3, 60)
    bad = bearer(f"bjt.{TOWNSHIP}." + "B" * 43)
    assert [client.get("/api/v1/events", headers=bad).status_code for _ in range(3)] == [401] * 3
    limited = client.get("/api/v1/events", headers=creds.t)
    assert limited.status_code == 429
    assert limited.json()["detail"] == "凭据错误次数过多，请稍后再试"
    assert limited.headers["retry-after"] == "60"


def test_adding_a_township_twice_or_with_a_bad_code_is_refused(county, creds):
    from app.domain.errors import KnownError, ValidationError

    with pytest.raises(KnownError, match="已登记"):
        auth.add_township(county.db, OTHER, "白杨镇")
    with pytest.raises(ValidationError, match="9位数字"):
        auth.add_township(county.db, "37099", "某镇")
    with pytest.raises(ValidationError, match="角色"):
        auth.add_staff(county.db, "someone", "某人", "root")


def test_another_townships_receipt_is_indistinguishable_from_unknown(client, creds):
    data = package()
    assert client.post("/api/v1/packages", json=data, headers=creds.t).status_code == 201
    theirs = client.get(f"/api/v1/packages/{data['case_uuid']}/1", headers=creds.o)
    unknown = client.get("/api/v1/packages/0b7f6c1e-7a3c-4a8e-9d55-3f1f7b0c2a11/1", headers=creds.o)
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.content == unknown.content
    mine = client.get(f"/api/v1/packages/{data['case_uuid']}/1", headers=creds.t)
    assert mine.status_code == 200 and mine.json()["case_uuid"] == data["case_uuid"]


def test_a_township_cannot_write_for_another(client, creds):
    response = client.post("/api/v1/packages", json=package(OTHER), headers=creds.t)
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_township"
    data = package()
    assert client.post("/api/v1/packages", json=data, headers=creds.t).status_code == 201
    stolen = package(OTHER, case_uuid=data["case_uuid"])
    response = client.post("/api/v1/packages", json=stolen, headers=creds.o)
    assert response.status_code == 409 and response.json()["code"] == "uuid_taken"


def test_a_remembered_credential_lets_no_other_secret_in(client, creds):
    assert client.get("/api/v1/events", headers=creds.t).status_code == 200
    forged = bearer(f"bjt.{TOWNSHIP}." + "A" * 43)
    assert client.get("/api/v1/events", headers=forged).status_code == 401
    assert client.get("/api/v1/events", headers=creds.t).status_code == 200


def test_a_townships_first_requests_arriving_together_cost_one_scrypt(client, creds, monkeypatch):
    calls: list[str] = []
    started = threading.Barrier(4)

    def slow_verify(secret: str, stored: str) -> bool:
        calls.append(secret)
        time.sleep(0.2)  # the others arrive while the first is still hashing
        return verify_password(secret, stored)

    monkeypatch.setattr(auth, "verify_password", slow_verify)

    def first_request() -> int:
        started.wait(timeout=10)
        return client.get("/api/v1/events", headers=creds.t).status_code

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: first_request(), range(4)))
    assert answers == [200] * 4
    assert len(calls) == 1
    # A wrong secret is still checked, and refused, every time.
    forged = bearer(f"bjt.{TOWNSHIP}." + "B" * 43)
    assert client.get("/api/v1/events", headers=forged).status_code == 401
    assert len(calls) == 2
