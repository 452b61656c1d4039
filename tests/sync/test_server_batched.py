"""The push routes' database work: their write transaction (store.batched: BEGIN sent with the
first statements, COMMIT with the last write, and still all or nothing) and, on PostgreSQL,
their statements prepared once per connection (store.prepared)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import peewee as pw
import pytest
from county_helpers import JPEG, attachment, package, sha
from fastapi.testclient import TestClient

from app.store import db as dbmod
from sync.server import packages, store
from sync.server.app import create_app
from sync.server.store import CountyCaseRecord, CountyPackageRecord, CountySettingRecord

ADD = "INSERT INTO county_setting (key, value) VALUES (?, ?)"


def settings(county) -> dict[str, str]:
    """The settings as another thread's connection sees them (committed ones only)."""

    def read() -> dict[str, str]:
        with store.connection(county.db):
            return {row.key: row.value for row in CountySettingRecord.select()}

    with ThreadPoolExecutor(1) as other:
        return other.submit(read).result(timeout=30)


def test_statements_begun_and_committed_together_are_stored(county):
    with store.batched(county.db) as txn:
        txn.begin((ADD, ("first", "1")), (ADD, ("second", "2")))
        txn.commit((ADD, ("third", "3")))
        assert not txn.open
    assert settings(county) == {"first": "1", "second": "2", "third": "3"}


def test_a_transaction_left_without_its_commit_is_committed_at_the_end(county):
    with store.batched(county.db) as txn:
        txn.begin((ADD, ("only", "1")))
    assert settings(county) == {"only": "1"}


def test_a_failing_last_write_undoes_the_first_ones_and_the_connection_stays_usable(county):
    with pytest.raises(pw.IntegrityError), store.batched(county.db) as txn:
        txn.begin((ADD, ("kept", "1")))
        txn.commit((ADD, ("kept", "again")))  # the same key: refused
    assert settings(county) == {}
    with store.batched(county.db) as txn:  # this thread's connection, from the pool again
        txn.commit((ADD, ("after", "1")))
    assert settings(county) == {"after": "1"}


def test_an_error_between_begin_and_commit_undoes_everything(county):
    with pytest.raises(RuntimeError), store.batched(county.db) as txn:
        txn.begin((ADD, ("half", "1")))
        raise RuntimeError("a check refused the request")
    assert settings(county) == {}


def _waiting_for_a_lock(county) -> bool:
    with store.connection(county.db):
        row = store.execute(county.db, "SELECT count(*) FROM pg_locks WHERE NOT granted")
        return bool(row.fetchone()[0])


def test_a_copy_that_waited_for_the_township_lock_sees_what_the_first_stored(
    county, creds, monkeypatch
):
    """The lock and the read of the case go together (one round trip on PostgreSQL), yet the
    read sees what the lock's holder committed while the copy waited: the copy gets the
    original receipt, not a second insert refused by the database."""
    data = package()
    app = create_app(county)
    writing, go, second_sent = threading.Event(), threading.Event(), threading.Event()
    first_write = packages._write

    def held_write(*args):
        if not writing.is_set():
            writing.set()
            assert go.wait(30)
        return first_write(*args)

    monkeypatch.setattr(packages, "_write", held_write)

    def send(second: bool) -> tuple[int, bytes]:
        client = TestClient(app)
        if second:
            assert writing.wait(30)
            second_sent.set()
        response = client.post("/api/v1/packages", json=data, headers=creds.t)
        return response.status_code, response.content

    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(send, False)
        second = pool.submit(send, True)
        assert second_sent.wait(30)
        if dbmod.is_postgres(county.db):
            deadline = time.monotonic() + 30
            while not _waiting_for_a_lock(county):
                assert time.monotonic() < deadline, "the copy never waited for the lock"
                time.sleep(0.01)
        else:  # SQLite: the copy waits at BEGIN IMMEDIATE, which cannot be watched
            time.sleep(0.3)
        go.set()
        results = [first.result(timeout=60), second.result(timeout=60)]
    assert [code for code, _ in results] == [201, 200]
    assert results[0][1] == results[1][1]
    with store.connection(county.db):
        assert (CountyCaseRecord.select().count(), CountyPackageRecord.select().count()) == (1, 1)


def _prepared_statements(county) -> list[str]:
    with store.connection(county.db):
        rows = store.execute(county.db, "SELECT statement FROM pg_prepared_statements")
        return sorted(row[0] for row in rows)


def _push(client, creds, serial: int) -> None:
    scans = [JPEG + bytes([serial, part]) * 50 for part in range(2)]
    hashes = [sha(data) for data in scans]
    missing = client.post("/api/v1/blobs/missing", json={"hashes": hashes}, headers=creds.t)
    assert missing.json() == {"missing": hashes}
    for data in scans:
        assert client.put(f"/api/v1/blobs/{sha(data)}", content=data,
                          headers=creds.t).status_code == 201  # fmt: skip
    data = package(serial=serial, attachments=[attachment(s, "image/jpeg") for s in scans])
    assert client.post("/api/v1/packages", json=data, headers=creds.t).status_code == 201


def test_the_push_statements_are_prepared_once_per_connection(county, creds):
    if not dbmod.is_postgres(county.db):
        pytest.skip("SQLite keeps its own statement cache")
    client = TestClient(create_app(county))
    _push(client, creds, 1)
    first = _prepared_statements(county)
    # The missing-blobs query, two uploads' insert, the lock, the package's state and insert.
    assert len(first) == 5
    assert any("FOR UPDATE" in text for text in first)
    assert any("synchronous_commit" in text for text in first)
    _push(client, creds, 2)
    assert _prepared_statements(county) == first  # executed by name, not prepared again


def test_a_statement_postgresql_cannot_prepare_runs_as_it_is(county):
    undetermined = "SELECT ? IS NULL"  # the parameter's type cannot be told: PREPARE refuses
    with store.connection(county.db):
        sent = store.prepared(county.db, undetermined)
        assert sent == undetermined
        assert store.execute(county.db, sent, (None,)).fetchone()[0] in (True, 1)
    with store.batched(county.db) as txn:  # refused inside a transaction, which goes on
        txn.begin((ADD, ("before", "1")))
        assert store.prepared(county.db, undetermined + " AND TRUE") == undetermined + " AND TRUE"
        txn.commit((ADD, ("after", "1")))
    assert settings(county) == {"after": "1", "before": "1"}


def test_prepared_statements_per_connection_are_bounded(county):
    with store.connection(county.db):
        sent = [store.prepared(county.db, f"SELECT {n} + CAST(? AS INTEGER)")
                for n in range(store.MAX_PREPARED + 3)]  # fmt: skip
        results = [store.execute(county.db, text, (1,)).fetchone()[0] for text in sent]
    assert results == [n + 1 for n in range(store.MAX_PREPARED + 3)]
    if dbmod.is_postgres(county.db):
        assert sum(text.startswith("EXECUTE") for text in sent) == store.MAX_PREPARED
        assert len(_prepared_statements(county)) == store.MAX_PREPARED
