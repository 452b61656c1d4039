"""Opening the database: SQLite (WAL, synchronous=FULL, foreign keys) or PostgreSQL by URL."""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import peewee as pw

from app.domain.errors import KnownError
from app.store.models import database_proxy

SQLITE_PREFIX = "sqlite:///"
MOUNTS_FILE = Path("/proc/mounts")
NETWORK_FS = {"nfs", "nfs4", "cifs", "smbfs", "smb3", "fuse.sshfs", "sshfs", "9p", "afs", "davfs"}
SQLITE_PRAGMAS = (
    ("journal_mode", "wal"),
    ("synchronous", "full"),
    ("foreign_keys", 1),
    ("busy_timeout", 10000),
    ("cache_size", -32000),
)


# libpq also takes the password as a query parameter (…?password=secret).
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def default_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'bujianmian.sqlite3'}"


def _mount_fstype(path: Path) -> str | None:
    """The filesystem type of the mount holding `path` (Linux /proc/mounts)."""
    try:
        lines = MOUNTS_FILE.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    best, fstype = "", None
    target = str(path.resolve())
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")
        if (target == mount or target.startswith(mount.rstrip("/") + "/")) and len(mount) > len(
            best
        ):
            best, fstype = mount, parts[2]
    return fstype


def is_network_path(path: Path) -> bool:
    """True for a UNC path or a mapped network drive (Windows) or a network mount (Linux)."""
    text = str(path)
    if text.startswith(("\\\\", "//")):
        return True
    if sys.platform == "win32":  # pragma: no cover - Windows only
        import ctypes

        drive = os.path.splitdrive(str(path.resolve()))[0] + "\\"
        return bool(ctypes.windll.kernel32.GetDriveTypeW(drive) == 4)  # DRIVE_REMOTE
    fstype = _mount_fstype(path.parent if not path.exists() else path)
    return fstype in NETWORK_FS


def sqlite_path(url: str) -> Path | None:
    """The file of a `sqlite:///path` URL; None for any other URL (or no path at all)."""
    if not url.startswith(SQLITE_PREFIX) or len(url) == len(SQLITE_PREFIX):
        return None
    return Path(unquote(url[len(SQLITE_PREFIX) :]))


def make_database(url: str) -> pw.Database:
    """Build (not connect) a peewee database for a sqlite:/// or postgresql:// URL."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = sqlite_path(url)
        if path is None:
            raise KnownError(
                f"SQLite 数据库地址有误：{url}（应为 sqlite:///文件路径，注意是三个斜杠）",
                code="bad_url",
            )
        if is_network_path(path):
            raise KnownError(
                f"数据库不能放在网络共享目录（{path}）：SQLite 在网络盘上会损坏数据。"
                "多窗口共用请改用 PostgreSQL 数据库地址。",
                code="network_share",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        return pw.SqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, lock_type="IMMEDIATE")
    if parsed.scheme in ("postgres", "postgresql"):
        extra: dict[str, Any] = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        return pw.PostgresqlDatabase(
            unquote(parsed.path.lstrip("/")),
            user=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            host=parsed.hostname or None,
            port=parsed.port or 5432,
            **extra,
        )
    raise KnownError(
        f"不支持的数据库地址：{redact_url(url)}（应为 sqlite:///路径 或 postgresql://…）",
        code="bad_url",
    )


def redact_url(url: str) -> str:
    """The URL without its password (user part or `password=` parameter), for messages."""
    parsed = urlparse(url)
    if parsed.password:
        url = url.replace(f":{parsed.password}@", ":***@", 1)
    return _QUERY_PASSWORD.sub(r"\1***", url)


def bind(db: pw.Database) -> None:
    database_proxy.initialize(db)


def sqlite_connection(db: pw.Database) -> sqlite3.Connection:
    """The open DB-API connection of a SQLite database (for the online backup API)."""
    conn = db.connection()  # type: ignore[no-untyped-call]
    assert isinstance(conn, sqlite3.Connection)
    return conn


def current() -> pw.Database:
    obj = database_proxy.obj
    if obj is None:
        raise RuntimeError("database not bound")
    return obj  # type: ignore[no-any-return]


def raw_connection(db: pw.Database) -> Any:
    """The DB-API connection under peewee (for SQLite's online backup API)."""
    return db.connection()  # type: ignore[no-untyped-call]


@lru_cache(maxsize=512)
def _dialect(text: str, param: str) -> str:
    return text if param == "?" else text.replace("?", param)


def execute(db: pw.Database | None, text: str, params: Sequence[Any] = ()) -> Any:
    """Hand-written SQL (`?` placeholders, SQL that SQLite and PostgreSQL both accept) on the
    current connection; its cursor. For the hot paths (the outbox, the audit trail, the county
    server's push routes), where building each query through peewee cost more CPU than the
    database spent answering it."""
    db = db or current()
    return db.execute_sql(_dialect(text, db.param), tuple(params))  # type: ignore[no-untyped-call]


def is_postgres(db: pw.Database | None = None) -> bool:
    return isinstance(db or current(), pw.PostgresqlDatabase)


@contextmanager
def read_snapshot() -> Iterator[None]:
    """One consistent view for several reading queries (statistics): without it a case changed
    between two GROUP BYs would make breakdowns disagree with their total. A snapshot, not the
    write lock: the desks keep working meanwhile."""
    db = current()
    if is_postgres(db):
        options: dict[str, str] = {"isolation_level": "REPEATABLE READ"}
    else:
        options = {"lock_type": "DEFERRED"}  # a WAL reader sees the state at its first read
    with db.atomic(**options):
        yield


@contextmanager
def write_transaction() -> Iterator[None]:
    """One write transaction. SQLite takes the write lock at BEGIN (IMMEDIATE) so two desks
    never deadlock half-way; PostgreSQL relies on row locks taken by the services."""
    db = current()
    with db.atomic():
        yield
