"""Fuzzing the county API with schemathesis against its own OpenAPI schema.

Every operation the schema lists is called with generated requests: without credentials, as a
township, as county window staff and as a county admin. Whatever is sent: no 5xx, every answer
is one the schema documents and matches its schema, a route never answers a caller it is not
for, and a township never reads anything of another township that it did not send itself
(the second township's cases, events, attachments and names are seeded first).

Schema-valid requests may still be refused (an ID number's check digit, a body whose hash is
not the one in the address, a catalog that does not load): the schema cannot say so, so the
"valid data is accepted" check is left out. The checks that need schemathesis's own runner
(undocumented methods, stateful sequences) are pinned down by the explicit tests at the end.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import pytest
import schemathesis
from county_helpers import JPEG, OTHER, PDF, attachment, package, sha
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import checks
from schemathesis.generation import GenerationMode
from test_server_distribution import HOLIDAYS_2027, catalog_text
from test_server_events import DECIDED, MAILED, SIGNED

from sync.server.ratelimit import RateLimiter

POSITIVE = GenerationMode.POSITIVE
NEGATIVE = GenerationMode.NEGATIVE

# Who may call what. Every operation of the schema must be listed (checked below), so a new
# route cannot escape the fuzzing unclassified.
PUBLIC = "public"
TOWNSHIP_ONLY = "township"
ANY_CALLER = "any"
WINDOW = "window"  # county staff of either role
ADMIN = "admin"
ACCESS = {
    "GET /api/v1/health": PUBLIC,
    "GET /progress": PUBLIC,
    "POST /api/v1/packages": TOWNSHIP_ONLY,
    "GET /api/v1/packages/{case_uuid}/{revision}": TOWNSHIP_ONLY,
    "POST /api/v1/blobs/missing": TOWNSHIP_ONLY,
    "PUT /api/v1/blobs/{sha256}": TOWNSHIP_ONLY,
    "GET /api/v1/events": TOWNSHIP_ONLY,
    "GET /api/v1/catalog/latest": ANY_CALLER,
    "GET /api/v1/catalog/{version}": ANY_CALLER,
    "GET /api/v1/holidays": ANY_CALLER,
    "POST /api/v1/events": WINDOW,
    "GET /api/v1/county/cases": WINDOW,
    "GET /api/v1/county/cases/{case_uuid}": WINDOW,
    "GET /api/v1/county/blobs/{sha256}": WINDOW,
    "GET /api/v1/county/stats": WINDOW,
    "POST /api/v1/catalog": ADMIN,
    "POST /api/v1/holidays": ADMIN,
}
ALLOWED = {
    "anonymous": {PUBLIC},
    "township": {PUBLIC, TOWNSHIP_ONLY, ANY_CALLER},
    "window": {PUBLIC, ANY_CALLER, WINDOW},
    "admin": {PUBLIC, ANY_CALLER, WINDOW, ADMIN},
}

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.ignored_auth,
]
# Small and derandomized: the same examples on every run, the whole file well under a minute.
FUZZ = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
TARGETED = settings(FUZZ, max_examples=2)
NEGATIVE_RUN = settings(FUZZ, max_examples=2)


@dataclass(frozen=True)
class Seeded:
    """What the database holds before fuzzing: one case with an attachment and events for
    each township, a catalog and a holiday calendar; the credentials to call with."""

    headers: dict[str, dict[str, str]]
    own_case: str
    own_blob: str
    other_case: str
    other_blob: str
    other_secrets: tuple[str, ...]  # what the first township must never be told


OTHER_APPLICANT = "司马秋云"
OTHER_QUERY_CODE = "R4T8W2"
OTHER_TRACKING = "EB987654321CN"
UNKNOWN_CASE = "00000000-0000-4000-8000-000000000000"


def _seed(client: TestClient, creds: Any) -> Seeded:
    def hand_off(headers: dict[str, str], data: bytes, mime: str, **changes: Any) -> dict[str, Any]:
        put = client.put(f"/api/v1/blobs/{sha(data)}", content=data, headers=headers)
        assert put.status_code == 201, put.text
        body = package(attachments=[attachment(data, mime)], **changes)
        response = client.post("/api/v1/packages", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return body

    own = hand_off(creds.t, PDF + b"own", "application/pdf")
    other = hand_off(
        creds.o,
        JPEG + b"other",
        "image/jpeg",
        township=OTHER,
        case_no=f"{OTHER}-A1-20261116-0007",
        query_code=OTHER_QUERY_CODE,
        applicant={**package()["applicant"], "name": OTHER_APPLICANT},
    )
    mailed = {**MAILED, "data": {**MAILED["data"], "tracking_no": OTHER_TRACKING}}
    events = [(own, SIGNED), (other, SIGNED), (other, DECIDED), (other, mailed)]
    for case, event in events:
        posted = client.post(
            "/api/v1/events", json={"case_uuid": case["case_uuid"], **event}, headers=creds.w
        )
        assert posted.status_code == 201, posted.text
    published = client.post("/api/v1/catalog", json={"content": catalog_text()}, headers=creds.a)
    assert published.status_code == 201, published.text
    assert client.post("/api/v1/holidays", json=HOLIDAYS_2027, headers=creds.a).status_code == 200
    other_blob = other["attachments"][0]["sha256"]
    return Seeded(
        headers={"township": creds.t, "window": creds.w, "admin": creds.a},
        own_case=own["case_uuid"],
        own_blob=own["attachments"][0]["sha256"],
        other_case=other["case_uuid"],
        other_blob=other_blob,
        other_secrets=(
            other["case_uuid"],
            other["case_no"],
            other_blob,
            OTHER,
            "白杨镇",
            OTHER_APPLICANT,
            OTHER_QUERY_CODE,
            OTHER_TRACKING,
        ),
    )


@pytest.fixture
def seeded(county, client, creds) -> Seeded:
    # The limiters have tests of their own; here they would only turn later calls into 429s.
    county.auth_failures = RateLimiter(10**6, 60)
    county.progress_limiter = RateLimiter(10**6, 60)
    return _seed(client, creds)


@pytest.fixture
def api(client: TestClient) -> schemathesis.BaseSchema:
    """The server's own OpenAPI schema, loaded from the running application."""
    config = schemathesis.config.SchemathesisConfig.from_dict(
        {
            # An unknown query parameter is ignored, as HTTP clients expect; credentials are
            # sent by the test itself, so the generator leaves the security header alone.
            "generation": {"allow-extra-parameters": False, "with-security-parameters": False},
        }
    )
    return schemathesis.openapi.from_asgi("/openapi.json", client.app, config=config)


def operations(api: schemathesis.BaseSchema) -> list[Any]:
    found = [result.ok() for result in api.get_all_operations()]
    assert {op.label for op in found} == set(ACCESS), "每个接口都须在 ACCESS 中登记"
    return found


def _has_input(op: Any) -> bool:
    return bool(list(op.iter_parameters())) or bool(op.body)


def _sent(response: Any) -> str:
    """Everything the request carried that a response may legitimately echo back."""
    request = response.request
    body = request.body or b""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return unquote(str(request.url)) + "\n" + unquote(body) + "\n" + body


def _received(response: Any) -> str:
    text = response.content.decode("utf-8", "replace")
    try:
        return text + "\n" + json.dumps(response.json(), ensure_ascii=False)
    except ValueError:
        return text


def _targets(op: Any, seeded: Seeded) -> list[dict[str, Any]]:
    """Path values that name real rows (each township's), so 200s are fuzzed too."""
    names = {p.name for p in op.path_parameters}
    found: list[dict[str, Any]] = []
    if "case_uuid" in names:
        extra = {"revision": 1} if "revision" in names else {}
        found += [{"case_uuid": c, **extra} for c in (seeded.own_case, seeded.other_case)]
    if "sha256" in names:
        found += [{"sha256": b} for b in (seeded.own_blob, seeded.other_blob)]
    return found


def _fuzz(
    op: Any,
    run: settings,
    mode: GenerationMode,
    check: Callable[[Any, Any], None],
    headers: dict[str, str] | None,
    path_parameters: dict[str, Any] | None = None,
) -> int:
    """Call `op` with generated requests; returns how many were sent."""
    sent = []

    @run
    @given(case=op.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    def each(case: Any) -> None:
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        sent.append(response.status_code)
        check(case, response)

    each()
    return len(sent)


def test_every_operation_is_classified(api):
    assert len(operations(api)) == len(ACCESS)


def _refusal(role: str, access: str) -> int:
    """The status a caller of `role` gets from a route it may not call."""
    if role == "window" and access == ADMIN:
        return 403
    return 401


@pytest.mark.parametrize("role", ["anonymous", "township", "window", "admin"])
def test_fuzz_as_each_caller(county, seeded, api, role):
    """No 5xx, answers as documented, schema-valid requests to a route not for the caller
    refused exactly (401, or 403 for window staff on admin routes; without credentials every
    non-public route is 401), invalid ones never 2xx, and a township never learns anything
    of another township that it did not send itself."""
    headers = seeded.headers.get(role)
    total = 0
    statuses: set[int] = set()
    for op in operations(api):
        access = ACCESS[op.label]
        allowed = access in ALLOWED[role]

        def positive(case: Any, response: Any, allowed: bool = allowed, access: str = access):
            statuses.add(response.status_code)
            if not allowed:
                assert response.status_code == _refusal(role, access), response.text
                if response.status_code == 401:
                    assert response.json()["code"] == "unauthorized"
            if role == "township":
                _assert_nothing_of_the_other_township(seeded, response)

        def negative(case: Any, response: Any, allowed: bool = allowed):
            assert allowed or not 200 <= response.status_code < 300
            if role == "township":
                _assert_nothing_of_the_other_township(seeded, response)

        total += _fuzz(op, FUZZ, POSITIVE, positive, headers)
        for target in _targets(op, seeded):
            total += _fuzz(op, TARGETED, POSITIVE, positive, headers, target)
        if _has_input(op):
            total += _fuzz(op, NEGATIVE_RUN, NEGATIVE, negative, headers)
    assert total >= 3 * len(ACCESS)
    # The seeded rows were really reached: some answers were successes.
    assert statuses & {200, 201}


def _assert_nothing_of_the_other_township(seeded: Seeded, response: Any) -> None:
    received = _received(response)
    sent = _sent(response)
    leaked = [s for s in seeded.other_secrets if s in received and s not in sent]
    assert not leaked, (response.request.method, response.request.url, leaked)


def test_a_township_asking_for_another_townships_rows_learns_nothing(seeded, client):
    """The probes the fuzzer tries by chance, made on purpose and with exact answers."""
    own = seeded.headers["township"]
    missing = client.post(
        "/api/v1/blobs/missing",
        json={"hashes": [seeded.other_blob, seeded.own_blob]},
        headers=own,
    )
    assert missing.json() == {"missing": [seeded.other_blob]}
    receipt = client.get(f"/api/v1/packages/{seeded.other_case}/1", headers=own)
    unknown = client.get(f"/api/v1/packages/{UNKNOWN_CASE}/1", headers=own)
    assert receipt.status_code == unknown.status_code == 404
    assert receipt.json() == unknown.json()
    events = client.get("/api/v1/events", headers=own).json()["events"]
    assert [e["case_uuid"] for e in events] == [seeded.own_case]
    for path in (f"/api/v1/county/cases/{seeded.other_case}", "/api/v1/county/stats"):
        assert client.get(path, headers=own).status_code == 401


# --- what the fuzzer found, pinned down -------------------------------------------------------

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


# A value of the right form for each path parameter (405 is decided before any lookup).
PATH_VALUES = {
    "case_uuid": UNKNOWN_CASE,
    "revision": "1",
    "sha256": "0" * 64,
    "version": "2026.11.1",
}


def _concrete(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, path
    return path


def test_other_methods_are_405_naming_every_method_of_the_address(client):
    """Starlette named only the first route's methods (GET /events and POST /events are two
    routes), and `PUT /blobs/missing` was taken for a blob named "missing" (422)."""
    for path, operations in client.get("/openapi.json").json()["paths"].items():
        documented = [m for m in HTTP_METHODS if m.lower() in operations]
        for method in HTTP_METHODS:
            if method in documented:
                continue
            response = client.request(method, _concrete(path))
            assert response.status_code == 405, (method, path, response.text)
            assert response.headers["allow"] == ", ".join(documented), (method, path)
            if method != "HEAD":  # a HEAD answer has no body
                assert response.json()["code"] == "method_not_allowed"


def test_inbox_dates_are_only_yyyy_mm_dd(client, creds):
    """`due_before=0` was read as a Unix timestamp (1970-01-01) and answered 200."""
    for value in ("0", "1700000000", "2026-11-30T00:00:00", "20261130"):
        response = client.get("/api/v1/county/cases", params={"due_before": value}, headers=creds.w)
        assert response.status_code == 422, value
        assert "期限截止：应为真实的日期" in response.json()["detail"]
    ok = client.get("/api/v1/county/cases", params={"due_before": "2026-11-30"}, headers=creds.w)
    assert ok.status_code == 200
