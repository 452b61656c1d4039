"""Sync to the county: a township's outbox pushing 帮代办 handoffs to the county server, against
a raw loopback upload of the same bytes; and 30 townships pushing at once on PostgreSQL.

The servers are real processes on loopback (bench/servers.py).
"""

from __future__ import annotations

import array
import hashlib
import json
import math
import multiprocessing
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bench.common import figure
from bench.data import cache_dir
from bench.servers import (
    PASSPHRASE,
    PG_DEFAULT,
    PG_ENV,
    county_server,
    pg_schema,
    register_townships,
    sink_server,
)

SCAN_BYTES = 300 * 1024
TOWNSHIP_NICE = 10
# The county server as deployed: one serving process per core (`county serve --workers`).
SERVER_WORKERS = min(4, os.cpu_count() or 1)
# A JPEG start-of-image and JFIF APP0 segment: what every scanner's file begins with.
JFIF = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
HOME_TOWNSHIP = ("370999101", "青禾镇")
BASELINE = (
    "同样的请求（每件：查询缺失附件、两份扫描件、办件包，字节完全相同）由一个 requests 会话"
    "顺序发往回环上的最简 HTTP/1.1 接收端（http.server 独立进程，读完即答 {}）；"
    "外发队列每次从乡镇库的新副本（数据库复制、附件硬链接）发往新建的县级库和服务进程，"
    "各次的文件在整项测完后才删除；两边交替各测两次，各取快者；"
    "比值 = 基线用时 / 外发队列用时"
)


def scan(seed: int, part: int) -> bytes:
    """A ~300 KB scan: a JPEG header, then bytes that differ for every (seed, part)."""
    body = random.Random(seed * 16 + part).randbytes(SCAN_BYTES - len(JFIF) - 2)
    return JFIF + body + b"\xff\xd9"


# ext4's flag for the top of a directory tree (chattr +T): folders made in such a folder are
# spread over the block groups, each starting in one chosen afresh.
_FS_IOC_GETFLAGS, _FS_IOC_SETFLAGS, _FS_TOPDIR_FL = 0x80086601, 0x40086602, 0x00020000


def _spread_subfolders(folder: Path) -> None:
    """Mark `folder` as the top of a directory tree where the file system knows the flag;
    elsewhere leave it as it is."""
    try:
        import fcntl
    except ImportError:  # Windows
        return
    flags = array.array("l", [0])
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.ioctl(fd, _FS_IOC_GETFLAGS, flags, True)
        if not flags[0] & _FS_TOPDIR_FL:
            flags[0] |= _FS_TOPDIR_FL
            fcntl.ioctl(fd, _FS_IOC_SETFLAGS, flags, True)
    except OSError:  # not ext2/3/4, or not allowed
        pass
    finally:
        os.close(fd)


def work_folder() -> tempfile.TemporaryDirectory[str]:
    """A folder for one figure's county data and township copies, in the bench cache, deleted
    when the figure is taken. On ext4 without a journal (as these machines mount it) every new
    file is placed after scanning past the inodes deleted in the last minutes in its block
    group: a file created among thousands just deleted cost 0.5 ms of CPU instead of 35 µs.
    So not in the shared /tmp, where test runs delete thousands of files, and not next to the
    folder the last run deleted: the cache folder is the top of a directory tree (chattr +T),
    so each work folder starts in a block group chosen afresh. Run right after another, the
    push had been 5-8 % slower. A county's data folder sees no such mass deletion."""
    _spread_subfolders(cache_dir())
    return tempfile.TemporaryDirectory(prefix="sync-", dir=cache_dir())


# --- one township's outbox ------------------------------------------------------------------


def _build_township(data_dir: Path, count: int) -> None:
    """The demo township with `count` 帮代办 cases handed off through the real services, each
    with two scans: `count` packages waiting in the outbox."""
    from app.domain.case import Action
    from app.domain.states import MaterialStatus
    from app.services import cases, demo
    from app.services.attachments import add_attachment
    from app.services.people import ProxyInput
    from app.services.runtime import open_runtime

    rt = open_runtime(data_dir, keystore=None, ask_passphrase=lambda: PASSPHRASE)
    try:
        demo.setup_township(rt)
        builder = demo.DemoBuilder(rt, random.Random(20261122), rt.now())
        window, today = builder.window[0], rt.today()
        item = builder.catalog.county_items()[0]
        checklist = tuple(cases.MaterialInput(m.name, MaterialStatus.RECEIVED)
                          for m in item.materials)  # fmt: skip
        for number in range(count):
            person, helper = builder.person(today), builder.person(today)
            proxy = ProxyInput(name=helper.name, id_number=helper.id_number, phone=helper.phone,
                               relation="帮代办员")  # fmt: skip
            request = cases.IntakeRequest(
                item_code=item.code, applicant=person, materials=checklist,
                form_data=builder.form_data(item, person, today), proxy=proxy,
                authorisation="已签署帮代办委托书", handling_mode="proxy",
            )  # fmt: skip
            ref = cases.intake(rt, window, request)
            ref = cases.act(rt, window, ref.id, Action.ACCEPT, {}, expected_version=ref.version)
            for part, material in enumerate(item.materials[:2]):
                name = f"扫描件{part + 1}.jpg"
                add_attachment(
                    rt,
                    window,
                    ref.id,
                    scan(number, part),
                    original_name=name,
                    material=material.name,
                )
            cases.act(rt, window, ref.id, Action.HAND_OFF, {}, expected_version=ref.version)
    finally:
        rt.close()


def township_with_outbox(count: int) -> Path:
    """The township's data folder with `count` queued handoffs (built once, then cached)."""
    from bench.data import schema_key

    cached = cache_dir() / f"handoff-{count}-{schema_key()}"
    if not (cached / "ready").exists():
        shutil.rmtree(cached, ignore_errors=True)
        print(f"building township with {count} queued handoffs", file=sys.stderr, flush=True)
        _build_township(cached, count)
        (cached / "ready").write_text("ok")
    return cached


def _push_outbox(rt: Any, client: Any) -> int:
    """The real outbox worker until nothing is due; the number delivered."""
    from sync.client.outbox import due_rows, run_once

    delivered = 0
    for _ in range(10):  # one pass sends everything; a few more only after a failure
        delivered += run_once(rt, client).delivered
        if not due_rows(rt):
            break
    return delivered


Request = tuple[str, str, bytes, str]


def _same_requests(rt: Any) -> list[Request]:
    """The requests the worker made for each package, with the very same bodies: which
    blobs are missing, each blob, the package."""
    from app.services.attachments import blob_path
    from app.store.models import OutboxRecord
    from sync.client.outbox import frozen_body
    from sync.protocol import HandoffPackage

    sent: list[Request] = []
    for row in OutboxRecord.select().order_by(OutboxRecord.id):
        body = frozen_body(rt, row)
        hashes = HandoffPackage.model_validate_json(body).attachment_hashes()
        query = json.dumps({"hashes": hashes}).encode()
        sent.append(("POST", "/api/v1/blobs/missing", query, "application/json"))
        for sha256 in hashes:
            data = blob_path(rt, sha256).read_bytes()
            sent.append(("PUT", f"/api/v1/blobs/{sha256}", data, "application/octet-stream"))
        sent.append(("POST", "/api/v1/packages", body, "application/json"))
    return sent


def _raw_upload(url: str, sent: list[Request], credential: str) -> float:
    """Seconds to send `sent` from one requests session, answers read, nothing else done."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {credential}"
    try:
        start = time.perf_counter()
        for method, path, body, kind in sent:
            answer = session.request(method, url + path, data=body,
                                     headers={"Content-Type": kind}, timeout=60)  # fmt: skip
            answer.raise_for_status()
        return time.perf_counter() - start
    finally:
        session.close()


def _county_counts(db_url: str) -> tuple[int, int]:
    from sync.server import store

    db = store.open_database(db_url)
    try:
        with store.connection(db):
            return (
                store.CountyPackageRecord.select().count(),
                store.CountyBlobRecord.select().count(),
            )
    finally:
        db.close()


# Both sides are measured alike on these noisy shared machines: the faster of two runs.
RUNS = 2


def _township_copy(source: Path, target: Path) -> None:
    """A working copy of the cached township: its database copied, its attachments (never
    written by the outbox, which only reads them) hard-linked when the file system allows.
    Copying 2,000 scans made 2,000 new files on every run and deleting them 2,000 more;
    neither is part of a push."""

    def link_or_copy(src: str, dst: str) -> str:
        if "attachments" in Path(src).relative_to(source).parts:
            try:
                os.link(src, dst)
                return dst
            except OSError:  # another file system, or no hard links there
                pass
        return str(shutil.copy2(src, dst))

    shutil.copytree(source, target, copy_function=link_or_copy)


def _worker_run(
    source: Path, count: int, work: Path, *, record: bool
) -> tuple[float, list[Request], str]:
    """One push of the queued handoffs by the real outbox worker, from a fresh copy of the
    township to a fresh county (its own PostgreSQL schema and server process, its data in
    `work`): the seconds it took, with `record` the requests it made (every run makes the
    same ones: reading 600 MB of scans back once is enough), the township's credential."""
    from app.services.runtime import open_runtime
    from sync.client.config import SyncConfig
    from sync.client.http import CountyClient

    with pg_schema(os.environ.get(PG_ENV, PG_DEFAULT)) as county_db:
        town = work / "township"
        _township_copy(source, town)
        (credential,) = register_townships(county_db, [HOME_TOWNSHIP])
        with county_server(county_db, work, workers=SERVER_WORKERS) as url:
            rt = open_runtime(town, keystore=None, ask_passphrase=lambda: PASSPHRASE)
            client = CountyClient(SyncConfig(url, credential))
            try:
                start = time.perf_counter()
                delivered = _push_outbox(rt, client)
                worker_s = time.perf_counter() - start
                sent = _same_requests(rt) if record else []
            finally:
                client.close()
                rt.close()
        packages, blobs = _county_counts(county_db)
    if (delivered, packages, blobs) != (count, count, 2 * count):
        raise RuntimeError(f"送达 {delivered} 件，县级收到 {packages} 件、附件 {blobs} 个")
    return worker_s, sent, credential


def handoff_throughput(quick: bool) -> list[dict[str, Any]]:
    """The outbox worker (sync/client/outbox.run_once) pushing N queued handoffs with two
    ~300 KB scans each to the county server as deployed (PostgreSQL, two serving processes)
    against the same bytes sent raw, the two taking turns; each side the faster of two runs."""
    count = 100 if quick else 1000
    source = township_with_outbox(count)
    # The runs' folders are deleted only once the figure is taken (see work_folder). The two
    # sides take turns, so a machine that slows down or speeds up meanwhile (these are shared)
    # weighs on both alike.
    with work_folder() as name, sink_server(Path(name)) as sink:
        work = Path(name)
        worker_runs, raw_runs = [], []
        sent: list[Request] = []
        for run in range(1, RUNS + 1):
            folder = work / f"run-{run}"
            folder.mkdir()
            seconds, made, credential = _worker_run(source, count, folder, record=not sent)
            worker_runs.append(seconds)
            sent = sent or made
            raw_runs.append(_raw_upload(sink, sent, credential))
    worker_s, raw_s = min(worker_runs), min(raw_runs)
    megabytes = sum(len(body) for _, _, body, _ in sent) / 1e6
    return [
        figure(
            "sync.handoff_throughput",
            raw_s / worker_s,
            "ratio",
            0.5,
            higher_is_better=True,
            cases=count,
            requests=len(sent),
            payload_mb=megabytes,
            worker_s=worker_s,
            worker_runs_s=[round(s, 3) for s in worker_runs],
            worker_mb_per_s=megabytes / worker_s,
            raw_s=raw_s,
            raw_runs_s=[round(s, 3) for s in raw_runs],
            raw_mb_per_s=megabytes / raw_s,
            county_db="postgresql",
            server_workers=SERVER_WORKERS,
            load_avg_1min=os.getloadavg()[0],
            baseline=BASELINE,
        )
    ]


# --- 30 townships at once -------------------------------------------------------------------


def _package(township: str, number: int, scans: list[bytes]) -> bytes:
    """A valid handoff package of `township` with `scans` attached (fictitious people)."""
    from forms.validators import make_resident_id
    from sync.protocol import HandoffPackage

    today = date.today()
    names = ["申请人居民身份证", "残疾评定表"]
    born = date(1960, 1, 1) + timedelta(days=number * 37)
    person = {"name": "申请人甲", "id_number": make_resident_id("370999", born, number % 999 + 1),
              "phone": "13900000000", "address": "青禾县青禾镇东村1号"}  # fmt: skip
    proxy = {"name": "帮代办员乙", "id_number": make_resident_id("370999", date(1975, 7, 8), 33),
             "phone": "13700000001", "relation": "帮代办员"}  # fmt: skip
    data = {
        "case_uuid": str(uuid.uuid4()), "revision": 1, "action": "hand_off",
        "township": township, "case_no": f"{township}-A1-{today:%Y%m%d}-{number:04d}",
        "query_code": "K7M3Q9", "item_code": "370999-XJ-001", "item_name": "残疾人证新办",
        "catalog_version": "2026.11.1", "kind": "promised", "limit_days": 10,
        "accepted_on": today.isoformat(), "handed_off_on": today.isoformat(),
        "deadline": (today + timedelta(days=14)).isoformat(), "applicant": person,
        "proxy": proxy, "authorisation": "已签署帮代办委托书",
        "materials": [{"name": n, "required": True, "status": "received"} for n in names],
        "attachments": [{"sha256": hashlib.sha256(s).hexdigest(), "size": len(s),
                         "mime": "image/jpeg", "material": n}
                        for s, n in zip(scans, names, strict=True)],
    }  # fmt: skip
    return HandoffPackage.model_validate(data).model_dump_json().encode()


Sample = tuple[str, float]


def _timed(samples: list[Sample], errors: list[str], kind: str, call: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    try:
        result = call()
    except Exception as exc:  # every failure counts, whatever it is
        errors.append(f"{kind}: {type(exc).__name__}: {exc}")
        return None
    samples.append((kind, (time.perf_counter() - start) * 1000))
    return result


def _township_push(url: str, township: str, credential: str, count: int, seed: int,
                   start: Any, results: Any) -> None:  # fmt: skip
    """One township (its own process): warm up, wait for the others, push `count` packages
    the way the outbox does (missing blobs, each missing blob, the package)."""
    from sync.client.config import SyncConfig
    from sync.client.http import CountyClient

    # In the field each township is its own machine; here they share the server's two cores,
    # so they yield the CPU to it (their own waiting still counts in every latency).
    os.nice(TOWNSHIP_NICE)
    work = []
    for number in range(1, count + 1):
        scans = [scan(seed + number, part) for part in range(2)]
        work.append((scans, _package(township, number, scans)))
    client = CountyClient(SyncConfig(url, credential))
    samples: list[Sample] = []
    errors: list[str] = []
    # A township online before the burst: connected, its credential checked once.
    _timed([], errors, "warm-up", partial(client.missing_blobs, [hashlib.sha256(b"").hexdigest()]))
    start.wait(timeout=300)
    for scans, body in work:
        hashes = [hashlib.sha256(s).hexdigest() for s in scans]
        missing = _timed(samples, errors, "missing", partial(client.missing_blobs, hashes))
        for sha256, data in zip(hashes, scans, strict=True):
            if missing is None or sha256 in missing:
                _timed(samples, errors, "blob", partial(client.put_blob, sha256, data))
        _timed(samples, errors, "package", partial(client.post_package, body))
    client.close()
    results.put((samples, errors))


def _burst(
    url: str, townships: list[tuple[str, str]], count: int
) -> tuple[list[Sample], list[str], float]:
    """All townships push at once (one process each); every request's latency and error."""
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(len(townships) + 1), context.Queue()
    workers = [
        context.Process(target=_township_push,
                        args=(url, code, credential, count, 1000 * n, start, results))
        for n, (code, credential) in enumerate(townships)
    ]  # fmt: skip
    for worker in workers:
        worker.start()
    try:
        start.wait(timeout=300)
        began = time.perf_counter()
        samples: list[Sample] = []
        errors: list[str] = []
        for _ in workers:
            done_samples, done_errors = results.get(timeout=900)
            samples += done_samples
            errors += done_errors
        return samples, errors, time.perf_counter() - began
    finally:
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signal.SIGKILL)
                worker.join(timeout=15)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def townships_p99(quick: bool, townships: int = 30) -> list[dict[str, Any]]:
    """30 townships, each with its own credential and process (at a lower CPU priority than
    the server, as if on their own machines), push N packages with two ~300 KB scans each at
    the same moment to the county server on PostgreSQL."""
    count = 5 if quick else 20
    codes = [(f"370999{101 + n:03d}", f"乡镇{n + 1}") for n in range(townships)]
    with pg_schema(os.environ.get(PG_ENV, PG_DEFAULT)) as db_url:
        credentials = register_townships(db_url, codes)
        pairs = [(code, cred) for (code, _), cred in zip(codes, credentials, strict=True)]
        with (
            work_folder() as name,
            county_server(db_url, Path(name), workers=SERVER_WORKERS) as url,
        ):
            samples, errors, wall = _burst(url, pairs, count)
    latencies = [ms for _, ms in samples]
    by_kind = {
        kind: [ms for k, ms in samples if k == kind] for kind in ("missing", "blob", "package")
    }
    p99 = percentile(latencies, 0.99) if latencies else float("inf")
    extra: dict[str, Any] = {
        f"p99_{kind}_ms": percentile(v, 0.99) for kind, v in by_kind.items() if v
    }
    common: dict[str, Any] = {
        "townships": townships,
        "packages_each": count,
        "townships_nice": TOWNSHIP_NICE,
        "requests": len(samples),
        "load_avg_1min": os.getloadavg()[0],
    }
    return [
        figure("sync.townships_errors", len(errors), "errors", 0, **common,
               first_errors=errors[:3]),
        figure("sync.townships_p99", p99, "ms", 200.0, **common,
               p50_ms=percentile(latencies, 0.5) if latencies else 0.0,
               max_ms=max(latencies, default=0.0), wall_s=wall,
               requests_per_s=len(samples) / wall, **extra),
    ]  # fmt: skip
