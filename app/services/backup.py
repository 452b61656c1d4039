"""Backup and restore: SQLite online backup with an integrity check; pg_dump for PostgreSQL."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from app.domain.errors import KnownError
from app.domain.roles import Actor
from app.services import audit
from app.store import db as dbmod
from app.store.migrations import LATEST_VERSION, dump_postgres, sqlite_online_backup

if TYPE_CHECKING:
    from app.services.runtime import Runtime


def check_sqlite_file(path: Path) -> int:
    """Integrity and schema version of a SQLite file; raises a Chinese error if unusable."""
    if not path.is_file():
        raise KnownError(f"备份文件不存在：{path}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchone()[0]
            version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise KnownError(f"备份文件不是有效的本系统数据库：{exc}") from None
    if result != "ok":
        raise KnownError(f"备份文件已损坏（完整性检查：{result}），不能恢复")
    if version is None or int(version) > LATEST_VERSION:
        raise KnownError("备份文件的数据库结构版本不受本程序支持")
    return int(version)


def backup(rt: Runtime, actor: Actor, target: Path) -> Path:
    """Write a consistent copy while the system may be in use, then verify the copy."""
    if target.exists():
        raise KnownError(f"目标文件已存在，请换一个文件名：{target}")
    with dbmod.write_transaction():
        audit.record(
            rt,
            actor,
            "backup.create",
            object_type="database",
            details={"target": target.name},
        )
    if dbmod.is_postgres(rt.db):
        dump_postgres(rt.db, target)
        return target
    sqlite_online_backup(dbmod.raw_connection(rt.db), target)
    check_sqlite_file(target)
    return target


def restore(rt: Runtime, actor: Actor, source: Path) -> Path:
    """Replace the SQLite database with a checked backup; the current one is kept aside first."""
    if dbmod.is_postgres(rt.db):
        raise KnownError("PostgreSQL 数据库请由数据库管理员使用 psql/pg_restore 恢复")
    check_sqlite_file(source)
    live = dbmod.sqlite_path(rt.url)
    assert live is not None
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    kept = rt.data_dir / "backups" / f"before-restore-{stamp}.sqlite3"
    sqlite_online_backup(dbmod.raw_connection(rt.db), kept)
    rt.db.close()
    for suffix in ("-wal", "-shm"):
        Path(str(live) + suffix).unlink(missing_ok=True)
    tmp = live.with_suffix(".restoring")
    shutil.copyfile(source, tmp)
    tmp.replace(live)
    rt.db.connect()
    with dbmod.write_transaction():
        audit.record(
            rt,
            actor,
            "backup.restore",
            object_type="database",
            details={"source": source.name, "kept": kept.name},
        )
    return kept
