"""Fixtures: a runtime on SQLite and (when BUJIANMIAN_TEST_PG_URL is set) on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import peewee as pw
import pytest

from app.security import passwords
from app.security.keystore import KeyStore, MemoryKeyring

PG_ENV = "BUJIANMIAN_TEST_PG_URL"
BACKENDS = ["sqlite"] + (["postgres"] if os.environ.get(PG_ENV) else [])


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing() -> Iterator[None]:
    """Production scrypt costs 16 MB and ~50 ms; tests use a tiny cost (same code path)."""
    previous = passwords.set_default_params(passwords.ScryptParams(n=2**8, r=8, p=1))
    yield
    passwords.set_default_params(previous)


@pytest.fixture
def keystore() -> KeyStore:
    return KeyStore(backend=MemoryKeyring())


def _pg_schema_url(base: str, schema: str) -> str:
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}options={quote(f'-c search_path={schema}')}"


@contextmanager
def pg_schema(prefix: str) -> Iterator[str]:
    """The URL of a new PostgreSQL schema on $BUJIANMIAN_TEST_PG_URL, dropped afterwards."""
    base = os.environ[PG_ENV]
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = _pg_admin(base)
    admin.execute_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield _pg_schema_url(base, schema)
    finally:
        admin.execute_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.close()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database: a SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    with pg_schema("t") as url:
        yield url


def _pg_admin(base: str) -> pw.Database:
    from app.store.db import make_database

    db = make_database(base)
    db.connect()
    return db


class FakeClock:
    """A settable 'now' for tests of lockout, idle time and deadlines."""

    def __init__(self, start: datetime) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **kwargs: float) -> None:
        from datetime import timedelta

        self.value += timedelta(**kwargs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 16, 9, 30))


@pytest.fixture
def rt(db_url: str, tmp_path: Path, keystore: KeyStore, clock: FakeClock) -> Iterator[object]:
    """An open runtime on an empty, migrated database with an in-memory keyring."""
    from app.services.runtime import open_runtime

    runtime = open_runtime(tmp_path / "data", db_url, keystore=keystore, now=clock)
    yield runtime
    runtime.close()


@pytest.fixture
def world(rt: object) -> object:
    """The demo township, catalog and one account per role, logged in at their desks."""
    from helpers.factories import make_world

    return make_world(rt)
