"""The push's hot path (sync/server/hotpath.py): the same answers as FastAPI's routes, to the
byte, for every kind of request a township sends, and really taken for the plain ones."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from county_helpers import JPEG, OTHER, PDF, TOWNSHIP, attachment, bearer, package, sha
from fastapi.testclient import TestClient

from app.store import db as dbmod
from sync.server import auth, blobs, hotpath, store
from sync.server.app import create_app
from sync.server.context import CountyServer
from sync.server.store import CountyBlobGrantRecord, CountyBlobRecord, CountyPackageRecord

GIF = b"GIF89a" + b"\x00" * 30
CASE = "6f1c2a4e-8d3b-4c5a-9e7f-0a1b2c3d4e5f"
Step = tuple[str, str, dict[str, Any]]


def _transcript() -> list[Step]:
    """Every kind of request of a push, in an order that makes each answer different."""
    both = [attachment(JPEG, "image/jpeg"), attachment(PDF)]
    first = package(case_uuid=CASE, attachments=both)
    changed = {**first, "item_name": "另一个事项名称"}
    json_headers = {"Content-Type": "application/json"}
    return [
        ("POST", "/api/v1/blobs/missing", {"json": {"hashes": [sha(JPEG), sha(PDF)]}}),
        ("PUT", f"/api/v1/blobs/{sha(JPEG)}", {"content": JPEG}),
        ("PUT", f"/api/v1/blobs/{sha(JPEG)}", {"content": JPEG}),  # again: 200
        ("PUT", f"/api/v1/blobs/{sha(PDF)}", {"content": JPEG}),  # not its bytes
        ("PUT", f"/api/v1/blobs/{sha(GIF)}", {"content": GIF}),  # not a PDF, JPEG or PNG
        ("PUT", f"/api/v1/blobs/{sha(b'')}", {"content": b""}),  # empty
        ("POST", "/api/v1/blobs/missing", {"json": {"hashes": [sha(JPEG), sha(PDF)]}}),
        ("POST", "/api/v1/packages", {"json": first}),  # a blob still missing
        ("PUT", f"/api/v1/blobs/{sha(PDF)}", {"content": PDF}),
        ("POST", "/api/v1/packages", {"json": first}),  # new: 201
        ("POST", "/api/v1/packages", {"json": first}),  # a resend: 200, the same receipt
        ("POST", "/api/v1/packages", {"json": changed}),  # other content, same revision
        ("POST", "/api/v1/packages", {"json": package(OTHER, 2)}),  # another township's
        ("POST", "/api/v1/packages", {"json": {**first, "revision": "二"}}),  # invalid
        ("POST", "/api/v1/packages", {"content": b'{"case_uuid": ', "headers": json_headers}),
        ("POST", "/api/v1/packages", {"content": b"", "headers": json_headers}),
        ("POST", "/api/v1/blobs/missing", {"json": {"hashes": ["abc"]}}),
        ("POST", "/api/v1/blobs/missing", {"json": {"hashes": []}}),
        ("POST", "/api/v1/blobs/missing", {"json": {"hashes": [sha(PDF)]}, "params": {"x": "1"}}),
        ("POST", "/api/v1/blobs/missing", {"content": b'{"hashes": []}'}),  # no JSON type
        ("POST", "/api/v1/blobs/missing",
         {"content": b'{"hashes": []}', "headers": {"Content-Type": "text/plain"}}),
        ("PUT", f"/api/v1/blobs/{sha(PDF).upper()}", {"content": PDF}),  # not a hash address
        ("GET", "/api/v1/blobs/missing", {}),
    ]  # fmt: skip


def _answers(client: TestClient, headers: dict[str, str]) -> list[tuple[int, str, bytes]]:
    answers = []
    for method, path, options in _transcript():
        sent = {**headers, **options.pop("headers", {})}
        response = client.request(method, path, headers=sent, **options)
        extra = {k: v for k, v in response.headers.items() if k not in ("content-length",)}
        answers.append((response.status_code, json.dumps(extra, sort_keys=True), response.content))
    return answers


def _state(server: CountyServer) -> tuple[int, int, int, list[str]]:
    with store.connection(server.db):
        counts = (
            CountyBlobRecord.select().count(),
            CountyBlobGrantRecord.select().count(),
            CountyPackageRecord.select().count(),
        )
    files = sorted(p.name for p in server.blobs_dir.rglob("*") if p.is_file())
    return (*counts, files)


def _run(server: CountyServer, hot: bool) -> tuple[list[Any], Any]:
    credential = auth.add_township(server.db, TOWNSHIP, "青禾镇")
    auth.add_township(server.db, OTHER, "白杨镇")
    client = TestClient(create_app(server, hot_path=hot))
    # A credential is verified once through the routes; only then is the hot path taken.
    assert client.get("/api/v1/holidays", headers=bearer(credential)).status_code == 404
    return _answers(client, bearer(credential)), _state(server)


def test_the_hot_path_answers_every_request_as_the_routes_do(
    county: CountyServer, county_db_url: str, clock: Any
) -> None:
    through_routes = _run(county, hot=False)
    second = CountyServer.with_master_key(
        store.open_database(county_db_url, pool=True),
        county.data_dir.parent / "county-hot",
        secrets.token_bytes(32),
        now=clock,
    )
    try:
        through_hot_path = _run(second, hot=True)
    finally:
        second.close()
    statuses = [status for status, _, _ in through_routes[0]]
    assert statuses == [200, 201, 200, 422, 415, 422, 200, 422, 201, 201, 200, 409, 403,
                        422, 422, 422, 422, 422, 200, 422, 422, 404, 405]  # fmt: skip
    assert through_hot_path == through_routes


@pytest.fixture
def inner_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The requests the hot path hands on to the application's routes."""
    calls: list[str] = []
    real_init: Callable[..., None] = hotpath.PushHotPath.__init__

    def counting_init(self: hotpath.PushHotPath, app: Any, *, server: CountyServer) -> None:
        async def counted(scope: Any, receive: Any, send: Any) -> None:
            calls.append(f"{scope['method']} {scope['path']}")
            await app(scope, receive, send)

        real_init(self, counted, server=server)

    monkeypatch.setattr(hotpath.PushHotPath, "__init__", counting_init)
    return calls


def test_plain_push_requests_skip_the_routes_and_others_reach_them(
    county: CountyServer, creds: Any, inner_calls: list[str]
) -> None:
    client = TestClient(create_app(county))
    missing = {"hashes": [sha(PDF)]}
    pushed = package(case_uuid=str(uuid.uuid4()), attachments=[attachment(PDF)])
    # First use of the credential: checked by the routes (scrypt), then remembered.
    assert client.post("/api/v1/blobs/missing", json=missing, headers=creds.t).status_code == 200
    assert inner_calls == ["POST /api/v1/blobs/missing"]
    inner_calls.clear()

    assert client.post("/api/v1/blobs/missing", json=missing, headers=creds.t).json() == {
        "missing": [sha(PDF)]
    }
    assert client.put(f"/api/v1/blobs/{sha(PDF)}", content=PDF, headers=creds.t).status_code == 201
    assert client.post("/api/v1/packages", json=pushed, headers=creds.t).status_code == 201
    assert client.post("/api/v1/packages", json=pushed, headers=creds.t).status_code == 200
    assert inner_calls == []

    wrong = bearer("bjt.370999101." + "A" * 43)
    assert client.post("/api/v1/blobs/missing", json=missing, headers=wrong).status_code == 401
    invalid = client.post("/api/v1/packages", json={**pushed, "revision": 0}, headers=creds.t)
    assert invalid.status_code == 422
    assert invalid.json()["code"] == "invalid"
    assert inner_calls == ["POST /api/v1/blobs/missing", "POST /api/v1/packages"]


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def test_a_missing_blobs_query_is_answered_in_the_loop_when_a_connection_is_idle(
    county: CountyServer, creds: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not dbmod.is_postgres(county.db):
        pytest.skip("only a PostgreSQL pool hands out an idle connection without waiting")
    read_in_loop: list[bool] = []
    read = blobs.missing_for

    def watched(*args: Any) -> Any:
        read_in_loop.append(_in_event_loop())
        return read(*args)

    monkeypatch.setattr(blobs, "missing_for", watched)
    client = TestClient(create_app(county))
    query = {"hashes": [sha(PDF)]}
    expected = {"missing": [sha(PDF)]}
    # The credential's first use, through the routes: in a worker thread.
    assert client.post("/api/v1/blobs/missing", json=query, headers=creds.t).json() == expected
    # Its connection now sits idle in the pool: the event loop takes it.
    assert client.post("/api/v1/blobs/missing", json=query, headers=creds.t).json() == expected
    county.db.close_idle()  # none idle: a worker thread, which may wait for one or connect
    assert client.post("/api/v1/blobs/missing", json=query, headers=creds.t).json() == expected
    assert read_in_loop == [False, True, False]
    idle, in_use = [conn for _, _, conn in county.db._connections], county.db._in_use
    assert len(idle) == 1 and not in_use  # every connection given back


def test_the_event_loop_never_opens_a_connection_or_takes_a_broken_one(county: CountyServer):
    if not dbmod.is_postgres(county.db):
        pytest.skip("only a PostgreSQL pool hands out an idle connection without waiting")
    db = county.db
    db.close_idle()
    with pytest.raises(store.NotSpare), store.spare_only(db), store.connection(db):
        pass
    assert not db._connections and not db._in_use  # none opened
    with store.connection(db):  # one opened the usual way, then given back
        broken = db.connection()
    broken.close()  # as if the database had dropped it
    with pytest.raises(store.NotSpare), store.spare_only(db), store.connection(db):
        pass
    assert not db._connections  # the broken one thrown away, none opened
