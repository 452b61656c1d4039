"""Idle lock: after the idle time without keyboard or mouse input the main window is covered
and the unlock dialog asks for the password; nothing is closed, so every draft survives."""

from __future__ import annotations

from datetime import timedelta

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from app.ui.context import UiContext
from app.ui.login import UnlockDialog

_ACTIVITY = frozenset(
    {
        QEvent.Type.KeyPress,
        QEvent.Type.MouseButtonPress,
        QEvent.Type.MouseMove,
        QEvent.Type.Wheel,
        QEvent.Type.TouchBegin,
    }
)
IDLE_REASON = "已超过{minutes}分钟未操作，为保护个人信息，屏幕已锁定。"
MANUAL_REASON = "屏幕已锁定。"


class IdleWatcher(QObject):
    """An event filter on the whole application that notes the time of every input and,
    checked by a timer, locks the session when the idle time has passed. Time comes from the
    runtime's clock, so tests move a fake clock instead of waiting."""

    locked = Signal()
    unlocked = Signal()
    logout_requested = Signal()

    def __init__(
        self,
        ctx: UiContext,
        window: QWidget,
        *,
        idle_minutes: float | None = None,
        check_interval_ms: int = 5000,
    ) -> None:
        super().__init__(window)
        self.ctx = ctx
        self.window = window
        self.idle_minutes = idle_minutes if idle_minutes is not None else ctx.session.idle_minutes
        self.dialog: UnlockDialog | None = None
        app = QCoreApplication.instance()
        assert app is not None, "the idle watcher needs a running QApplication"
        app.installEventFilter(self)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.check)
        self.timer.start(check_interval_ms)

    @property
    def is_locked(self) -> bool:
        return self.ctx.session.locked

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _ACTIVITY and not self.ctx.session.locked:
            self.ctx.session.last_activity = self.ctx.rt.now()
        return False

    def check(self) -> None:
        """Lock when the idle time has passed since the last input."""
        if self.is_locked:
            return
        idle_for = self.ctx.rt.now() - self.ctx.session.last_activity
        if idle_for >= timedelta(minutes=self.idle_minutes):
            minutes = f"{self.idle_minutes:g}"
            self.lock(IDLE_REASON.format(minutes=minutes))

    def lock_now(self) -> None:
        """Lock at once (Ctrl+L, when leaving the desk)."""
        if not self.is_locked:
            self.lock(MANUAL_REASON)

    def lock(self, reason: str) -> None:
        self.ctx.session.locked = True
        self.locked.emit()
        dialog = UnlockDialog(self.ctx.rt, self.ctx.session, reason, self.window)
        dialog.accepted.connect(self._unlocked)
        dialog.logout_requested.connect(self.logout_requested.emit)
        self.dialog = dialog
        # show(), not open(): open() would narrow the application-wide modality to this window.
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()

    def _unlocked(self) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
            self.dialog = None
        self.unlocked.emit()

    def stop(self) -> None:
        """Stop watching (the main window is closing)."""
        self.timer.stop()
        app = QCoreApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
