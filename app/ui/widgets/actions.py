"""Action buttons that follow the workflow, and producing a document off the UI thread."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from app.domain.case import Action
from app.services import case_view, documents
from app.services.documents import IssuedDocument
from app.ui.context import UiContext
from app.ui.errors import reporting
from app.ui.tasks import run_task

# Opening the PDF in the system viewer prints it; tests switch this off.
OPEN_DOCUMENTS = True


class ActionBar(QWidget):
    """A row of buttons, one per workflow action; `update_for(case_id)` enables exactly those
    the workflow allows this account now (the service checks again when one is taken)."""

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.buttons: dict[Action, QPushButton] = {}
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)

    def add(
        self, action: Action, text: str, shortcut: str, slot: Callable[[], None]
    ) -> QPushButton:
        button = QPushButton(f"{text}（{shortcut}）" if shortcut else text)
        button.setEnabled(False)
        button.clicked.connect(lambda: self._run(slot))
        if shortcut:
            # A QShortcut clicks at once; a button's own shortcut animates for ~100 ms first.
            key = QShortcut(QKeySequence(shortcut), self.window() or self)
            key.setContext(Qt.ShortcutContext.WindowShortcut)
            key.activated.connect(lambda: button.click() if button.isEnabled() else None)
        self._layout.addWidget(button)
        self.buttons[action] = button
        return button

    def add_stretch(self) -> None:
        self._layout.addStretch(1)

    def _run(self, slot: Callable[[], None]) -> None:
        with reporting(self):
            slot()

    def update_for(self, case_id: int | None) -> frozenset[Action]:
        allowed: frozenset[Action] = frozenset()
        if case_id is not None:
            with reporting(self):
                allowed = case_view.allowed_actions(self.ctx.actor, case_id)
        for action, button in self.buttons.items():
            button.setEnabled(action in allowed)
        return allowed


def open_pdf(doc: IssuedDocument) -> None:
    if OPEN_DOCUMENTS:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(doc.path)))


def print_document(
    parent: QWidget,
    ctx: UiContext,
    kind: str,
    *,
    case_id: int | None = None,
    item_code: str | None = None,
    on_done: Callable[[IssuedDocument], None] | None = None,
) -> None:
    """Produce (or reprint) a document off the UI thread, then open it for printing.

    The service makes one document however often this is called while it is running."""

    def work() -> IssuedDocument:
        return documents.issue(ctx.rt, ctx.actor, kind, case_id=case_id, item_code=item_code)

    def done(doc: IssuedDocument) -> None:
        open_pdf(doc)
        if on_done is not None:
            on_done(doc)

    run_task(parent, work, done, busy_text="正在生成文书…")
