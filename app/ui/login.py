"""Login (with the desk), the forced change of the initial password, and the idle-lock unlock."""

from __future__ import annotations

import sys
from dataclasses import replace

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QCloseEvent, QFont
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
from app.security.passwords import MIN_LENGTH, RULE_KINDS, check_password_policy
from app.services import accounts, org
from app.services.accounts import Session
from app.services.runtime import Runtime
from app.ui.errors import show_error
from app.ui.tasks import run_task

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
        if service_message != accounts.BAD_LOGIN:
            # Locked, disabled, or the lockout that the fifth failure just caused.
            self._counts.pop(key, None)
            return service_message
        count = self._counts.get(key, 0) + 1
        self._counts[key] = count
        left = accounts.MAX_FAILURES - count
        if left <= 0:
            return service_message
        return (
            f"用户名或密码错误。本机已连续输错{count}次，最多还可尝试{left}次；"
            f"连续{accounts.MAX_FAILURES}次错误将锁定账号{accounts.LOCK_MINUTES}分钟。"
        )


def _error_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _password_edit() -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setMaxLength(128)
    return edit


def _title(text: str, subtitle: str) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 8)
    head = QLabel(text)
    font = QFont(head.font())
    font.setPointSizeF(font.pointSizeF() * 1.6)
    font.setBold(True)
    head.setFont(font)
    sub = QLabel(subtitle)
    sub.setStyleSheet(HINT_STYLE)
    layout.addWidget(head)
    layout.addWidget(sub)
    return box


class LoginDialog(QDialog):
    """Username, password and desk; then the desk choice (new machine) and the forced change
    of the initial password. `session` is set once the dialog is accepted."""

    def __init__(self, rt: Runtime, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rt = rt
        self.settings = settings
        self.session: Session | None = None
        self.change_dialog: ChangePasswordDialog | None = None
        self._failures = FailureCounter()
        self._busy = False
        self.setWindowTitle("不见面小系统 — 登录")
        self.setMinimumWidth(440)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._credentials_page())
        self.pages.addWidget(self._desk_page())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 24, 28, 20)
        layout.addWidget(_title("不见面小系统", "乡镇便民服务中心 · 办件系统"))
        layout.addWidget(self.pages)
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
        self.desk_label.setBuddy(self.desk_combo)
        form = QFormLayout()
        form.addRow("用户名(&U)：", self.username_edit)
        form.addRow("密码(&P)：", self.password_edit)
        form.addRow(self.desk_label, self.desk_combo)
        for label, edit in ((0, self.username_edit), (1, self.password_edit)):
            buddy = form.itemAt(label, QFormLayout.ItemRole.LabelRole).widget()
            if isinstance(buddy, QLabel):
                buddy.setBuddy(edit)
        self.message_label = _error_label()
        self.login_button = QPushButton("登录(&L)")
        self.login_button.setDefault(True)
        self.login_button.clicked.connect(self.submit)
        quit_button = QPushButton("退出(&Q)")
        quit_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.login_button)
        buttons.addWidget(quit_button)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(form)
        layout.addWidget(self.message_label)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.setTabOrder(self.username_edit, self.password_edit)
        self.setTabOrder(self.password_edit, self.desk_combo)
        self.setTabOrder(self.desk_combo, self.login_button)
        return page

    def _desk_page(self) -> QWidget:
        page = QWidget()
        self.desk_page_label = QLabel("请选择您今天所在的窗口（本机会记住这次选择）：")
        self.desk_page_label.setWordWrap(True)
        self.desk_page_combo = QComboBox()
        self.desk_ok_button = QPushButton("确定(&O)")
        self.desk_ok_button.setDefault(True)
        self.desk_ok_button.clicked.connect(self._desk_chosen)
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.desk_page_label)
        layout.addWidget(self.desk_page_combo)
        layout.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.desk_ok_button)
        layout.addLayout(row)
        return page

    def _fill_desks(self, township: str) -> None:
        desks = org.desks(township) if township else []
        self.desk_combo.clear()
        for code, name in desks:
            self.desk_combo.addItem(f"{code}  {name}", code)
        remembered = self.desk_combo.findData(str(self.settings.value(KEY_DESK, "") or ""))
        self.desk_combo.setCurrentIndex(max(0, remembered))
        # A machine that never logged in does not know its township yet: ask after login.
        self.desk_combo.setVisible(bool(desks))
        self.desk_label.setVisible(bool(desks))
        self._desk_township = township

    def submit(self) -> None:
        if self._busy:
            return
        username = self.username_edit.text().strip()
        password = self.password_edit.text()
        if not username or not password:
            self.message_label.setText("请输入用户名和密码")
            return
        desk = str(self.desk_combo.currentData() or "")
        self._busy = True
        self.login_button.setEnabled(False)
        self.message_label.setText("")
        run_task(
            self,
            lambda: accounts.login(self.rt, username, password, desk=desk),
            self._logged_in,
            lambda exc, trace: self._login_failed(username, exc, trace),
            "正在登录…",
        )

    def _login_failed(self, username: str, exc: BaseException, trace: str) -> None:
        self._busy = False
        self.login_button.setEnabled(True)
        self.password_edit.clear()
        self.password_edit.setFocus()
        if isinstance(exc, KnownError):
            self.message_label.setText(self._failures.message(username, exc.message))
        else:
            show_error(self, exc, trace)

    def _logged_in(self, session: Session) -> None:
        self._busy = False
        self.login_button.setEnabled(True)
        self.session = session
        township = session.actor.township
        desks = org.desks(township) if township else []
        codes = [code for code, _ in desks]
        if desks and (township != self._desk_township or session.actor.desk not in codes):
            self.desk_page_combo.clear()
            for code, name in desks:
                self.desk_page_combo.addItem(f"{code}  {name}", code)
            self.pages.setCurrentIndex(1)
            self.desk_page_combo.setFocus()
            return
        self._after_desk()

    def _desk_chosen(self) -> None:
        assert self.session is not None
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
        dialog = ChangePasswordDialog(self.rt, self.session, forced=True, parent=self)
        dialog.accepted.connect(self.accept)
        dialog.rejected.connect(self._change_refused)
        self.change_dialog = dialog
        dialog.open()

    def _change_refused(self) -> None:
        self.session = None
        self.pages.setCurrentIndex(0)
        self.password_edit.clear()
        self.message_label.setText("首次登录必须修改初始密码后才能使用系统。")


def _rules_text() -> str:
    return f"新密码要求：至少{MIN_LENGTH}位；{RULE_KINDS}；不能包含用户名；不能是常见弱密码。"


class ChangePasswordDialog(QDialog):
    """Change the own password; `forced` at first login (the initial one came on paper)."""

    def __init__(
        self, rt: Runtime, session: Session, *, forced: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.rt = rt
        self.session = session
        self._busy = False
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
        form = QFormLayout()
        form.addRow("原密码(&O)：", self.old_edit)
        form.addRow("新密码(&N)：", self.new_edit)
        form.addRow("再次输入(&R)：", self.repeat_edit)
        self.hint_label = QLabel()
        self.hint_label.setWordWrap(True)
        self.hint_label.setStyleSheet(HINT_STYLE)
        self.error_label = _error_label()
        self.new_edit.textChanged.connect(self._live_check)
        self.ok_button = QPushButton("确定修改(&S)")
        self.ok_button.setDefault(True)
        self.ok_button.clicked.connect(self.submit)
        cancel = QPushButton("退出登录" if forced else "取消")
        cancel.clicked.connect(self.reject)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.ok_button)
        row.addWidget(cancel)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.hint_label)
        layout.addWidget(self.error_label)
        layout.addLayout(row)
        self.old_edit.setFocus()

    def _live_check(self, text: str) -> None:
        problems = check_password_policy(text, username=self.session.actor.username)
        self.hint_label.setText("还需：" + "；".join(problems) if text and problems else "")

    def submit(self) -> None:
        if self._busy:
            return
        old, new = self.old_edit.text(), self.new_edit.text()
        if new != self.repeat_edit.text():
            self.error_label.setText("两次输入的新密码不一致")
            return
        self._busy = True
        self.ok_button.setEnabled(False)
        self.error_label.setText("")
        run_task(
            self,
            lambda: accounts.change_password(self.rt, self.session, old, new),
            lambda _none: self.accept(),
            self._failed,
            "正在修改密码…",
        )

    def _failed(self, exc: BaseException, trace: str) -> None:
        self._busy = False
        self.ok_button.setEnabled(True)
        if isinstance(exc, KnownError):
            self.error_label.setText(exc.message)
        else:
            show_error(self, exc, trace)


class UnlockDialog(QDialog):
    """Over the locked main window: the same account's password continues the same session
    (every open form keeps what was typed); "退出登录" ends it."""

    logout_requested = Signal()

    def __init__(
        self, rt: Runtime, session: Session, reason: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.rt = rt
        self.session = session
        self._busy = False
        self._leaving = False
        self._failures = FailureCounter()
        self.setWindowTitle("已锁定")
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.setMinimumWidth(420)
        actor = session.actor
        who = QLabel(f"{reason}\n当前账号：{actor.label}（{actor.username}）。请输入密码解锁。")
        who.setWordWrap(True)
        self.password_edit = _password_edit()
        form = QFormLayout()
        form.addRow("密码(&P)：", self.password_edit)
        self.error_label = _error_label()
        self.unlock_button = QPushButton("解锁(&U)")
        self.unlock_button.setDefault(True)
        self.unlock_button.clicked.connect(self.submit)
        logout = QPushButton("退出登录(&Q)")
        logout.clicked.connect(self._logout)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.unlock_button)
        row.addWidget(logout)
        layout = QVBoxLayout(self)
        layout.addWidget(who)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addLayout(row)
        self.password_edit.setFocus()

    def submit(self) -> None:
        if self._busy:
            return
        password = self.password_edit.text()
        if not password:
            self.error_label.setText("请输入密码")
            return
        self._busy = True
        self.unlock_button.setEnabled(False)
        run_task(
            self,
            lambda: accounts.unlock_session(self.rt, self.session, password),
            lambda _none: self.accept(),
            self._failed,
            "正在验证…",
        )

    def _failed(self, exc: BaseException, trace: str) -> None:
        self._busy = False
        self.unlock_button.setEnabled(True)
        self.password_edit.clear()
        if isinstance(exc, KnownError):
            message = self._failures.message(self.session.actor.username, exc.message)
            self.error_label.setText(message)
        else:
            show_error(self, exc, trace)

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
