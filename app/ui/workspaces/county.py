"""县级帮代办窗口 workspace: the inbox of every township's 帮代办 cases from the county
server, the case in full, and the county's steps — 签收 (F2), 要求补正 (F3), 办结 (F4),
送达 (F6), 归档 (F7) — each sent to the county as an event the township receives; the
per-township figures on a tab of their own.

Everything comes over HTTP in background jobs: the window never waits for the network, and
an unreachable server leaves what is shown as it was, with a Chinese line saying so."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.errors import KnownError
from app.domain.roles import Role
from app.security.keystore import KeyStore
from app.services import catalog, intake_support
from app.ui.context import UiContext
from app.ui.county.dialogs import (
    ArchiveDialog,
    CountyCorrectionDialog,
    DecideDialog,
    DispatchDialog,
    SignDialog,
)
from app.ui.county.inbox import InboxView
from app.ui.county.panel import CountyCasePanel
from app.ui.county.stats import StatsView
from app.ui.county.token import TokenDialog
from app.ui.dialogs.decision import ActionDialog, Submit
from app.ui.errors import show_error
from app.ui.intake.common import Level, MessageLabel
from app.ui.tasks import run_task
from app.ui.workspaces import Workspace, register
from sync.client.config import open_keystore
from sync.client.county_checks import EVENT_LABELS, allowed_events
from sync.client.county_staff import (
    INBOX_PAGE,
    CountyDesk,
    CountyStaffClient,
    staff_config,
    store_staff_token,
    stored_staff_token,
)
from sync.client.http import BadCredential
from sync.protocol import AttachmentRef, CountyEvent, EventKind
from sync.protocol_county import CaseDetail, CasePage, TownshipStats

_UNSET: Any = object()
KEEPS = "列表和办件仍是上次读取的内容。"
NO_TOKEN = "未输入县级工作人员令牌，无法读取县级收件箱。按 F5 重新输入。"
MakeDialog = Callable[[CaseDetail, Submit], ActionDialog]
# (event, button text, key, tooltip)
BUTTONS: tuple[tuple[EventKind, str, str, str], ...] = (
    (EventKind.SIGNED, "签收", "F2", "确认县级已收到本办件（及随寄的纸质材料）"),
    (EventKind.CORRECTION, "要求补正", "F3", "列明需要乡镇补正的全部材料、原因和期限"),
    (EventKind.DECIDED, "办结", "F4", "登记县级办理结果：准予，或不予并写明依据"),
    (EventKind.DISPATCHED, "送达", "F6", "登记结果邮寄（寄递企业和运单号）或乡镇领取"),
    (EventKind.CLOSED, "归档", "F7", "结果送出后办结归档"),
)


@register(Role.COUNTY)
class CountyWorkspace(Workspace):
    """The county window's day: sign for what townships sent, ask for corrections, decide,
    send the results back, archive."""

    title = "县级帮代办"

    def __init__(
        self, ctx: UiContext, parent: QWidget | None = None, *, keystore: Any = _UNSET
    ) -> None:
        super().__init__(ctx, parent)
        self.keystore: KeyStore | None = open_keystore() if keystore is _UNSET else keystore
        self.desk: CountyDesk | None = None
        self.token: str | None = None  # this session's token, in memory only
        self.refused: str | None = None  # a token the county refused is not tried again
        self.token_dialog: TokenDialog | None = None
        self.dialog: ActionDialog | None = None
        self._inbox_seq = self._detail_seq = 0
        self.banner = MessageLabel()
        self.inbox = InboxView(today=ctx.rt.today())
        self.panel = CountyCasePanel(reveal=self._reveal, fetch=self._fetch)
        self.stats = StatsView()
        self.tabs = QTabWidget()
        self.tabs.addTab(self._inbox_page(), "收件箱(&I)")
        self.tabs.addTab(self.stats, "乡镇统计(&G)")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.banner)
        layout.addWidget(self.tabs, 1)
        self.inbox.queryChanged.connect(lambda: self.load_inbox(0))
        self.inbox.pageWanted.connect(self.load_inbox)
        self.inbox.caseSelected.connect(self.show_case)
        self._known_items()
        self._update_buttons()
        # After the main window is built and shown: the token may have to be asked for.
        QTimer.singleShot(0, self.start_session)

    def _inbox_page(self) -> QWidget:
        self.buttons: dict[EventKind, QPushButton] = {}
        bar = QHBoxLayout()
        slots = {
            EventKind.SIGNED: self.sign,
            EventKind.CORRECTION: self.request_correction,
            EventKind.DECIDED: self.decide,
            EventKind.DISPATCHED: self.dispatch,
            EventKind.CLOSED: self.archive,
        }
        for kind, text, key, tip in BUTTONS:
            button = self.buttons[kind] = QPushButton(f"{text}（{key}）")
            button.setToolTip(tip)
            button.clicked.connect(slots[kind])
            bar.addWidget(button)
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(lambda b=button: b.click() if b.isEnabled() else None)
        bar.addStretch(1)
        right = QWidget()
        box = QVBoxLayout(right)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(bar)
        box.addWidget(self.panel, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.inbox)
        splitter.addWidget(right)
        # The inbox's item names want the width; the case view reads well from ~540 px.
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([820, 540])
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        return splitter

    def _known_items(self) -> None:
        """County items of the desk's catalog, to filter by before any case shows them."""
        try:
            items = catalog.get_catalog().county_items()
        except KnownError:
            return  # no catalog on this desk: items are learnt from the inbox
        self.inbox.add_items({i.code: i.name for i in items})

    # --- the workspace contract ---------------------------------------------------------

    def focus_search(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.inbox.focus_filters()

    def refresh(self) -> None:
        """F5: everything read again (and the token asked for again if it was refused)."""
        if self.desk is None:
            self.start_session()
            return
        self.load_stats()
        self.load_inbox(self.inbox.offset)
        self.reload_case()

    # --- connecting ---------------------------------------------------------------------

    def say(self, text: str, level: Level = Level.OK) -> None:
        self.banner.show_message(text, level)

    def start_session(self) -> None:
        """The server from the settings, the token from the keyring or asked for once."""
        if self.desk is not None:
            self.refresh()
            return
        token = self.token
        if token is None:
            try:
                token = stored_staff_token(self.keystore)
            except KnownError as exc:  # a locked keyring, a damaged entry: ask instead
                self.say(exc.message, Level.WARNING)
        if token is None or token == self.refused:
            self.ask_token()
            return
        self._open(token)

    def ask_token(self) -> None:
        if self.token_dialog is not None:
            return
        dialog = TokenDialog(self, can_keep=self.keystore is not None)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._token_given(dialog.token, dialog.keep))
        dialog.rejected.connect(lambda: self.say(NO_TOKEN, Level.WARNING))
        dialog.destroyed.connect(lambda _obj=None: setattr(self, "token_dialog", None))
        self.token_dialog = dialog
        dialog.open()

    def _token_given(self, token: str, keep: bool) -> None:
        if keep:
            try:
                store_staff_token(token, self.keystore)
            except KnownError as exc:
                message = f"令牌未能存入系统密钥环（{exc.message}），本次登录期间有效。"
                self.say(message, Level.WARNING)
        self._open(token)

    def _open(self, token: str) -> None:
        try:
            config = staff_config(token)
        except KnownError as exc:
            self.say(exc.message, Level.ERROR)
            return
        self.token = token
        client = CountyStaffClient(config)
        self.desk = CountyDesk(self.ctx.rt, self.ctx.actor, client)
        self.destroyed.connect(lambda _obj=None: client.close())
        self._update_buttons()
        self.refresh()

    def _failed(self, exc: BaseException, trace: str) -> None:
        if not isinstance(exc, KnownError):
            show_error(self, exc, trace)
            return
        if isinstance(exc, BadCredential):
            if self.desk is not None:  # the first of the jobs refused closes the session
                self.desk.close()
                self.desk, self.token, self.refused = None, None, self.token
                self._update_buttons()
            self.say(f"{exc.message}按 F5 重新输入令牌。", Level.ERROR)
            return
        self.say(f"{exc.message}{KEEPS}", Level.ERROR)

    def _clear_error(self) -> None:
        if self.banner.level in (Level.ERROR, Level.WARNING):
            self.say("")

    # --- reading ------------------------------------------------------------------------

    def load_stats(self) -> None:
        desk = self.desk
        if desk is None:
            return
        run_task(self, desk.client.stats, self._stats_loaded, self._failed)

    def _stats_loaded(self, towns: list[TownshipStats]) -> None:
        self.inbox.set_townships(towns)
        self.stats.show_stats(towns, self.ctx.rt.now())

    def load_inbox(self, offset: int = 0) -> None:
        desk = self.desk
        if desk is None:
            return
        self._inbox_seq += 1
        seq, query = self._inbox_seq, self.inbox.query()
        run_task(
            self,
            lambda: desk.client.cases(query, max(0, offset), INBOX_PAGE),
            lambda page: self._page_loaded(seq, page),
            self._failed,
            busy_text="正在读取县级收件箱…",
        )

    def _page_loaded(self, seq: int, page: CasePage) -> None:
        if seq != self._inbox_seq:
            return  # a newer query was asked for meanwhile
        if not page.cases and page.offset > 0 and page.total:
            self.load_inbox((page.total - 1) // page.limit * page.limit)  # the list shrank
            return
        self._clear_error()
        self.inbox.show_page(page, self.ctx.rt.today(), self.ctx.rt.calendar)

    def show_case(self, case_uuid: str) -> None:
        desk = self.desk
        if desk is None:
            return
        self._detail_seq += 1
        seq = self._detail_seq
        run_task(
            self,
            lambda: desk.client.case(case_uuid),
            lambda detail: self._case_loaded(seq, detail),
            self._failed,
            busy_text="正在读取办件…",
        )

    def reload_case(self) -> None:
        if self.panel.detail is not None:
            self.show_case(str(self.panel.detail.summary.case_uuid))

    def _case_loaded(self, seq: int, detail: CaseDetail) -> None:
        if seq != self._detail_seq:
            return
        self.panel.show_detail(detail, self.ctx.rt.today(), self.ctx.rt.calendar)
        self._update_buttons()

    def _update_buttons(self) -> None:
        detail = self.panel.detail
        allowed = (
            allowed_events(detail.summary.status)
            if detail is not None and self.desk is not None
            else frozenset()
        )
        for kind, button in self.buttons.items():
            button.setEnabled(kind in allowed)

    def _reveal(self, detail: CaseDetail, key: str) -> str:
        if self.desk is None:
            raise KnownError("尚未连接县级服务器")
        return self.desk.reveal(detail, key)

    def _fetch(self, ref: AttachmentRef) -> Any:
        desk = self.desk
        if desk is None:
            raise KnownError("尚未连接县级服务器")
        return desk.attachment(ref)

    # --- acting -------------------------------------------------------------------------

    def open_dialog(self, kind: EventKind, make: MakeDialog) -> ActionDialog | None:
        """The dialog for `kind` on the case shown; it sends the event and stays open on a
        Chinese message (a local check, or the county's refusal)."""
        detail, desk = self.panel.detail, self.desk
        if detail is None or desk is None or kind not in allowed_events(detail.summary.status):
            return None
        case_no = detail.summary.case_no

        def submit(data: dict[str, Any]) -> CountyEvent:
            return desk.post(data["event"], case_no)

        dialog = make(detail, submit)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.succeeded.connect(lambda event: self.acted(kind, case_no, event))
        dialog.destroyed.connect(lambda _obj=None: self._forget(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _forget(self, dialog: ActionDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def acted(self, kind: EventKind, case_no: str, event: CountyEvent) -> None:
        self.say(f"{case_no}：已{EVENT_LABELS[kind]}，乡镇将收到县级通知。", Level.OK)
        self.refresh()

    def sign(self) -> None:
        today = self.ctx.rt.today()
        self.open_dialog(EventKind.SIGNED, lambda d, s: SignDialog(d, s, self, today=today))

    def request_correction(self) -> None:
        today, due = self.ctx.rt.today(), intake_support.default_correction_due(self.ctx.rt)
        self.open_dialog(
            EventKind.CORRECTION,
            lambda d, s: CountyCorrectionDialog(d, s, self, today=today, due=due),
        )

    def decide(self) -> None:
        today = self.ctx.rt.today()
        self.open_dialog(
            EventKind.DECIDED,
            lambda d, s: DecideDialog(d, s, self, today=today, legal_basis=self._basis(d)),
        )

    @staticmethod
    def _basis(detail: CaseDetail) -> str:
        try:
            return catalog.get_item(
                detail.package.item_code, detail.package.catalog_version
            ).legal_basis
        except KnownError:
            return ""  # the desk's catalog does not have this item: the clerk types the basis

    def dispatch(self) -> None:
        today = self.ctx.rt.today()
        self.open_dialog(EventKind.DISPATCHED, lambda d, s: DispatchDialog(d, s, self, today=today))

    def archive(self) -> None:
        today = self.ctx.rt.today()
        self.open_dialog(EventKind.CLOSED, lambda d, s: ArchiveDialog(d, s, self, today=today))
