"""The case on display in a desk workspace: show, open with the keyboard, reload after an
action or another desk's change. The workspace decides what `_loaded` updates around it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt

from app.services.case_view import CaseDetail
from app.ui.dialogs.decision import ActionDialog
from app.ui.widgets.case_panel import CasePanel


class CaseOnDisplay:
    """Mixed into a workspace that owns `self.panel`; subclasses implement `_loaded`."""

    panel: CasePanel
    dialog: ActionDialog | None = None

    @property
    def detail(self) -> CaseDetail | None:
        return self.panel.detail

    def show_case(self, case_id: int) -> None:
        self.panel.show_case(case_id)
        if self.panel.detail is None:
            self._loaded(None)

    def open_case(self, case_id: int) -> None:
        """Enter on a row: show the case and move the keyboard into it."""
        self.show_case(case_id)
        self.panel.tabs.setFocus()

    def reload_case(self) -> None:
        """Show the case on display as it is now (after an action, a refresh, another desk)."""
        if self.panel.detail is None:
            return
        self.panel.reload()
        if self.panel.detail is None:
            self._loaded(None)

    def present(self, dialog: ActionDialog, on_success: Callable[[Any], None]) -> ActionDialog:
        """Open an action dialog window-modal (the event loop keeps running) and remember it
        until it is gone; a stale case is reported by `stale`."""
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.succeeded.connect(on_success)
        dialog.stale.connect(self.stale)
        dialog.destroyed.connect(lambda _obj=None: self._forget(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _forget(self, dialog: ActionDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def stale(self, exc: object) -> None:
        raise NotImplementedError

    def _loaded(self, detail: CaseDetail | None) -> None:
        raise NotImplementedError
