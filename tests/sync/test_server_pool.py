"""The serving process's connection pool and credential cache: connections reused, given back
after errors with nothing of one request left for the next, a busy pool answered with a 503;
a credential re-read from the database costs no second scrypt unless its hash changed."""

from __future__ import annotations

import time
from typing import Any

import pytest
from county_helpers import TOWNSHIP, bearer, package
from fastapi.testclient import TestClient

from app.store import db as dbmod
from sync.server import auth, store
from sync.server.app import create_app
from sync.server.auth import CredentialCache
from sync.server.context import CountyServer
from sync.server.store import CountyCaseRecord


def _pool(db: Any) -> tuple[list[Any], dict[int, Any]]:
    """(idle connections, connections in use) of a playhouse pool."""
    return [conn for _, _, conn in db._connections], db._in_use


def test_requests_reuse_one_connection_and_give_it_back(county: CountyServer):
    credential = auth.add_township(county.db, TOWNSHIP, "青禾镇")
    client = TestClient(create_app(county))
    idle, in_use = _pool(county.db)
    assert len(idle) == 1 and not in_use
    first = idle[0]
    for _ in range(5):
        assert client.get("/api/v1/events", headers=bearer(credential)).status_code == 200
        assert client.get("/api/v1/health").status_code == 200
    idle, in_use = _pool(county.db)
    assert idle == [first] and not in_use


def test_a_failed_request_gives_its_connection_back_rolled_back(
    county: CountyServer, monkeypatch: pytest.MonkeyPatch
):
    credential = auth.add_township(county.db, TOWNSHIP, "青禾镇")
    client = TestClient(create_app(county), raise_server_exceptions=False)
    data = package()

    def broken(txn: store.Batched, *statements: store.Statement) -> Any:
        for text, params in statements:  # the case and package rows written, not committed
            store.execute(txn.db, text, params)
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(store.Batched, "commit", broken)
    failed = client.post("/api/v1/packages", json=data, headers=bearer(credential))
    assert failed.status_code == 500
    idle, in_use = _pool(county.db)
    assert not in_use and len(idle) == 1
    conn = idle[0]
    if dbmod.is_postgres(county.db):
        import psycopg2.extensions as ext

        assert conn.get_transaction_status() == ext.TRANSACTION_STATUS_IDLE
    else:
        assert not conn.in_transaction
    with store.connection(county.db):
        assert CountyCaseRecord.select().count() == 0  # nothing of the failed request stayed

    monkeypatch.undo()
    again = client.post("/api/v1/packages", json=data, headers=bearer(credential))
    assert again.status_code == 201
    idle, in_use = _pool(county.db)
    assert idle == [conn] and not in_use


def test_a_refused_write_leaves_no_transaction_behind(county: CountyServer):
    credential = auth.add_township(county.db, TOWNSHIP, "青禾镇")
    client = TestClient(create_app(county))
    data = package(attachments=[{"sha256": "a" * 64, "size": 5, "mime": "application/pdf",
                                 "material": ""}])  # fmt: skip
    refused = client.post("/api/v1/packages", json=data, headers=bearer(credential))
    assert refused.status_code == 422 and refused.json()["code"] == "missing_blobs"
    # The same connection takes the next write at once (SQLite: a leftover BEGIN IMMEDIATE
    # would block it until the busy timeout).
    assert client.post("/api/v1/packages", json=package(serial=2),
                       headers=bearer(credential)).status_code == 201  # fmt: skip
    assert not _pool(county.db)[1]


def test_every_connection_busy_is_a_503_not_a_500(county: CountyServer):
    credential = auth.add_township(county.db, TOWNSHIP, "青禾镇")
    client = TestClient(create_app(county))
    county.db._max_connections = 1  # type: ignore[attr-defined]
    county.db._wait_timeout = 0.2  # type: ignore[attr-defined]
    with store.connection(county.db):  # this thread holds the only one
        busy = client.get("/api/v1/events", headers=bearer(credential))
    assert busy.status_code == 503
    assert busy.json()["code"] == "busy" and busy.headers["retry-after"] == "5"
    assert client.get("/api/v1/events", headers=bearer(credential)).status_code == 200


def test_a_connection_the_database_dropped_is_replaced(county: CountyServer, db_url: str):
    if not db_url.startswith("postgres"):
        pytest.skip("only a database server drops connections")
    credential = auth.add_township(county.db, TOWNSHIP, "青禾镇")
    client = TestClient(create_app(county))
    (conn,) = _pool(county.db)[0]
    killer = dbmod.make_database(db_url)
    pid = conn.get_backend_pid()
    with killer.connection_context():
        killer.execute_sql("SELECT pg_terminate_backend(%s)", (pid,))
        # Terminating is asynchronous: wait (bounded) until the backend has gone, as a
        # connection dropped in the field went long before the next request came.
        for _ in range(100):
            gone = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
            if killer.execute_sql(gone, (pid,)).fetchone()[0] == 0:
                break
            time.sleep(0.05)
    assert client.get("/api/v1/events", headers=bearer(credential)).status_code == 200
    idle, in_use = _pool(county.db)
    assert conn not in idle and len(idle) == 1 and not in_use


def test_a_reread_credential_is_not_checked_with_scrypt_again(
    county: CountyServer, client: TestClient, monkeypatch: pytest.MonkeyPatch
):
    county.credentials = CredentialCache(ttl=0)  # read the row on every request
    credential = auth.add_township(county.db, TOWNSHIP, "青禾镇")
    checks: list[str] = []
    verify = auth.verify_password

    def counted(secret: str, stored: str) -> bool:
        checks.append(stored)
        return verify(secret, stored)

    monkeypatch.setattr(auth, "verify_password", counted)
    for _ in range(3):
        assert client.get("/api/v1/events", headers=bearer(credential)).status_code == 200
    assert len(checks) == 1
    new = auth.reissue_township_credential(county.db, TOWNSHIP)
    assert client.get("/api/v1/events", headers=bearer(credential)).status_code == 401
    assert client.get("/api/v1/events", headers=bearer(new)).status_code == 200
    assert client.get("/api/v1/events", headers=bearer(new)).status_code == 200
    assert len(checks) == 3  # the old one once more (refused), the new one once
