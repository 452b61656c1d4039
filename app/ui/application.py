"""Start of the desktop client: QApplication and font, the database (passphrase when there is
no keyring), the crash handler, then login → main window (and its county sync), again after
each logout."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QApplication

from app.domain.errors import KnownError
from app.ui.login import LoginDialog
from app.ui.qsettings import ORGANISATION, make_settings

if TYPE_CHECKING:
    from pathlib import Path

    from app.services.runtime import Runtime
    from app.ui.context import UiContext

# Start-up order: the login window first, everything heavy (peewee, cryptography, keyring,
# the database and its key) afterwards in a background thread, while the clerk types.

# Chinese UI fonts by preference: Windows, then the common Linux (信创) ones, then macOS.
CJK_FONTS = (
    "Microsoft YaHei UI",
    "Microsoft YaHei",
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "PingFang SC",
)
BASE_POINT_SIZE = 10


def make_app(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication with a Chinese font (reused if one exists, e.g. under pytest-qt)."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(list(argv or []))
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName("bujianmian")
    # A list of preferred families, not a lookup in the font database: enumerating every
    # installed font costs more than showing the login window.
    font = QFont(app.font())
    font.setFamilies([*CJK_FONTS, *font.families()])
    font.setPointSize(max(BASE_POINT_SIZE, app.font().pointSize()))
    app.setFont(font)
    return app


def ask_passphrase() -> str:
    """The personal-data key passphrase: $BUJIANMIAN_PASSPHRASE, else a password dialog."""
    from app.envvars import PASSPHRASE_ENV

    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env:
        return from_env
    from PySide6.QtWidgets import QInputDialog, QLineEdit

    text, ok = QInputDialog.getText(
        None,
        "个人信息密钥口令",
        "本机没有可用的系统密钥环，请输入个人信息密钥口令：",
        QLineEdit.EchoMode.Password,
    )
    if not ok or not text:
        raise KnownError("没有输入个人信息密钥口令，无法打开数据库")
    return text


def open_database(data_dir: Path) -> Runtime | None:
    """The runtime, or None after telling the user (in Chinese) why it cannot be opened."""
    from app.services.runtime import open_runtime

    try:
        return open_runtime(data_dir, ask_passphrase=ask_passphrase)
    except KnownError as exc:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(None, "无法打开数据库", exc.message)
        return None


class DatabaseOpener(QObject):
    """Opens the database in a background thread; asks for the passphrase on the UI thread."""

    opened = Signal(object)
    failed = Signal(object)
    passphrase_needed = Signal()

    def __init__(self, data_dir: Path | str) -> None:
        super().__init__()
        self.data_dir = data_dir
        self._answer: str | None = None
        self._answered = threading.Event()
        self.passphrase_needed.connect(self._ask)

    def start(self) -> None:
        threading.Thread(target=self._work, name="open-database", daemon=True).start()

    def _work(self) -> None:
        try:
            from pathlib import Path

            from app.services import logs
            from app.services.runtime import open_runtime

            data_dir = Path(self.data_dir)
            logs.setup_logging(data_dir)
            self.opened.emit(open_runtime(data_dir, ask_passphrase=self._passphrase))
        except Exception as exc:  # reported on the UI thread: KnownError in Chinese, else crash
            self.failed.emit(exc)

    def _passphrase(self) -> str:
        from app.envvars import PASSPHRASE_ENV

        from_env = os.environ.get(PASSPHRASE_ENV)
        if from_env:
            return from_env
        self._answered.clear()
        self.passphrase_needed.emit()
        self._answered.wait()
        if not self._answer:
            raise KnownError("没有输入个人信息密钥口令，无法打开数据库")
        return self._answer

    def _ask(self) -> None:
        try:
            self._answer = ask_passphrase()
        except KnownError:
            self._answer = None
        self._answered.set()


def start_login(data_dir: Path | str, settings: QSettings) -> tuple[LoginDialog, DatabaseOpener]:
    """Show the login window at once and open the database behind it."""
    dialog = LoginDialog(None, settings)
    opener = DatabaseOpener(data_dir)
    opener.opened.connect(dialog.attach_runtime)
    opener.failed.connect(lambda exc: _cannot_open(dialog, exc))
    dialog.show()
    # After the first paint: the window is on screen before the imports start competing.
    QTimer.singleShot(30, opener.start)
    return dialog, opener


def _cannot_open(dialog: LoginDialog, exc: BaseException) -> None:
    from app.ui.errors import show_error

    if isinstance(exc, KnownError):
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.critical(dialog, "无法打开数据库", exc.message)
    else:
        show_error(dialog, exc)
    dialog.reject()


def run_sessions(
    app: QApplication, first: LoginDialog, settings: QSettings, log_path: Path | None
) -> int:
    """Login, then the main window until it closes; a logout shows the login again."""
    from app.ui.context import UiContext

    dialog = first
    while True:
        if dialog.exec() != dialog.DialogCode.Accepted or dialog.session is None:
            return 0
        rt = dialog.rt
        assert rt is not None
        code, logged_out = show_main_window(app, UiContext(rt, dialog.session, settings, log_path))
        if not logged_out:
            return code
        dialog = LoginDialog(rt, settings)


def show_main_window(app: QApplication, ctx: UiContext) -> tuple[int, bool]:
    """Run the main window until it closes: (exit code, whether the user logged out)."""
    # Imported here: the workspaces pull in the catalog (pinyin tables), which the login
    # window does not need, so the login appears sooner.
    from app.ui.main_window import MainWindow

    window = MainWindow(ctx)
    logged_out: list[bool] = []
    window.logout_requested.connect(lambda: logged_out.append(True))
    window.showMaximized()
    # The county sync of a township desk, once the window is on screen (it may ask for the
    # sync credential); the window stops it at logout or close.
    QTimer.singleShot(0, window.start_sync)
    code = app.exec()
    return code, bool(logged_out)


def run(argv: Sequence[str] | None = None) -> int:
    """The `bujianmian` client (`python -m app`); returns the process exit code."""
    from app.envvars import default_data_dir

    app = make_app(sys.argv if argv is None else argv)
    data_dir = default_data_dir()
    log_path = data_dir / "logs" / "bujianmian.log"
    from app.ui.errors import install_excepthook

    install_excepthook(log_path)
    settings = make_settings()
    dialog, _opener = start_login(data_dir, settings)
    try:
        return run_sessions(app, dialog, settings, log_path)
    finally:
        if dialog.rt is not None:
            dialog.rt.close()
