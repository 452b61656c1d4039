"""综合窗口 workspace: the desk's queue and the follow-up list on the left, the case on the
right with the window's decisions above it — 受理 (F2, prints the 收件回执), 一次性告知 (F3),
分送站办所 / 移交县级 (F4), 不予受理, 补正材料已收, 撤回 — and 新建接件 (Ctrl+N) as a page
of its own that keeps its draft while the clerk looks at other cases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.case import Action
from app.domain.errors import KnownError, StaleError
from app.domain.roles import Role
from app.services import cases, catalog, intake_support
from app.services.case_view import CaseDetail
from app.services.documents import IssuedDocument
from app.ui.context import UiContext
from app.ui.dialogs.correction import CorrectionDialog
from app.ui.dialogs.decision import ActionDialog, Submit
from app.ui.dialogs.refusal import RefusalDialog, WithdrawDialog
from app.ui.dialogs.supplement import SupplementDialog
from app.ui.errors import show_error
from app.ui.intake import IntakePage
from app.ui.intake.common import Level, MessageLabel
from app.ui.tasks import run_task
from app.ui.widgets.actions import ActionBar, print_document
from app.ui.widgets.case_panel import CasePanel
from app.ui.widgets.documents import DocumentsBox
from app.ui.widgets.queue import QueueWidget
from app.ui.workspaces import Workspace, register
from app.ui.workspaces.case_display import CaseOnDisplay
from app.ui.workspaces.window_lists import FollowUpQueue, case_hint
from forms.schema import Item

PAGE_WORK, PAGE_INTAKE = range(2)
# What the window prints after each decision (the service makes one document per occasion).
DOCUMENTS: dict[Action, tuple[str, ...]] = {
    Action.ACCEPT: ("receipt",),
    Action.REQUEST_CORRECTION: ("correction",),
    Action.REFUSE: ("refusal",),
    Action.HAND_OFF: ("proxy_authorisation", "handover"),
}
DONE_TEXT: dict[Action, str] = {
    Action.ACCEPT: "已受理，正在打印收件回执",
    Action.REQUEST_CORRECTION: "已一次性告知，正在打印补正材料通知书",
    Action.REFUSE: "已不予受理，正在打印不予受理通知书",
    Action.ROUTE: "已分送站办所",
    Action.HAND_OFF: "已移交县级帮代办，正在打印委托书和移交单（随纸质材料寄送）",
    Action.SUPPLEMENT: "已登记补正材料",
    Action.WITHDRAW: "已撤回",
}


@register(Role.WINDOW)
class WindowWorkspace(CaseOnDisplay, Workspace):
    """The window's day: new cases, decisions at the counter, and the cases that come back."""

    title = "综合窗口"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.queue = QueueWidget(ctx)
        self.follow_up = FollowUpQueue(ctx)
        self.panel = CasePanel(ctx)
        self.documents = DocumentsBox(ctx)
        self.panel.tabs.addTab(self.documents, "文书(&5)")
        self.intake = IntakePage(ctx)
        self.dialog: ActionDialog | None = None
        self.acting = False
        self.pages = QStackedWidget()
        self.pages.addWidget(self._work_page())
        self.pages.addWidget(self.intake)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        new_case = QShortcut(QKeySequence("Ctrl+N"), self)
        new_case.activated.connect(self.new_case)
        self.intake.submitted.connect(self.case_received)
        self.intake.leave.connect(self.show_list)
        for queue in (self.queue, self.follow_up):
            queue.caseSelected.connect(self.show_case)
            queue.caseActivated.connect(self.open_case)
            queue.refreshed.connect(self.reload_case)
        self.panel.caseLoaded.connect(self._loaded)

    # --- building -----------------------------------------------------------------------

    def _work_page(self) -> QWidget:
        page = QWidget()
        self.new_button = QPushButton("新建接件（Ctrl+N）")
        font = QFont(self.new_button.font())
        font.setBold(True)
        self.new_button.setFont(font)
        self.new_button.clicked.connect(self.new_case)
        self.bar = self._action_bar()
        self.reprint_button = QPushButton("补打回执（Ctrl+P）")
        self.reprint_button.setToolTip("再次打印本办件的收件回执（同一编号）")
        self.reprint_button.setEnabled(False)
        self.reprint_button.clicked.connect(self.reprint_receipt)
        top = QHBoxLayout()
        top.addWidget(self.new_button)
        top.addSpacing(12)
        top.addWidget(self.bar, 1)
        top.addWidget(self.reprint_button)
        self.hint_label = MessageLabel()
        self.result_label = MessageLabel()
        self.queue_tabs = QTabWidget()
        self.queue_tabs.addTab(self.queue, "待办(&Q)")
        self.queue_tabs.addTab(self.follow_up, "跟踪(&G)")
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.queue_tabs)
        splitter.addWidget(self.panel)
        splitter.setStretchFactor(0, 5)
        splitter.setStretchFactor(1, 4)
        splitter.setSizes([740, 600])
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        box = QVBoxLayout(page)
        box.setContentsMargins(0, 4, 0, 0)
        box.addLayout(top)
        box.addWidget(self.result_label)
        box.addWidget(self.hint_label)
        box.addWidget(splitter, 1)
        self._shortcuts(page)
        return page

    def _shortcuts(self, page: QWidget) -> None:
        keys: tuple[tuple[str, Callable[[], None]], ...] = (
            ("F2", lambda: self.press(Action.ACCEPT)),
            ("F3", lambda: self.press(Action.REQUEST_CORRECTION)),
            ("F4", lambda: self.press(Action.ROUTE, Action.HAND_OFF)),
            ("Ctrl+P", self.reprint_receipt),
        )
        for key, slot in keys:
            # Parented to the list page: they are off while the new-case page is shown.
            # QShortcuts act at once (a button's own shortcut clicks it a moment later).
            shortcut = QShortcut(QKeySequence(key), page)
            shortcut.activated.connect(slot)

    def _action_bar(self) -> ActionBar:
        bar = ActionBar(self.ctx)
        # The keys (F2, F3, F4) are QShortcuts of the list page: see `_work_page`.
        specs: tuple[tuple[Action, str, Callable[[], None], str], ...] = (
            (Action.ACCEPT, "受理（F2）", self.accept, "材料齐全：受理并打印收件回执"),
            (Action.REQUEST_CORRECTION, "一次性告知（F3）", self.request_correction,
             "列明全部需补正的材料，打印补正材料通知书"),
            (Action.ROUTE, "分送站办所（F4）", self.route, "受理后分送事项所属的站办所审批"),
            (Action.HAND_OFF, "移交县级（F4）", self.hand_off,
             "县级事项：移交县级帮代办，打印委托书和移交单"),
            (Action.REFUSE, "不予受理", self.refuse, "写明理由和依据，打印不予受理通知书"),
            (Action.SUPPLEMENT, "补正材料已收", self.supplement,
             "申请人补齐材料后登记，办件继续办理"),
            (Action.WITHDRAW, "撤回", self.withdraw, "申请人撤回申请，须写明原因"),
        )  # fmt: skip
        for action, text, slot, tip in specs:
            bar.add(action, text, "", slot).setToolTip(tip)
        bar.add_stretch()
        return bar

    # --- the workspace contract ---------------------------------------------------------

    def focus_search(self) -> None:
        if self.pages.currentIndex() == PAGE_INTAKE:
            self.intake.picker.search_edit.setFocus()
            return
        current = self.queue_tabs.currentWidget()
        if isinstance(current, QueueWidget):
            current.focus_search()

    def refresh(self) -> None:
        self.queue.refresh()
        self.follow_up.refresh()

    # --- pages --------------------------------------------------------------------------

    def new_case(self) -> None:
        """Ctrl+N: the new-case page (with the draft left there, if any)."""
        self.pages.setCurrentIndex(PAGE_INTAKE)
        self.intake.focus_start()

    def show_list(self) -> None:
        self.pages.setCurrentIndex(PAGE_WORK)
        self.queue_tabs.currentWidget().setFocus()

    def case_received(self, ref: cases.CaseRef) -> None:
        """A new case is in: show it, ready for 受理 or 一次性告知."""
        self.pages.setCurrentIndex(PAGE_WORK)
        self.queue_tabs.setCurrentWidget(self.queue)
        self.queue.refresh()
        row = self.queue.model.row_of(ref.id)
        if row is not None:
            self.queue.table.selectRow(row)
        self.show_case(ref.id)
        self.result_label.show_message(f"已登记接件：{ref.case_no}", Level.OK)
        self.queue.table.setFocus()

    # --- the case on display ------------------------------------------------------------

    def _loaded(self, detail: CaseDetail | None) -> None:
        case_id = detail.id if detail else None
        self.documents.show_case(case_id)
        allowed = self.bar.update_for(case_id)
        if self.acting:
            self.bar.setEnabled(False)
        self.reprint_button.setEnabled(detail is not None)
        self.hint_label.show_message(case_hint(detail, allowed) if detail else "", Level.HINT)

    def _item(self, detail: CaseDetail) -> Item | None:
        try:
            return catalog.get_item(detail.item_code, detail.catalog_version)
        except KnownError:
            return None  # an item gone from the catalog: the clerk types the basis

    # --- acting -------------------------------------------------------------------------

    def submitter(self, action: Action) -> Submit:
        """Take `action` on the case as it is shown (its version): a case another desk has
        changed meanwhile is refused by the service, never overwritten."""
        detail = self.panel.detail
        assert detail is not None
        rt, actor, case_id, version = self.ctx.rt, self.ctx.actor, detail.id, detail.version

        def submit(data: dict[str, Any]) -> cases.CaseRef:
            return cases.act(rt, actor, case_id, action, data, expected_version=version)

        return submit

    def act(self, action: Action, data: dict[str, Any] | None = None) -> None:
        """An action without a dialog (受理, 分送, 移交), off the UI thread."""
        if self.panel.detail is None or self.acting:
            return
        submit = self.submitter(action)
        self._busy(True)
        run_task(
            self,
            lambda: submit(data or {}),
            lambda ref: self.acted(action, ref),
            self._failed,
            busy_text=f"正在{action.label}…",
        )

    def open_dialog(
        self, action: Action, make: Callable[[CaseDetail, Submit], ActionDialog]
    ) -> ActionDialog | None:
        """An action with data: the dialog takes it and stays open on a Chinese error."""
        detail = self.panel.detail
        if detail is None or self.acting:
            return None
        return self.present(
            make(detail, self.submitter(action)), lambda ref: self.acted(action, ref)
        )

    def _busy(self, busy: bool) -> None:
        self.acting = busy
        self.bar.setEnabled(not busy)

    def acted(self, action: Action, ref: cases.CaseRef) -> None:
        """Done: lists read again, the case shown as it is now, its documents printed."""
        self._busy(False)
        self.refresh()
        self.show_case(ref.id)
        self.result_label.show_message(f"{ref.case_no}：{DONE_TEXT[action]}", Level.OK)
        for kind in DOCUMENTS.get(action, ()):
            self.print_for(ref.id, kind)

    def _failed(self, exc: BaseException, trace: str) -> None:
        self._busy(False)
        if isinstance(exc, StaleError):
            self.stale(exc)
            return
        show_error(self, exc, trace)
        self.reload_case()

    def stale(self, exc: object) -> None:
        """Another desk changed the case first: say so, then show it as it is now."""
        if isinstance(exc, BaseException):
            show_error(self, exc)
        self.refresh()
        self.reload_case()

    def print_for(self, case_id: int, kind: str) -> None:
        print_document(self, self.ctx, kind, case_id=case_id, on_done=self._printed)

    def _printed(self, doc: IssuedDocument) -> None:
        again = "（补打）" if doc.reprint else ""
        self.result_label.show_message(f"{doc.title}{again} {doc.number} 已生成。", Level.OK)
        if self.panel.detail is not None:
            self.documents.show_case(self.panel.detail.id)

    # --- the window's decisions ---------------------------------------------------------

    def accept(self) -> None:
        self.act(Action.ACCEPT)

    def route(self) -> None:
        self.act(Action.ROUTE)

    def hand_off(self) -> None:
        self.act(Action.HAND_OFF)

    def press(self, *choices: Action) -> None:
        """A key for a button: the first of `choices` the workflow allows now (F4 is 分送 for
        a township case and 移交 for a county case)."""
        if not self.bar.isEnabled():
            return
        for action in choices:
            button = self.bar.buttons[action]
            if button.isEnabled():
                button.click()
                return

    def reprint_receipt(self) -> None:
        if self.panel.detail is not None and self.reprint_button.isEnabled():
            self.print_for(self.panel.detail.id, "receipt")

    def request_correction(self) -> None:
        today = self.ctx.rt.today()
        due = intake_support.default_correction_due(self.ctx.rt)
        self.open_dialog(
            Action.REQUEST_CORRECTION,
            lambda d, submit: CorrectionDialog(d, submit, self, today=today, due=due),
        )

    def refuse(self) -> None:
        self.open_dialog(
            Action.REFUSE,
            lambda d, submit: RefusalDialog(
                d, intake_support.refusal_bases(self._item(d)), submit, self
            ),
        )

    def supplement(self) -> None:
        self.open_dialog(
            Action.SUPPLEMENT,
            lambda d, submit: SupplementDialog(d, intake_support.supplement_lines(d), submit, self),
        )

    def withdraw(self) -> None:
        self.open_dialog(Action.WITHDRAW, lambda d, submit: WithdrawDialog(d, submit, self))
