"""Idle lock: the unlock dialog covers the open main window; drafts survive; failures count."""

from __future__ import annotations

from PySide6.QtCore import Qt

from app.services import audit
from app.ui.main_window import MainWindow
from app.ui.workspaces import GenericWorkspace

DRAFT = "draft-1234"


def _window(qtbot, ctx, **kwargs) -> MainWindow:
    kwargs.setdefault("idle_check_ms", 3_600_000)  # the tests call check() themselves
    window = MainWindow(ctx, workspace_factory=GenericWorkspace, **kwargs)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _unlock(qtbot, window: MainWindow, password: str) -> str:
    dialog = window.idle.dialog
    assert dialog is not None
    dialog.password_edit.setText(password)
    qtbot.mouseClick(dialog.unlock_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy)
    return dialog.error_label.text()


def test_idle_lock_keeps_the_draft_and_counts_wrong_passwords(qtbot, rt, world, make_ctx, clock):
    ctx = make_ctx(world.window)
    window = _window(qtbot, ctx)
    search = window.workspace.queue.search_edit
    qtbot.keyClicks(search, DRAFT[:-1])
    clock.advance(minutes=9)
    qtbot.keyClicks(search, DRAFT[-1])  # typing counts as activity: the idle time restarts
    clock.advance(minutes=9)
    window.idle.check()
    assert not ctx.session.locked
    clock.advance(minutes=2)
    window.idle.check()
    assert ctx.session.locked
    dialog = window.idle.dialog
    assert dialog is not None and dialog.isVisible() and dialog.isModal()
    assert "10分钟未操作" in dialog.reason_label.text()
    assert window.stack.currentIndex() == 1  # the case data is covered while locked
    assert window.isVisible()

    message = _unlock(qtbot, window, "Not-the-password-1")
    assert "最多还可尝试4次" in message
    assert ctx.session.locked
    failures = [e for e in audit.events_for("account", "window1") if e.action == "login.failure"]
    assert len(failures) == 1

    dialog.password_edit.setText(world.passwords["window1"])
    qtbot.mouseClick(dialog.unlock_button, Qt.MouseButton.LeftButton)
    # The password is checked in the background; the dialog goes when its answer arrives.
    qtbot.waitUntil(lambda: window.idle.dialog is None)
    assert not ctx.session.locked
    assert window.stack.currentIndex() == 0
    assert search.text() == DRAFT
    assert window.isVisible()


def test_the_timer_locks_without_a_call(qtbot, rt, world, make_ctx, clock):
    ctx = make_ctx(world.window)
    window = _window(qtbot, ctx, idle_check_ms=20)
    assert not ctx.session.locked
    clock.advance(minutes=11)
    qtbot.waitUntil(lambda: window.idle.is_locked)
    assert window.idle.dialog is not None and window.idle.dialog.isVisible()


def test_idle_minutes_from_the_constructor(qtbot, rt, world, make_ctx, clock):
    ctx = make_ctx(world.window)
    window = _window(qtbot, ctx, idle_minutes=2)
    clock.advance(minutes=1)
    window.idle.check()
    assert not ctx.session.locked
    clock.advance(minutes=1)
    window.idle.check()
    assert ctx.session.locked


def test_escape_does_not_dismiss_the_lock(qtbot, rt, world, make_ctx):
    ctx = make_ctx(world.window)
    window = _window(qtbot, ctx)
    window.lock_now()
    dialog = window.idle.dialog
    assert dialog is not None
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    dialog.close()
    assert dialog.isVisible() and ctx.session.locked


def test_logout_from_the_lock_closes_the_window(qtbot, rt, world, make_ctx):
    ctx = make_ctx(world.window)
    window = _window(qtbot, ctx)
    window.lock_now()
    dialog = window.idle.dialog
    assert dialog is not None
    with qtbot.waitSignal(window.logout_requested):
        qtbot.mouseClick(dialog.logout_button, Qt.MouseButton.LeftButton)
    assert not window.isVisible() and not dialog.isVisible()
