"""Main window (header, status bar, workspace, shortcuts), the case view, and error display."""

from __future__ import annotations

import sys
from datetime import datetime

import pytest
from helpers.factories import OTHER_TOWNSHIP, drive, intake, make_case, make_user, person
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from app.domain.case import Action
from app.domain.errors import ValidationError
from app.domain.masking import find_unmasked_ids
from app.domain.roles import Role
from app.domain.states import CaseState
from app.services import attachments, audit, case_view
from app.store.db import redact_url
from app.ui import errors, workspaces
from app.ui.errors import CrashDialog, install_excepthook
from app.ui.main_window import SYNC_TEXT, MainWindow
from app.ui.tasks import run_task
from app.ui.widgets.case_panel import CasePanel
from app.ui.workspaces import GenericWorkspace


def _window(qtbot, ctx, **kwargs) -> MainWindow:
    kwargs.setdefault("idle_check_ms", 3_600_000)
    window = MainWindow(ctx, **kwargs)
    qtbot.addWidget(window)
    window.workspace.queue.poll_timer.stop()  # only the shortcuts refresh in these tests
    window.show()
    qtbot.waitExposed(window)
    return window


def _generic(qtbot, ctx) -> MainWindow:
    return _window(qtbot, ctx, workspace_factory=GenericWorkspace)


def _active(qtbot, window: MainWindow) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)


@pytest.fixture
def boxes(monkeypatch) -> list[str]:
    """QMessageBox.warning replaced by a recorder of the Chinese texts."""
    shown: list[str] = []
    monkeypatch.setattr(errors.QMessageBox, "warning", lambda _p, _t, text: shown.append(text))
    return shown


def _crash_dialogs() -> list[CrashDialog]:
    return [
        w for w in QApplication.topLevelWidgets() if isinstance(w, CrashDialog) and w.isVisible()
    ]


# --- header, status bar, workspace -----------------------------------------------------------


def test_header_shows_account_role_station_and_desk(qtbot, rt, world, make_ctx):
    actor = world.stations["jisheng"]
    window = _window(qtbot, make_ctx(actor))
    assert window.name_label.text() == actor.display_name == "测试st_jisheng"
    assert window.role_label.text() == "站办所"
    assert window.place_label.text() == "青禾镇·计生（卫生计生办）"
    assert window.desk_label.text() == "窗口：S1"
    assert "站办所" in window.windowTitle() and "青禾镇" in window.windowTitle()
    assert window.db_label.text() == f"数据库：{redact_url(rt.url)}"
    assert window.sync_label.text() == SYNC_TEXT
    assert window.calendar_label.text() == ""  # November with this year's schedule: no warning


def test_window_desk_has_its_name_and_the_window_queue(qtbot, rt, world, make_ctx):
    received = make_case(rt, world, CaseState.RECEIVED)
    window = _generic(qtbot, make_ctx(world.window))
    assert window.desk_label.text() == "窗口：A1 综合窗口"
    assert window.role_label.text() == "综合窗口"
    queue = window.workspace.queue
    assert [queue.model.case_id(r) for r in range(queue.model.rowCount())] == [received.id]


def test_database_password_never_shown(qtbot, rt, world, make_ctx, monkeypatch):
    monkeypatch.setattr(rt, "url", "postgresql://clerk:s3cret-pw@db.example:5432/bjm")
    window = _generic(qtbot, make_ctx(world.window))
    assert "s3cret-pw" not in window.db_label.text() + window.db_label.toolTip()
    assert window.db_label.text() == "数据库：postgresql://clerk:***@db.example:5432/bjm"


def test_calendar_warning_in_the_status_bar(qtbot, rt, world, make_ctx, clock):
    clock.value = datetime(2026, 12, 2, 9, 30)  # December, and 2027's schedule is missing
    window = _generic(qtbot, make_ctx(world.window))
    assert "2027" in window.calendar_label.text() and "暂定" in window.calendar_label.text()
    assert window.calendar_label.isVisible()


def test_workspace_comes_from_the_registry(qtbot, rt, world, make_ctx, monkeypatch):
    auditor, _ = make_user(rt, "audit1", Role.AUDITOR)

    class AuditWorkspace(GenericWorkspace):
        pass

    monkeypatch.setitem(workspaces.WORKSPACES, Role.AUDITOR, AuditWorkspace)
    assert type(_window(qtbot, make_ctx(auditor)).workspace) is AuditWorkspace
    # Without a registration or a module of its own, a role gets the generic workspace.
    monkeypatch.delitem(workspaces.WORKSPACES, Role.AUDITOR)
    monkeypatch.setitem(workspaces.ROLE_MODULES, Role.AUDITOR, "not_written_yet")
    assert type(_window(qtbot, make_ctx(auditor)).workspace) is GenericWorkspace


# --- keyboard --------------------------------------------------------------------------------


def test_shortcuts_find_refresh_lock_and_open(qtbot, rt, world, make_ctx, clock):
    first = make_case(rt, world, CaseState.RECEIVED)
    window = _generic(qtbot, make_ctx(world.window))
    _active(qtbot, window)
    workspace = window.workspace
    assert isinstance(workspace, GenericWorkspace)
    queue = workspace.queue
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert queue.search_edit.hasFocus()

    second = make_case(rt, world, CaseState.RECEIVED)
    clock.advance(minutes=1)
    assert queue.model.rowCount() == 1
    qtbot.keyClick(window, Qt.Key.Key_F5)
    assert {queue.model.case_id(r) for r in range(queue.model.rowCount())} == {
        first.id,
        second.id,
    }

    queue.table.setFocus()
    queue.table.setCurrentIndex(queue.model.index(queue.model.row_of(second.id), 0))
    qtbot.keyClick(queue.table, Qt.Key.Key_Return)
    assert workspace.panel.detail is not None and workspace.panel.detail.id == second.id

    qtbot.keyClick(window, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    assert window.idle.is_locked and window.idle.dialog is not None


# --- case view -------------------------------------------------------------------------------


def _panel_for(qtbot, rt, world, make_ctx, actor) -> tuple[MainWindow, CasePanel]:
    window = _generic(qtbot, make_ctx(actor))
    workspace = window.workspace
    assert isinstance(workspace, GenericWorkspace)
    return window, workspace.panel


def test_no_unmasked_number_anywhere_until_revealed(qtbot, rt, world, make_ctx, texts_of):
    who = person()
    county = make_case(rt, world, CaseState.ACCEPTED, item=world.county_item())
    ref = intake(rt, world, world.township_item(), who=who)
    window, panel = _panel_for(qtbot, rt, world, make_ctx, world.window)
    for case_id in (county.id, ref.id):
        window.workspace.queue.table.selectRow(window.workspace.queue.model.row_of(case_id))
        assert panel.detail is not None and panel.detail.id == case_id
        for tab in range(panel.tabs.count()):
            panel.tabs.setCurrentIndex(tab)
            leaked = find_unmasked_ids("\n".join(texts_of(window)))
            assert leaked == [], leaked
    assert panel.secrets["proxy_id"].button.isHidden()  # this intake had no proxy
    assert (
        panel.secrets["applicant_id"].value_label.text()
        == case_view.get_case(rt, world.window, ref.id).applicant_id_masked
    )

    qtbot.mouseClick(panel.secrets["applicant_id"].button, Qt.MouseButton.LeftButton)
    assert panel.secrets["applicant_id"].value_label.text() == who.id_number
    assert not panel.secrets["applicant_id"].button.isEnabled()
    # The walk above would have caught it: now exactly the revealed number shows.
    assert find_unmasked_ids("\n".join(texts_of(window))) == [who.id_number]
    reveals = [e for e in audit.events_for("case", ref.uuid) if e.action == "pii.reveal"]
    assert [(e.account, e.details["field"]) for e in reveals] == [("window1", "applicant_id")]
    timeline = panel.timeline_table
    labels = [timeline.item(r, 1).text() for r in range(timeline.rowCount())]
    assert labels == ["接件登记", "查看完整个人信息"]


def test_roles_without_reveal_right_get_no_button(qtbot, rt, world, make_ctx):
    auditor, _ = make_user(rt, "audit1", Role.AUDITOR)
    ref = make_case(rt, world, CaseState.RECEIVED)
    panel = CasePanel(make_ctx(auditor))
    qtbot.addWidget(panel)
    panel.show_case(ref.id)
    assert panel.detail is not None
    assert all(row.button.isHidden() for row in panel.secrets.values())


def test_case_view_header_timeline_and_materials(qtbot, rt, world, make_ctx, clock):
    item = world.township_item("jisheng", immediate=False)
    ref = make_case(rt, world, CaseState.ACCEPTED, item=item)
    clock.advance(minutes=5)
    drive(rt, world, ref, world.window, Action.ROUTE)
    panel = CasePanel(make_ctx(world.stations["jisheng"]))
    qtbot.addWidget(panel)
    panel.show_case(ref.id)
    detail = panel.detail
    assert detail is not None
    assert panel.case_no_label.text() == ref.case_no
    assert panel.state_label.text() == "状态：审批中"
    assert panel.deadline_label.text().endswith("正常")
    assert QColor(0xE2, 0xF3, 0xE4).name() in panel.deadline_label.styleSheet()
    assert panel.materials_table.rowCount() == len(item.materials)
    steps = [panel.timeline_table.item(r, 1).text() for r in range(panel.timeline_table.rowCount())]
    assert steps == ["接件登记", "受理", "分送站办所"]
    assert panel.timeline_table.item(0, 2).text() == "测试window1"
    assert "已受理 → 审批中" in panel.timeline_table.item(2, 4).text()


def _png() -> bytes:
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(QColor("#3366cc"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


def test_attachment_preview_is_loaded_off_the_ui_thread(qtbot, rt, world, make_ctx):
    ref = make_case(rt, world, CaseState.RECEIVED)
    attachments.add_attachment(rt, world.window, ref.id, _png(), original_name="scan.png")
    panel = CasePanel(make_ctx(world.window))
    qtbot.addWidget(panel)
    panel.show_case(ref.id)
    assert panel.attachment_list.count() == 1
    assert "scan.png" in panel.attachment_list.item(0).text()
    panel.attachment_list.setCurrentRow(0)
    qtbot.waitUntil(lambda: panel.open_button.isEnabled())
    pixmap = panel.preview_label.pixmap()
    assert not pixmap.isNull() and pixmap.width() >= 200


# --- errors ----------------------------------------------------------------------------------


def test_known_error_is_a_chinese_message(qtbot, rt, world, make_ctx, boxes):
    elsewhere = intake(rt, world, world.township_item(), actor=world.other_window)
    assert world.other_window.township == OTHER_TOWNSHIP
    panel = CasePanel(make_ctx(world.window))
    qtbot.addWidget(panel)
    panel.show_case(elsewhere.id)
    assert boxes == ["办件不存在或不在您的办理范围内"]
    assert panel.detail is None and panel.pages.currentIndex() == 0
    assert _crash_dialogs() == []


def test_unexpected_error_opens_the_crash_dialog_with_log_tail(
    qtbot, rt, world, make_ctx, monkeypatch, tmp_path, boxes
):
    log = tmp_path / "bujianmian.log"
    log.write_text("第一行\n最后一行日志：打开办件\n", encoding="utf-8")
    errors.set_log_path(log)
    ref = make_case(rt, world, CaseState.RECEIVED)

    def broken(*_args):
        raise RuntimeError("boom in get_case")

    monkeypatch.setattr(case_view, "get_case", broken)
    panel = CasePanel(make_ctx(world.window))
    qtbot.addWidget(panel)
    panel.show_case(ref.id)
    [dialog] = _crash_dialogs()
    report = dialog.text.toPlainText()
    assert "RuntimeError: boom in get_case" in report and "Traceback" in report
    assert "最后一行日志：打开办件" in report
    assert boxes == []
    dialog.close()


def test_a_failing_task_reaches_the_crash_dialog(qtbot, rt, world, make_ctx):
    panel = CasePanel(make_ctx(world.window))
    qtbot.addWidget(panel)
    results: list[object] = []
    run_task(panel, lambda: 1 / 0, results.append)
    qtbot.waitUntil(lambda: len(_crash_dialogs()) == 1)
    assert "ZeroDivisionError" in _crash_dialogs()[0].text.toPlainText()
    assert results == []
    _crash_dialogs()[0].close()


def test_excepthook_shows_instead_of_exiting(qtbot, boxes):
    previous = install_excepthook()
    try:
        try:
            raise ValidationError("请填写申请人姓名", field="name")
        except ValidationError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
        try:
            raise KeyError("missing")
        except KeyError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
    finally:
        sys.excepthook = previous
    assert boxes == ["请填写申请人姓名"]
    [dialog] = _crash_dialogs()
    assert "KeyError: 'missing'" in dialog.text.toPlainText()
    dialog.close()
