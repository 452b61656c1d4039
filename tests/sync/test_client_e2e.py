"""The township worker against the real county server process (started by `bujianmian county`)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from county_helpers import PDF, bearer, sha
from county_live import ROOT, LiveCounty, child_env
from helpers.factories import drive, make_case

from app.domain.case import Action
from app.domain.states import CaseState
from app.services.attachments import add_attachment, blob_path
from app.store.models import CaseRecord, OutboxRecord
from sync.client.config import SyncConfig
from sync.client.events import cursor, pull_events
from sync.client.http import CountyClient
from sync.client.outbox import due_rows, frozen_body, run_once


@pytest.fixture
def county(tmp_path: Path, county_db_url: str) -> Iterator[LiveCounty]:
    """The county server process on the same kind of database as the township."""
    server = LiveCounty(tmp_path, county_db_url)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def client(county: LiveCounty) -> Iterator[CountyClient]:
    session = CountyClient(SyncConfig(county.url, county.township))
    yield session
    session.close()


def handed_off(rt: Any, world: Any) -> tuple[Any, OutboxRecord]:
    ref = make_case(rt, world, CaseState.ACCEPTED, county=True)
    material = world.county_item().materials[0].name
    add_attachment(rt, world.window, ref.id, PDF, original_name="扫描件.pdf", material=material)
    ref = drive(rt, world, ref, world.window, Action.HAND_OFF)
    return ref, OutboxRecord.get(OutboxRecord.case == ref.id)


def test_handoff_delivered_once_with_identical_blob(rt, world, county, client):
    ref, row = handed_off(rt, world)
    report = run_once(rt, client)
    assert (report.delivered, report.retrying, report.stopped) == (1, 0, 0)
    row = OutboxRecord.get_by_id(row.id)
    assert (row.status, row.attempts, row.last_error) == ("delivered", 1, "")
    assert row.delivered_at == rt.now()
    case = CaseRecord.get_by_id(ref.id)
    detail = county.staff_get(f"/county/cases/{case.uuid}").json()
    assert [h["revision"] for h in detail["history"]] == [1]
    assert detail["package"]["attachments"][0]["sha256"] == sha(PDF)
    inbox = county.staff_get("/county/cases").json()
    assert [c["case_no"] for c in inbox["cases"]].count(case.case_no) == 1
    assert county.staff_get(f"/county/blobs/{sha(PDF)}").content == PDF
    assert (county.data / "blobs" / sha(PDF)[:2] / sha(PDF)).read_bytes() == PDF

    again = run_once(rt, client)
    assert (again.delivered, again.retrying) == (0, 0) and due_rows(rt) == []
    assert county.package_posts() == 1


@pytest.mark.parametrize("damage", ["changed", "gone"])
def test_a_damaged_scan_here_stops_its_row_and_reaches_no_county_file(
    rt, world, county, client, damage
):
    """The township does not hash its scans again before they go: the county hashes every
    upload and refuses bytes that are not those of their address. Either way the clerk reads
    that the file here is damaged, the row waits for a person, the county keeps nothing."""
    _, row = handed_off(rt, world)
    path = blob_path(rt, sha(PDF))
    if damage == "changed":
        path.write_bytes(PDF + b"% one more line")
    else:
        path.unlink()
    report = run_once(rt, client)
    assert (report.delivered, report.retrying, report.stopped) == (0, 0, 1)
    row = OutboxRecord.get_by_id(row.id)
    assert row.status == "refused"
    assert f"本机附件文件缺失或已损坏（{sha(PDF)[:12]}…），请重新扫描后再移交" in row.last_error
    assert not (county.data / "blobs" / sha(PDF)[:2] / sha(PDF)).exists()
    assert county.package_posts() == 0


def test_server_down_then_back(rt, world, county, client, clock):
    _, row = handed_off(rt, world)
    county.stop()
    report = run_once(rt, client)
    assert (report.delivered, report.retrying) == (0, 1)
    row = OutboxRecord.get_by_id(row.id)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "无法连接县级服务器" in row.last_error and row.next_attempt_at > rt.now()
    assert run_once(rt, client).retrying == 0  # not due yet: backing off
    assert OutboxRecord.get_by_id(row.id).attempts == 1

    county.start()
    clock.advance(hours=2)
    assert run_once(rt, client).delivered == 1
    row = OutboxRecord.get_by_id(row.id)
    assert (row.status, row.attempts, row.last_error) == ("delivered", 2, "")


def test_uncertain_send_is_resent_identically(rt, world, county, client):
    """The first POST arrived but its reply was lost: the resend gets the same receipt."""
    ref, row = handed_off(rt, world)
    body = frozen_body(rt, row)
    headers = {**bearer(county.township), "Content-Type": "application/json"}
    requests.put(f"{county.url}/api/v1/blobs/{sha(PDF)}", data=PDF, headers=bearer(county.township),
                 timeout=10)  # fmt: skip
    lost = requests.post(f"{county.url}/api/v1/packages", data=body, headers=headers, timeout=10)
    assert lost.status_code == 201
    OutboxRecord.update(status="uncertain").where(OutboxRecord.id == row.id).execute()
    assert run_once(rt, client).delivered == 1
    assert OutboxRecord.get_by_id(row.id).status == "delivered"
    case = CaseRecord.get_by_id(ref.id)
    history = county.staff_get(f"/county/cases/{case.uuid}").json()["history"]
    assert [h["revision"] for h in history] == [1] and county.package_posts() == 2


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A server that reads requests and never answers: the reply to a sent package is lost."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    done = threading.Event()

    def swallow() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            held.append(conn)
            conn.recv(65536)

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    done.set()
    listener.close()
    for conn in held:
        conn.close()
    thread.join(timeout=10)


def test_timeout_after_sending_is_uncertain_then_resent(rt, world, county, client, black_hole,
                                                        clock):  # fmt: skip
    ref = drive(rt, world, make_case(rt, world, CaseState.ACCEPTED, county=True), world.window,
                Action.HAND_OFF)  # fmt: skip
    row = OutboxRecord.get(OutboxRecord.case == ref.id)
    lost = CountyClient(SyncConfig(black_hole, county.township), read_timeout=0.5)
    try:
        assert run_once(rt, lost).retrying == 1
    finally:
        lost.close()
    row = OutboxRecord.get_by_id(row.id)
    assert row.status == "uncertain" and "原样重发" in row.last_error
    body = frozen_body(rt, row)
    clock.advance(hours=2)
    assert run_once(rt, client).delivered == 1
    assert frozen_body(rt, OutboxRecord.get_by_id(row.id)) == body
    assert OutboxRecord.get_by_id(row.id).status == "delivered"


def test_conflict_is_shown_and_not_retried(rt, world, county, client):
    _, row = handed_off(rt, world)
    forged = frozen_body(rt, row).replace("已签署帮代办委托书".encode(), "另一份委托说明".encode())
    headers = {**bearer(county.township), "Content-Type": "application/json"}
    requests.put(f"{county.url}/api/v1/blobs/{sha(PDF)}", data=PDF, headers=bearer(county.township),
                 timeout=10)  # fmt: skip
    first = requests.post(f"{county.url}/api/v1/packages", data=forged, headers=headers, timeout=10)
    assert first.status_code == 201, first.text
    report = run_once(rt, client)
    assert (report.delivered, report.stopped) == (0, 1)
    row = OutboxRecord.get_by_id(row.id)
    assert row.status == "conflict" and "需人工处理" in row.last_error
    assert due_rows(rt) == [] and run_once(rt, client).stopped == 0


def test_county_events_applied_exactly_once(rt, world, county, client, clock):
    ref, _ = handed_off(rt, world)
    assert run_once(rt, client).delivered == 1
    case = CaseRecord.get_by_id(ref.id)
    today = date.today()  # the county server runs on the real clock
    clock.value = clock.value.replace(year=today.year, month=today.month, day=today.day)
    county.event(str(case.uuid), "signed", {"on": today.isoformat()})
    missing = [{"name": m.name, "reason": "复印件不清晰"} for m in world.county_item().materials
               if m.required][:1]  # fmt: skip
    due = (today + timedelta(days=10)).isoformat()
    county.event(str(case.uuid), "correction", {"missing": missing, "due_date": due})

    first = pull_events(rt, client)
    assert (first.applied, first.skipped, first.cursor) == (2, [], 2) and cursor() == 2
    moved = CaseRecord.get_by_id(ref.id)
    assert moved.state == CaseState.CORRECTION_REQUIRED.value
    assert moved.county_signed_on == today and moved.version == case.version + 2
    assert moved.correction_due.isoformat() == due

    second = pull_events(rt, client)
    assert (second.applied, second.cursor) == (0, 2)
    assert CaseRecord.get_by_id(ref.id).version == moved.version


def test_cli_configure_and_run_once(county: LiveCounty, tmp_path: Path):
    town = ["--data", str(tmp_path / "town"), "--db", f"sqlite:///{tmp_path / 'town.sqlite3'}"]
    env = child_env(BUJIANMIAN_SYNC_CREDENTIAL=county.township)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *town, *args],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    assert run("init").returncode == 0
    configured = run("sync", "configure", "--url", county.url)
    assert configured.returncode == 0, configured.stderr
    assert "凭据不会保存" in configured.stdout  # the fail keyring is not safe: nothing written
    once = run("sync", "run", "--once")
    assert once.returncode == 0, once.stderr
    assert "已送达 0 件" in once.stdout and "县级同步：在线" in once.stdout
    bad = run("sync", "configure", "--url", "ftp://county")
    assert bad.returncode == 1 and "县级服务器地址" in bad.stderr
