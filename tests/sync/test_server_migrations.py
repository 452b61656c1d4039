"""County schema versions: a fresh database gets v1, the frozen SQL equals the records, a
township database and a newer county schema are refused, an unversioned one is adopted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import peewee as pw
import pytest
from county_helpers import TOWNSHIP

from app.domain.errors import KnownError
from app.store import db as dbmod
from app.store import migrations as township_migrations
from sync.server import auth, migrations, store
from sync.server.__main__ import main
from sync.server.context import open_server
from sync.server.migrations import COUNTY, LATEST_VERSION, migrate_county
from sync.server.store import COUNTY_RECORDS, CountySchemaVersionRecord, CountyTownshipRecord

# What the server made before versioning: every table but the version table.
UNVERSIONED = [m for m in COUNTY_RECORDS if m is not CountySchemaVersionRecord]


def _bound(url: str) -> pw.Database:
    db = dbmod.make_database(url)
    dbmod.bind(db)
    return db


@pytest.fixture
def database(db_url: str) -> Iterator[pw.Database]:
    """An empty database bound to the records, closed afterwards."""
    previous = dbmod.database_proxy.obj
    db = _bound(db_url)
    yield db
    db.close()
    if previous is not None:
        dbmod.bind(previous)


def _tables(db: pw.Database) -> set[str]:
    with db.connection_context():
        return set(db.get_tables())


def _version(db: pw.Database) -> int:
    with db.connection_context():
        return township_migrations.schema_version(db, COUNTY)


def _make_unversioned(db: pw.Database) -> None:
    """The tables as the old `create_county_tables` made them, with one township in them."""
    with db.connection_context():
        db.create_tables(UNVERSIONED, safe=True)
    auth.add_township(db, TOWNSHIP, "青禾镇")


def test_fresh_database_gets_the_latest_version(database):
    assert _version(database) == 0
    assert migrate_county(database) == list(range(1, LATEST_VERSION + 1))
    assert _version(database) == LATEST_VERSION
    assert _tables(database) == {m._meta.table_name for m in COUNTY_RECORDS}
    with database.connection_context():
        assert [r.version for r in CountySchemaVersionRecord.select()] == [1]


def test_opening_again_changes_nothing_and_keeps_rows(db_url, database, tmp_path):
    migrate_county(database)
    auth.add_township(database, TOWNSHIP, "青禾镇")
    again = store.open_database(db_url, backup_dir=tmp_path / "backups")
    with again.connection_context():
        assert CountySchemaVersionRecord.select().count() == LATEST_VERSION
        assert [t.name for t in CountyTownshipRecord.select()] == ["青禾镇"]
    assert migrate_county(again) == []
    assert not (tmp_path / "backups").exists()


def _shape(db: pw.Database, table: str) -> tuple[object, ...]:
    columns = sorted(
        (c.name, c.full_type, c.null, c.primary_key, c.default) for c in db.get_columns(table)
    )
    indexes = sorted((i.name, tuple(i.columns), i.unique) for i in db.get_indexes(table))
    keys = sorted(
        (k.column, k.dest_table, k.dest_column, k.on_delete) for k in db.get_foreign_keys(table)
    )
    return columns, indexes, keys


def test_frozen_sql_equals_what_the_records_declare(database, county_db_url):
    """The v1 SQL makes exactly the tables, columns, types, indexes and keys that peewee
    makes from the records (in a second database of the same kind)."""
    migrate_county(database)
    from_records = _bound(county_db_url)
    with from_records.connection_context():
        from_records.create_tables(list(COUNTY_RECORDS))
    dbmod.bind(database)
    with database.connection_context(), from_records.connection_context():
        assert set(database.get_tables()) == set(from_records.get_tables())
        for model in COUNTY_RECORDS:
            table = model._meta.table_name
            assert _shape(database, table) == _shape(from_records, table), table
            columns = sorted(c.name for c in database.get_columns(table))
            assert columns == sorted(f.column_name for f in model._meta.sorted_fields), table
    from_records.close()


def test_every_version_has_notes_and_sql_for_both_dialects():
    for version in range(1, LATEST_VERSION + 1):
        assert version in migrations.VERSION_NOTES
        for dialect in ("sqlite", "postgres"):
            statements = township_migrations.schema_sql(version, dialect, COUNTY)
            assert statements
            assert not any(s.lstrip().startswith("--") for s in statements)
            assert all(f'"{t}"' not in " ".join(statements) for t in migrations.TOWNSHIP_TABLES)


def _refused(db_url: str, database: pw.Database, code: str) -> str:
    """Opening `db_url` as the county database fails with `code` and changes no table."""
    before = _tables(database)
    with pytest.raises(KnownError) as err:
        store.open_database(db_url)
    assert err.value.code == code
    assert _tables(database) == before
    return err.value.message


def test_a_township_database_is_refused(db_url, database, capsys):
    with database.connection_context():
        township_migrations.migrate(database)
    before = _tables(database)
    assert "乡镇端的数据库" in _refused(db_url, database, "township_database")
    assert main(["--db", db_url, "township-add", TOWNSHIP, "青禾镇"]) == 2
    assert "不能用作县级数据库" in capsys.readouterr().err
    assert _tables(database) == before


def test_a_newer_county_schema_is_refused(db_url, database, tmp_path):
    migrate_county(database)
    with database.connection_context():
        CountySchemaVersionRecord.create(
            version=LATEST_VERSION + 1, applied_at=datetime(2027, 1, 1)
        )
    with pytest.raises(KnownError) as err:
        open_server(db_url, tmp_path / "county", keystore=None, ask_passphrase=lambda: "x" * 12)
    assert err.value.code == "too_new"
    assert err.value.message == (
        f"县级数据库结构版本（{LATEST_VERSION + 1}）比本程序（{LATEST_VERSION}）新，请先升级程序"
    )
    assert not (tmp_path / "county" / "backups").exists()
    assert _version(database) == LATEST_VERSION + 1


def test_an_unversioned_county_database_is_adopted_as_v1(db_url, database):
    _make_unversioned(database)
    assert COUNTY.version_table not in _tables(database)

    adopted = store.open_database(db_url)

    assert _version(adopted) == 1
    with adopted.connection_context():
        assert [t.code for t in CountyTownshipRecord.select()] == [TOWNSHIP]
        assert CountySchemaVersionRecord.select().count() == 1
    assert _tables(adopted) == {m._meta.table_name for m in COUNTY_RECORDS}
    assert migrate_county(adopted) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ('DROP INDEX "countycaserecord_status_deadline"', "表 county_case 的列或索引不同"),
        ('DROP TABLE "county_holiday_year"', "缺少表 county_holiday_year"),
        ('CREATE TABLE "county_extra" ("id" INTEGER)', "多出表 county_extra"),
    ],
)
def test_unversioned_tables_that_are_not_v1_are_refused(db_url, database, change, problem):
    _make_unversioned(database)
    with database.connection_context():
        database.execute_sql(change)
    message = _refused(db_url, database, "unknown_schema")
    assert problem in message
    assert "不能自动接管" in message


def test_a_county_database_is_refused_as_a_township_database(database):
    migrate_county(database)
    before = _tables(database)
    with database.connection_context(), pytest.raises(KnownError) as err:
        township_migrations.migrate(database)
    assert err.value.code == "county_database" and "县级服务器的数据库" in err.value.message
    assert _tables(database) == before
