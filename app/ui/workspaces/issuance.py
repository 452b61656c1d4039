"""出件 workspace: decided cases waiting for issue — 通知申请人 (F2, prints the 办结通知书),
出件 by pickup or mail (F3, a pickup prints the 结果送达回证 for signature), 办结 with the
好差评 rating (F4)."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from app.domain.case import Action
from app.domain.roles import Role
from app.domain.states import CaseState
from app.services import case_view
from app.services.case_view import CaseDetail
from app.services.documents import IssuedDocument
from app.ui.context import UiContext
from app.ui.dialogs.issue import CloseDialog, IssueDialog, NotifyDialog
from app.ui.widgets.actions import print_document
from app.ui.workspaces import register
from app.ui.workspaces.station import DeskWorkspace

READY_NOTE = "申请人已获通知，按 F3 出件。当场领取须核验身份证件，代领须另核验授权委托书。"
ISSUED_NOTE = "已出件，请申请人评价后办结（F4）。"
COUNTY_PICKUP_NOTE = (
    "县级结果已送回本中心：先通知申请人前来领取（F2，打印办结通知书），领取时按 F3 出件。"
)
COUNTY_MAIL_NOTE = "县级已邮寄送达申请人（{carrier}，运单号 {tracking}），核对后按 F3 登记出件。"
NOTES = {CaseState.READY_TO_ISSUE: READY_NOTE, CaseState.ISSUED: ISSUED_NOTE}
NOTE_STYLE = "background: #e8f0fe; color: #174ea6; padding: 4px 8px;"


@register(Role.ISSUANCE)
class IssuanceWorkspace(DeskWorkspace):
    """Notify, issue, close; the documents of each step printed from here."""

    title = "出件"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.note_label.setStyleSheet(NOTE_STYLE)
        self.add_actions(
            (
                (Action.NOTIFY, "通知申请人", "F2", self.notify, "登记通知方式，并打印办结通知书"),
                (Action.ISSUE, "出件", "F3", self.issue, "当场领取或邮寄送达审批结果"),
                (Action.CLOSE, "办结", "F4", self.close_case, "请申请人评价（好差评）后办结"),
            )
        )
        self.notice_button = QPushButton("打印办结通知书(&N)")
        self.notice_button.setToolTip("出具或补打本办件的办结通知书")
        self.notice_button.setEnabled(False)
        self.notice_button.clicked.connect(self.print_notice)
        row = self.bar.layout()
        assert isinstance(row, QHBoxLayout)  # ActionBar lays its buttons out in a row
        row.addWidget(self.notice_button)
        self.setTabOrder(self.bar.buttons[Action.CLOSE], self.notice_button)
        self.setTabOrder(self.notice_button, self.panel.tabs)

    def _loaded(self, detail: CaseDetail | None) -> None:
        super()._loaded(detail)
        self.notice_button.setEnabled(detail is not None and detail.decision is not None)

    def note_for(self, detail: CaseDetail, allowed: frozenset[Action]) -> str:
        if not allowed:
            return ""
        if detail.state == CaseState.READY_TO_ISSUE and detail.county_dispatch == "mail":
            return COUNTY_MAIL_NOTE.format(carrier=detail.carrier, tracking=detail.tracking_no)
        if detail.state == CaseState.READY_TO_ISSUE and detail.county_dispatch:
            return COUNTY_PICKUP_NOTE
        return NOTES.get(detail.state, "")

    def notify(self) -> None:
        """通知申请人; the 办结通知书 printed once the notice is recorded."""
        dialog = self.open_dialog(lambda d: NotifyDialog(d, self.submitter(Action.NOTIFY), self))
        if isinstance(dialog, NotifyDialog):
            dialog.succeeded.connect(
                lambda ref: self.print_for(ref.id, "completion") if dialog.print_notice else None
            )

    def issue(self) -> None:
        """出件; a pickup prints the 结果送达回证 for the collector to sign."""
        dialog = self.open_dialog(
            lambda d: IssueDialog(
                d,
                self.submitter(Action.ISSUE),
                self,
                reveal_address=lambda: self._reveal_address(d.id),
            )
        )
        if isinstance(dialog, IssueDialog):
            dialog.succeeded.connect(
                lambda ref: (
                    self.print_for(ref.id, "delivery") if dialog.pickup_radio.isChecked() else None
                )
            )

    def _reveal_address(self, case_id: int) -> str:
        # Audited: the full address is read only because the clerk asked for it to mail.
        return case_view.reveal(self.ctx.rt, self.ctx.actor, case_id, "applicant_address")

    def close_case(self) -> None:
        """办结 with the applicant's 好差评 rating."""
        self.open_dialog(lambda d: CloseDialog(d, self.submitter(Action.CLOSE), self))

    def print_notice(self) -> None:
        """办结通知书 for the case shown: made once, then the same document reprinted."""
        if self.panel.detail is not None:
            self.print_for(self.panel.detail.id, "completion")

    def print_for(self, case_id: int, kind: str) -> None:
        print_document(self, self.ctx, kind, case_id=case_id, on_done=self._printed)

    def _printed(self, _doc: IssuedDocument) -> None:
        # The list shows the new document (the case on display may have changed meanwhile).
        detail = self.panel.detail
        self.documents.show_case(detail.id if detail else None)
