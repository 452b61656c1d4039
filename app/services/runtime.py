"""The open database, the personal-data cipher, the calendar and the clock for one process."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import peewee as pw

from app.domain.calendar import WorkCalendar
from app.envvars import DATA_ENV, DB_ENV, default_data_dir  # noqa: F401 - re-exported
from app.security.keystore import KeyStore, obtain_master_key, open_keystore
from app.security.pii import PiiCipher
from app.store import db as dbmod
from app.store.migrations import migrate
from app.store.models import SettingRecord


@dataclass
class Runtime:
    """Everything a service needs; built once by `open_runtime`."""

    db: pw.Database
    data_dir: Path
    url: str
    cipher: PiiCipher = field(repr=False)
    audit_key: bytes = field(repr=False)
    calendar: WorkCalendar
    now: Callable[[], datetime] = datetime.now

    def today(self) -> date:
        return self.now().date()

    @property
    def blobs_dir(self) -> Path:
        return self.data_dir / "attachments"

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()


def get_setting(key: str, default: str | None = None) -> str | None:
    row = SettingRecord.get_or_none(SettingRecord.key == key)
    return row.value if row else default


def set_setting(key: str, value: str) -> None:
    SettingRecord.insert(key=key, value=value).on_conflict(
        conflict_target=[SettingRecord.key], update={SettingRecord.value: value}
    ).execute()


def _database_id() -> str:
    with dbmod.write_transaction():
        existing = get_setting("database_id")
        if existing:
            return existing
        new_id = str(uuid.uuid4())
        set_setting("database_id", new_id)
        return new_id


def _master_key(keystore: KeyStore | None, ask_passphrase: Callable[[], str] | None) -> bytes:
    db_id = _database_id()
    wrapped_text = get_setting("wrapped_master_key")
    wrapped = base64.b64decode(wrapped_text) if wrapped_text else None
    has_data = get_setting("master_key_created") == "1"
    resolution = obtain_master_key(
        keystore,
        key_name=f"pii-master-key:{db_id}",
        wrapped=wrapped,
        ask_passphrase=ask_passphrase,
        allow_create=not has_data,
    )
    with dbmod.write_transaction():
        if resolution.wrapped_to_save is not None:
            set_setting("wrapped_master_key", base64.b64encode(resolution.wrapped_to_save).decode())
        set_setting("master_key_created", "1")
    return resolution.master_key


def derive_audit_key(master_key: bytes) -> bytes:
    return hmac.new(master_key, b"bujianmian audit chain v1", hashlib.sha256).digest()


_UNSET: object = object()


def open_runtime(
    data_dir: Path | None = None,
    url: str | None = None,
    *,
    keystore: KeyStore | object | None = _UNSET,
    ask_passphrase: Callable[[], str] | None = None,
    now: Callable[[], datetime] = datetime.now,
) -> Runtime:
    """Open (and create or upgrade) the database and unlock the personal-data key."""
    from app.services.holidays import load_calendar

    data_dir = Path(data_dir or default_data_dir())
    url = url or os.environ.get(DB_ENV) or dbmod.default_url(data_dir)
    database = dbmod.make_database(url)
    database.connect(reuse_if_open=True)
    dbmod.bind(database)
    try:
        migrate(database, backup_dir=data_dir / "backups")
        store = open_keystore() if keystore is _UNSET else keystore
        assert store is None or isinstance(store, KeyStore)
        master = _master_key(store, ask_passphrase)
    except BaseException:
        # Too new, wrong passphrase, no key: nothing stays open behind the error.
        database.close()
        raise
    rt = Runtime(
        db=database,
        data_dir=data_dir,
        url=url,
        cipher=PiiCipher(master),
        audit_key=derive_audit_key(master),
        calendar=WorkCalendar([], set()),
        now=now,
    )
    rt.calendar = load_calendar(rt)
    return rt
