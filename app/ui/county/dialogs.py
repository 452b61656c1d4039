"""The county window's dialogs — 签收, 要求补正 (the township's one-time notice dialog, on the
package's checklist), 办结 (准予 / 不予 with its basis), 送达 (mail or township pickup), 归档 —
and their preview (`python -m app.ui.county.dialogs`).

Each dialog checks its data here (sync.client.county_checks, Chinese messages, nothing sent)
and hands the workspace one event to send; a refusal from the county is shown in place."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import date
from typing import Any

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDateEdit,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QWidget,
)

from app.ui.dialogs.correction import CorrectionDialog
from app.ui.dialogs.decision import (
    APPROVAL_PHRASES,
    DENIAL_PHRASES,
    ActionDialog,
    OpinionEdit,
    Submit,
    phrase_combo,
)
from sync.client import county_checks as checks
from sync.protocol import MaterialLine
from sync.protocol_county import CaseDetail

SHORT_HINT = "Enter 确定，Esc 取消"
ARCHIVE_NOTES = ("结果已送达，材料已整理归档。", "乡镇已领取结果，归档。")


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _pydate(edit: QDateEdit) -> date:
    day = edit.date()
    return date(day.year(), day.month(), day.day())


def date_edit(
    value: date, *, minimum: date | None = None, maximum: date | None = None
) -> QDateEdit:
    edit = QDateEdit(_qdate(value))
    edit.setCalendarPopup(True)
    edit.setDisplayFormat("yyyy-MM-dd")
    if maximum is not None:
        edit.setMaximumDate(_qdate(maximum))
    return edit


def county_summary(detail: CaseDetail) -> QLabel:
    """The case the dialog acts on (names only, no numbers), so nobody acts on the wrong one."""
    s, p = detail.summary, detail.package
    kind = "即办件" if p.kind == "immediate" else "承诺件"
    town = s.township_name or s.township
    label = QLabel(
        f"<b>{s.case_no}</b><br>{p.item_name}（{kind}）<br>"
        f"乡镇：{town}　申请人：{p.applicant.name}　代办人：{p.proxy.name}"
    )
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setWordWrap(True)
    return label


class CountyDialog(ActionDialog):
    """An action dialog on a county case: the case on top, an event out of `event()`."""

    def __init__(
        self,
        title: str,
        detail: CaseDetail,
        submit: Submit,
        parent: QWidget | None,
        ok: str,
        today: date,
    ) -> None:
        super().__init__(title, submit, parent, ok_text=ok)
        self.detail = detail
        self.case_uuid = detail.summary.case_uuid
        self.today = today
        # The day it happened: today unless recorded afterwards, never later than today.
        self.on_edit = date_edit(today, maximum=today)
        self.fields["on"] = self.on_edit
        self.hint_label.setText(SHORT_HINT)
        self.form.addRow("办件：", county_summary(detail))

    @property
    def on(self) -> date:
        return _pydate(self.on_edit)

    def make_event(self) -> Any:
        raise NotImplementedError

    def choice(self, *radios: QRadioButton) -> QHBoxLayout:
        """Radio buttons in a row, one of them chosen (the first, to begin with)."""
        group = QButtonGroup(self)
        row = QHBoxLayout()
        for radio in radios:
            group.addButton(radio)
            row.addWidget(radio)
        row.addStretch(1)
        radios[0].setChecked(True)
        return row

    def values(self) -> dict[str, Any]:
        return {"event": self.make_event()}


class SignDialog(CountyDialog):
    """签收: the county has the case (and the paper materials) from this day on."""

    def __init__(
        self, detail: CaseDetail, submit: Submit, parent: QWidget | None = None, *, today: date
    ) -> None:
        super().__init__("县级签收", detail, submit, parent, "签收", today)
        self.form.addRow("签收日期(&D)：", self.on_edit)
        self.resize(480, self.sizeHint().height())

    def make_event(self) -> Any:
        return checks.signed_event(self.case_uuid, self.on, self.today)


@dataclass(frozen=True)
class _NoticeCase:
    """What the township's correction dialog reads of a case, taken from a county package."""

    case_no: str
    item_name: str
    kind: str
    applicant_name: str
    materials: list[MaterialLine]


class CountyCorrectionDialog(CorrectionDialog):
    """要求补正: the township's 一次性告知 dialog on the package's checklist — every material
    to bring again with its reason, and one due date; the township is told by an event."""

    def __init__(
        self,
        detail: CaseDetail,
        submit: Submit,
        parent: QWidget | None = None,
        *,
        today: date,
        due: date,
    ) -> None:
        p = detail.package
        notice = _NoticeCase(p.case_no, p.item_name, p.kind, p.applicant.name, p.materials)
        super().__init__(notice, submit, parent, today=today, due=due)  # type: ignore[arg-type]
        self.setWindowTitle("要求乡镇补正")
        self.ok_button.setText("发送补正要求")
        self.case_uuid = detail.summary.case_uuid
        self.today = today

    def values(self) -> dict[str, Any]:
        data = super().values()
        event = checks.correction_event(
            self.case_uuid, data["missing"], data["due_date"], self.today
        )
        return {"event": event}


class DecideDialog(CountyDialog):
    """办结: 准予 with an opinion, or 不予 with the reason and its basis."""

    def __init__(
        self,
        detail: CaseDetail,
        submit: Submit,
        parent: QWidget | None = None,
        *,
        today: date,
        legal_basis: str = "",
    ) -> None:
        super().__init__("县级办结", detail, submit, parent, "登记办结", today)
        self.hint_label.setText("Enter 确定，Shift+Enter 换行，Esc 取消")
        self.legal_basis = legal_basis
        self.approve_radio = QRadioButton("准予(&A)")
        self.deny_radio = QRadioButton("不予(&N)")
        choice = self.choice(self.approve_radio, self.deny_radio)
        self.opinion_edit = OpinionEdit("审批意见，如：经审查，符合条件，准予办理。")
        self.basis_edit = OpinionEdit("不予批准所依据的法律法规或政策条款")
        for key, edit in (("opinion", self.opinion_edit), ("basis", self.basis_edit)):
            self.watch(edit)
            self.fields[key] = edit
        self.approval_phrases = phrase_combo(APPROVAL_PHRASES, self.opinion_edit, "选择常用意见…")
        self.denial_phrases = phrase_combo(DENIAL_PHRASES, self.opinion_edit, "选择常用理由…")
        self.basis_button = QPushButton("引用本事项设定依据(&B)")
        self.basis_button.setToolTip(legal_basis or "本机事项目录中没有本事项的设定依据")
        self.basis_button.clicked.connect(self.use_legal_basis)
        self.fields["decision"] = self.approve_radio
        phrases = QHBoxLayout()
        phrases.addWidget(self.approval_phrases, 1)
        phrases.addWidget(self.denial_phrases, 1)
        self.form.addRow("办理结果：", choice)
        self.form.addRow("意见(&O)：", self.opinion_edit)
        self.form.addRow("常用：", phrases)
        self.form.addRow("依据(&J)：", self.basis_edit)
        self.form.addRow("", self.basis_button)
        self.form.addRow("办结日期(&D)：", self.on_edit)
        self.approve_radio.toggled.connect(self._decision_changed)
        self._decision_changed()
        self.resize(620, self.sizeHint().height())
        self.opinion_edit.setFocus()

    @property
    def decision(self) -> str:
        return "approved" if self.approve_radio.isChecked() else "denied"

    def _decision_changed(self) -> None:
        denied = self.decision == "denied"
        self.approval_phrases.setVisible(not denied)
        self.denial_phrases.setVisible(denied)
        self.basis_edit.setEnabled(denied)
        self.basis_button.setEnabled(denied and bool(self.legal_basis))
        self.opinion_edit.setPlaceholderText(
            "不予批准的理由，如：经审查，不符合法定条件。"
            if denied
            else "审批意见，如：经审查，符合条件，准予办理。"
        )

    def use_legal_basis(self) -> None:
        self.basis_edit.setPlainText(self.legal_basis)
        self.basis_edit.setFocus()

    def make_event(self) -> Any:
        return checks.decided_event(
            self.case_uuid,
            self.decision,
            self.opinion_edit.text(),
            self.basis_edit.text() if self.decision == "denied" else "",
            self.on,
            self.today,
        )


class DispatchDialog(CountyDialog):
    """送达: the result mailed (carrier and tracking number) or kept for the township to fetch."""

    def __init__(
        self, detail: CaseDetail, submit: Submit, parent: QWidget | None = None, *, today: date
    ) -> None:
        super().__init__("结果送达", detail, submit, parent, "登记送达", today)
        self.mail_radio = QRadioButton("邮寄(&M)")
        self.pickup_radio = QRadioButton("乡镇领取(&T)")
        methods = self.choice(self.mail_radio, self.pickup_radio)
        self.carrier_combo = QComboBox()
        self.carrier_combo.addItems(list(checks.CARRIERS))
        self.tracking_edit = QLineEdit()
        self.tracking_edit.setPlaceholderText("8至30位字母或数字")
        self.tracking_edit.setMaxLength(30)
        self.fields.update(
            method=self.mail_radio, carrier=self.carrier_combo, tracking_no=self.tracking_edit
        )
        self.form.addRow("送达方式：", methods)
        self.form.addRow("寄递企业(&C)：", self.carrier_combo)
        self.form.addRow("运单号(&H)：", self.tracking_edit)
        self.form.addRow("送出日期(&D)：", self.on_edit)
        self.mail_radio.toggled.connect(self._method_changed)
        self._method_changed()
        self.resize(520, self.sizeHint().height())
        self.tracking_edit.setFocus()

    def _method_changed(self) -> None:
        mail = self.mail_radio.isChecked()
        self.carrier_combo.setEnabled(mail)
        self.tracking_edit.setEnabled(mail)

    def make_event(self) -> Any:
        mail = self.mail_radio.isChecked()
        return checks.dispatched_event(
            self.case_uuid,
            "mail" if mail else "township_pickup",
            self.carrier_combo.currentText() if mail else "",
            self.tracking_edit.text() if mail else "",
            self.on,
            self.today,
        )


class ArchiveDialog(CountyDialog):
    """归档: the case is finished at the county (the result has gone out)."""

    def __init__(
        self, detail: CaseDetail, submit: Submit, parent: QWidget | None = None, *, today: date
    ) -> None:
        super().__init__("办结归档", detail, submit, parent, "归档", today)
        self.note_edit = OpinionEdit("备注（选填）")
        self.watch(self.note_edit)
        self.notes = phrase_combo(ARCHIVE_NOTES, self.note_edit, "选择常用备注…")
        self.fields["note"] = self.note_edit
        self.form.addRow("备注(&Y)：", self.note_edit)
        self.form.addRow("常用备注：", self.notes)
        self.form.addRow("归档日期(&D)：", self.on_edit)
        self.resize(520, self.sizeHint().height())

    def make_event(self) -> Any:
        return checks.closed_event(self.case_uuid, self.on, self.note_edit.text(), self.today)


def main() -> int:
    """Preview: every dialog on a sample county case; nothing is sent (submit only prints)."""
    from app.ui.application import make_app

    app = make_app(sys.argv)
    detail = sample_detail()
    today = date.today()
    dialogs: list[QDialog] = [
        SignDialog(detail, print, today=today),
        CountyCorrectionDialog(detail, print, today=today, due=today),
        DecideDialog(detail, print, today=today, legal_basis="《残疾人保障法》第四十八条"),
        DispatchDialog(detail, print, today=today),
        ArchiveDialog(detail, print, today=today),
    ]
    for dialog in dialogs:
        dialog.show()
    return app.exec()


def sample_detail() -> CaseDetail:
    """A made-up county case for previews (made-up numbers that pass the checks)."""
    import uuid
    from datetime import datetime

    from forms.validators import make_resident_id

    now = datetime.now().replace(microsecond=0)
    case_uuid, town = str(uuid.uuid4()), "370999101"
    person = {"id_number": make_resident_id("370999", date(1981, 3, 4), 21)}
    package = {
        "case_uuid": case_uuid, "revision": 1, "action": "hand_off", "township": town,
        "case_no": f"{town}-A1-20261116-0001", "query_code": "K7M3Q9",
        "item_code": "370999-XK-0101", "item_name": "残疾人两项补贴申请",
        "catalog_version": "2026.11.1", "kind": "promised", "limit_days": 10,
        "accepted_on": "2026-11-16", "handed_off_on": "2026-11-16", "deadline": "2026-11-30",
        "applicant": {"name": "欧阳晓明", "phone": "13912345678", **person},
        "proxy": {"name": "李代办", "phone": "13787654321", "relation": "村帮代办员", **person},
        "authorisation": "已签署帮代办委托书",
        "materials": [
            {"name": "居民身份证", "required": True, "status": "received", "form": "复印件"},
            {"name": "残疾人证", "required": True, "status": "missing", "form": "原件"},
        ],
    }  # fmt: skip
    summary = {
        "case_uuid": case_uuid, "township": town, "township_name": "青禾镇",
        "case_no": package["case_no"], "item_code": package["item_code"],
        "item_name": package["item_name"], "status": "signed", "status_label": "已签收",
        "deadline": "2026-11-30", "handed_off_on": "2026-11-16", "latest_revision": 1,
        "received_at": now, "updated_at": now,
    }  # fmt: skip
    return CaseDetail.model_validate(
        {"summary": summary, "package": package, "history": [], "events": []}
    )


if __name__ == "__main__":
    sys.exit(main())
