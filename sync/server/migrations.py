"""The county database's schema versions: frozen SQL in sync/server/schema/, a version table.

The same machinery as the township database (`app.store.migrations`), on a line of its own:
`county_schema_version` counts the versions, and a township database is never taken for a
county one (nor the other way round: the township's tables have other names). A county
database made before versioning (all tables, no version row) is adopted as version 1 when
its tables are exactly those of version 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import peewee as pw

from app.domain.errors import KnownError
from app.store.db import is_postgres
from app.store.migrations import SchemaLine, migrate, record_version, schema_sql

LATEST_VERSION = 1
VERSION_NOTES = {
    1: "初始结构：设置、乡镇、县级工作人员、办件、办件包、附件及其授权、县级事件、事项目录、节假日",
}
COUNTY = SchemaLine("sync.server", "county_schema_version", LATEST_VERSION, "县级数据库")
# Tables only a township database has (its version table, cases, audit trail).
TOWNSHIP_TABLES = frozenset({"schema_version", "case_file", "audit_event"})
COUNTY_PREFIX = "county_"


@dataclass(frozen=True)
class TableShape:
    """What must match for a table to count as a given version's: columns and indexes."""

    columns: tuple[tuple[str, bool, bool], ...]  # (name, nullable, primary key)
    indexes: tuple[tuple[str, tuple[str, ...], bool], ...]  # (name, columns, unique)


def table_shape(db: pw.Database, table: str) -> TableShape:
    """The columns and the declared indexes of `table` (the primary key's own index, which
    SQLite and PostgreSQL name differently, is left out: the column says it is the key)."""
    columns = tuple(
        sorted((c.name, bool(c.null), bool(c.primary_key)) for c in db.get_columns(table))
    )
    indexes = tuple(
        sorted(
            (i.name, tuple(i.columns), bool(i.unique))
            for i in db.get_indexes(table)
            if not i.name.startswith("sqlite_autoindex_") and i.name != f"{table}_pkey"
        )
    )
    return TableShape(columns, indexes)


def version_shapes(version: int) -> dict[str, TableShape]:
    """Every county table of `version` as its frozen SQL makes it (built in memory)."""
    scratch = pw.SqliteDatabase(":memory:")
    with scratch.connection_context():
        for statement in schema_sql(version, "sqlite", COUNTY):
            scratch.execute_sql(statement)  # type: ignore[no-untyped-call]
        return {table: table_shape(scratch, table) for table in scratch.get_tables()}


def _refuse_township(tables: set[str]) -> None:
    if tables & TOWNSHIP_TABLES:
        raise KnownError(
            "该数据库是乡镇端的数据库，不能用作县级数据库；请为县级服务另建一个数据库"
            "（PostgreSQL 数据库或 SQLite 文件）",
            code="township_database",
        )


def _adopt_unversioned(db: pw.Database, county_tables: set[str]) -> None:
    """Record version 1 for tables made before versioning, if they are exactly version 1's."""
    expected = version_shapes(1)
    expected.pop(COUNTY.version_table)
    problem = None
    if county_tables != set(expected):
        lacking = sorted(set(expected) - county_tables)
        extra = sorted(county_tables - set(expected))
        problem = "缺少表 " + "、".join(lacking) if lacking else "多出表 " + "、".join(extra)
    else:
        for table in sorted(expected):
            if table_shape(db, table) != expected[table]:
                problem = f"表 {table} 的列或索引不同"
                break
    if problem is not None:
        raise KnownError(
            f"县级数据库没有结构版本记录，且与第1版结构不符（{problem}），不能自动接管；"
            "请核对数据库地址，或联系技术支持",
            code="unknown_schema",
        )
    version_table = f'CREATE TABLE "{COUNTY.version_table}" '
    with db.atomic():
        dialect = "postgres" if is_postgres(db) else "sqlite"
        for statement in schema_sql(1, dialect, COUNTY):
            if statement.startswith(version_table):
                db.execute_sql(statement)  # type: ignore[no-untyped-call]
        record_version(db, 1, COUNTY)


def migrate_county(db: pw.Database, *, backup_dir: Path | None = None) -> list[int]:
    """Create, adopt or upgrade the county schema; returns the versions applied.

    Refused (with a Chinese message, nothing changed): a township database, a county schema
    newer than this program, unversioned tables that are not version 1's.
    """
    with db.connection_context():
        tables = set(db.get_tables())
        _refuse_township(tables)
        county_tables = {t for t in tables if t.startswith(COUNTY_PREFIX)}
        if county_tables and COUNTY.version_table not in county_tables:
            _adopt_unversioned(db, county_tables)
        return migrate(db, backup_dir=backup_dir, line=COUNTY)
