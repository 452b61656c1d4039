"""The county server's state for one process: database, data folder, keys, limiters, clock."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import peewee as pw
from fastapi import Request

from app.security.keystore import KeyStore, obtain_master_key, open_keystore
from app.security.pii import PiiCipher
from sync.server import store
from sync.server.auth import CredentialCache
from sync.server.ratelimit import RateLimiter

PROGRESS_LOOKUPS_PER_MINUTE = 20
AUTH_FAILURES_PER_MINUTE = 60


def derive_digest_key(master_key: bytes) -> bytes:
    """The key of the package digests: a plain SHA-256 of a package would let whoever reads
    the database guess the encrypted ID numbers inside it by trying candidates."""
    return hmac.new(master_key, b"bujianmian county package digest v1", hashlib.sha256).digest()


@dataclass
class CountyServer:
    """Everything a request needs; kept on `app.state.county`."""

    db: pw.Database
    data_dir: Path
    cipher: PiiCipher = field(repr=False)
    digest_key: bytes = field(repr=False)
    now: Callable[[], datetime] = datetime.now
    progress_limiter: RateLimiter = field(
        default_factory=lambda: RateLimiter(PROGRESS_LOOKUPS_PER_MINUTE, 60)
    )
    auth_failures: RateLimiter = field(
        default_factory=lambda: RateLimiter(AUTH_FAILURES_PER_MINUTE, 60)
    )
    credentials: CredentialCache = field(default_factory=CredentialCache)

    @classmethod
    def with_master_key(
        cls,
        db: pw.Database,
        data_dir: Path,
        master_key: bytes,
        *,
        now: Callable[[], datetime] = datetime.now,
    ) -> CountyServer:
        return cls(db, data_dir, PiiCipher(master_key), derive_digest_key(master_key), now)

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def incoming_dir(self) -> Path:
        """Where uploads are spooled before they are verified and moved into place."""
        return self.blobs_dir / ".incoming"

    def close(self) -> None:
        """Close the database, every pooled connection included."""
        store.close_database(self.db)

    def drop_unfinished_uploads(self, pid: int | None = None) -> None:
        """Delete the spool files of uploads a crash (kill, power cut) cut short: nothing else
        would ever remove them. All of them at start, before any worker runs; with `pid`,
        those of that worker process once it has died (see prefork)."""
        pattern = "*.part" if pid is None else f"{pid}-*.part"
        for part in self.incoming_dir.glob(pattern):
            part.unlink(missing_ok=True)


def server_of(request: Request) -> CountyServer:
    server = request.app.state.county
    assert isinstance(server, CountyServer)
    return server


# "Use the OS keyring if a safe one exists" (None means: no keyring, passphrase only).
DEFAULT_KEYSTORE: object = object()


def _master_key(
    db: pw.Database, keystore: KeyStore | None, ask_passphrase: Callable[[], str] | None
) -> bytes:
    """This database's personal-data key: from the OS keyring, or wrapped in the database
    under a passphrase (a headless server usually has no keyring)."""
    with store.transaction(db):
        db_id = store.get_setting("database_id")
        if db_id is None:
            db_id = str(uuid.uuid4())
            store.set_setting("database_id", db_id)
    wrapped_text = store.get_setting("wrapped_master_key")
    resolution = obtain_master_key(
        keystore,
        key_name=f"county-pii-master-key:{db_id}",
        wrapped=base64.b64decode(wrapped_text) if wrapped_text else None,
        ask_passphrase=ask_passphrase,
        allow_create=store.get_setting("master_key_created") != "1",
    )
    with store.transaction(db):
        if resolution.wrapped_to_save is not None:
            wrapped = base64.b64encode(resolution.wrapped_to_save).decode("ascii")
            store.set_setting("wrapped_master_key", wrapped)
        store.set_setting("master_key_created", "1")
    return resolution.master_key


def open_server(
    db_url: str,
    data_dir: Path,
    *,
    keystore: KeyStore | object | None = DEFAULT_KEYSTORE,
    ask_passphrase: Callable[[], str] | None = None,
    now: Callable[[], datetime] = datetime.now,
    pool_size: int = store.POOL_MAX_CONNECTIONS,
) -> CountyServer:
    """Open (create or upgrade, backing up first) the county database and unlock its
    personal-data key; `pool_size` connections at most (per serving process)."""
    db = store.open_database(db_url, backup_dir=data_dir / "backups", pool=pool_size)
    try:
        chosen = open_keystore() if keystore is DEFAULT_KEYSTORE else keystore
        assert chosen is None or isinstance(chosen, KeyStore)
        with store.connection(db):
            master = _master_key(db, chosen, ask_passphrase)
    except BaseException:
        store.close_database(db)
        raise
    data_dir.mkdir(parents=True, exist_ok=True)
    server = CountyServer.with_master_key(db, data_dir, master, now=now)
    server.drop_unfinished_uploads()
    return server
