"""The county desk's client (sync.client.county_staff, county_checks): token and settings, the
local checks of each event, failures in Chinese, and the real county server process — inbox,
detail, attachments, figures, events and the desk's own trail; `bujianmian county connect`."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from county_helpers import APPLICANT_ID, APPLICANT_PHONE, OTHER, PDF, TOWNSHIP, sha
from county_live import ROOT, child_env
from helpers.county_desk import DeskCounty, running_county, send
from helpers.factories import ADMIN, make_user

from app.domain.errors import KnownError, PermissionDenied, ValidationError
from app.domain.masking import find_unmasked_ids, mask_id, mask_phone
from app.domain.roles import Actor, Role
from app.services import audit, settings
from sync.client import county_checks as checks
from sync.client import county_staff as staff
from sync.client.config import URL_KEY
from sync.client.county_staff import CountyDesk, CountyStaffClient, InboxQuery, StaffConfig
from sync.client.http import BadCredential, Refused, ServerTrouble, Uncertain, Unreachable
from sync.protocol import EventKind
from sync.protocol_county import CountyStatus

TOKEN = "bjs.county1." + "A" * 43
TODAY = date(2026, 11, 20)
CASE = "6f1c1f5e-3a3b-4c55-9d8e-0c6f4f3c2a11"


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskCounty]:
    with running_county(tmp_path_factory.mktemp("county")) as server:
        yield server


@pytest.fixture
def client(county: DeskCounty) -> Iterator[CountyStaffClient]:
    session = CountyStaffClient(StaffConfig(county.url, county.staff))
    yield session
    session.close()


def closed_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


# --- token, keyring, settings -----------------------------------------------------------------


def test_token_lives_in_the_keyring_and_the_url_in_settings(rt: Any, keystore: Any):
    with pytest.raises(ValidationError, match=r"bjs\.用户名\.随机串"):
        staff.check_staff_token("bjt.370999101." + "A" * 43)
    assert staff.check_staff_token(f"  {TOKEN}\n") == TOKEN and staff.staff_of(TOKEN) == "county1"
    assert staff.store_staff_token(TOKEN, None) is False
    assert staff.stored_staff_token(None) is None and staff.stored_staff_token(keystore) is None
    assert staff.store_staff_token(TOKEN, keystore) is True
    assert staff.stored_staff_token(keystore) == TOKEN
    with pytest.raises(KnownError, match="county connect --url"):
        staff.staff_config(TOKEN)
    settings.set_value(rt, ADMIN, URL_KEY, "http://127.0.0.1:8750/")
    config = staff.staff_config(TOKEN)
    assert (config.url, config.username, config.ca_bundle) == (
        "http://127.0.0.1:8750",
        "county1",
        "",
    )
    assert TOKEN not in repr(config)


# --- the local checks ---------------------------------------------------------------------------


def test_event_rules_are_the_servers():
    from sync.server.casework import MOVES

    server = {what: sources for what, sources, _ in MOVES if isinstance(what, EventKind)}
    assert server == checks.EVENT_SOURCES
    assert checks.allowed_events(CountyStatus.SUPPLEMENTED) == {
        EventKind.CORRECTION,
        EventKind.DECIDED,
    }
    assert checks.allowed_events(CountyStatus.WITHDRAWN) == frozenset()
    assert checks.allowed_events(CountyStatus.CLOSED) == frozenset()


LATER = TODAY + timedelta(days=1)
EARLIER = TODAY - timedelta(days=1)
BAD_EVENTS: list[tuple[Callable[[], object], str, str]] = [
    (lambda: checks.signed_event(CASE, LATER, TODAY), "日期不能晚于今天", "on"),
    (lambda: checks.correction_event(CASE, [], LATER, TODAY), "请勾选", "missing"),
    (
        lambda: checks.correction_event(CASE, [{"name": "户口簿", "reason": "缺"}], LATER, TODAY),
        "「户口簿」的补正原因",
        "missing",
    ),
    (
        lambda: checks.correction_event(
            CASE, [{"name": "户口簿", "reason": "复印件不清晰"}] * 2, LATER, TODAY
        ),
        "重复",
        "missing",
    ),
    (
        lambda: checks.correction_event(
            CASE, [{"name": "户口簿", "reason": "复印件不清晰"}], EARLIER, TODAY
        ),
        "补正期限不能早于今天",
        "due_date",
    ),
    (
        lambda: checks.decided_event(CASE, "maybe", "同意", "", TODAY, TODAY),
        "准予或不予",
        "decision",
    ),
    (lambda: checks.decided_event(CASE, "approved", " ", "", TODAY, TODAY), "审批意见", "opinion"),
    (
        lambda: checks.decided_event(CASE, "denied", "不符合条件", "", TODAY, TODAY),
        "不予批准的依据",
        "basis",
    ),
    (
        lambda: checks.dispatched_event(CASE, "mail", "顺丰速运", "", TODAY, TODAY),
        "运单号应为8至30位字母或数字",
        "tracking_no",
    ),
    (
        lambda: checks.dispatched_event(CASE, "mail", "某快递", "SF12345678", TODAY, TODAY),
        "请选择寄递企业",
        "carrier",
    ),
    (
        lambda: checks.dispatched_event(CASE, "drone", "", "", TODAY, TODAY),
        "邮寄或乡镇领取",
        "method",
    ),
    (lambda: checks.closed_event(CASE, TODAY, "备" * 2001, TODAY), "备注最多2000字", "note"),
    (
        lambda: checks.decided_event(CASE, "approved", "同意\x00办理", "", TODAY, TODAY),
        "控制字符",
        "opinion",
    ),
]


@pytest.mark.parametrize(("make", "message", "field"), BAD_EVENTS)
def test_bad_event_data_is_refused_in_chinese(make: Callable[[], object], message: str, field: str):
    with pytest.raises(ValidationError) as caught:
        make()
    assert message in caught.value.message and caught.value.field == field


def test_good_event_data_makes_protocol_events():
    mail = checks.dispatched_event(CASE, "mail", "顺丰速运", " sf1234567890 ", TODAY, TODAY)
    assert mail.data.model_dump() == {  # type: ignore[union-attr]
        "method": "mail", "carrier": "顺丰速运", "tracking_no": "SF1234567890", "on": TODAY,
    }  # fmt: skip
    pickup = checks.dispatched_event(CASE, "township_pickup", "顺丰速运", "X", TODAY, TODAY)
    assert pickup.data.carrier is None  # type: ignore[union-attr]
    denied = checks.decided_event(CASE, "denied", " 不符合条件 ", "《条例》第五条", TODAY, TODAY)
    assert (denied.kind, denied.data.opinion) == ("decided", "不符合条件")  # type: ignore[union-attr]
    missing = [{"name": "户口簿", "reason": "复印件不清晰"}]
    correction = checks.correction_event(CASE, missing, TODAY, TODAY)
    assert correction.data.model_dump()["missing"] == missing  # type: ignore[union-attr]
    assert checks.closed_event(CASE, TODAY, "", TODAY).data.note == ""  # type: ignore[union-attr]


# --- failures in Chinese --------------------------------------------------------------------


def _answer(status: int, body: object, **headers: str) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response.headers.update(headers)
    return response


def test_answers_become_chinese_errors():
    refused = staff._error_of(_answer(409, {"detail": "该办件在县级当前为「已签收」", "code": "x"}))
    assert type(refused) is Refused and refused.message == "该办件在县级当前为「已签收」"
    assert refused.status == 409 and not refused.retry
    revoked = staff._error_of(_answer(401, {"detail": "凭据无效或已停用", "code": "unauthorized"}))
    assert isinstance(revoked, BadCredential) and "工作人员令牌" in revoked.message
    assert revoked.code == "unauthorized" and "county connect" in revoked.message
    busy = staff._error_of(_answer(429, {"detail": "太多", "code": "r"}, **{"Retry-After": "7"}))
    assert isinstance(busy, ServerTrouble) and busy.retry_after == 7 and "繁忙" in busy.message
    broken = staff._error_of(_answer(502, b"<html>Bad Gateway</html>"))
    assert isinstance(broken, ServerTrouble) and "（502）" in broken.message


def test_no_server_and_no_answer(black_hole: str):
    offline = CountyStaffClient(StaffConfig(closed_port(), TOKEN))
    with pytest.raises(Unreachable, match="无法连接县级服务器"):
        offline.stats()
    silent = CountyStaffClient(StaffConfig(black_hole, TOKEN), read_timeout=0.3)
    try:
        with pytest.raises(Uncertain, match="没有及时答复"):
            silent.stats()
        event = checks.signed_event(CASE, TODAY, TODAY)
        with pytest.raises(Uncertain, match="不能确定是否已登记"):
            silent.post_event(event)
    finally:
        silent.close()
        offline.close()


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A server that takes requests and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)  # so the thread sees `done` soon after the test
    held: list[socket.socket] = []
    done = threading.Event()

    def swallow() -> None:
        while not done.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    done.set()
    thread.join(timeout=10)
    listener.close()
    for conn in held:
        conn.close()


@pytest.fixture
def wrong_bytes() -> Iterator[str]:
    """A server that answers every request with bytes that are not what was asked for."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "4")
            self.end_headers()
            self.wfile.write(b"evil")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_an_attachment_is_checked_against_its_hash(wrong_bytes: str):
    client = CountyStaffClient(StaffConfig(wrong_bytes, TOKEN))
    try:
        with pytest.raises(ServerTrouble, match="校验值不符"):
            client.blob(sha(PDF))
    finally:
        client.close()


# --- against the real county server --------------------------------------------------------------


def test_inbox_detail_attachment_and_figures(county: DeskCounty, client: CountyStaffClient):
    material = send(county)["materials"][0]["name"]
    mine = send(county, files=((PDF, "application/pdf", material),))
    theirs = send(county, OTHER)
    page = client.cases(InboxQuery(township=OTHER))
    assert {c.township for c in page.cases} == {OTHER}
    assert theirs["case_uuid"] in {str(c.case_uuid) for c in page.cases}
    assert APPLICANT_ID not in page.model_dump_json()  # the inbox carries no personal data
    first, second = client.cases(limit=1), client.cases(offset=1, limit=1)
    assert first.total == second.total >= 3 and first.cases[0] != second.cases[0]
    signed = client.cases(InboxQuery(status=CountyStatus.SIGNED, item_code=mine["item_code"]))
    assert mine["case_uuid"] not in {str(c.case_uuid) for c in signed.cases}

    detail = client.case(mine["case_uuid"])
    assert (
        detail.summary.township_name == "青禾镇"
        and detail.package.applicant.id_number == APPLICANT_ID
    )
    assert checks.masked(detail, "applicant_id") == mask_id(APPLICANT_ID)
    assert checks.masked(detail, "applicant_phone") == mask_phone(APPLICANT_PHONE)
    assert client.blob(sha(PDF)) == PDF
    towns = {t.township: t for t in client.stats()}
    assert (towns[TOWNSHIP].name, towns[OTHER].name) == ("青禾镇", "白杨镇")
    assert towns[OTHER].by_status[CountyStatus.HANDED_OFF] >= 1
    with pytest.raises(Refused, match="办件不存在"):
        client.case(CASE)
    with pytest.raises(BadCredential, match="工作人员令牌"):
        CountyStaffClient(StaffConfig(county.url, TOKEN)).stats()


def test_the_desk_sends_events_and_keeps_its_own_trail(rt: Any, county: DeskCounty, client):
    actor, _ = make_user(rt, "county1", Role.COUNTY, township="")
    window = Actor(None, "window1", Role.WINDOW, township=TOWNSHIP)
    with pytest.raises(PermissionDenied):
        CountyDesk(rt, window, client)
    desk = CountyDesk(rt, actor, client)
    sent = send(county, files=((PDF, "application/pdf", ""),))
    uuid, today = sent["case_uuid"], date.today()

    answer = desk.post(checks.signed_event(uuid, today, today), sent["case_no"])
    assert county.status(uuid) == "signed" and answer.kind == "signed"
    with pytest.raises(Refused, match="当前为「已签收」，不能签收") as refused:
        desk.post(checks.signed_event(uuid, today, today), sent["case_no"])
    assert refused.value.status == 409 and county.kinds(uuid) == ["signed"]
    offline = CountyDesk(rt, actor, CountyStaffClient(StaffConfig(closed_port(), county.staff)))
    with pytest.raises(Unreachable):
        offline.post(checks.signed_event(uuid, today, today), sent["case_no"])

    assert desk.reveal(client.case(uuid), "applicant_id") == APPLICANT_ID
    trail = audit.events_for("county_case", uuid)
    assert [(e.action, e.outcome) for e in trail] == [
        ("county.signed", "ok"),
        ("county.signed", "fail"),  # refused by the county: tried, on the record
        ("pii.reveal", "ok"),  # the unreachable try reached nobody: nothing to record
    ]
    assert trail[0].details["seq"] == answer.seq and trail[1].details["code"] == "state_conflict"
    assert trail[2].details["field"] == "applicant_id" and all(
        e.account == "county1" for e in trail
    )
    assert not find_unmasked_ids(json.dumps([e.details for e in trail], ensure_ascii=False))

    path = desk.attachment(client.case(uuid).package.attachments[0])
    assert path.parent == rt.data_dir / "tmp" / "county" and path.read_bytes() == PDF


# --- bujianmian county connect ------------------------------------------------------------------


def _cli(data: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "--data", str(data), *args],
        cwd=ROOT, env=child_env(**env), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_cli_county_connect_help_is_chinese(capsys: pytest.CaptureFixture[str]):
    from app.cli import build_parser

    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["county", "connect", "--help"])
    out = capsys.readouterr().out
    assert stopped.value.code == 0 and out.startswith("用法：") and "显示本帮助并退出" in out
    assert "--url" in out and "工作人员令牌" in out and "usage:" not in out


def _url_setting(data: Path) -> str | None:
    connection = sqlite3.connect(data / "bujianmian.sqlite3")
    try:
        row = connection.execute("SELECT value FROM setting WHERE key = ?", (URL_KEY,)).fetchone()
    finally:
        connection.close()
    return row[0] if row else None


def test_cli_county_connect(county: DeskCounty, tmp_path: Path):
    wrong = _cli(tmp_path, "county", "connect", "--url", county.url, BUJIANMIAN_COUNTY_TOKEN=TOKEN)
    assert wrong.returncode == 1 and "不接受" in wrong.stderr and "未保存任何设置" in wrong.stderr
    assert _url_setting(tmp_path) is None  # refused: nothing was changed

    done = _cli(tmp_path, "county", "connect", "--url", county.url,
                BUJIANMIAN_COUNTY_TOKEN=county.staff)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "已连接县级服务器：令牌有效，共登记 2 个乡镇" in done.stdout
    assert "每次登录后会询问" in done.stdout  # the test keyring is not safe: nothing written
    assert _url_setting(tmp_path) == county.url and county.staff not in done.stdout
    stored = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert county.staff.split(".")[-1].encode() not in stored  # never in a file
