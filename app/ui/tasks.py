"""Slow work off the UI thread: a thread-pool job, a busy indicator after 150 ms, results back
on the UI thread."""

from __future__ import annotations

import itertools
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThreadPool, QTimer, Signal, Slot
from PySide6.QtWidgets import QProgressDialog, QWidget

# Below this a spinner only flickers; above it the user wants to see that something happens.
BUSY_DELAY_MS = 150


@dataclass
class Task:
    """One job in flight (plain Python: no Qt object is made or freed per job, so nothing Qt
    can be freed on a worker thread). Callbacks run only while its widget still exists."""

    id: int
    widget: QWidget
    fn: Callable[[], Any] = field(repr=False)
    on_done: Callable[[Any], None] = field(repr=False)
    on_error: Callable[[BaseException, str], None] | None = field(repr=False)
    busy_text: str
    running: bool = True
    busy: QProgressDialog | None = None


class _Dispatcher(QObject):
    """The one UI-thread object the workers report to; Qt queues each report to this thread."""

    report = Signal(int, bool, object, str)

    def __init__(self, parent: QObject | None) -> None:
        super().__init__(parent)
        self.tasks: dict[int, Task] = {}
        self.report.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    @Slot(int, bool, object, str)
    def _deliver(self, task_id: int, ok: bool, payload: object, trace: str) -> None:
        task = self.tasks.pop(task_id, None)
        if task is None:
            return
        task.running = False
        if task.busy is not None and shiboken6.isValid(task.busy):
            task.busy.close()
            task.busy.deleteLater()
        task.busy = None
        if not shiboken6.isValid(task.widget):
            return  # the widget closed meanwhile: nobody is waiting for the result
        if ok:
            task.on_done(payload)
            return
        assert isinstance(payload, BaseException)
        if task.on_error is not None:
            task.on_error(payload, trace)
            return
        from app.ui.errors import show_error

        show_error(task.widget, payload, trace)


_dispatcher: _Dispatcher | None = None
_ids = itertools.count(1)


def _get_dispatcher() -> _Dispatcher:
    global _dispatcher
    if _dispatcher is None or not shiboken6.isValid(_dispatcher):
        _dispatcher = _Dispatcher(QCoreApplication.instance())
    return _dispatcher


def _drop_frames(exc: BaseException) -> None:
    """Free the traceback's frames on the worker while the task still holds the widget: the
    last reference to a widget must never go away on a worker thread."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        current.__traceback__ = None
        current = current.__cause__ or current.__context__


def _work(dispatcher: _Dispatcher, task_id: int, box: list[Callable[[], Any]]) -> None:
    fn = box.pop()
    try:
        result = fn()
    except Exception as exc:  # every failure goes back to the UI thread to be shown
        trace = traceback.format_exc()
        del fn
        _drop_frames(exc)
        dispatcher.report.emit(task_id, False, exc, trace)
        return
    del fn
    dispatcher.report.emit(task_id, True, result, "")


def _show_busy(task: Task) -> None:
    if not task.running or not shiboken6.isValid(task.widget):
        return
    busy = QProgressDialog(task.busy_text or "正在处理，请稍候…", "", 0, 0, task.widget)
    busy.setWindowTitle("请稍候")
    busy.setCancelButton(None)
    busy.setWindowModality(Qt.WindowModality.WindowModal)
    busy.setMinimumDuration(0)
    busy.show()
    task.busy = busy


def run_task(
    parent: QWidget,
    fn: Callable[[], Any],
    on_done: Callable[[Any], None],
    on_error: Callable[[BaseException, str], None] | None = None,
    busy_text: str = "",
) -> Task:
    """Run `fn()` on the thread pool; `on_done(result)` or `on_error(exc, traceback)` runs on
    the UI thread. Without `on_error` the error is shown (Chinese message or crash dialog)."""
    dispatcher = _get_dispatcher()
    task = Task(next(_ids), parent, fn, on_done, on_error, busy_text)
    # The dispatcher holds the task (and so `fn` and the widget) until the report arrives;
    # the worker takes `fn` out of the box and lets go of it before reporting, so the last
    # reference to a widget is always dropped here, on the UI thread.
    dispatcher.tasks[task.id] = task
    QTimer.singleShot(BUSY_DELAY_MS, lambda: _show_busy(task))
    box = [fn]
    QThreadPool.globalInstance().start(lambda: _work(dispatcher, task.id, box))
    return task


def pending() -> int:
    """How many jobs have not reported back yet."""
    return len(_dispatcher.tasks) if _dispatcher is not None else 0


def wait_all(timeout_ms: int = 30000) -> bool:
    """Block until every queued job has run (closing the application, tests)."""
    return QThreadPool.globalInstance().waitForDone(timeout_ms)
