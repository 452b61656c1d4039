"""Start of the desktop client: QApplication and font, the database (passphrase when there is
no keyring), the crash handler, then login → main window, again after each logout."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication, QDialog, QInputDialog, QLineEdit, QMessageBox

from app.domain.errors import KnownError
from app.security.keystore import PASSPHRASE_ENV
from app.services import logs
from app.services.runtime import Runtime, default_data_dir, open_runtime
from app.ui.context import ORGANISATION, UiContext, make_settings
from app.ui.errors import install_excepthook
from app.ui.login import LoginDialog

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


def pick_font_family(available: Sequence[str]) -> str | None:
    """The first preferred Chinese font that is installed."""
    installed = set(available)
    return next((name for name in CJK_FONTS if name in installed), None)


def make_app(argv: Sequence[str] | None = None) -> QApplication:
    """The QApplication with a Chinese font (reused if one exists, e.g. under pytest-qt)."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(list(argv or []))
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName("bujianmian")
    family = pick_font_family(QFontDatabase.families())
    font = QFont(family) if family else QFont(app.font())
    font.setPointSize(max(BASE_POINT_SIZE, app.font().pointSize()))
    app.setFont(font)
    return app


def ask_passphrase() -> str:
    """The personal-data key passphrase: $BUJIANMIAN_PASSPHRASE, else a password dialog."""
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env:
        return from_env
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
    try:
        return open_runtime(data_dir, ask_passphrase=ask_passphrase)
    except KnownError as exc:
        QMessageBox.critical(None, "无法打开数据库", exc.message)
        return None


def run_sessions(app: QApplication, rt: Runtime, log_path: Path | None) -> int:
    """Login, then the main window until it closes; a logout shows the login again."""
    settings = make_settings()
    while True:
        dialog = LoginDialog(rt, settings)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.session is None:
            return 0
        code, logged_out = show_main_window(app, UiContext(rt, dialog.session, settings, log_path))
        if not logged_out:
            return code


def show_main_window(app: QApplication, ctx: UiContext) -> tuple[int, bool]:
    """Run the main window until it closes: (exit code, whether the user logged out)."""
    # Imported here: the workspaces pull in the catalog (pinyin tables), which the login
    # window does not need, so the login appears sooner.
    from app.ui.main_window import MainWindow

    window = MainWindow(ctx)
    logged_out: list[bool] = []
    window.logout_requested.connect(lambda: logged_out.append(True))
    window.showMaximized()
    code = app.exec()
    return code, bool(logged_out)


def run(argv: Sequence[str] | None = None) -> int:
    """The `bujianmian` client (`python -m app`); returns the process exit code."""
    app = make_app(sys.argv if argv is None else argv)
    data_dir = default_data_dir()
    log_path = logs.setup_logging(data_dir)
    install_excepthook(log_path)
    rt = open_database(data_dir)
    if rt is None:
        return 1
    try:
        return run_sessions(app, rt, log_path)
    finally:
        rt.close()
