"""Versioned schema migrations: frozen SQL per version, a version row, a backup first.

One `SchemaLine` per kind of database: the township database (`TOWNSHIP`, the default of
every function here) and the county server's own (`sync.server.migrations`). Each has its
frozen files `schema/v<N>.<sqlite|postgres>.sql` in its package and its own version table.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import peewee as pw

from app.domain.errors import KnownError
from app.store.db import is_postgres, sqlite_connection

LATEST_VERSION = 2
VERSION_NOTES = {
    1: (
        "初始结构：乡镇、站办所、窗口、账号、事项目录、申请人、办件、材料、附件、留痕、"
        "外发队列、文书、评价、节假日"
    ),
    2: "投诉与咨询登记",
}


@dataclass(frozen=True)
class SchemaLine:
    """The versions of one kind of database: where its SQL lives and where its version is kept."""

    package: str  # holds schema/v<N>.<dialect>.sql
    version_table: str
    latest: int
    label: str  # how messages name the database


TOWNSHIP = SchemaLine("app.store", "schema_version", LATEST_VERSION, "数据库")


# The county server's version table: its database must never be taken for a township's.
COUNTY_VERSION_TABLE = "county_schema_version"


def _dialect(db: pw.Database) -> str:
    return "postgres" if is_postgres(db) else "sqlite"


def schema_sql(version: int, dialect: str, line: SchemaLine = TOWNSHIP) -> list[str]:
    text = (
        resources.files(line.package)
        .joinpath(f"schema/v{version}.{dialect}.sql")
        .read_text(encoding="utf-8")
    )
    lines = [line for line in text.splitlines() if not line.startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";\n") if stmt.strip()]


def _execute(db: pw.Database, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """`db.execute_sql`, typed (peewee's stub leaves it unannotated); returns the cursor."""
    return db.execute_sql(sql, params)  # type: ignore[no-untyped-call]


def schema_version(db: pw.Database, line: SchemaLine = TOWNSHIP) -> int:
    if not db.table_exists(line.version_table):
        return 0
    row = _execute(db, f'SELECT MAX(version) FROM "{line.version_table}"').fetchone()
    return int(row[0] or 0)


def record_version(db: pw.Database, version: int, line: SchemaLine = TOWNSHIP) -> None:
    """Add the row saying `version` is applied (inside the caller's transaction)."""
    param = "%s" if is_postgres(db) else "?"
    _execute(
        db,
        f'INSERT INTO "{line.version_table}" (version, applied_at) VALUES ({param}, {param})',
        (version, datetime.now()),
    )


def backup_before_migrate(db: pw.Database, backup_dir: Path, from_version: int) -> Path | None:
    """Copy an existing database before changing its schema; None for an empty one."""
    if from_version == 0:
        return None
    backup_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    if is_postgres(db):
        target = backup_dir / f"before-v{from_version + 1}-{stamp}.sql"
        dump_postgres(db, target)
        return target
    target = backup_dir / f"before-v{from_version + 1}-{stamp}.sqlite3"
    sqlite_online_backup(sqlite_connection(db), target)
    return target


def sqlite_online_backup(conn: sqlite3.Connection, target: Path) -> None:
    """SQLite's online backup API: a consistent copy while others may be writing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    dest = sqlite3.connect(str(target))
    try:
        conn.backup(dest)
        # The copy inherits WAL mode; a backup must be one self-contained file, so that
        # reading it never leaves -wal/-shm files beside it.
        dest.execute("PRAGMA journal_mode=DELETE")
    finally:
        dest.close()


def _search_path_schema(options: str) -> str | None:
    """The first schema of `-c search_path=...` in libpq options, if the URL sets one."""
    match = re.search(r"search_path\s*=\s*([^\s,]+)", options)
    return match.group(1).strip('"') if match else None


def dump_postgres(db: pw.Database, target: Path) -> None:
    exe = shutil.which("pg_dump")
    if exe is None:
        raise KnownError(
            "未找到 pg_dump，无法在升级前备份 PostgreSQL 数据库；请先安装 PostgreSQL 客户端"
        )
    params = db.connect_params
    cmd = [exe, "--no-owner", "-f", str(target), "-d", db.database]
    if params.get("host"):
        cmd += ["-h", str(params["host"]), "-p", str(params.get("port", 5432))]
    if params.get("user"):
        cmd += ["-U", str(params["user"])]
    # A URL that selects a schema (options=-c search_path=...) keeps its data there:
    # dump that schema, not every schema of the database.
    schema = _search_path_schema(str(params.get("options", "")))
    if schema:
        cmd += ["-n", schema]
    env = {"PGPASSWORD": str(params["password"])} if params.get("password") else {}
    result = subprocess.run(cmd, env={**os.environ, **env}, capture_output=True, timeout=600)
    if result.returncode != 0:
        raise KnownError("PostgreSQL 备份失败：" + result.stderr.decode("utf-8", "replace")[-300:])


def migrate(
    db: pw.Database,
    *,
    backup_dir: Path | None = None,
    target: int | None = None,
    line: SchemaLine = TOWNSHIP,
) -> list[int]:
    """Bring the schema to `target` (default: the latest), one version per transaction;
    returns the versions applied."""
    current = schema_version(db, line)
    if current > line.latest:
        raise KnownError(
            f"{line.label}结构版本（{current}）比本程序（{line.latest}）新，请先升级程序",
            code="too_new",
        )
    if line is TOWNSHIP and current == 0 and COUNTY_VERSION_TABLE in db.get_tables():
        raise KnownError(
            "该数据库是县级服务器的数据库，不能用作乡镇端数据库；请为乡镇端另建一个数据库",
            code="county_database",
        )
    goal = line.latest if target is None else target
    if current >= goal:
        return []
    if backup_dir is not None:
        backup_before_migrate(db, backup_dir, current)
    applied = []
    dialect = _dialect(db)
    for version in range(current + 1, goal + 1):
        with db.atomic():
            for statement in schema_sql(version, dialect, line):
                _execute(db, statement)
            record_version(db, version, line)
        applied.append(version)
    return applied
