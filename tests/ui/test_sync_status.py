"""The county sync in the desktop client: the worker thread after login, the status bar, the
credential asked once per session, and one sending desk per database (the send lease)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from helpers.factories import ADMIN, TOWNSHIP, drive, make_case, make_user
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.domain.case import Action
from app.domain.roles import Role
from app.domain.states import CaseState
from app.services import settings
from app.store.models import AuditEventRecord, OutboxRecord, SettingRecord
from app.ui import application, sync_bar
from app.ui import main_window as main_window_module
from app.ui.main_window import SYNC_TEXT, MainWindow
from app.ui.workspaces import GenericWorkspace
from sync.client.config import CREDENTIAL_ENV, store_credential
from sync.client.lease import read_lease
from sync.client.status import CONTACT

# The county server helpers live next to the sync tests (their conftest is not loaded here).
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sync"))
from county_helpers import PDF
from county_live import LiveCounty, cli, free_port

CREDENTIAL = f"bjt.{TOWNSHIP}." + "Qx7" * 14 + "Z"
WAIT_MS = 30_000


@pytest.fixture(autouse=True)
def _fresh_sync_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No real keyring, no credential in the environment, nothing remembered from an earlier
    test; the process-wide contact state reset afterwards."""
    monkeypatch.setattr(sync_bar, "open_keystore", lambda: None)
    monkeypatch.delenv(CREDENTIAL_ENV, raising=False)
    sync_bar.REMEMBERED.forget()
    CONTACT.note(None, "")
    yield
    sync_bar.REMEMBERED.forget()
    CONTACT.note(None, "")


def _window(qtbot: Any, ctx: Any) -> MainWindow:
    window = MainWindow(
        ctx, workspace_factory=GenericWorkspace, idle_check_ms=3_600_000, sync_interval=3600
    )
    qtbot.addWidget(window)
    window.workspace.queue.poll_timer.stop()
    window.show()
    qtbot.waitExposed(window)
    return window


def _configure(rt: Any, url: str) -> None:
    settings.set_value(rt, ADMIN, "county_sync_url", url)


def _hand_off(rt: Any, world: Any) -> Any:
    from app.services.attachments import add_attachment

    ref = make_case(rt, world, CaseState.ACCEPTED, county=True)
    material = world.county_item().materials[0].name
    add_attachment(rt, world.window, ref.id, PDF, original_name="扫描件.pdf", material=material)
    return drive(rt, world, ref, world.window, Action.HAND_OFF)


def _never_asked(_parent: Any) -> str | None:
    raise AssertionError("the credential must not be asked for")


def _label(window: MainWindow) -> str:
    return window.sync_label.text()


def test_not_configured_and_county_accounts(qtbot, rt, world, make_ctx):
    window = _window(qtbot, make_ctx(world.window))
    assert _label(window) == SYNC_TEXT == "未配置县级同步"
    assert not window.start_sync(ask=_never_asked) and window.sync.worker is None
    assert not window.actions_by_name["立即同步"].isEnabled()

    _configure(rt, "http://127.0.0.1:9")
    county, _ = make_user(rt, "county1", Role.COUNTY, township="", desk="")
    county_window = _window(qtbot, make_ctx(county))
    assert not county_window.start_sync(ask=_never_asked)
    assert _label(county_window) == sync_bar.COUNTY_ACCOUNT_TEXT


def test_offline_with_cases_waiting_then_one_needs_a_person(qtbot, rt, world, make_ctx, keystore):
    _configure(rt, f"http://127.0.0.1:{free_port()}")  # nothing listens there
    store_credential(CREDENTIAL, keystore)
    ref = _hand_off(rt, world)
    window = _window(qtbot, make_ctx(world.window))
    assert window.start_sync(keystore=keystore, ask=_never_asked)
    worker = window.sync.worker
    assert worker is not None and worker.running
    assert window.actions_by_name["立即同步"].isEnabled()
    qtbot.waitUntil(lambda: "离线" in _label(window), timeout=WAIT_MS)
    assert _label(window).startswith("县级同步：离线，待发送 1 件")
    assert "无法连接县级服务器" in window.sync_label.toolTip()

    OutboxRecord.update(status="conflict", last_error="县级拒收，需人工处理").where(
        OutboxRecord.case == ref.id
    ).execute()
    window.sync.refresh()  # what the status timer does
    assert "待发送 0 件，1 件需人工处理" in _label(window)
    assert "（第1版）" in window.sync_label.toolTip()

    window.close()  # logout and close stop the worker; the desk gives up the lease
    assert not worker.running and window.sync.worker is None
    assert read_lease() is None


def _files_under(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def test_credential_asked_once_per_session_and_kept_only_in_memory(
    qtbot, rt, world, make_ctx, monkeypatch, tmp_path
):
    _configure(rt, f"http://127.0.0.1:{free_port()}")
    answers = [("bjt.123", True), (CREDENTIAL, True)]
    prompts: list[str] = []

    def get_text(_parent: Any, _title: str, prompt: str, echo: Any) -> tuple[str, bool]:
        assert echo == sync_bar.QLineEdit.EchoMode.Password
        prompts.append(prompt)
        return answers.pop(0)

    monkeypatch.setattr(sync_bar.QInputDialog, "getText", get_text)
    first = _window(qtbot, make_ctx(world.window))
    assert first.start_sync(keystore=None)  # no keyring: asked, a malformed one asked again
    assert len(prompts) == 2 and "凭据格式不对" in prompts[1]
    first.close()

    second = _window(qtbot, make_ctx(world.window))  # the next login in the same run
    assert second.start_sync(keystore=None) and len(prompts) == 2
    second.close()

    sync_bar.REMEMBERED.forget()
    answers.append(("", False))  # cancelled: sync stays off, the status bar says why
    third = _window(qtbot, make_ctx(world.window))
    assert not third.start_sync(keystore=None) and len(prompts) == 3
    assert _label(third) == sync_bar.NO_CREDENTIAL_TEXT and third.sync.worker is None
    assert not third.start_sync(keystore=None) and len(prompts) == 3  # once per session

    secret = CREDENTIAL.split(".")[-1]
    assert not [p for p in _files_under(tmp_path) if secret.encode() in p.read_bytes()]
    stored = [r.value for r in SettingRecord.select()] + [
        r.details for r in AuditEventRecord.select()
    ]
    assert not [text for text in stored if secret in text]


def test_the_client_starts_the_worker_after_login_and_stops_it_at_logout(
    qtbot, rt, world, make_ctx, monkeypatch
):
    _configure(rt, f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv(CREDENTIAL_ENV, CREDENTIAL)
    app = QApplication.instance()
    seen: dict[str, Any] = {}
    created: list[MainWindow] = []  # this test's window, not one left by an earlier test

    class Recorded(MainWindow):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr(main_window_module, "MainWindow", Recorded)

    def step() -> None:
        if not created:
            return
        window = created[0]
        if "worker" not in seen and window.sync.running:
            seen["worker"] = window.sync.worker
            window.lock_now()  # the idle lock covers the window but keeps sending
            seen["running_when_locked"] = window.sync.running
            window.idle.dialog.logout_button.click()  # 退出登录 on the lock screen
        elif "worker" in seen and not window.isVisible():
            app.quit()

    poll = QTimer()
    poll.timeout.connect(step)
    poll.start(20)
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(app.quit)  # never hang the test run
    guard.start(WAIT_MS)
    try:
        _code, logged_out = application.show_main_window(app, make_ctx(world.window))
    finally:
        poll.stop()
        guard.stop()
    assert logged_out and seen["running_when_locked"]
    assert not seen["worker"].running and read_lease() is None


def _last_report(window: MainWindow) -> Any:
    return window.sync.last_report


def test_live_county_wrong_credential_then_one_desk_sends_for_all(
    qtbot, rt, world, make_ctx, clock, tmp_path
):
    county = LiveCounty(tmp_path)
    county.start()
    try:
        _live_scenario(qtbot, rt, world, make_ctx, clock, county)
    finally:
        county.stop()


def _live_scenario(qtbot, rt, world, make_ctx, clock, county: LiveCounty) -> None:
    clock.value = datetime(2026, 12, 2, 9, 30)  # December: 2027's holidays are still missing
    _configure(rt, county.url)
    _hand_off(rt, world)

    wrong = f"bjt.{TOWNSHIP}." + "W" * 43
    refused = _window(qtbot, make_ctx(world.window))
    assert refused.start_sync(keystore=None, ask=lambda _parent: wrong)
    qtbot.waitUntil(lambda: not refused.sync.running, timeout=WAIT_MS)
    assert _label(refused).startswith("县级同步：已停止——县级服务器不接受本乡镇的同步凭据")
    assert sync_bar.REMEMBERED.value == ""  # the refused credential is asked for again
    refused.close()

    clock.advance(hours=2)  # past the backoff the refused attempt set on the row
    first = _window(qtbot, make_ctx(world.window))
    assert "2027" in first.calendar_label.text()
    assert first.start_sync(keystore=None, ask=lambda _parent: county.township)
    qtbot.waitUntil(lambda: _label(first) == "县级同步：在线，待发送 0 件", timeout=WAIT_MS)
    assert county.package_posts() == 1

    second_actor, _ = make_user(rt, "window2", Role.WINDOW, desk="A2")
    second = _window(qtbot, make_ctx(second_actor))
    assert second.start_sync(keystore=None, ask=_never_asked)  # remembered this run
    qtbot.waitUntil(lambda: _last_report(second) is not None, timeout=WAIT_MS)
    assert _last_report(second).sender == "A1 综合窗口"
    assert _label(second) == "县级同步：在线（由 A1 综合窗口 发送），待发送 0 件"

    _hand_off(rt, world)
    admin = cli(
        "county", "staff", "add", "admin1", "县管理员", "--db", county.db, "--role", "admin"
    )
    import requests
    from county_helpers import bearer

    calendar = {
        "years": [2027],
        "days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}],
    }
    published = requests.post(
        f"{county.url}/api/v1/holidays", json=calendar, headers=bearer(admin), timeout=30
    )
    assert published.status_code in (200, 201), published.text
    before = _last_report(second)
    second.sync_now()  # the other desk does not send: the lease is A1's
    qtbot.waitUntil(lambda: _last_report(second) is not before, timeout=WAIT_MS)
    assert _last_report(second).sender and county.package_posts() == 1

    first.lock_now()  # idle lock: the worker keeps going
    first.sync_label.clicked.emit()  # a click on the label: sync now
    qtbot.waitUntil(lambda: county.package_posts() == 2, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not first.calendar_label.isVisible(), timeout=WAIT_MS)
    assert 2027 in rt.calendar.covered_years

    worker = first.sync.worker
    first.idle.dialog.logout_button.click()  # A1 logs out: its worker stops, the lease is free
    assert worker is not None and not worker.running and read_lease() is None
    _hand_off(rt, world)
    second.sync_now()
    qtbot.waitUntil(lambda: county.package_posts() == 3, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: _label(second) == "县级同步：在线，待发送 0 件", timeout=WAIT_MS)
    assert OutboxRecord.select().where(OutboxRecord.status == "delivered").count() == 3
