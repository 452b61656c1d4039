"""The county server's own tables (peewee records) and its connection and transaction helpers.

They live on the app's database layer (app.store.db.make_database, the shared BaseRecord and
its proxy) but in this module of their own. Their schema comes from the frozen SQL of
`sync/server/schema/` (`sync.server.migrations`), never from `create_tables`: a change to a
record here needs a new schema version there.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import select
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import peewee as pw
from playhouse.pool import (
    MaxConnectionsExceeded,
    PooledDatabase,
    PooledPostgresqlDatabase,
    PooledSqliteDatabase,
)

from app.store import db as dbmod
from app.store.models import BaseRecord
from sync.server.errors import ApiError
from sync.server.migrations import migrate_county

log = logging.getLogger("bujianmian.county")

# The serving process keeps its connections open in a pool: opening one per request cost a
# TCP and authentication round (PostgreSQL) or five pragmas and a WAL checkpoint at every
# close (SQLite), and peewee serialises connect and close, so request threads queued on it.
POOL_MAX_CONNECTIONS = 32
# With several serving processes the connections are shared out, but none gets fewer.
POOL_MIN_CONNECTIONS = 8
# A request finding every connection busy waits this long, then gets a 503 (retried later).
POOL_WAIT_SECONDS = 20
# A connection is closed at its first check-in after this age, so none lives for ever.
POOL_RECYCLE_SECONDS = 600


class CountySchemaVersionRecord(BaseRecord):
    """One row per applied schema version of the county database."""

    version = pw.IntegerField()
    applied_at = pw.DateTimeField()


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


# Every table of the county database, in the order the schema creates them.
COUNTY_RECORDS: tuple[type[BaseRecord], ...] = (
    CountySchemaVersionRecord,
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


class _PostgresPool(PooledPostgresqlDatabase):
    """The PostgreSQL pool, with a connection checked at check-out without a round trip.

    A connection the server dropped while it sat idle (a restart, pg_terminate_backend, an idle
    timeout) has something to read: the server's last message, or the end of the stream. A
    healthy idle connection has nothing. So one poll of its socket tells them apart, where
    peewee sends a SELECT 1 at every check-out, four times for every package a township sends.
    A healthy connection found readable all the same is merely replaced.
    """

    def _is_closed(self, conn: Any) -> bool:
        if conn.closed:
            return True
        adapter = self._adapter  # the driver's transaction states (psycopg2 or psycopg 3)
        status = adapter.txn_status(conn)
        if status == adapter.txn_unknown:
            return True
        if status != adapter.txn_idle:  # given back mid-transaction: undone first
            try:
                adapter.rollback(conn)
            except Exception:  # the connection is unusable, whatever the reason
                return True
            return False
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))

    def _connect(self) -> Any:
        """An idle connection, or (if none is fit) a new one once there is room; in the
        thread of `spare_only`, an idle one or NotSpare, never a wait or a new one."""
        with self._pool_lock:  # re-entered by the pool's own check-out
            if getattr(_spare_only, "on", False):
                while self._connections:
                    timestamp, _, conn = self._connections[0]
                    stale = self._stale_timeout and self._is_stale(timestamp)
                    if not stale and not self._is_closed(conn):
                        break
                    heapq.heappop(self._connections)
                    self._close_raw(conn)
                else:
                    raise NotSpare
            return super()._connect()


class NotSpare(Exception):
    """No idle pooled connection at this instant (see `spare_only`)."""


_spare_only = threading.local()


@contextmanager
def spare_only(db: pw.Database) -> Iterator[None]:
    """While inside, this thread takes a connection of `db` only if one sits idle in a
    serving process's PostgreSQL pool: else NotSpare is raised at check-out, before anything
    is done. For work in the event loop's own thread, which must never wait for a
    connection or open one."""
    if not isinstance(db, _PostgresPool):
        raise NotSpare
    _spare_only.on = True
    try:
        yield
    finally:
        _spare_only.on = False


def pooled(db: pw.Database, size: int = POOL_MAX_CONNECTIONS) -> pw.Database:
    """The same database (settings of app.store.db.make_database) behind a connection pool.

    A pooled connection is checked before reuse (PostgreSQL: see `_PostgresPool`), so one left
    broken by a database restart is dropped instead of failing the request, and rolled back
    when it comes back with a transaction open, so nothing of one request reaches the next.
    """
    limits: dict[str, Any] = {
        "max_connections": max(size, POOL_MIN_CONNECTIONS),
        "stale_timeout": POOL_RECYCLE_SECONDS,
        "timeout": POOL_WAIT_SECONDS,
    }
    pool: pw.Database
    if isinstance(db, pw.SqliteDatabase):
        pool = PooledSqliteDatabase(
            db.database,
            pragmas=dbmod.SQLITE_PRAGMAS,
            lock_type="IMMEDIATE",
            # Pooled connections move between request threads (one at a time).
            check_same_thread=False,
            **limits,
        )
    elif isinstance(db, pw.PostgresqlDatabase):
        pool = _PostgresPool(db.database, **db.connect_params, **limits)
    else:
        raise TypeError(f"no pool for {type(db).__name__}")
    return pool


def open_database(
    url: str, *, backup_dir: Path | None = None, pool: bool | int = False
) -> pw.Database:
    """The database of `url`, bound to the records, its county schema at the latest version
    (created, adopted or upgraded; an existing one is copied to `backup_dir` first).

    `pool` for the serving process (see `pooled`): True, or the most connections it may
    open; close it with `close_database`.
    """
    db = dbmod.make_database(url)
    if pool:
        db = pooled(db) if pool is True else pooled(db, int(pool))
    dbmod.bind(db)
    try:
        migrate_county(db, backup_dir=backup_dir)
    except BaseException:
        close_database(db)
        raise
    return db


def close_database(db: pw.Database) -> None:
    """Close every connection, pooled ones included (a plain close only returns the
    calling thread's connection to the pool)."""
    if isinstance(db, PooledDatabase):
        db.close_all()
    else:
        db.close()


def _busy() -> ApiError:
    return ApiError(503, "县级服务器繁忙，请稍后再试", code="busy", headers={"Retry-After": "5"})


@contextmanager
def connection(db: pw.Database) -> Iterator[None]:
    """A connection for one request in the current thread, given back when it ends (to the
    pool of a serving process: see `pooled`)."""
    try:
        with db.connection_context():
            yield
    except MaxConnectionsExceeded:  # only connecting raises it
        raise _busy() from None


@contextmanager
def transaction(db: pw.Database) -> Iterator[None]:
    """One write transaction per request: all of it, or nothing (SQLite locks at BEGIN)."""
    with connection(db), db.atomic():
        yield


Statement = tuple[str, tuple[Any, ...]]

# PostgreSQL: the push routes' statements are prepared once per connection and then executed
# by name. Planning them each time cost the database more than running them: the package's
# state query 273 µs of its CPU, prepared 63 µs. In a push of 1,000 handoffs PostgreSQL's
# CPU per handoff fell from 1.55 to 1.35 ms. (psycopg2 has no prepared statements of its
# own: PREPARE and EXECUTE are sent as SQL.)
_PREPARED: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_PREPARED_LOCK = threading.Lock()
_UNPREPARABLE: set[str] = set()
MAX_PREPARED = 64  # per connection: a statement beyond that many (an odd IN list) runs as is


def prepared(db: pw.Database, text: str) -> str:
    """What to send for `text` (hand-written SQL, `?` placeholders, see `execute`) on this
    thread's connection: on PostgreSQL an EXECUTE of the statement prepared on the connection
    (at its first use there, in a round trip of its own); elsewhere `text` itself."""
    if not dbmod.is_postgres(db):
        return text
    conn = db.connection()  # type: ignore[no-untyped-call]
    with _PREPARED_LOCK:
        names = _PREPARED.setdefault(conn, {})
    name = names.get(text)
    if name is None:
        if text in _UNPREPARABLE or len(names) >= MAX_PREPARED:
            return text
        name = f"bjm_{len(names)}"
        if not _prepare(db, conn, name, text):
            return text
        names[text] = name
    count = text.count("?")
    return f"EXECUTE {name} ({', '.join('?' * count)})" if count else f"EXECUTE {name}"


def _prepare(db: pw.Database, conn: Any, name: str, text: str) -> bool:
    """PREPARE `text` as `name`; False (and never tried again in this process) if PostgreSQL
    refuses the statement. In a transaction, inside a savepoint, so that a refusal does not
    end the transaction."""
    parts = text.split("?")
    numbered = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], 1))
    statement = f"PREPARE {name} AS {numbered}"
    adapter = db._adapter  # type: ignore[attr-defined]
    inside = adapter.txn_status(conn) != adapter.txn_idle
    if inside:
        statement = f"SAVEPOINT bjm_prepare; {statement}; RELEASE SAVEPOINT bjm_prepare"
    try:
        execute(db, statement)
    except pw.ProgrammingError:  # what the statement is (a lost connection is raised)
        log.warning("无法预备语句，改为每次直接执行：%s", text[:200], exc_info=True)
        _UNPREPARABLE.add(text)
        if inside:
            execute(db, "ROLLBACK TO SAVEPOINT bjm_prepare; RELEASE SAVEPOINT bjm_prepare")
        return False
    return True


class Batched:
    """A write transaction whose BEGIN travels with its first statements and whose COMMIT
    with its last write: on PostgreSQL the package route's five round trips (BEGIN, lock,
    read, write, COMMIT) become two. Statements are hand-written SQL (`execute`), sent as
    prepared statements (`prepared`).

    Statements sent together still run one after another, each with a snapshot of its own
    (READ COMMITTED): one that follows a lock sees what the lock's holder committed.
    On SQLite (`batched` opens it inside `transaction`) each statement simply runs in turn.
    Peewee does not know of this transaction: nothing inside may open one of peewee's.
    """

    def __init__(self, db: pw.Database) -> None:
        self.db = db
        self._together = dbmod.is_postgres(db)
        self.open = False  # PostgreSQL: BEGIN sent, no COMMIT or ROLLBACK yet

    def begin(self, *statements: Statement) -> Any:
        """Run the transaction's first statements; the cursor of the last."""
        if not self._together:
            return self._each(statements)
        texts = [prepared(self.db, text) for text, _ in statements]  # before BEGIN
        self.open = True
        return self._send(["BEGIN", *texts], statements)

    def commit(self, *statements: Statement) -> Any:
        """Run the transaction's last statements and commit; the cursor of the last."""
        if not self._together:
            return self._each(statements)
        texts = [prepared(self.db, text) for text, _ in statements]
        cursor = self._send([*texts, "COMMIT"], statements)
        self.open = False
        return cursor

    def _send(self, texts: list[str], statements: tuple[Statement, ...]) -> Any:
        """`texts` in one round trip, with the parameters of `statements` in order."""
        params = [value for _, values in statements for value in values]
        return execute(self.db, "; ".join(texts), params)

    def _each(self, statements: tuple[Statement, ...]) -> Any:
        cursor = None
        for text, params in statements:
            cursor = execute(self.db, text, params)
        return cursor


@contextmanager
def batched(db: pw.Database) -> Iterator[Batched]:
    """A `Batched` transaction for one request: all of it, or nothing. Committed at the end
    if `Batched.commit` did not already; rolled back on any exception."""
    if not dbmod.is_postgres(db):
        with transaction(db):
            yield Batched(db)
        return
    with connection(db):
        txn = Batched(db)
        try:
            yield txn
        except BaseException:
            if txn.open:
                _roll_back(db)
            raise
        if txn.open:
            execute(db, "COMMIT")
            txn.open = False


def _roll_back(db: pw.Database) -> None:
    """ROLLBACK, as far as the connection allows: a broken one is dropped by the pool at its
    next check-out (see `_PostgresPool`), which undoes whatever is open."""
    with contextlib.suppress(Exception):  # the error being raised matters, not this one
        execute(db, "ROLLBACK")


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


# Hand-written SQL for the push routes (see app.store.db.execute).
execute = dbmod.execute


def placeholders(count: int) -> str:
    return ", ".join("?" * count)


def township_lock(db: pw.Database, code: str) -> Statement:
    """The statement that locks a township's row until commit, as `locked_township` does,
    for a `Batched` transaction (SQLite's IMMEDIATE transaction already holds the lock)."""
    suffix = " FOR UPDATE" if dbmod.is_postgres(db) else ""
    return "SELECT id FROM county_township WHERE code = ?" + suffix, (code,)


def get_setting(key: str) -> str | None:
    row = CountySettingRecord.get_or_none(CountySettingRecord.key == key)
    return None if row is None else str(row.value)


def set_setting(key: str, value: str) -> None:
    CountySettingRecord.insert(key=key, value=value).on_conflict(
        conflict_target=[CountySettingRecord.key], update={CountySettingRecord.value: value}
    ).execute()
