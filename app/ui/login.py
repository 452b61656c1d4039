"""Login (with the desk), the forced change of the initial password, and the idle-lock unlock."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.errors import KnownError
from app.domain.login_policy import BAD_LOGIN, LOCK_MINUTES, MAX_FAILURES

if TYPE_CHECKING:
    from app.services.accounts import Session
    from app.services.runtime import Runtime

# The login window must appear at once: the services (peewee, cryptography, keyring) are
# imported by the methods that need them, after the window is on screen. The same goes for
# PySide6's `Qt` namespace: importing it builds ~100 enums (about 20 ms).

KEY_USERNAME = "login/username"
KEY_TOWNSHIP = "login/township"
KEY_DESK = "login/desk"
ERROR_STYLE = "color: #b3261e;"
HINT_STYLE = "color: #5f6368;"


class FailureCounter:
    """Counts wrong passwords typed on this machine per username, to tell how many tries are
    left. The service does not say (that would reveal which usernames exist), and failures
    at other desks count too, so the number shown is an upper bound ("最多")."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}

    def message(self, username: str, service_message: str) -> str:
        key = username.strip().lower()
        if service_message != BAD_LOGIN:
            # Locked, disabled, or the lockout that the fifth failure just caused.
            self._counts.pop(key, None)
            return service_message
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        left = MAX_FAILURES - count
        if left <= 0:
            return service_message
        return (
            f"用户名或密码错误。本机已连续输错{count}次，最多还可尝试{left}次；"
            f"连续{MAX_FAILURES}次错误将锁定账号{LOCK_MINUTES}分钟。"
        )


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    return label


def _password_edit() -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setMaxLength(128)
    return edit


def _button(text: str, slot: Callable[[], object], *, default: bool = False) -> QPushButton:
    button = QPushButton(text)
    button.setDefault(default)
    button.clicked.connect(slot)
    return button


def _button_row(*buttons: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addStretch(1)
    for button in buttons:
        row.addWidget(button)
    return row


def _form(*rows: tuple[str | QLabel, QWidget]) -> QFormLayout:
    """A form whose labels' &-mnemonics jump to their fields."""
    form = QFormLayout()
    for text, field in rows:
        label = text if isinstance(text, QLabel) else QLabel(text)
        label.setBuddy(field)
        form.addRow(label, field)
    return form


def _title(text: str, subtitle: str) -> QLabel:
    label = QLabel(
        f"<div style='font-size:xx-large; font-weight:bold'>{text}</div>"
        f"<div style='color:#5f6368'>{subtitle}</div>"
    )
    label.setContentsMargins(0, 0, 0, 8)
    return label


class ServiceDialog(QDialog):
    """A dialog whose main button runs one service call off the UI thread; a KnownError is
    shown inline in `error_label`, anything else in the crash dialog."""

    def __init__(self, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.error_label = _error_label()
        self.action_button = QPushButton()
        self.busy = False

    def call_service(self, fn: Callable[[], object], on_done: Callable[[Any], None]) -> None:
        if self.busy:
            return  # a double click must not send the request twice
        self.busy = True
        self.action_button.setEnabled(False)
        self.error_label.setText("")
        from app.ui.tasks import run_task

        run_task(self, fn, lambda result: self._done(on_done, result), self._failed, "请稍候…")

    def _done(self, on_done: Callable[[Any], None], result: object) -> None:
        self.busy = False
        self.action_button.setEnabled(True)
        on_done(result)

    def _failed(self, exc: BaseException, trace: str) -> None:
        self.busy = False
        self.action_button.setEnabled(True)
        self.after_failure()
        if isinstance(exc, KnownError):
            self.error_label.setText(self.explain(exc.message))
        else:
            from app.ui.errors import show_error

            show_error(self, exc, trace)

    def explain(self, message: str) -> str:
        return message

    def after_failure(self) -> None:
        """Hook: e.g. clear the password field."""


class LoginDialog(ServiceDialog):
    """Username, password and desk; then the desk choice (new machine) and the forced change
    of the initial password. `session` is set once the dialog is accepted."""

    def __init__(
        self, rt: Runtime | None, settings: QSettings, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.rt = rt
        self._pending_submit = False
        self.settings = settings
        self.session: Session | None = None
        self.change_dialog: ChangePasswordDialog | None = None
        self._failures = FailureCounter()
        self._username = ""
        self.setWindowTitle("不见面小系统 — 登录")
        self.setMinimumWidth(440)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._credentials_page())
        self.pages.addWidget(self._desk_page())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.addWidget(_title("不见面小系统", "乡镇便民服务中心 · 办件系统"))
        layout.addWidget(self.pages)
        self._desk_township = ""
        self.desk_combo.setVisible(False)
        self.desk_label.setVisible(False)
        if rt is not None:
            self._fill_desks(str(settings.value(KEY_TOWNSHIP, "") or ""))
        self.username_edit.setText(str(settings.value(KEY_USERNAME, "") or ""))
        (self.password_edit if self.username_edit.text() else self.username_edit).setFocus()

    def _credentials_page(self) -> QWidget:
        page = QWidget()
        self.username_edit = QLineEdit()
        self.username_edit.setMaxLength(30)
        self.password_edit = _password_edit()
        self.desk_combo = QComboBox()
        self.desk_label = QLabel("窗口(&W)：")
        form = _form(
            ("用户名(&U)：", self.username_edit),
            ("密码(&P)：", self.password_edit),
            (self.desk_label, self.desk_combo),
        )
        self.login_button = _button("登录(&L)", self.submit, default=True)
        self.action_button = self.login_button
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        layout.addLayout(_button_row(self.login_button, _button("退出(&Q)", self.reject)))
        self.setTabOrder(self.username_edit, self.password_edit)
        self.setTabOrder(self.password_edit, self.desk_combo)
        self.setTabOrder(self.desk_combo, self.login_button)
        return page

    def _desk_page(self) -> QWidget:
        page = QWidget()
        self.desk_page_label = QLabel("请选择您今天所在的窗口（本机会记住这次选择）：")
        self.desk_page_label.setWordWrap(True)
        self.desk_page_combo = QComboBox()
        self.desk_ok_button = _button("确定(&O)", self._desk_chosen, default=True)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.desk_page_label)
        layout.addWidget(self.desk_page_combo)
        layout.addStretch(1)
        layout.addLayout(_button_row(self.desk_ok_button))
        return page

    def attach_runtime(self, rt: Runtime) -> None:
        """The database is open (it opens while the window is already shown): fill the desks,
        and log in if the user already pressed 登录."""
        self.rt = rt
        self._fill_desks(str(self.settings.value(KEY_TOWNSHIP, "") or ""))
        if self._pending_submit:
            self._pending_submit = False
            self.submit()

    def _fill_desks(self, township: str) -> None:
        from app.services import org

        desks = org.desks(township) if township else []
        _fill_combo(self.desk_combo, desks)
        remembered = self.desk_combo.findData(str(self.settings.value(KEY_DESK, "") or ""))
        self.desk_combo.setCurrentIndex(max(0, remembered))
        # A machine that never logged in does not know its township yet: ask after login.
        self.desk_combo.setVisible(bool(desks))
        self.desk_label.setVisible(bool(desks))
        self._desk_township = township

    def submit(self) -> None:
        username = self.username_edit.text().strip()
        password = self.password_edit.text()
        if not username or not password:
            self.error_label.setText("请输入用户名和密码")
            return
        if self.rt is None:
            self._pending_submit = True
            self.error_label.setText("正在打开数据库，请稍候…")
            return
        from app.services import accounts

        rt = self.rt
        desk = str(self.desk_combo.currentData() or "")
        self._username = username
        self.call_service(
            lambda: accounts.login(rt, username, password, desk=desk), self._logged_in
        )

    def explain(self, message: str) -> str:
        return self._failures.message(self._username, message)

    def after_failure(self) -> None:
        self.password_edit.clear()
        self.password_edit.setFocus()

    def _logged_in(self, session: Session) -> None:
        from app.services import org

        self.session = session
        township = session.actor.township
        desks = org.desks(township) if township else []
        codes = [code for code, _ in desks]
        if desks and (township != self._desk_township or session.actor.desk not in codes):
            _fill_combo(self.desk_page_combo, desks)
            self.pages.setCurrentIndex(1)
            self.desk_page_combo.setFocus()
            return
        self._after_desk()

    def _desk_chosen(self) -> None:
        assert self.session is not None
        from dataclasses import replace

        code = str(self.desk_page_combo.currentData() or "")
        self.session.actor = replace(self.session.actor, desk=code)
        self._after_desk()

    def _after_desk(self) -> None:
        assert self.session is not None
        actor = self.session.actor
        self.settings.setValue(KEY_USERNAME, actor.username)
        self.settings.setValue(KEY_TOWNSHIP, actor.township)
        self.settings.setValue(KEY_DESK, actor.desk)
        self.settings.sync()
        if not self.session.must_change_password:
            self.accept()
            return
        assert self.rt is not None  # a session exists only once the database is open
        dialog = ChangePasswordDialog(self.rt, self.session, forced=True, parent=self)
        dialog.accepted.connect(self.accept)
        dialog.rejected.connect(self._change_refused)
        self.change_dialog = dialog
        dialog.open()

    def _change_refused(self) -> None:
        self.session = None
        self.pages.setCurrentIndex(0)
        self.password_edit.clear()
        self.error_label.setText("首次登录必须修改初始密码后才能使用系统。")


def _fill_combo(combo: QComboBox, desks: list[tuple[str, str]]) -> None:
    combo.clear()
    for code, name in desks:
        combo.addItem(f"{code}  {name}", code)


def _rules_text() -> str:
    from app.security.passwords import MIN_LENGTH, RULE_KINDS

    return f"新密码要求：至少{MIN_LENGTH}位；{RULE_KINDS}；不能包含用户名；不能是常见弱密码。"


class ChangePasswordDialog(ServiceDialog):
    """Change the own password; `forced` at first login (the initial one came on paper)."""

    def __init__(
        self, rt: Runtime, session: Session, *, forced: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.rt = rt
        self.session = session
        self.setWindowTitle("修改初始密码" if forced else "修改密码")
        self.setMinimumWidth(460)
        intro = QLabel(
            ("首次登录须先把管理员发放的初始密码改为只有您知道的密码。\n" if forced else "")
            + _rules_text()
        )
        intro.setWordWrap(True)
        self.old_edit = _password_edit()
        self.new_edit = _password_edit()
        self.repeat_edit = _password_edit()
        form = _form(
            ("原密码(&O)：", self.old_edit),
            ("新密码(&N)：", self.new_edit),
            ("再次输入(&R)：", self.repeat_edit),
        )
        self.hint_label = QLabel()
        self.hint_label.setWordWrap(True)
        self.hint_label.setStyleSheet(HINT_STYLE)
        self.new_edit.textChanged.connect(self._live_check)
        self.ok_button = _button("确定修改(&S)", self.submit, default=True)
        self.action_button = self.ok_button
        cancel = _button("退出登录" if forced else "取消", self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.hint_label)
        layout.addWidget(self.error_label)
        layout.addLayout(_button_row(self.ok_button, cancel))
        self.old_edit.setFocus()

    def _live_check(self, text: str) -> None:
        from app.security.passwords import check_password_policy

        problems = check_password_policy(text, username=self.session.actor.username)
        self.hint_label.setText("还需：" + "；".join(problems) if text and problems else "")

    def submit(self) -> None:
        old, new = self.old_edit.text(), self.new_edit.text()
        if new != self.repeat_edit.text():
            self.error_label.setText("两次输入的新密码不一致")
            return
        from app.services import accounts

        self.call_service(
            lambda: accounts.change_password(self.rt, self.session, old, new),
            lambda _none: self.accept(),
        )


class UnlockDialog(ServiceDialog):
    """Over the locked main window: the same account's password continues the same session
    (every open form keeps what was typed); "退出登录" ends it."""

    logout_requested = Signal()

    def __init__(
        self, rt: Runtime, session: Session, reason: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.rt = rt
        self.session = session
        self._leaving = False
        self._failures = FailureCounter()
        self.setWindowTitle("已锁定")
        from PySide6.QtCore import Qt

        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.setMinimumWidth(420)
        actor = session.actor
        self.reason_label = QLabel(
            f"{reason}\n当前账号：{actor.label}（{actor.username}）。请输入密码解锁。"
        )
        self.reason_label.setWordWrap(True)
        self.password_edit = _password_edit()
        self.unlock_button = _button("解锁(&U)", self.submit, default=True)
        self.action_button = self.unlock_button
        self.logout_button = _button("退出登录(&Q)", self._logout)
        layout = QVBoxLayout(self)
        layout.addWidget(self.reason_label)
        layout.addLayout(_form(("密码(&P)：", self.password_edit)))
        layout.addWidget(self.error_label)
        layout.addLayout(_button_row(self.unlock_button, self.logout_button))
        self.password_edit.setFocus()

    def submit(self) -> None:
        password = self.password_edit.text()
        if not password:
            self.error_label.setText("请输入密码")
            return
        from app.services import accounts

        self.call_service(
            lambda: accounts.unlock_session(self.rt, self.session, password),
            lambda _none: self.accept(),
        )

    def explain(self, message: str) -> str:
        return self._failures.message(self.session.actor.username, message)

    def after_failure(self) -> None:
        self.password_edit.clear()

    def _logout(self) -> None:
        self._leaving = True
        self.done(QDialog.DialogCode.Rejected)
        self.logout_requested.emit()

    def reject(self) -> None:
        """Escape must not dismiss the lock; only unlocking or logging out ends it."""
        if self._leaving:
            super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._leaving and self.result() != QDialog.DialogCode.Accepted:
            event.ignore()


def main() -> int:
    """Preview: the login dialog on a throw-away demo database; accounts are printed."""
    from app.ui.application import make_app
    from app.ui.context import preview_data

    app = make_app(sys.argv)
    data = preview_data()
    for username, password in data.passwords.items():
        print(f"{username}\t{password}")
    dialog = LoginDialog(
        data.rt, QSettings(str(data.data_dir / "client.ini"), QSettings.Format.IniFormat)
    )
    dialog.show()
    code = app.exec()
    data.rt.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
