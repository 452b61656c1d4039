"""The county server's own tables (peewee records) and its connection and transaction helpers.

They live on the app's database layer (app.store.db.make_database, the shared BaseRecord and
its proxy) but in this module of their own, so they can later be folded into the versioned
migrations. Until then `create_county_tables` creates whatever is missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import peewee as pw

from app.store import db as dbmod
from app.store.models import BaseRecord


class CountySettingRecord(BaseRecord):
    key = pw.CharField(max_length=100, primary_key=True)
    value = pw.TextField()


class CountyTownshipRecord(BaseRecord):
    """A township node; `event_seq` is the last seq handed out in its event feed."""

    code = pw.CharField(max_length=9, unique=True)
    name = pw.CharField(max_length=100)
    credential_hash = pw.CharField(max_length=255)
    disabled = pw.BooleanField(default=False)
    event_seq = pw.BigIntegerField(default=0)
    created_at = pw.DateTimeField()
    credential_issued_at = pw.DateTimeField()


class CountyStaffRecord(BaseRecord):
    """A county staff account (county window or admin) with its hashed API token."""

    username = pw.CharField(max_length=32, unique=True)
    display_name = pw.CharField(max_length=50)
    role = pw.CharField(max_length=10)
    token_hash = pw.CharField(max_length=255)
    disabled = pw.BooleanField(default=False)
    created_at = pw.DateTimeField()


class CountyCaseRecord(BaseRecord):
    """One 帮代办 case at the county: the public, non-personal facts and its county status."""

    uuid = pw.UUIDField(unique=True)
    township = pw.CharField(max_length=9)
    case_no = pw.CharField(max_length=32, unique=True)
    query_code = pw.CharField(max_length=8)
    item_code = pw.CharField(max_length=40)
    item_name = pw.CharField(max_length=200)
    status = pw.CharField(max_length=16)
    deadline = pw.DateField(null=True)
    handed_off_on = pw.DateField()
    latest_revision = pw.IntegerField()
    received_at = pw.DateTimeField()
    updated_at = pw.DateTimeField()

    class Meta:
        indexes = (
            (("township", "status", "deadline"), False),
            (("status", "deadline"), False),
        )


class CountyPackageRecord(BaseRecord):
    """One received package revision: its keyed digest, sealed body and the receipt sent back."""

    case_id: int
    case = pw.ForeignKeyField(CountyCaseRecord, backref="packages", on_delete="RESTRICT")
    uuid = pw.UUIDField()
    revision = pw.IntegerField()
    township = pw.CharField(max_length=9)
    action = pw.CharField(max_length=12)
    digest = pw.CharField(max_length=64)
    body = pw.TextField()
    receipt = pw.TextField()
    received_at = pw.DateTimeField()

    class Meta:
        indexes = ((("uuid", "revision"), True),)


class CountyBlobRecord(BaseRecord):
    """An attachment stored under data_dir/blobs/<first two hex>/<sha256>."""

    sha256 = pw.CharField(max_length=64, primary_key=True)
    size = pw.IntegerField()
    mime = pw.CharField(max_length=30)
    path = pw.CharField(max_length=200)
    created_at = pw.DateTimeField()


class CountyBlobGrantRecord(BaseRecord):
    """Which township uploaded which blob: a township never learns of another's files."""

    township = pw.CharField(max_length=9)
    sha256 = pw.CharField(max_length=64)
    created_at = pw.DateTimeField()

    class Meta:
        indexes = ((("township", "sha256"), True),)


class CountyEventRecord(BaseRecord):
    case_id: int
    township = pw.CharField(max_length=9)
    seq = pw.BigIntegerField()
    case = pw.ForeignKeyField(CountyCaseRecord, backref="events", on_delete="RESTRICT")
    kind = pw.CharField(max_length=12)
    at = pw.DateTimeField()
    data = pw.TextField()
    staff = pw.CharField(max_length=32)

    class Meta:
        indexes = ((("township", "seq"), True),)


class CountyCatalogRecord(BaseRecord):
    version = pw.CharField(max_length=40, unique=True)
    sort_key = pw.CharField(max_length=20, index=True)
    sha256 = pw.CharField(max_length=64)
    published = pw.DateField()
    items = pw.IntegerField()
    content = pw.TextField()
    uploaded_at = pw.DateTimeField()
    uploaded_by = pw.CharField(max_length=32)


class CountyHolidayYearRecord(BaseRecord):
    """The official schedule of one year as last uploaded (JSON list of date/kind/name)."""

    year = pw.IntegerField(primary_key=True)
    days = pw.TextField()
    uploaded_at = pw.DateTimeField()
    uploaded_by = pw.CharField(max_length=32)


COUNTY_RECORDS: tuple[type[BaseRecord], ...] = (
    CountySettingRecord,
    CountyTownshipRecord,
    CountyStaffRecord,
    CountyCaseRecord,
    CountyPackageRecord,
    CountyBlobRecord,
    CountyBlobGrantRecord,
    CountyEventRecord,
    CountyCatalogRecord,
    CountyHolidayYearRecord,
)


def open_database(url: str) -> pw.Database:
    """The database of `url`, bound to the records, with the county tables in place."""
    db = dbmod.make_database(url)
    dbmod.bind(db)
    create_county_tables(db)
    return db


def create_county_tables(db: pw.Database) -> None:
    """Create the county tables and their indexes where they do not exist yet."""
    dbmod.bind(db)
    with db.connection_context(), db.atomic():
        db.create_tables(list(COUNTY_RECORDS), safe=True)


@contextmanager
def connection(db: pw.Database) -> Iterator[None]:
    """A connection for one request in the current thread, closed when the request ends.

    Each request opens its own: a connection kept per pool thread would go stale when
    PostgreSQL restarts and turn every later request into a 500.
    """
    with db.connection_context():
        yield


@contextmanager
def transaction(db: pw.Database) -> Iterator[None]:
    """One write transaction per request: all of it, or nothing (SQLite locks at BEGIN)."""
    with db.connection_context(), db.atomic():
        yield


def locked_township(db: pw.Database, code: str) -> CountyTownshipRecord:
    """The township row, locked until commit on PostgreSQL (SQLite's IMMEDIATE already is).

    Every write for one township takes this lock first, so event numbers are handed out
    without gaps and two copies of one package never race to insert the same revision.
    """
    query = CountyTownshipRecord.select().where(CountyTownshipRecord.code == code)
    if dbmod.is_postgres(db):
        query = query.for_update()
    row: CountyTownshipRecord = query.get()
    return row


def get_setting(key: str) -> str | None:
    row = CountySettingRecord.get_or_none(CountySettingRecord.key == key)
    return None if row is None else str(row.value)


def set_setting(key: str, value: str) -> None:
    CountySettingRecord.insert(key=key, value=value).on_conflict(
        conflict_target=[CountySettingRecord.key], update={CountySettingRecord.value: value}
    ).execute()


def insert_ignore(model: type[BaseRecord], **values: Any) -> None:
    """Insert a row unless one with the same unique key exists (both databases)."""
    model.insert(**values).on_conflict_ignore().execute()
