"""Versioned schema migrations: frozen SQL per version, a version row, a backup first."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
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


def _dialect(db: pw.Database) -> str:
    return "postgres" if is_postgres(db) else "sqlite"


def schema_sql(version: int, dialect: str) -> list[str]:
    text = (
        resources.files("app.store")
        .joinpath(f"schema/v{version}.{dialect}.sql")
        .read_text(encoding="utf-8")
    )
    lines = [line for line in text.splitlines() if not line.startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";\n") if stmt.strip()]


def _execute(db: pw.Database, sql: str, params: tuple[Any, ...] = ()) -> Any:
    """`db.execute_sql`, typed (peewee's stub leaves it unannotated); returns the cursor."""
    return db.execute_sql(sql, params)  # type: ignore[no-untyped-call]


def schema_version(db: pw.Database) -> int:
    if not db.table_exists("schema_version"):
        return 0
    row = _execute(db, "SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


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
    db: pw.Database, *, backup_dir: Path | None = None, target: int = LATEST_VERSION
) -> list[int]:
    """Bring the schema to `target`, one version per transaction; returns versions applied."""
    current = schema_version(db)
    if current > LATEST_VERSION:
        raise KnownError(
            f"数据库结构版本（{current}）比本程序（{LATEST_VERSION}）新，请先升级程序",
            code="too_new",
        )
    if current >= target:
        return []
    if backup_dir is not None:
        backup_before_migrate(db, backup_dir, current)
    applied = []
    dialect = _dialect(db)
    for version in range(current + 1, target + 1):
        with db.atomic():
            for statement in schema_sql(version, dialect):
                _execute(db, statement)
            _execute(
                db,
                "INSERT INTO schema_version (version, applied_at) VALUES (%s, %s)"
                if dialect == "postgres"
                else "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (version, datetime.now()),
            )
        applied.append(version)
    return applied
