"""The main window: who works where (header), the role's workspace, shortcuts, status bar
(database, holiday calendar, county sync), and the idle lock that covers everything without
closing anything (the county sync keeps sending while the screen is locked)."""

from __future__ import annotations

import sys
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QFont, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from app.services import holidays
from app.store.db import redact_url
from app.ui.context import UiContext
from app.ui.errors import reporting
from app.ui.idle import IdleWatcher
from app.ui.login import ChangePasswordDialog
from app.ui.sync_bar import SyncPanel, SyncStatusLabel
from app.ui.workspaces import Workspace, WorkspaceFactory, workspace_for
from sync.client.status import NOT_CONFIGURED

APP_TITLE = "不见面小系统"
SYNC_TEXT = NOT_CONFIGURED
WARNING_STYLE = "color: #8a4b00; background: #fff1c2; padding: 1px 6px;"


class MainWindow(QMainWindow):
    """One per session; `logout_requested` tells the application to end the session."""

    logout_requested = Signal()

    def __init__(
        self,
        ctx: UiContext,
        parent: QWidget | None = None,
        *,
        workspace_factory: WorkspaceFactory | None = None,
        idle_minutes: float | None = None,
        idle_check_ms: int = 5000,
        sync_interval: float | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        actor = ctx.actor
        self.workspace: Workspace = (
            workspace_factory(ctx, None) if workspace_factory else workspace_for(ctx)
        )
        self.setWindowTitle(f"{APP_TITLE} — {ctx.place_text()} · {actor.role.label}")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.workspace)
        self.stack.addWidget(self._lock_cover())
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self._header())
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self._status_bar(sync_interval)
        self._actions()
        self.idle = IdleWatcher(
            ctx, self, idle_minutes=idle_minutes, check_interval_ms=idle_check_ms
        )
        self.idle.locked.connect(lambda: self._set_covered(True))
        self.idle.unlocked.connect(lambda: self._set_covered(False))
        self.idle.logout_requested.connect(self._logout)
        self.resize(1280, 720)
        self.workspace.setFocus()

    def _header(self) -> QFrame:
        actor = self.ctx.actor
        frame = QFrame()
        frame.setObjectName("header")
        frame.setStyleSheet("#header { border-bottom: 1px solid #c8ccd2; }")
        self.name_label = QLabel(actor.label)
        font = QFont(self.name_label.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.name_label.setFont(font)
        self.role_label = QLabel(actor.role.label)
        self.place_label = QLabel(self.ctx.place_text())
        self.desk_label = QLabel(f"窗口：{self.ctx.desk_text()}")
        self.lock_button = QPushButton("锁定(&L)")
        self.lock_button.setToolTip("离开座位时锁定屏幕（Ctrl+L）")
        self.lock_button.clicked.connect(self.lock_now)
        row = QHBoxLayout(frame)
        row.setContentsMargins(0, 2, 0, 6)
        row.addWidget(self.name_label)
        for label in (self.role_label, self.place_label, self.desk_label):
            separator = QLabel("｜")
            separator.setStyleSheet("color: #9aa0a6;")
            row.addWidget(separator)
            row.addWidget(label)
        row.addStretch(1)
        row.addWidget(self.lock_button)
        return frame

    def _lock_cover(self) -> QWidget:
        cover = QLabel("屏幕已锁定，请输入密码解锁。\n未保存的内容都还在。")
        cover.setAlignment(Qt.AlignmentFlag.AlignCenter)
        cover.setStyleSheet("color: #5f6368;")
        return cover

    def _actions(self) -> None:
        menu = self.menuBar().addMenu("系统(&S)")
        specs = (
            ("查找(&F)", QKeySequence.StandardKey.Find, self.focus_search),
            ("刷新(&R)", QKeySequence.StandardKey.Refresh, self.refresh),
            ("锁定屏幕(&L)", QKeySequence("Ctrl+L"), self.lock_now),
            ("修改密码(&P)…", None, self.change_password),
            ("立即同步(&Y)", None, self.sync_now),
            ("退出(&X)", QKeySequence("Ctrl+Q"), self.close),
        )
        self.actions_by_name: dict[str, QAction] = {}
        for text, shortcut, slot in specs:
            action = QAction(text, self)
            if shortcut is not None:
                action.setShortcut(shortcut)
                action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            action.triggered.connect(slot)
            menu.addAction(action)
            self.addAction(action)
            self.actions_by_name[text.split("(")[0]] = action
        # F5 on every platform (Refresh is F5 on Windows but not everywhere).
        self.actions_by_name["刷新"].setShortcuts([QKeySequence("F5")])
        self.sync.changed.connect(self._sync_changed)
        self._sync_changed()

    def _status_bar(self, sync_interval: float | None) -> None:
        bar = self.statusBar()
        url = redact_url(self.ctx.rt.url)
        self.db_label = QLabel(f"数据库：{url}")
        self.db_label.setToolTip(url)
        bar.addWidget(self.db_label, 1)
        self.calendar_label = QLabel()
        self.calendar_label.setWordWrap(False)
        self.calendar_label.setStyleSheet(WARNING_STYLE)
        bar.addPermanentWidget(self.calendar_label)
        self._calendar_warning()
        self.sync_label = SyncStatusLabel()
        self.sync_label.setCursor(Qt.CursorShape.PointingHandCursor)
        self.sync = SyncPanel(self.ctx, self.sync_label, self, interval=sync_interval)
        self.sync.applied.connect(lambda _report: self._calendar_warning())
        bar.addPermanentWidget(self.sync_label)

    def _calendar_warning(self) -> None:
        """Shown while a year in use has no holiday schedule (the county may send one)."""
        warning = holidays.calendar_warning(self.ctx.rt) or ""
        self.calendar_label.setText(f"⚠ {warning}" if warning else "")
        self.calendar_label.setToolTip(warning)
        self.calendar_label.setVisible(bool(warning))

    def start_sync(self, **options: Any) -> bool:
        """Start this desk's county sync (after login); see SyncPanel.start."""
        return self.sync.start(**options)

    def sync_now(self) -> None:
        self.sync.run_now()

    def _sync_changed(self) -> None:
        self.actions_by_name["立即同步"].setEnabled(self.sync.running)

    def _set_covered(self, covered: bool) -> None:
        self.stack.setCurrentIndex(1 if covered else 0)
        if not covered:
            self.workspace.setFocus()

    def focus_search(self) -> None:
        self.workspace.focus_search()

    def refresh(self) -> None:
        with reporting(self):
            self.workspace.refresh()

    def lock_now(self) -> None:
        self.idle.lock_now()

    def change_password(self) -> None:
        dialog = ChangePasswordDialog(self.ctx.rt, self.ctx.session, parent=self)
        dialog.open()

    def _logout(self) -> None:
        self.logout_requested.emit()
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.idle.stop()
        self.sync.stop()  # logout and close; the idle lock never gets here
        super().closeEvent(event)


def main() -> int:
    """Preview: the main window on a throw-away demo database with 300 cases."""
    from app.ui.application import make_app
    from app.ui.context import preview_context, preview_data

    app = make_app(sys.argv)
    username = sys.argv[1] if len(sys.argv) > 1 else "window1"
    desk = "S1" if username.startswith("st_") else "C1" if username.startswith("issue") else "A1"
    data = preview_data(cases=300)
    window = MainWindow(preview_context(data, username, desk))
    window.show()
    code = app.exec()
    data.rt.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
