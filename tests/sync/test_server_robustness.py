"""Bad input anywhere gets a 4xx with a Chinese detail and changes nothing; the schema is served."""

from __future__ import annotations

import json
import secrets

import peewee as pw
import pytest
from county_helpers import package
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.server.app import create_app
from sync.server.context import CountyServer
from sync.server.store import COUNTY_RECORDS

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
TEMPLATE = package()


def snapshot(county) -> tuple[int, ...]:
    with county.db.connection_context():
        return tuple(model.select().count() for model in COUNTY_RECORDS)


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"{not json", "请求内容不是有效的 JSON"),
        (b"[1, 2]", "应为对象"),
        (b'{"case_uuid": "\\u0000"}', "办件UUID：应为 UUID"),
        (json.dumps(package(item_name="事项\u0000名称")).encode(), "不能包含控制字符"),
        (json.dumps(package(revision=2**70)).encode(), "修订号：不能大于1000000"),
        (json.dumps(package(form_data={"area": 1.5})).replace("1.5", "NaN").encode(), "申请表"),
    ],
)
def test_malformed_packages_are_422_in_chinese(county, client, creds, body, fragment):
    before = snapshot(county)
    headers = {**creds.t, "content-type": "application/json"}
    response = client.post("/api/v1/packages", content=body, headers=headers)
    assert response.status_code == 422
    assert fragment in response.json()["detail"]
    assert snapshot(county) == before


@pytest.mark.parametrize(
    "body", [b"[" * 100_000 + b"]" * 100_000, b'{"revision": ' + b"9" * 5000 + b"}"]
)
def test_json_the_parser_gives_up_on_is_400(county, client, creds, body):
    headers = {**creds.t, "content-type": "application/json"}
    response = client.post("/api/v1/packages", content=body, headers=headers)
    assert response.status_code == 400
    assert response.json() == {"detail": "请求无法解析", "code": "bad_request"}


@pytest.mark.parametrize("content", ["[" * 100_000 + "]" * 100_000, '{"v": ' + "9" * 5000 + "}"])
def test_catalog_json_the_parser_gives_up_on_is_422(client, creds, content):
    response = client.post("/api/v1/catalog", json={"content": content}, headers=creds.a)
    assert response.status_code == 422
    assert response.json()["detail"] == "事项目录有误，未发布：JSON 无法解析"


def test_a_huge_json_body_is_413(client, creds):
    body = b'{"hashes": ["' + b"a" * (9 * 1024 * 1024) + b'"]}'
    headers = {**creds.t, "content-type": "application/json"}
    response = client.post("/api/v1/blobs/missing", content=body, headers=headers)
    assert response.status_code == 413
    assert response.json() == {"detail": "请求内容过大：不能超过8MB", "code": "too_large"}


@pytest.mark.parametrize(
    ("method", "path", "status", "detail"),
    [
        ("get", "/api/v1/nothing", 404, "找不到该地址"),
        ("delete", "/api/v1/packages", 405, "该地址不支持此请求方法"),
    ],
)
def test_unknown_routes_answer_in_chinese(client, method, path, status, detail):
    response = client.request(method, path)
    assert response.status_code == status and response.json()["detail"] == detail


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    key=st.sampled_from([*sorted(TEMPLATE), "applicant", "proxy", "junk"]),
    value=JSON_VALUES,
    drop=st.booleans(),
)
def test_fuzzed_packages_never_break_the_server(county, client, creds, key, value, drop):
    data = json.loads(json.dumps(TEMPLATE))
    if drop and key in data:
        del data[key]
    else:
        data[key] = value
    before = snapshot(county)
    response = client.post("/api/v1/packages", json=data, headers=creds.t)
    assert response.status_code < 500
    if response.status_code >= 400:
        assert has_chinese(response.json()["detail"])
        assert snapshot(county) == before


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    kind=st.sampled_from(["signed", "correction", "decided", "dispatched", "closed", "x"]),
    data=JSON_VALUES,
)
def test_fuzzed_events_never_break_the_server(county, client, creds, kind, data):
    before = snapshot(county)
    body = {"case_uuid": TEMPLATE["case_uuid"], "kind": kind, "data": data}
    response = client.post("/api/v1/events", json=body, headers=creds.w)
    assert 400 <= response.status_code < 500
    assert has_chinese(response.json()["detail"])
    assert snapshot(county) == before


def test_openapi_schema_documents_routes_security_and_errors(client):
    schema = client.get("/openapi.json").json()
    assert schema["info"]["version"] == "1"
    expected = {
        "/api/v1/health",
        "/api/v1/packages",
        "/api/v1/packages/{case_uuid}/{revision}",
        "/api/v1/blobs/missing",
        "/api/v1/blobs/{sha256}",
        "/api/v1/events",
        "/api/v1/catalog",
        "/api/v1/catalog/latest",
        "/api/v1/catalog/{version}",
        "/api/v1/holidays",
        "/api/v1/county/cases",
        "/api/v1/county/cases/{case_uuid}",
        "/api/v1/county/blobs/{sha256}",
        "/api/v1/county/stats",
        "/progress",
    }
    assert set(schema["paths"]) == expected
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "ErrorBody" in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            if operation.get("security"):
                assert "401" in operation["responses"], path
            if operation.get("requestBody") or operation.get("parameters"):
                assert "422" in operation["responses"] or path == "/progress", path


def test_health_reports_the_database(client, county, tmp_path):
    assert client.get("/api/v1/health").json() == {
        "status": "ok",
        "protocol": 1,
        "server_time": "2026-11-16T09:30:00",
    }
    broken = CountyServer.with_master_key(
        pw.PostgresqlDatabase("nothing", host="127.0.0.1", port=1, connect_timeout=2),
        tmp_path,
        secrets.token_bytes(32),
    )
    response = TestClient(create_app(broken)).get("/api/v1/health")
    assert response.status_code == 503 and response.json()["detail"] == "数据库不可用"
