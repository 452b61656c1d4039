"""Attachments: verified by hash, never overwritten, limited in size and type, stored by hash."""

from __future__ import annotations

import ctypes
import mmap
import os
from pathlib import Path

import pytest
from county_helpers import JPEG, PDF, PNG, attachment, package, sha

from app.store import db as dbmod
from sync.protocol import MAX_BLOB_BYTES
from sync.server import store
from sync.server.store import CountyBlobGrantRecord, CountyBlobRecord

GIF = b"GIF89a" + b"\x00" * 30


def put(client, headers, data: bytes, name: str | None = None):
    return client.put(f"/api/v1/blobs/{name or sha(data)}", content=data, headers=headers)


def stored_files(county) -> list[Path]:
    root = county.data_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def rows(county) -> tuple[int, int]:
    with county.db.connection_context():
        return CountyBlobRecord.select().count(), CountyBlobGrantRecord.select().count()


def test_upload_is_stored_under_its_hash(county, client, creds):
    response = put(client, creds.t, PDF)
    assert response.status_code == 201
    assert response.json() == {
        "sha256": sha(PDF),
        "size": len(PDF),
        "mime": "application/pdf",
        "created": True,
    }
    target = county.blobs_dir / sha(PDF)[:2] / sha(PDF)
    assert stored_files(county) == [target]
    assert target.read_bytes() == PDF
    again = put(client, creds.t, PDF)
    assert again.status_code == 200 and again.json()["created"] is False
    assert rows(county) == (1, 1)


@pytest.mark.parametrize(("data", "mime"), [(JPEG, "image/jpeg"), (PNG, "image/png")])
def test_type_comes_from_the_bytes(client, creds, data, mime):
    headers = {**creds.t, "content-type": "application/pdf"}
    assert put(client, headers, data).json()["mime"] == mime


def test_hash_mismatch_is_422_and_stores_nothing(county, client, creds):
    response = put(client, creds.t, PDF, name=sha(PNG))
    assert response.status_code == 422
    assert response.json()["code"] == "hash_mismatch"
    assert sha(PDF) in response.json()["detail"]
    assert stored_files(county) == [] and rows(county) == (0, 0)


def test_a_stored_blob_is_never_overwritten_with_other_bytes(county, client, creds):
    assert put(client, creds.t, PDF).status_code == 201
    target = county.blobs_dir / sha(PDF)[:2] / sha(PDF)
    response = put(client, creds.o, PNG, name=sha(PDF))
    assert response.status_code == 422
    assert target.read_bytes() == PDF
    assert stored_files(county) == [target]


def test_a_damaged_copy_on_disk_is_repaired_by_the_next_upload(county, client, creds):
    put(client, creds.t, PDF)
    target = county.blobs_dir / sha(PDF)[:2] / sha(PDF)
    target.write_bytes(b"%PDF-broken")
    broken = client.get(f"/api/v1/county/blobs/{sha(PDF)}", headers=creds.w)
    assert broken.status_code == 409 and broken.json()["code"] == "blob_corrupt"
    assert put(client, creds.t, PDF).status_code == 200
    assert target.read_bytes() == PDF
    fixed = client.get(f"/api/v1/county/blobs/{sha(PDF)}", headers=creds.w)
    assert fixed.content == PDF and fixed.headers["content-type"] == "application/pdf"


def test_a_file_lost_from_disk_is_asked_for_again_and_restored(county, client, creds):
    """A power cut can lose a stored file while its row survives: the township is asked
    for it again instead of the county answering 'lost' for ever."""
    put(client, creds.t, PDF)
    target = county.blobs_dir / sha(PDF)[:2] / sha(PDF)
    target.unlink()
    missing = client.post("/api/v1/blobs/missing", json={"hashes": [sha(PDF)]}, headers=creds.t)
    assert missing.json() == {"missing": [sha(PDF)]}
    assert put(client, creds.t, PDF).status_code == 200
    assert target.read_bytes() == PDF
    again = client.post("/api/v1/blobs/missing", json={"hashes": [sha(PDF)]}, headers=creds.t)
    assert again.json() == {"missing": []}


def test_rows_lost_after_an_upload_are_asked_for_again_by_the_package(county, client, creds):
    """On PostgreSQL an upload's rows are committed without waiting for the disk, so a power
    cut can undo them although the upload was answered (the file itself is durable). The
    package that names the blob then asks for it, and the upload writes the rows again,
    keeping the file."""
    assert put(client, creds.t, PDF).status_code == 201
    target = county.blobs_dir / sha(PDF)[:2] / sha(PDF)
    inode = target.stat().st_ino
    with county.db.connection_context():  # as if the last commits never reached the disk
        CountyBlobGrantRecord.delete().execute()
        CountyBlobRecord.delete().execute()
    data = package(attachments=[attachment(PDF)])
    refused = client.post("/api/v1/packages", json=data, headers=creds.t)
    assert refused.status_code == 422 and refused.json()["missing"] == [sha(PDF)]
    again = put(client, creds.t, PDF)
    assert again.status_code == 201 and again.json()["created"] is True
    assert target.stat().st_ino == inode and rows(county) == (1, 1)
    assert client.post("/api/v1/packages", json=data, headers=creds.t).status_code == 201


def test_an_upload_s_lazy_commit_stays_with_its_own_transaction(county, client, creds):
    """Only the upload's rows are committed without waiting for the disk: the connection
    goes back to the pool committing durably, as the package's commit must."""
    if not dbmod.is_postgres(county.db):
        pytest.skip("SQLite commits every upload durably")
    assert put(client, creds.t, PDF).status_code == 201
    with store.connection(county.db):
        setting = store.execute(county.db, "SELECT current_setting('synchronous_commit')")
        assert setting.fetchone()[0] == "on"


def test_other_types_are_415(county, client, creds):
    response = put(client, creds.t, GIF)
    assert response.status_code == 415
    assert response.json()["detail"] == "附件只能是 PDF、JPEG 或 PNG 文件"
    assert stored_files(county) == [] and rows(county) == (0, 0)


def test_empty_upload_is_422(client, creds):
    response = put(client, creds.t, b"")
    assert response.status_code == 422 and response.json()["code"] == "empty"


def test_too_big_is_413_with_or_without_a_length(county, client, creds):
    big = b"%PDF-" + b"\x00" * MAX_BLOB_BYTES
    declared = put(client, creds.t, big)
    assert declared.status_code == 413
    assert declared.json() == {"detail": "附件过大：不能超过20MB", "code": "too_large"}

    def chunks():
        for start in range(0, len(big), 1 << 20):
            yield big[start : start + (1 << 20)]

    streamed = client.put(f"/api/v1/blobs/{sha(big)}", content=chunks(), headers=creds.t)
    assert streamed.status_code == 413
    assert streamed.json()["code"] == "too_large"
    assert stored_files(county) == [] and rows(county) == (0, 0)


@pytest.mark.parametrize(
    "name",
    [
        "../../../etc/passwd",
        "..%2F..%2Fescape",
        "%2e%2e%2f" + "a" * 58,
        sha(PDF).upper(),
        sha(PDF) + "/..",
        sha(PDF)[:-1],
        "passwd",
    ],
)
def test_names_that_are_not_a_hash_never_become_paths(county, client, creds, tmp_path, name):
    before = sorted(p for p in tmp_path.rglob("*"))
    response = client.put(f"/api/v1/blobs/{name}", content=PDF, headers=creds.t)
    assert 400 <= response.status_code < 500
    assert "detail" in response.json()
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert rows(county) == (0, 0)


def test_missing_lists_what_this_township_has_not_uploaded(client, creds):
    put(client, creds.t, PDF)
    put(client, creds.o, PNG)
    response = client.post(
        "/api/v1/blobs/missing",
        json={"hashes": [sha(PNG), sha(PDF), sha(JPEG), sha(PNG)]},
        headers=creds.t,
    )
    assert response.json() == {"missing": [sha(PNG), sha(JPEG)]}
    bad = client.post("/api/v1/blobs/missing", json={"hashes": ["xyz"]}, headers=creds.t)
    assert bad.status_code == 422 and "SHA" not in bad.json()["code"]
    assert "哈希列表·第1项：格式不正确" in bad.json()["detail"]


def test_a_second_township_uploading_the_same_file_gets_its_own_grant(county, client, creds):
    assert put(client, creds.t, PDF).json()["created"] is True
    assert put(client, creds.o, PDF).json()["created"] is True
    assert rows(county) == (1, 2)
    assert client.post(
        "/api/v1/blobs/missing", json={"hashes": [sha(PDF)]}, headers=creds.o
    ).json() == {"missing": []}


def _cached_pages(path: Path) -> int:
    """How many of the file's pages are in the page cache (Linux mincore on a private,
    never written mapping: its pages are the cache's own)."""
    libc = ctypes.CDLL(None, use_errno=True)
    size = path.stat().st_size
    pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    vector = (ctypes.c_ubyte * pages)()
    with open(path, "rb") as handle:
        mapping = mmap.mmap(handle.fileno(), size, flags=mmap.MAP_PRIVATE,
                            prot=mmap.PROT_READ | mmap.PROT_WRITE)  # fmt: skip
    try:
        start = ctypes.c_char.from_buffer(mapping)
        status = libc.mincore(ctypes.c_void_p(ctypes.addressof(start)), ctypes.c_size_t(size),
                              vector)  # fmt: skip
        del start
        if status != 0:
            raise OSError(ctypes.get_errno(), "mincore")
    finally:
        mapping.close()
    return sum(byte & 1 for byte in vector)


def _cache_can_be_dropped(folder: Path) -> bool:
    """Whether this file system gives a durable file's pages back when asked (tmpfs keeps
    them: they are the file)."""
    probe = folder / "cache-probe"
    with open(probe, "wb") as handle:
        handle.write(b"x" * 65536)
        handle.flush()
        os.fsync(handle.fileno())
        os.posix_fadvise(handle.fileno(), 0, 0, os.POSIX_FADV_DONTNEED)
    dropped = _cached_pages(probe) == 0
    probe.unlink()
    return dropped


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no page cache advice here")
def test_a_stored_blob_leaves_the_page_cache_once_durable(county, client, creds):
    """Scans are rarely read again: once on disk their pages are given back, not kept."""
    data = JPEG + bytes(range(256)) * 1200  # 300 KB, as a scan
    county.blobs_dir.mkdir(parents=True, exist_ok=True)
    if not _cache_can_be_dropped(county.blobs_dir):
        pytest.skip("this file system keeps the pages of its files in memory")
    assert put(client, creds.t, data).status_code == 201
    target = county.blobs_dir / sha(data)[:2] / sha(data)
    assert _cached_pages(target) == 0
    assert target.read_bytes() == data  # read back, it is cached: the check tells them apart
    assert _cached_pages(target) > 0
