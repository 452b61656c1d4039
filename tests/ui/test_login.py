"""Login dialog: wrong passwords, lockout, desk choice remembered, forced password change."""

from __future__ import annotations

from helpers.factories import TOWNSHIP, make_user
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QDialog

from app.domain.roles import Role
from app.security.keystore import PASSPHRASE_ENV
from app.services import accounts, audit
from app.ui.application import ask_passphrase, make_app, run_sessions, start_login
from app.ui.login import KEY_DESK, KEY_TOWNSHIP, KEY_USERNAME, LoginDialog

NEW_PASSWORD = "Qinghe#2026new"


def _dialog(qtbot, rt, settings) -> LoginDialog:
    dialog = LoginDialog(rt, settings)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _attempt(qtbot, dialog: LoginDialog, username: str, password: str) -> str:
    """Type and press Enter like a clerk; returns the inline message once the call is back."""
    dialog.username_edit.setText(username)
    dialog.password_edit.setText(password)
    dialog.error_label.setText("")
    qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dialog.busy)
    return dialog.error_label.text()


def _remember_desk(settings, desk: str = "A1") -> None:
    settings.setValue(KEY_TOWNSHIP, TOWNSHIP)
    settings.setValue(KEY_DESK, desk)


def test_wrong_password_tells_the_remaining_attempts(qtbot, rt, world, settings):
    dialog = _dialog(qtbot, rt, settings)
    first = _attempt(qtbot, dialog, "window1", "Wrong-password-1")
    assert "用户名或密码错误" in first and "最多还可尝试4次" in first
    second = _attempt(qtbot, dialog, "window1", "Wrong-password-2")
    assert "已连续输错2次" in second and "最多还可尝试3次" in second
    assert dialog.session is None
    assert dialog.password_edit.text() == ""
    failures = [e for e in audit.events_for("account", "window1") if e.action == "login.failure"]
    assert len(failures) == 2


def test_five_failures_lock_the_account_with_the_minutes_left(qtbot, rt, world, settings, clock):
    dialog = _dialog(qtbot, rt, settings)
    for attempt in range(4):
        _attempt(qtbot, dialog, "window1", f"Wrong-password-{attempt}")
    fifth = _attempt(qtbot, dialog, "window1", "Wrong-password-5")
    assert "已锁定15分钟" in fifth
    clock.advance(minutes=6)
    # Even the right password is refused while locked, with the minutes still to wait.
    later = _attempt(qtbot, dialog, "window1", world.passwords["window1"])
    assert "请9分钟后再试" in later
    assert dialog.session is None and dialog.result() != QDialog.DialogCode.Accepted


def test_first_login_chooses_the_desk_and_forces_a_new_password(qtbot, rt, world, settings):
    _actor, initial = make_user(rt, "clerk1", Role.WINDOW)
    dialog = _dialog(qtbot, rt, settings)
    assert dialog.desk_combo.isHidden()  # a new machine does not know its township yet
    assert _attempt(qtbot, dialog, "clerk1", initial) == ""
    assert dialog.pages.currentIndex() == 1
    assert [dialog.desk_page_combo.itemData(i) for i in range(dialog.desk_page_combo.count())] == [
        "A1"
    ]
    qtbot.mouseClick(dialog.desk_ok_button, Qt.MouseButton.LeftButton)
    change = dialog.change_dialog
    assert change is not None and change.isVisible()
    change.old_edit.setText(initial)
    qtbot.keyClicks(change.new_edit, "short")
    assert "至少" in change.hint_label.text()  # the live hint names the broken rules
    change.repeat_edit.setText("short")
    qtbot.mouseClick(change.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not change.busy)
    assert "密码不符合要求" in change.error_label.text()
    change.new_edit.setText(NEW_PASSWORD)
    change.repeat_edit.setText(NEW_PASSWORD + "x")
    qtbot.mouseClick(change.ok_button, Qt.MouseButton.LeftButton)
    assert change.error_label.text() == "两次输入的新密码不一致"
    change.repeat_edit.setText(NEW_PASSWORD)
    qtbot.mouseClick(change.ok_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.result() == QDialog.DialogCode.Accepted)
    assert dialog.session is not None and not dialog.session.must_change_password
    assert dialog.session.actor.desk == "A1"
    assert settings.value(KEY_DESK) == "A1" and settings.value(KEY_USERNAME) == "clerk1"
    assert not accounts.login(rt, "clerk1", NEW_PASSWORD).must_change_password


def test_refusing_the_forced_change_logs_nobody_in(qtbot, rt, world, settings):
    _remember_desk(settings)
    _attempt(qtbot, dialog := _dialog(qtbot, rt, settings), "window1", world.passwords["window1"])
    change = dialog.change_dialog
    assert change is not None
    change.reject()
    assert dialog.session is None
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "必须修改初始密码" in dialog.error_label.text()


def test_remembered_desk_and_username_make_login_one_step(qtbot, rt, world, settings):
    session = accounts.login(rt, "window1", world.passwords["window1"])
    accounts.change_password(rt, session, world.passwords["window1"], NEW_PASSWORD)
    _remember_desk(settings)
    settings.setValue(KEY_USERNAME, "window1")
    dialog = _dialog(qtbot, rt, settings)
    assert dialog.username_edit.text() == "window1"
    assert dialog.desk_combo.currentData() == "A1" and not dialog.desk_combo.isHidden()
    assert dialog.focusWidget() is dialog.password_edit  # username known: type the password
    _attempt(qtbot, dialog, "window1", NEW_PASSWORD)
    assert dialog.result() == QDialog.DialogCode.Accepted
    assert dialog.session is not None and dialog.session.actor.desk == "A1"
    logins = [e for e in audit.events_for("account", "window1") if e.action == "login.success"]
    assert logins[-1].desk == "A1"


def test_empty_fields_are_asked_for_without_a_service_call(qtbot, rt, world, settings):
    dialog = _dialog(qtbot, rt, settings)
    qtbot.mouseClick(dialog.login_button, Qt.MouseButton.LeftButton)
    assert dialog.error_label.text() == "请输入用户名和密码"
    assert not dialog.busy
    assert audit.events_for("account", "") == []


def test_client_start_prefers_chinese_fonts_and_the_passphrase_from_env(monkeypatch):
    families = make_app([]).font().families()
    assert families[:3] == ["Microsoft YaHei UI", "Microsoft YaHei", "Noto Sans CJK SC"]
    monkeypatch.setenv(PASSPHRASE_ENV, "Long-passphrase-2026")
    assert ask_passphrase() == "Long-passphrase-2026"


def test_closing_the_login_ends_the_client(qtbot, rt, monkeypatch):
    monkeypatch.setattr(LoginDialog, "exec", lambda self: QDialog.DialogCode.Rejected)
    dialog = LoginDialog(rt, QSettings(str(rt.data_dir / "c.ini"), QSettings.Format.IniFormat))
    assert run_sessions(QApplication.instance(), dialog, dialog.settings, None) == 0


def test_login_window_shows_before_the_database_opens_and_logs_in_once_it_has(
    qtbot, rt, world, monkeypatch, tmp_path
):
    """The clerk may type and press 登录 at once; the login goes through when the database
    (opened in the background) is ready."""
    from app.ui import application

    # The test's database is already open: stand in for the background thread ourselves.
    monkeypatch.setattr(application.DatabaseOpener, "start", lambda self: None)
    settings = QSettings(str(tmp_path / "c.ini"), QSettings.Format.IniFormat)
    dialog, _opener = start_login(rt.data_dir, settings)
    qtbot.addWidget(dialog)
    assert dialog.isVisible() and dialog.rt is None
    password = world.passwords["window1"]
    qtbot.keyClicks(dialog.username_edit, "window1")
    qtbot.keyClicks(dialog.password_edit, password)
    dialog.submit()
    assert "正在打开数据库" in dialog.error_label.text()
    dialog.attach_runtime(rt)  # what the background thread's signal does
    qtbot.waitUntil(lambda: dialog.session is not None or dialog.change_dialog is not None)
