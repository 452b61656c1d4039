"""`county serve --workers N`: one socket, N serving processes, supervised by the parent.

Real processes on 127.0.0.1: a killed worker is replaced and its unfinished uploads are
deleted; SIGTERM stops everything; a killed parent takes its workers with it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from county_helpers import PDF, PNG, attachment, bearer, package, sha
from county_live import ROOT, LiveCounty, child_env, free_port

from sync.server.service import LISTENING

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prefork is Linux")
WAIT_S = 30.0


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(check, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@pytest.fixture
def county(tmp_path: Path, county_db_url: str) -> Iterator[LiveCounty]:
    server = LiveCounty(tmp_path, county_db_url, workers=2)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _push(county: LiveCounty, serial: int) -> None:
    """Blobs then the package, as the outbox sends them, in one keep-alive session."""
    blobs = (PDF + str(serial).encode(), PNG + str(serial).encode())
    with requests.Session() as session:
        session.headers.update(bearer(county.township))
        asked = session.post(f"{county.url}/api/v1/blobs/missing",
                             json={"hashes": [sha(b) for b in blobs]}, timeout=10)  # fmt: skip
        assert asked.status_code == 200, asked.text
        for data in blobs:
            put = session.put(f"{county.url}/api/v1/blobs/{sha(data)}", data=data, timeout=10)
            assert put.status_code == 201, put.text
        body = package(serial=serial, attachments=[attachment(blobs[0], material="残疾人证"),
                       attachment(blobs[1], "image/png", "居民身份证")])  # fmt: skip
        answer = session.post(f"{county.url}/api/v1/packages", json=body, timeout=10)
        assert answer.status_code == 201, answer.text


def test_two_workers_share_the_port_and_serve_every_township_request(county: LiveCounty):
    assert county.proc is not None
    assert len(children_of(county.proc.pid)) == 2
    assert f"{LISTENING} {county.url}（2 个服务进程）" in county.log.read_text()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda n: _push(county, n), range(1, 25)))
    inbox = county.staff_get("/county/cases", limit=100)
    assert inbox.status_code == 200, inbox.text
    assert inbox.json()["total"] == 24


def test_a_killed_worker_is_replaced_and_its_unfinished_uploads_deleted(county: LiveCounty):
    assert county.proc is not None
    parent = county.proc.pid
    victim, survivor = sorted(children_of(parent))
    incoming = county.data / "blobs" / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    (incoming / f"{victim}-cut-short.part").write_bytes(b"half an upload")
    (incoming / f"{survivor}-in-progress.part").write_bytes(b"still being written")

    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: victim not in children_of(parent) and len(children_of(parent)) == 2,
             "a replacement worker")  # fmt: skip
    assert survivor in children_of(parent)
    assert not (incoming / f"{victim}-cut-short.part").exists()
    assert (incoming / f"{survivor}-in-progress.part").exists()
    for serial in range(1, 5):  # both workers (the new one included) take requests
        _push(county, serial)
    assert "正在重新启动" in county.log.read_text()


def test_sigterm_stops_the_parent_and_every_worker(county: LiveCounty):
    assert county.proc is not None
    workers = children_of(county.proc.pid)
    county.stop()  # SIGTERM to the parent's PID only
    assert county.proc.returncode == 0
    wait_for(lambda: not any(alive(pid) for pid in workers), "the workers to exit")
    assert port_free(county.port)


def test_a_killed_parent_takes_its_workers_with_it(county: LiveCounty):
    assert county.proc is not None
    workers = children_of(county.proc.pid)
    county.kill()  # SIGKILL: no shutdown code runs in the parent
    wait_for(lambda: not any(alive(pid) for pid in workers), "the orphaned workers to exit")
    wait_for(lambda: port_free(county.port), "the port to be free")
    county.start()  # the same port and database serve again
    assert requests.get(f"{county.url}/api/v1/health", timeout=5).status_code == 200


@pytest.mark.parametrize("workers", ["0", "17", "x"])
def test_a_wrong_worker_count_is_refused_in_chinese(tmp_path: Path, workers: str):
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "county", "serve", "--db",
         f"sqlite:///{tmp_path / 'county.sqlite3'}", "--port", str(free_port()),
         "--data", str(tmp_path / "data"), "--workers", workers],
        cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == (2 if workers == "x" else 1)
    expected = "应为整数" if workers == "x" else "工作进程数应为1至16"
    assert expected in done.stderr
    assert not (tmp_path / "county.sqlite3").exists()  # refused before anything is written


def test_a_taken_port_is_refused_in_chinese(tmp_path: Path):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "county", "serve", "--db",
             f"sqlite:///{tmp_path / 'county.sqlite3'}", "--port", str(port),
             "--data", str(tmp_path / "data"), "--workers", "2"],
            cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 1
    assert f"无法监听 127.0.0.1:{port}：端口已被占用" in done.stderr
    assert not (tmp_path / "county.sqlite3").exists()  # refused before the database is opened
