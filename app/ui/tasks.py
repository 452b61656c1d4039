"""Slow work off the UI thread: a thread-pool task, a busy indicator after 150 ms, results back
on the UI thread."""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

# Below this a spinner only flickers; above it the user wants to see that something happens.
BUSY_DELAY_MS = 150
# Tasks in flight. A task is nobody's Qt child: it dies on the UI thread when it drops out of
# this set, never as a side effect of its widget closing or of a worker thread letting go.
_RUNNING: set[Task] = set()


class _Emitter(QObject):
    """The worker emits through it; Qt queues the signal to the task on the UI thread.

    It may be freed on the worker thread (when the job lets go last); that is safe because it
    never receives events itself: the queued calls are posted to the task."""

    done = Signal(object)
    failed = Signal(object, str)


def _drop_frames(exc: BaseException) -> None:
    """Free the traceback's frames on the worker thread while the task still holds the widget:
    the last reference to a widget must never go away on a worker thread."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__


class _Job(QRunnable):
    def __init__(self, fn: Callable[[], Any], emitter: _Emitter) -> None:
        super().__init__()
        self._fn: Callable[[], Any] | None = fn
        self._emitter = emitter

    def run(self) -> None:
        fn, self._fn = self._fn, None
        assert fn is not None
        try:
            result = fn()
        except Exception as exc:  # every failure goes back to the UI thread to be shown
            trace = traceback.format_exc()
            del fn
            _drop_frames(exc)
            self._emitter.failed.emit(exc, trace)
            return
        del fn
        self._emitter.done.emit(result)


class Task(QObject):
    """One piece of work in flight. Its callbacks run only while the widget that started it
    still exists, so a result arriving after the widget closed is dropped."""

    finished = Signal()

    def __init__(
        self,
        parent: QWidget,
        fn: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[BaseException, str], None] | None,
        busy_text: str,
    ) -> None:
        super().__init__()
        self._widget = parent
        self._fn = fn  # held here too, so the worker never drops the last reference
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

    def _widget_alive(self) -> bool:
        return shiboken6.isValid(self._widget)

    @Slot()
    def _show_busy(self) -> None:
        if not self.running or not self._widget_alive():
            return
        busy = QProgressDialog(self._busy_text or "正在处理，请稍候…", "", 0, 0, self._widget)
        busy.setWindowTitle("请稍候")
        busy.setCancelButton(None)
        busy.setWindowModality(Qt.WindowModality.WindowModal)
        busy.setMinimumDuration(0)
        busy.show()
        self._busy = busy

    def _finish(self) -> bool:
        """Stop the busy indicator; True when the widget is still there to hear the result."""
        self.running = False
        self._timer.stop()
        if self._busy is not None and shiboken6.isValid(self._busy):
            self._busy.close()
            self._busy.deleteLater()
        self._busy = None
        self.finished.emit()
        # Let go of the task after this slot has returned, on the UI thread.
        QTimer.singleShot(0, lambda: _RUNNING.discard(self))
        return self._widget_alive()

    @Slot(object)
    def _done(self, result: object) -> None:
        if self._finish():
            self._on_done(result)

    @Slot(object, str)
    def _failed(self, exc: BaseException, trace: str) -> None:
        if not self._finish():
            return
        if self._on_error is not None:
            self._on_error(exc, trace)
            return
        from app.ui.errors import show_error

        show_error(self._widget, exc, trace)


def run_task(
    parent: QWidget,
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[BaseException, str], None] | None = None,
    busy_text: str = "",
) -> Task:
    """Run `fn()` on the thread pool; `on_done(result)` or `on_error(exc, traceback)` runs on
    the UI thread. Without `on_error` the error is shown (Chinese message or crash dialog)."""
    task = Task(parent, fn, on_done, on_error, busy_text)
    _RUNNING.add(task)
    QThreadPool.globalInstance().start(_Job(fn, task.emitter))
    return task


def wait_all(timeout_ms: int = 30000) -> bool:
    """Block until every queued job has run (closing the application, tests)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
