"""Schema migrations: upgrade keeps rows, backup first, too-new refused, schema equals models."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import peewee as pw
import pytest

from app.domain.errors import KnownError
from app.store import db as dbmod
from app.store import migrations
from app.store.migrations import LATEST_VERSION, migrate, schema_version
from app.store.models import (
    ALL_RECORDS,
    V1_RECORDS,
    AccountRecord,
    SchemaVersionRecord,
    SettingRecord,
    StationRecord,
    TownshipRecord,
)


@pytest.fixture
def database(db_url: str) -> Iterator[pw.Database]:
    """An empty database bound to the records, closed afterwards."""
    previous = dbmod.database_proxy.obj
    db = dbmod.make_database(db_url)
    db.connect()
    dbmod.bind(db)
    yield db
    db.close()
    if previous is not None:
        dbmod.bind(previous)


def _fill_v1() -> None:
    town = TownshipRecord.create(
        code="370999101", name="青禾镇", county_code="370999", county_name="青禾县"
    )
    StationRecord.create(township=town, code="minzheng", name="民政办")
    AccountRecord.create(
        username="window1", display_name="窗口甲", role="window", township=town,
        password_hash="scrypt$x", created_at=datetime(2026, 11, 1, 8, 0),
    )  # fmt: skip
    SettingRecord.create(key="idle_minutes", value="7")


def _v1_snapshot() -> dict[str, object]:
    return {
        "towns": [(t.code, t.name) for t in TownshipRecord.select()],
        "stations": [(s.code, s.township.code) for s in StationRecord.select()],
        "accounts": [(a.username, a.township.code) for a in AccountRecord.select()],
        "setting": SettingRecord.get_by_id("idle_minutes").value,
    }


def test_fresh_database_reaches_latest(database):
    assert schema_version(database) == 0
    assert migrate(database) == list(range(1, LATEST_VERSION + 1))
    assert schema_version(database) == LATEST_VERSION


def test_upgrade_from_v1_keeps_rows_and_backs_up_first(database, tmp_path: Path):
    assert migrate(database, target=1) == [1]
    assert schema_version(database) == 1
    _fill_v1()
    before = _v1_snapshot()
    backups = tmp_path / "backups"

    assert migrate(database, backup_dir=backups) == list(range(2, LATEST_VERSION + 1))

    assert schema_version(database) == LATEST_VERSION
    assert _v1_snapshot() == before
    files = list(backups.iterdir())
    assert len(files) == 1
    assert files[0].name.startswith("before-v2-")
    if dbmod.is_postgres(database):
        _check_pg_dump(files[0], database)
    else:
        _check_sqlite_backup(files[0])


def _check_sqlite_backup(path: Path) -> None:
    assert path.suffix == ".sqlite3"
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == 1
        assert conn.execute("SELECT name FROM township").fetchall() == [("青禾镇",)]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()
    assert "complaint" not in tables


def _check_pg_dump(path: Path, database: pw.Database) -> None:
    text = path.read_text(encoding="utf-8")
    schema = database.execute_sql("SELECT current_schema()").fetchone()[0]
    dumped = set(re.findall(r"CREATE TABLE (\w+)\.schema_version", text))
    assert dumped == {schema}
    assert "青禾镇" in text
    assert f"CREATE TABLE {schema}.complaint" not in text


def test_migrating_twice_is_a_no_op(database, tmp_path: Path):
    migrate(database)
    rows = SchemaVersionRecord.select().count()
    backups = tmp_path / "backups"
    assert migrate(database, backup_dir=backups) == []
    assert SchemaVersionRecord.select().count() == rows == LATEST_VERSION
    assert not backups.exists()


def test_a_newer_database_is_refused(database, tmp_path: Path):
    migrate(database)
    SchemaVersionRecord.create(version=LATEST_VERSION + 1, applied_at=datetime(2027, 1, 1))
    with pytest.raises(KnownError) as err:
        migrate(database, backup_dir=tmp_path / "backups")
    assert err.value.code == "too_new"
    assert "请先升级程序" in err.value.message
    assert str(LATEST_VERSION + 1) in err.value.message
    assert not (tmp_path / "backups").exists()


def test_open_runtime_refuses_a_newer_database(db_url, database, tmp_path: Path, keystore):
    from app.services.runtime import open_runtime

    migrate(database)
    SchemaVersionRecord.create(version=LATEST_VERSION + 1, applied_at=datetime(2027, 1, 1))
    with pytest.raises(KnownError) as err:
        open_runtime(tmp_path / "data", db_url, keystore=keystore)
    assert "比本程序" in err.value.message


def _model_columns(model: type[pw.Model]) -> list[str]:
    return sorted(f.column_name for f in model._meta.sorted_fields)


def _db_columns(database: pw.Database, table: str) -> list[str]:
    return sorted(c.name for c in database.get_columns(table))


def test_schema_matches_the_models_exactly(database):
    migrate(database)
    tables = set(database.get_tables())
    for model in ALL_RECORDS:
        table = model._meta.table_name
        assert table in tables, f"表 {table} 不存在"
        assert _db_columns(database, table) == _model_columns(model), table
    assert tables == {m._meta.table_name for m in ALL_RECORDS}


def test_v1_schema_matches_the_v1_models(database):
    migrate(database, target=1)
    for model in V1_RECORDS:
        table = model._meta.table_name
        assert _db_columns(database, table) == _model_columns(model), table


def test_every_version_has_sql_for_both_dialects():
    for version in range(1, LATEST_VERSION + 1):
        assert version in migrations.VERSION_NOTES
        for dialect in ("sqlite", "postgres"):
            statements = migrations.schema_sql(version, dialect)
            assert statements
            assert not any(s.lstrip().startswith("--") for s in statements)
