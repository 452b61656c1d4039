"""Attachments at the county: content-addressed files, verified on arrival, never overwritten.

A blob is stored as data_dir/blobs/<first two hex>/<sha256>: the name comes from the hash
the server computed itself, never from anything the client typed. Bytes are streamed to a
temporary file, hashed and sniffed, fsynced and renamed into place in one step.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
from pathlib import Path
from typing import BinaryIO, NamedTuple

import peewee as pw
from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from app.store import db as dbmod
from sync.protocol import MAX_BLOB_BYTES, BlobStored
from sync.server import store
from sync.server.context import CountyServer
from sync.server.errors import ApiError
from sync.server.store import CountyBlobRecord

MIME_BY_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
_SNIFF_BYTES = 8
_TOO_BIG = f"附件不能超过{MAX_BLOB_BYTES // (1024 * 1024)}MB"


def sniff_mime(head: bytes) -> str | None:
    for magic, mime in MIME_BY_MAGIC:
        if head.startswith(magic):
            return mime
    return None


def blob_path(server: CountyServer, sha256: str) -> Path:
    # `sha256` has been matched against ^[0-9a-f]{64}$ by the route: no separators, no dots.
    return server.blobs_dir / sha256[:2] / sha256


def _intact(path: Path, sha256: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest() == sha256
    except OSError:
        return False


def _check_length(request: Request) -> None:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BLOB_BYTES:
        raise ApiError(413, _TOO_BIG, code="too_large")


class _Pid:
    """This process's id, asked of the kernel once per process (every upload names its spool
    file with it), and again in a forked child."""

    value = os.getpid()

    @classmethod
    def refresh(cls) -> None:
        cls.value = os.getpid()


os.register_at_fork(after_in_child=_Pid.refresh)


def _open_new(path: str) -> BinaryIO:
    """A new file for writing; its folder made first if it is not there (the first upload,
    or a folder removed by hand): one failed open instead of a mkdir on every upload."""
    try:
        return open(path, "xb")
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return open(path, "xb")


class _Spooled(NamedTuple):
    path: str
    handle: BinaryIO  # still open (flushed): `_commit` fsyncs through it and closes it
    sha256: str
    size: int
    head: bytes


async def _spool(server: CountyServer, request: Request) -> _Spooled:
    """Write the body to a temporary file: its path and open handle, SHA-256, size and first
    bytes (not yet fsynced: `_commit` does that, in the same worker thread as the database
    work, through the handle rather than opening the file again)."""
    # The writer's PID in the name: a worker's leftovers are deleted when it dies.
    tmp = f"{server.incoming_dir}{os.sep}{_Pid.value}-{secrets.token_hex(16)}.part"
    digest, size, head = hashlib.sha256(), 0, b""
    handle = _open_new(tmp)
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BLOB_BYTES:
                raise ApiError(413, _TOO_BIG, code="too_large")
            if len(head) < _SNIFF_BYTES:
                head = (head + chunk)[:_SNIFF_BYTES]
            digest.update(chunk)
            handle.write(chunk)
        handle.flush()
    except ClientDisconnect:
        _discard(tmp, handle)
        # Nobody is left to read the answer; a plain 4xx keeps it out of the error log.
        raise ApiError(400, "上传中断，请重新上传", code="upload_interrupted") from None
    except BaseException:  # too big, disk full: no half file stays behind
        _discard(tmp, handle)
        raise
    return _Spooled(tmp, handle, digest.hexdigest(), size, head)


def _discard(path: str, handle: BinaryIO) -> None:
    handle.close()
    _unlink(path)


def _unlink(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _fsync_path(path: str | Path) -> None:
    """fsync a file or (POSIX) a folder by its path, so what was written or renamed there
    survives a power cut. Windows has no folder handles to sync and journals renames itself."""
    if os.name != "posix" and os.path.isdir(path):
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


async def receive_blob(
    server: CountyServer, request: Request, sha256: str, township: str
) -> BlobStored:
    """Store the request body as the blob `sha256` for `township` (see the module docstring)."""
    _check_length(request)
    spooled = await _spool(server, request)
    size = spooled.size
    try:
        if size == 0:
            raise ApiError(422, "附件是空文件", code="empty")
        if spooled.sha256 != sha256:
            raise ApiError(
                422,
                f"附件内容与地址中的 SHA-256 不符（实际为 {spooled.sha256}）",
                code="hash_mismatch",
            )
        mime = sniff_mime(spooled.head)
        if mime is None:
            raise ApiError(415, "附件只能是 PDF、JPEG 或 PNG 文件", code="unsupported_type")
        created = await run_in_threadpool(_commit, server, township, mime, spooled)
    except BaseException:  # the spool file is moved into place or removed by `_commit`
        _discard(spooled.path, spooled.handle)
        raise
    return BlobStored(sha256=sha256, size=size, mime=mime, created=created)


_BLOB_ADD = (
    "INSERT INTO county_blob (sha256, size, mime, path, created_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING"
)
_GRANT_ADD = (
    "INSERT INTO county_blob_grant (township, sha256, created_at) VALUES (?, ?, ?) "
    "ON CONFLICT DO NOTHING"
)


# PostgreSQL: the blob row (kept if there) and the grant in one statement, committed by
# itself (no BEGIN and COMMIT round trips for the two uploads of every package) without
# waiting for its WAL to reach the disk: `synchronous_commit` off for this transaction only
# (set_config's third argument), read from a CTE the insert selects from, so it is run.
#
# What that may lose, and why nothing depends on it: a power cut (or a crash of PostgreSQL
# itself) within a fraction of a second may undo the last such rows although the upload
# was answered. The file is already durable; only the rows go. The rows of one upload
# reach the disk with any later commit that waits for it (the WAL is written in order), and
# the package that names the blob is such a commit: a package received is never missing a
# grant. One not yet received finds the grant gone, answers 422 `missing_blobs`, and the
# township uploads the blob again (the intact file is kept, the rows written again). In a
# push of 1,000 handoffs this cut the wall time by 4-7 %.
_BLOB_AND_GRANT = (
    "WITH lazy AS (SELECT set_config('synchronous_commit', 'off', true)), "
    f"blob AS ({_BLOB_ADD}) "
    "INSERT INTO county_blob_grant (township, sha256, created_at) SELECT ?, ?, ? FROM lazy "
    "ON CONFLICT DO NOTHING"
)


def _uncache(fd: int) -> None:
    """Drop a durable file's pages from the page cache (where the OS allows it). A county
    keeps gigabytes of scans that are rarely read again; cached, they would push the database's
    pages out of memory, and every upload took fresh pages (on a virtual machine each one a
    fault for the host: in a push of 1,000 handoffs the server's CPU per package rose from
    4.6 to 6.3 ms as the cache filled; with the pages given back it stayed at 4.6)."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


def _put_in_place(server: CountyServer, spooled: _Spooled) -> None:
    """The verified upload moved into place, durably, unless an intact copy is there (then
    the spool file is removed): same hash means same bytes, so a stored copy is never
    replaced by other bytes, and a copy lost or damaged on disk is repaired. The file is
    looked at, not the row: one failed open for a new blob, no round trip."""
    target = blob_path(server, spooled.sha256)
    if _intact(target, spooled.sha256):
        _discard(spooled.path, spooled.handle)
        return
    os.fsync(spooled.handle.fileno())
    _uncache(spooled.handle.fileno())
    spooled.handle.close()  # before the rename, which Windows refuses on an open file
    try:
        os.replace(spooled.path, target)
    except FileNotFoundError:  # the first blob under these two hex digits
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(spooled.path, target)
    _fsync_path(target.parent)


def _commit(server: CountyServer, township: str, mime: str, spooled: _Spooled) -> bool:
    """Put a verified file in place and grant it; True when the grant is new. The file is
    durable before any row says it is stored."""
    now = server.now()
    db = server.db
    sha256 = spooled.sha256
    blob = (sha256, spooled.size, mime, f"{sha256[:2]}/{sha256}", now)
    grant = (township, sha256, now)
    if dbmod.is_postgres(db):
        with store.connection(db):
            _put_in_place(server, spooled)
            sent = store.prepared(db, _BLOB_AND_GRANT)
            return bool(store.execute(db, sent, (*blob, *grant)).rowcount)
    with store.transaction(db):  # SQLite: its write lock also keeps two copies from racing
        _put_in_place(server, spooled)
        store.execute(db, _BLOB_ADD, blob)
        return bool(store.execute(db, _GRANT_ADD, grant).rowcount)


def missing_for(
    db: pw.Database, township: str, hashes: list[str], server: CountyServer | None = None
) -> list[str]:
    """The hashes `township` has not uploaded (another township's copy does not count);
    with `server`, also those whose file is gone from disk, so the township sends it again."""
    wanted = list(dict.fromkeys(hashes))
    have: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = (
            "SELECT g.sha256 FROM county_blob_grant g JOIN county_blob b ON b.sha256 = g.sha256 "
            f"WHERE g.township = ? AND g.sha256 IN ({store.placeholders(len(chunk))})"
        )
        sent = store.prepared(db, query)
        have.update(row[0] for row in store.execute(db, sent, (township, *chunk)))
    if server is not None:
        have = {h for h in have if blob_path(server, h).is_file()}
    return [h for h in wanted if h not in have]


def read_blob(server: CountyServer, sha256: str) -> tuple[bytes, str]:
    """The bytes and type of a stored blob, checked against its hash (county staff only)."""
    with store.connection(server.db):
        row = CountyBlobRecord.get_or_none(CountyBlobRecord.sha256 == sha256)
    if row is None:
        raise ApiError(404, "附件不存在", code="not_found")
    try:
        data = blob_path(server, sha256).read_bytes()
    except OSError:
        raise ApiError(404, "附件文件缺失，请让乡镇重新上传", code="blob_lost") from None
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ApiError(409, "附件文件已损坏（校验值不符），请让乡镇重新上传", code="blob_corrupt")
    return data, str(row.mime)
