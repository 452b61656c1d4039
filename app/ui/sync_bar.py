"""The county sync in the desktop client: the worker thread of a township desk (started after
login, stopped at logout or close, never by the idle lock), its status-bar label, and the
credential, asked once per session with a masked field when no safe keyring holds it.

The worker runs in its own thread with its own database connection (peewee keeps one per
thread) and reports each cycle through a queued signal, so the label is only touched on the
UI thread. Several desks on one database share a send lease: only the holder sends.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import peewee as pw
import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QInputDialog, QLabel, QLineEdit, QWidget

from app.domain.errors import KnownError, ValidationError
from app.domain.roles import Role
from app.security.keystore import KeyringUnavailable, KeyStore
from app.services.runtime import get_setting
from sync.client.config import (
    CA_BUNDLE_KEY,
    URL_KEY,
    SyncConfig,
    check_credential,
    load_credential,
    open_keystore,
)
from sync.client.lease import SendLease
from sync.client.status import current

if TYPE_CHECKING:
    from app.ui.context import UiContext
    from sync.client.worker import CycleReport, WorkerThread

# sync.client.worker (requests, pydantic) is imported when a worker starts: a desk without
# county sync never loads it, and the main window opens sooner.

log = logging.getLogger(__name__)

COUNTY_ACCOUNT_TEXT = "县级账号：直接连接县级服务器，本机不运行乡镇外发"
NO_CREDENTIAL_TEXT = "县级同步：未启动（没有输入乡镇同步凭据，重新登录后可再输入）"
STOPPED_TEXT = "县级同步：已停止——{reason}"
UNREADABLE_TEXT = "县级同步：状态暂时无法读取（本机数据库不可用）"
RUNNING_NOW_TEXT = "县级同步：正在同步…"
CREDENTIAL_PROMPT = (
    "请输入县级签发的乡镇同步凭据（bjt. 开头）。\n"
    "本机没有在系统密钥环中保存凭据，它只保存在内存中，退出程序后需重新输入。"
)
WARNING_STYLE = "color: #8a4b00; background: #fff1c2; padding: 1px 6px;"
REFRESH_MS = 15_000
STOP_WAIT_SECONDS = 3.0  # a request in flight may take longer: the thread then ends on its own
_UNSET: Any = object()


class _Memory:
    """The credential typed in this run of the client: in memory only, never in a file."""

    def __init__(self) -> None:
        self.value = ""

    def forget(self) -> None:
        self.value = ""


REMEMBERED = _Memory()


def ask_credential(parent: QWidget | None) -> str | None:
    """A masked field until a well-formed credential is typed; None when cancelled."""
    prompt = CREDENTIAL_PROMPT
    while True:
        text, ok = QInputDialog.getText(parent, "乡镇同步凭据", prompt, QLineEdit.EchoMode.Password)
        if not ok:
            return None
        try:
            return check_credential(text)
        except ValidationError as exc:
            prompt = f"{exc.message}\n\n{CREDENTIAL_PROMPT}"


class SyncStatusLabel(QLabel):
    """The status-bar label; a click asks for a sync cycle now."""

    clicked = Signal()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.clicked.emit()
        super().mousePressEvent(event)


class _Relay(QObject):
    """The one long-lived UI-thread object the worker threads report to (Qt queues each
    report to the UI thread); reports for a panel that is gone are dropped."""

    cycle = Signal(int, object)
    ended = Signal(int, str)

    def __init__(self, parent: QObject | None) -> None:
        super().__init__(parent)
        self.panels: dict[int, SyncPanel] = {}
        self.cycle.connect(self._cycle, Qt.ConnectionType.QueuedConnection)
        self.ended.connect(self._ended, Qt.ConnectionType.QueuedConnection)

    def _panel(self, panel_id: int) -> SyncPanel | None:
        panel = self.panels.get(panel_id)
        return panel if panel is not None and shiboken6.isValid(panel) else None

    @Slot(int, object)
    def _cycle(self, panel_id: int, report: object) -> None:
        panel = self._panel(panel_id)
        if panel is not None:
            panel.cycle_finished(report)  # type: ignore[arg-type]

    @Slot(int, str)
    def _ended(self, panel_id: int, reason: str) -> None:
        panel = self._panel(panel_id)
        self.panels.pop(panel_id, None)
        if panel is not None:
            panel.worker_ended(reason)


_relay: _Relay | None = None
_ids = itertools.count(1)


def _get_relay() -> _Relay:
    global _relay
    if _relay is None or not shiboken6.isValid(_relay):
        _relay = _Relay(QCoreApplication.instance())
    return _relay


class SyncPanel(QObject):
    """Runs this desk's worker and keeps the label true; `applied` carries a cycle report
    that took a new catalog or holiday calendar (the window refreshes what depends on it)."""

    applied = Signal(object)
    changed = Signal()

    def __init__(
        self,
        ctx: UiContext,
        label: QLabel,
        parent: QWidget,
        *,
        interval: float | None = None,
        refresh_ms: int = REFRESH_MS,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.label = label
        self.owner = parent
        self.interval = interval
        self.id = next(_ids)
        self.worker: WorkerThread | None = None
        self.lease: SendLease | None = None
        self.note = ""  # shown instead of the status: not started, stopped and why
        self.last_report: CycleReport | None = None
        self.asked = False
        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.refresh)
        if isinstance(label, SyncStatusLabel):
            label.clicked.connect(self.run_now)
        self.refresh()

    @property
    def for_township(self) -> bool:
        actor = self.ctx.actor
        return bool(actor.township) and actor.role is not Role.COUNTY

    @property
    def running(self) -> bool:
        return self.worker is not None and self.worker.running

    def start(
        self,
        keystore: KeyStore | None = _UNSET,
        ask: Callable[[QWidget | None], str | None] = ask_credential,
    ) -> bool:
        """Start the worker if this is a township desk with a county address and a
        credential; otherwise say on the label why not. True when it runs."""
        if self.running:
            return True
        url = get_setting(URL_KEY) or ""
        if not self.for_township or not url:
            self.refresh()
            return False
        credential = self._credential(keystore, ask)
        if not credential:
            self.refresh()
            return False
        from sync.client.worker import CYCLE_SECONDS, WorkerClient, start_thread

        config = SyncConfig(url.rstrip("/"), credential, get_setting(CA_BUNDLE_KEY) or "")
        rt = self.ctx.rt
        self.lease = SendLease(rt, self.ctx.desk_text() if self.ctx.actor.desk else "本机")
        relay = _get_relay()
        relay.panels[self.id] = self
        panel_id = self.id
        self.note = ""
        self.worker = start_thread(
            rt,
            WorkerClient(config, lease=self.lease),
            lease=self.lease,
            interval=self.interval if self.interval is not None else CYCLE_SECONDS,
            on_cycle=lambda report: relay.cycle.emit(panel_id, report),
            on_stopped=lambda reason: relay.ended.emit(panel_id, reason),
        )
        self.timer.start()
        self.refresh()
        self.changed.emit()
        return True

    def _credential(
        self, keystore: KeyStore | None, ask: Callable[[QWidget | None], str | None]
    ) -> str:
        """From the keyring (or $BUJIANMIAN_SYNC_CREDENTIAL), else typed once this run."""
        if REMEMBERED.value:
            return REMEMBERED.value
        store = open_keystore() if keystore is _UNSET else keystore
        try:
            return load_credential(store, ask=None)
        except KeyringUnavailable:  # locked or broken keyring: as if there were none
            pass
        except KnownError as exc:
            if exc.code != "no_credential":  # a malformed stored credential
                self.note = STOPPED_TEXT.format(reason=exc.message)
                return ""
        if self.asked:  # once per session: a cancel is not asked again until the next login
            return ""
        self.asked = True
        typed = ask(self.owner)
        if not typed:
            self.note = NO_CREDENTIAL_TEXT
            return ""
        REMEMBERED.value = typed
        return typed

    def run_now(self) -> None:
        """Start the next cycle at once (a click on the label, 立即同步)."""
        if self.worker is not None and self.worker.running:
            self.worker.run_now()
            self.label.setText(RUNNING_NOW_TEXT)

    def stop(self, timeout: float = STOP_WAIT_SECONDS) -> None:
        """Stop the worker (logout, close): the stop flag, then a bounded wait."""
        self.timer.stop()
        _get_relay().panels.pop(self.id, None)  # a late report from the thread is dropped
        worker, self.worker = self.worker, None
        if worker is not None and not worker.stop(timeout):
            log.warning("county sync still finishing a request; it ends on its own")
        self.changed.emit()

    def cycle_finished(self, report: CycleReport) -> None:
        self.last_report = report
        if report.distribution is not None and report.distribution.text:
            self.applied.emit(report)
        self.refresh()

    def worker_ended(self, reason: str) -> None:
        self.worker = None
        self.timer.stop()
        if reason:
            REMEMBERED.forget()  # a refused credential must be typed again
            self.note = STOPPED_TEXT.format(reason=reason)
        self.refresh()
        self.changed.emit()

    def refresh(self) -> None:
        """The label from the database and this desk's last contact."""
        if not self.for_township:
            self._show(COUNTY_ACCOUNT_TEXT, COUNTY_ACCOUNT_TEXT, warn=False)
            return
        if self.note:
            self._show(self.note, self.note, warn=True)
            return
        try:
            status = current(self.ctx.rt, self.lease.token if self.lease else None)
        except pw.OperationalError:
            self._show(UNREADABLE_TEXT, UNREADABLE_TEXT, warn=True)
            return
        details = status.details
        report = self.last_report
        if report is not None and not report.sender:
            details += f"\n最近一轮：{report.text}"
        if self.running:
            details += "\n点击立即同步"
        warn = status.online is False or bool(status.needs_person)
        self._show(status.text, details, warn=warn)

    def _show(self, text: str, details: str, *, warn: bool) -> None:
        self.label.setText(text)
        self.label.setToolTip(details)
        self.label.setStyleSheet(WARNING_STYLE if warn else "")
