"""End to end: the real server process under uvicorn on 127.0.0.1, spoken to over HTTP."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import requests
from county_helpers import PDF, PNG, TOWNSHIP, attachment, bearer, package, sha
from county_live import ROOT, child_env, free_port, stop_process, wait_until_healthy

from app.domain.masking import find_unmasked_ids
from sync.server import auth, store


@dataclass(frozen=True)
class LiveServer:
    url: str
    township: str
    staff: str
    log: Path


@pytest.fixture
def live(db_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    db = store.open_database(db_url)
    township = auth.add_township(db, TOWNSHIP, "青禾镇")
    staff = auth.add_staff(db, "county1", "县窗口甲", "window")
    db.close()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = child_env()  # the fail keyring backend: the server's key is wrapped by a passphrase
    log = tmp_path / "server.log"
    command = [
        sys.executable,
        "-m",
        "sync.server",
        "--db",
        db_url,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(tmp_path / "data"),
    ]
    with open(log, "wb") as sink:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(proc, url, log)
        yield LiveServer(url, township, staff, log)
    finally:
        stop_process(proc)


def test_package_with_attachments_over_http(live: LiveServer, tmp_path: Path):
    session = requests.Session()
    session.headers.update(bearer(live.township))
    data = package(
        attachments=[
            attachment(PDF, material="残疾人证"),
            attachment(PNG, "image/png", "居民身份证"),
        ]
    )
    missing = session.post(
        f"{live.url}/api/v1/blobs/missing", json={"hashes": [sha(PDF), sha(PNG)]}, timeout=10
    )
    assert missing.json() == {"missing": [sha(PDF), sha(PNG)]}
    for blob in (PDF, PNG):
        put = session.put(
            f"{live.url}/api/v1/blobs/{sha(blob)}",
            data=blob,
            timeout=10,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert put.status_code == 201, put.text
    first = session.post(f"{live.url}/api/v1/packages", json=data, timeout=10)
    assert first.status_code == 201, first.text
    assert first.json()["attachments"] == [sha(PDF), sha(PNG)]
    again = session.post(f"{live.url}/api/v1/packages", json=data, timeout=10)
    assert again.status_code == 200 and again.content == first.content
    stored = tmp_path / "data" / "blobs" / sha(PDF)[:2] / sha(PDF)
    assert stored.read_bytes() == PDF

    today = date.today().isoformat()  # the real server runs on the real clock
    event = {"case_uuid": data["case_uuid"], "kind": "signed", "data": {"on": today}}
    signed = requests.post(
        f"{live.url}/api/v1/events", json=event, headers=bearer(live.staff), timeout=10
    )
    assert signed.status_code == 201, signed.text
    feed = session.get(f"{live.url}/api/v1/events", params={"after": 0}, timeout=10).json()
    assert [(e["seq"], e["kind"]) for e in feed["events"]] == [(1, "signed")]

    page = requests.get(
        f"{live.url}/progress",
        params={"no": data["case_no"], "code": data["query_code"]},
        timeout=10,
    )
    assert page.status_code == 200 and "县级已签收" in page.text
    assert find_unmasked_ids(page.text) == [] and data["applicant"]["name"] not in page.text
    assert requests.get(f"{live.url}/openapi.json", timeout=10).json()["info"]["version"] == "1"
    log = live.log.read_text(encoding="utf-8", errors="replace")
    assert '/api/v1/packages HTTP/1.1" 201' in log
    assert data["query_code"] not in log and "code=***" in log
