"""Fixtures for the county server: a server on a fresh database, its client, credentials."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from county_helpers import OTHER, TOWNSHIP, bearer
from fastapi.testclient import TestClient
from helpers.fixtures import pg_schema

from sync.server import auth, store
from sync.server.app import create_app
from sync.server.context import CountyServer


@dataclass(frozen=True)
class Credentials:
    township: str
    other: str
    window: str
    admin: str

    @property
    def t(self) -> dict[str, str]:
        return bearer(self.township)

    @property
    def o(self) -> dict[str, str]:
        return bearer(self.other)

    @property
    def w(self) -> dict[str, str]:
        return bearer(self.window)

    @property
    def a(self) -> dict[str, str]:
        return bearer(self.admin)


@pytest.fixture
def county_db_url(db_url: str, tmp_path: Path) -> Iterator[str]:
    """A second empty database of the same kind as `db_url`, for a county server process
    next to a township database (SQLite file, or another PostgreSQL schema)."""
    if db_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'county.sqlite3'}"
        return
    with pg_schema("c") as url:
        yield url


@pytest.fixture
def county(db_url: str, tmp_path: Path, clock: object) -> Iterator[CountyServer]:
    """A county server state on an empty database with the county tables created, its
    connections pooled as in the serving process."""
    db = store.open_database(db_url, pool=True)
    server = CountyServer.with_master_key(
        db,
        tmp_path / "county",
        secrets.token_bytes(32),
        now=clock,  # type: ignore[arg-type]
    )
    yield server
    server.close()


@pytest.fixture
def creds(county: CountyServer) -> Credentials:
    return Credentials(
        township=auth.add_township(county.db, TOWNSHIP, "青禾镇"),
        other=auth.add_township(county.db, OTHER, "白杨镇"),
        window=auth.add_staff(county.db, "county1", "县窗口甲", "window"),
        admin=auth.add_staff(county.db, "admin1", "县管理员", "admin"),
    )


@pytest.fixture
def client(county: CountyServer) -> TestClient:
    return TestClient(create_app(county))
