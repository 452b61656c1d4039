"""Slow work off the UI thread: a thread-pool task, a busy indicator after 150 ms, results back
on the UI thread."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

# Below this a spinner only flickers; above it the user wants to see that something happens.
BUSY_DELAY_MS = 150


class _Emitter(QObject):
    """Created on the UI thread; the worker emits through it, Qt queues to the receiver."""

    done = Signal(object)
    failed = Signal(object, str)


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], emitter: _Emitter) -> None:
        super().__init__()
        self._fn = fn
        self._emitter = emitter

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:  # every failure goes back to the UI thread to be shown
            self._emitter.failed.emit(exc, traceback.format_exc())
            return
        self._emitter.done.emit(result)


class Task(QObject):
    """One running piece of work; lives on the UI thread and dies with its parent widget,
    so a result that arrives after the widget closed is dropped instead of touching it."""

    finished = Signal()

    def __init__(
        self,
        parent: QWidget,
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException, str], None] | None,
        busy_text: str,
    ) -> None:
        super().__init__(parent)
        self._parent_widget = parent
        self._on_done = on_done
        self._on_error = on_error
        self._busy_text = busy_text
        self._busy: QProgressDialog | None = None
        self.running = True
        self.emitter = _Emitter()
        self.emitter.done.connect(self._done, Qt.ConnectionType.QueuedConnection)
        self.emitter.failed.connect(self._failed, Qt.ConnectionType.QueuedConnection)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._show_busy)
        self._timer.start(BUSY_DELAY_MS)

    @Slot()
    def _show_busy(self) -> None:
        if not self.running:
            return
        busy = QProgressDialog(
            self._busy_text or "正在处理，请稍候…", "", 0, 0, self._parent_widget
        )
        busy.setWindowTitle("请稍候")
        busy.setCancelButton(None)
        busy.setWindowModality(Qt.WindowModality.WindowModal)
        busy.setMinimumDuration(0)
        busy.show()
        self._busy = busy

    def _finish(self) -> None:
        self.running = False
        self._timer.stop()
        if self._busy is not None:
            self._busy.close()
            self._busy.deleteLater()
            self._busy = None
        self.finished.emit()
        pass  # self.deleteLater()

    @Slot(object)
    def _done(self, result: object) -> None:
        self._finish()
        self._on_done(result)

    @Slot(object, str)
    def _failed(self, exc: BaseException, trace: str) -> None:
        self._finish()
        if self._on_error is not None:
            self._on_error(exc, trace)
            return
        from app.ui.errors import show_error

        show_error(self._parent_widget, exc, trace)


def run_task(
    parent: QWidget,
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[BaseException, str], None] | None = None,
    busy_text: str = "",
) -> Task:
    """Run `fn()` on the thread pool; `on_done(result)` or `on_error(exc, traceback)` runs on
    the UI thread. Without `on_error` the error is shown (Chinese message or crash dialog)."""
    task = Task(parent, on_done, on_error, busy_text)
    QThreadPool.globalInstance().start(_Job(fn, task.emitter))
    return task
