"""Versioned schema migrations: frozen SQL per version, a version row, a backup first."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from datetime import datetime
from importlib import resources
from pathlib import Path

import peewee as pw

from app.domain.errors import KnownError
from app.store.db import is_postgres

LATEST_VERSION = 2
VERSION_NOTES = {
    1: "初始结构：乡镇、站办所、窗口、账号、事项目录、申请人、办件、材料、附件、留痕、外发队列、文书、评价、节假日",
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


def schema_version(db: pw.Database) -> int:
    if not db.table_exists("schema_version"):
        return 0
    row = db.execute_sql("SELECT MAX(version) FROM schema_version").fetchone()
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
    sqlite_online_backup(db.connection(), target)
    return target


def sqlite_online_backup(conn: sqlite3.Connection, target: Path) -> None:
    """SQLite's online backup API: a consistent copy while others may be writing."""
    target.parent.mkdir(parents=True, exist_ok=True)
    dest = sqlite3.connect(str(target))
    try:
        conn.backup(dest)
    finally:
        dest.close()


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
    env = {"PGPASSWORD": str(params["password"])} if params.get("password") else {}
    import os

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
                db.execute_sql(statement)
            db.execute_sql(
                "INSERT INTO schema_version (version, applied_at) VALUES (%s, %s)"
                if dialect == "postgres"
                else "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                (version, datetime.now()),
            )
        applied.append(version)
    return applied
