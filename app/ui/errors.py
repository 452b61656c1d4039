"""Errors by who is to blame: a KnownError becomes a Chinese message box; a bug opens the crash
dialog with the traceback and the log tail; nothing ever exits silently."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain.errors import KnownError

log = logging.getLogger(__name__)

MAX_OPEN_CRASH_DIALOGS = 3
_log_path: Path | None = None
# Open crash dialogs are kept here: a dialog without a parent would otherwise be collected.
_open_dialogs: list[CrashDialog] = []

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


def set_log_path(path: Path | None) -> None:
    """Where the crash dialog reads the log tail from."""
    global _log_path
    _log_path = path


class CrashDialog(QDialog):
    """An unexpected error: what happened, the traceback and the log tail, to copy for support."""

    def __init__(self, parent: QWidget | None, trace: str, log_tail: str) -> None:
        super().__init__(parent)
        self.setWindowTitle("程序出现意外错误")
        self.resize(760, 520)
        intro = QLabel(
            "程序遇到了一个意外错误，刚才的操作可能没有完成（已保存的数据不受影响）。\n"
            "请点击“复制错误信息”，把内容发给系统管理员或技术支持。"
        )
        intro.setWordWrap(True)
        # Personal numbers can sit in exception texts; mask them like the log does.
        from app.services import logs

        self.report = logs.scrub(f"{trace.rstrip()}\n\n—— 日志末尾 ——\n{log_tail or '（无日志）'}")
        self.text = QPlainTextEdit(self.report)
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        buttons = QDialogButtonBox()
        copy = QPushButton("复制错误信息(&C)")
        copy.clicked.connect(self.copy_report)
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton("关闭(&X)", QDialogButtonBox.ButtonRole.RejectRole)
        close.clicked.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)

    def copy_report(self) -> None:
        QGuiApplication.clipboard().setText(self.report)


def _trace_of(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def show_crash(parent: QWidget | None, trace: str) -> CrashDialog:
    """Open the crash dialog (non-blocking, so it also works from inside other dialogs)."""
    if len(_open_dialogs) >= MAX_OPEN_CRASH_DIALOGS:
        # An error repeating in a loop (e.g. on every repaint) must not bury the screen.
        log.error("crash dialog not shown again: %d already open", len(_open_dialogs))
        return _open_dialogs[-1]
    from app.services import logs

    tail = logs.tail(_log_path) if _log_path is not None else ""
    dialog = CrashDialog(parent, trace, tail)
    _open_dialogs.append(dialog)
    # Let go after the signal has returned: freeing a dialog inside its own signal crashes.
    dialog.finished.connect(lambda _result: QTimer.singleShot(0, lambda: _forget(dialog)))
    dialog.open()
    return dialog


def _forget(dialog: QDialog) -> None:
    if dialog in _open_dialogs:
        _open_dialogs.remove(dialog)


def show_error(parent: QWidget | None, exc: BaseException, trace: str = "") -> CrashDialog | None:
    """A KnownError as a warning with its Chinese message; anything else as a crash."""
    if isinstance(exc, KnownError):
        QMessageBox.warning(parent, "提示", exc.message)
        return None
    trace = trace or _trace_of(exc)
    log.error("unexpected error shown to the user:\n%s", trace)
    return show_crash(parent, trace)


@contextmanager
def reporting(parent: QWidget | None) -> Iterator[None]:
    """Run a slot's body; any exception is shown instead of escaping into the event loop."""
    try:
        yield
    except Exception as exc:
        show_error(parent, exc)


def install_excepthook(log_path: Path | None = None) -> ExceptHook:
    """Route uncaught exceptions (e.g. in a slot) to the crash dialog; returns the old hook."""
    if log_path is not None:
        set_log_path(log_path)
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous(kind, exc, tb)
            return
        trace = "".join(traceback.format_exception(kind, exc, tb))
        log.critical("uncaught exception:\n%s", trace)
        if QApplication.instance() is None:
            previous(kind, exc, tb)
            return
        show_error(QApplication.activeWindow(), exc, trace)

    sys.excepthook = hook
    return previous
