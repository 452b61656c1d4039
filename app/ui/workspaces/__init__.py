"""Role workspaces: the WORKSPACES registry (role → factory) and the generic workspace for
roles without their own yet (the role's queue on the left, the case view on the right).

A role's module (app/ui/workspaces/<name>.py) registers itself with `@register(Role.X)`;
`workspace_for` imports it on first use, so adding a workspace never edits this file.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from app.domain.roles import Role
from app.ui.context import UiContext
from app.ui.widgets.case_panel import CasePanel
from app.ui.widgets.queue import QueueWidget


class Workspace(QWidget):
    """What the main window expects of a workspace: a queue to search and refresh (Ctrl+F,
    F5) and a title. Subclasses build the rest around `self.queue`."""

    title = "办件"
    queue: QueueWidget

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx

    def focus_search(self) -> None:
        self.queue.focus_search()

    def refresh(self) -> None:
        self.queue.refresh()


WorkspaceFactory = Callable[[UiContext, QWidget | None], Workspace]
WORKSPACES: dict[Role, WorkspaceFactory] = {}
# Where each role's own workspace will live; a missing module means "generic for now".
ROLE_MODULES: dict[Role, str] = {
    Role.WINDOW: "window",
    Role.STATION: "station",
    Role.ISSUANCE: "issuance",
    Role.COUNTY: "county",
    Role.ADMIN: "admin",
    Role.AUDITOR: "auditor",
}


def register(role: Role) -> Callable[[WorkspaceFactory], WorkspaceFactory]:
    """Class decorator: `@register(Role.STATION) class StationWorkspace(Workspace): ...`."""

    def decorate(factory: WorkspaceFactory) -> WorkspaceFactory:
        WORKSPACES[role] = factory
        return factory

    return decorate


def _load_role_module(role: Role) -> None:
    name = ROLE_MODULES.get(role)
    if name is None or role in WORKSPACES:
        return
    module = f"{__name__}.{name}"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        # Only "not written yet" falls back; a broken workspace module must fail loudly.
        if exc.name != module:
            raise


def workspace_for(ctx: UiContext, parent: QWidget | None = None) -> Workspace:
    """The workspace of the account's role, or the generic one."""
    role = ctx.actor.role
    _load_role_module(role)
    factory = WORKSPACES.get(role, GenericWorkspace)
    return factory(ctx, parent)


class GenericWorkspace(Workspace):
    """The role's queue and the case view; used until a role has a workspace of its own."""

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.title = f"{ctx.actor.role.label}办件"
        self.queue = QueueWidget(ctx)
        self.panel = CasePanel(ctx)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.queue)
        splitter.addWidget(self.panel)
        # The queue gets the wider share: its columns need it more than the case view.
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 400])
        splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.splitter = splitter
        self.queue.caseSelected.connect(self.panel.show_case)
        self.queue.caseActivated.connect(self.open_case)
        self.queue.refreshed.connect(self.panel.reload)

    def open_case(self, case_id: int) -> None:
        """Enter on a row: show the case and move the keyboard into it."""
        self.panel.show_case(case_id)
        self.panel.tabs.setFocus()
