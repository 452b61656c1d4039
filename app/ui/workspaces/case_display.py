"""The case on display in a desk workspace: show, open with the keyboard, reload after an
action or another desk's change. The workspace decides what `_loaded` updates around it."""

from __future__ import annotations

from app.services.case_view import CaseDetail
from app.ui.widgets.case_panel import CasePanel


class CaseOnDisplay:
    """Mixed into a workspace that owns `self.panel`; subclasses implement `_loaded`."""

    panel: CasePanel

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

    def _loaded(self, detail: CaseDetail | None) -> None:
        raise NotImplementedError
