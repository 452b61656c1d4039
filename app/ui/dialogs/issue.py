"""The issuance desk's dialogs: 通知申请人 (channel), 出件 (pickup with the collector's ID
checked, or mail with address, carrier and tracking number) and 办结 with the 好差评 rating."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QWidget,
)

from app.domain.effects import CARRIERS, NOTIFY_CHANNELS
from app.services.case_view import CaseDetail
from app.ui.dialogs.decision import ActionDialog, Submit, case_summary
from app.ui.errors import reporting

SHORT_HINT = "Enter 确定，Esc 取消"
DECISIONS = {"approved": "准予", "denied": "不予"}
# 好差评: five levels, best first, as on the county's evaluation terminals.
RATINGS: tuple[tuple[int, str, str], ...] = (
    (5, "非常满意", "#1e8e3e"),
    (4, "满意", "#34a853"),
    (3, "基本满意", "#e2a300"),
    (2, "不满意", "#e8710a"),
    (1, "非常不满意", "#d93025"),
)
RATING_STYLE = """
QPushButton {{ padding: 10px 6px; border: 2px solid #c8ccd2;
  border-radius: 8px; background: #ffffff; color: #202124; }}
QPushButton:focus {{ border-color: #1a73e8; }}
QPushButton:checked {{ background: {colour}; border-color: {colour}; color: #ffffff; }}
"""


def _decision_text(detail: CaseDetail) -> str:
    result = DECISIONS.get(detail.decision or "", "—")
    return f"{result}。{detail.opinion}" if detail.opinion else result


class NotifyDialog(ActionDialog):
    """通知申请人: how the applicant was told; the 办结通知书 is printed afterwards."""

    def __init__(self, detail: CaseDetail, submit: Submit, parent: QWidget | None = None) -> None:
        super().__init__("通知申请人", submit, parent, ok_text="已通知")
        self.hint_label.setText(SHORT_HINT)
        self.channel_combo = QComboBox()
        self.channel_combo.addItems(list(NOTIFY_CHANNELS))
        self.fields["channel"] = self.channel_combo
        self.print_check = QCheckBox("打印办结通知书(&P)")
        self.print_check.setChecked(True)
        result = QLabel(_decision_text(detail))
        result.setWordWrap(True)
        self.form.addRow("办件：", case_summary(detail))
        self.form.addRow("审批结果：", result)
        self.form.addRow("通知方式(&T)：", self.channel_combo)
        self.form.addRow("", self.print_check)
        self.setTabOrder(self.channel_combo, self.print_check)
        self.resize(520, self.sizeHint().height())
        self.channel_combo.setFocus()

    @property
    def print_notice(self) -> bool:
        return self.print_check.isChecked()

    def values(self) -> dict[str, Any]:
        return {"channel": self.channel_combo.currentText()}


class IssueDialog(ActionDialog):
    """出件: pickup (applicant or proxy, ID checked, a proxy's authorisation checked) or mail
    (address — filled from the applicant's record only on request, audited —, carrier, number)."""

    def __init__(
        self,
        detail: CaseDetail,
        submit: Submit,
        parent: QWidget | None = None,
        *,
        reveal_address: Callable[[], str] | None = None,
    ) -> None:
        super().__init__("出件", submit, parent, ok_text="确认出件")
        self.hint_label.setText(SHORT_HINT)
        self.detail = detail
        self._reveal_address = reveal_address
        self.pickup_radio = QRadioButton("当场领取(&Q)")
        self.mail_radio = QRadioButton("邮寄送达(&M)")
        self.pickup_radio.setChecked(True)
        methods = QHBoxLayout()
        methods.addWidget(self.pickup_radio)
        methods.addWidget(self.mail_radio)
        methods.addStretch(1)
        self.pages = QStackedWidget()
        self.pages.addWidget(self._pickup_page())
        self.pages.addWidget(self._mail_page())
        self.pickup_radio.toggled.connect(self._method_changed)
        self.form.addRow("办件：", case_summary(detail))
        self.form.addRow("出件方式：", methods)
        self.form.addRow(self.pages)
        if detail.county_dispatch == "mail":
            self._county_mailed()
        self._method_changed()
        self.resize(580, self.sizeHint().height())

    def _county_mailed(self) -> None:
        """The county already mailed the result: show what it recorded, ask for nothing."""
        self.mail_radio.setChecked(True)
        self.pickup_radio.setEnabled(False)
        self.address_edit.setText("县级已按申请人登记的地址寄出")
        self.carrier_combo.setCurrentText(self.detail.carrier)
        self.tracking_edit.setText(self.detail.tracking_no)
        for edit in (self.address_edit, self.tracking_edit):
            edit.setReadOnly(True)
        self.carrier_combo.setEnabled(False)
        self.address_button.setEnabled(False)
        self.hint_label.setText("县级窗口已邮寄送达，核对运单号后确认出件。" + SHORT_HINT)

    def _pickup_page(self) -> QWidget:
        self.applicant_radio = QRadioButton("申请人本人(&A)")
        self.proxy_radio = QRadioButton("代领人(&D)")
        self.applicant_radio.setChecked(True)
        self.collector_edit = QLineEdit()
        self.collector_edit.setPlaceholderText("代领人姓名")
        self.id_check = QCheckBox("已核验领取人身份证件原件(&I)")
        self.authorisation_check = QCheckBox("已核验申请人签署的授权委托书(&W)")
        self.fields.update(
            collector_name=self.collector_edit,
            collector_role=self.applicant_radio,
            id_checked=self.id_check,
            authorisation_checked=self.authorisation_check,
        )
        who = QHBoxLayout()
        who.addWidget(self.applicant_radio)
        who.addWidget(self.proxy_radio)
        who.addStretch(1)
        page = QWidget()
        grid = QGridLayout(page)
        grid.setContentsMargins(0, 6, 0, 0)
        grid.addWidget(QLabel("领取人："), 0, 0)
        grid.addLayout(who, 0, 1)
        name_label = QLabel("姓名(&N)：")
        name_label.setBuddy(self.collector_edit)
        grid.addWidget(name_label, 1, 0)
        grid.addWidget(self.collector_edit, 1, 1)
        grid.addWidget(self.id_check, 2, 1)
        grid.addWidget(self.authorisation_check, 3, 1)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(4, 1)
        self.applicant_radio.toggled.connect(self._collector_changed)
        self._collector_changed()
        return page

    def _mail_page(self) -> QWidget:
        self.address_edit = QLineEdit()
        self.address_edit.setPlaceholderText("收件地址（可调取申请人登记的住址）")
        self.address_button = QPushButton("调取申请人住址(&R)")
        self.address_button.setToolTip("填入申请人登记的完整住址（会记入留痕）")
        self.address_button.setEnabled(self._reveal_address is not None)
        self.address_button.clicked.connect(self.fill_address)
        self.carrier_combo = QComboBox()
        self.carrier_combo.addItems(list(CARRIERS))
        self.tracking_edit = QLineEdit()
        self.tracking_edit.setPlaceholderText("8至30位字母或数字")
        self.tracking_edit.setMaxLength(30)
        self.fields.update(
            address=self.address_edit, carrier=self.carrier_combo, tracking_no=self.tracking_edit
        )
        page = QWidget()
        grid = QGridLayout(page)
        grid.setContentsMargins(0, 6, 0, 0)
        for row, (text, widget) in enumerate(
            (
                ("邮寄地址(&E)：", self.address_edit),
                ("寄递企业(&C)：", self.carrier_combo),
                ("运单号(&H)：", self.tracking_edit),
            )
        ):
            label = QLabel(text)
            label.setBuddy(widget)
            grid.addWidget(label, row, 0)
            grid.addWidget(widget, row, 1)
        grid.addWidget(self.address_button, 0, 2)
        grid.setColumnStretch(1, 1)
        grid.setRowStretch(3, 1)
        return page

    def _method_changed(self) -> None:
        pickup = self.pickup_radio.isChecked()
        self.pages.setCurrentIndex(0 if pickup else 1)
        (self.id_check if pickup else self.address_edit).setFocus()

    def _collector_changed(self) -> None:
        applicant = self.applicant_radio.isChecked()
        name = self.detail.applicant_name if applicant else self.detail.proxy_name
        self.collector_edit.setText(name)
        self.collector_edit.setReadOnly(applicant)
        self.authorisation_check.setEnabled(not applicant)
        if applicant:
            self.authorisation_check.setChecked(False)

    def fill_address(self) -> None:
        """The applicant's full address, read only because the clerk asked (audited)."""
        if self._reveal_address is None:
            return
        with reporting(self):
            self.address_edit.setText(self._reveal_address())
            self.address_button.setEnabled(False)
            self.address_button.setText("已调取")
            self.carrier_combo.setFocus()

    def values(self) -> dict[str, Any]:
        if self.mail_radio.isChecked():
            return {
                "method": "mail",
                "address": self.address_edit.text().strip(),
                "carrier": self.carrier_combo.currentText(),
                "tracking_no": self.tracking_edit.text().strip(),
            }
        return {
            "method": "pickup",
            "collector_name": self.collector_edit.text().strip(),
            "collector_role": "applicant" if self.applicant_radio.isChecked() else "proxy",
            "id_checked": self.id_check.isChecked(),
            "authorisation_checked": self.authorisation_check.isChecked(),
        }


class CloseDialog(ActionDialog):
    """办结 with the 好差评: five big buttons the applicant may press, an optional comment."""

    def __init__(self, detail: CaseDetail, submit: Submit, parent: QWidget | None = None) -> None:
        super().__init__("办结", submit, parent, ok_text="办结")
        self.hint_label.setText("申请人未评价的，可直接办结。" + SHORT_HINT)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.rating_buttons: dict[int, QPushButton] = {}
        row = QHBoxLayout()
        big = QFont(self.font())
        big.setPointSizeF(big.pointSizeF() * 1.5)
        widest = max(QFontMetrics(big).horizontalAdvance(text) for _, text, _ in RATINGS)
        for level, text, colour in RATINGS:
            button = QPushButton(text)
            button.setCheckable(True)
            button.setFont(big)
            # Equal, big targets: a citizen presses one without looking for it.
            button.setMinimumSize(widest + 36, 72)
            button.setStyleSheet(RATING_STYLE.format(colour=colour))
            self.group.addButton(button, level)
            self.rating_buttons[level] = button
            row.addWidget(button, 1)
        self.fields["rating"] = self.rating_buttons[5]
        invite = QLabel("请您对本次服务作出评价")
        font = QFont(invite.font())
        font.setPointSizeF(font.pointSizeF() * 1.4)
        font.setBold(True)
        invite.setFont(font)
        invite.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.comment_edit = QLineEdit()
        self.comment_edit.setPlaceholderText("评价意见（选填）")
        self.comment_edit.setMaxLength(500)
        self.form.addRow("办件：", case_summary(detail))
        self.form.addRow(invite)
        self.form.addRow(row)
        self.form.addRow("评价意见(&Y)：", self.comment_edit)
        self.resize(720, self.sizeHint().height())

    @property
    def rating(self) -> int | None:
        level = self.group.checkedId()
        return level if level > 0 else None

    def values(self) -> dict[str, Any]:
        return {"rating": self.rating, "comment": self.comment_edit.text().strip()}


def main() -> int:
    """Preview: the three dialogs for a demo case; nothing is saved (submit only prints)."""
    from app.services import case_view
    from app.ui.application import make_app
    from app.ui.context import preview_context, preview_data

    app = make_app(sys.argv)
    data = preview_data(cases=60)
    ctx = preview_context(data, "window1", "A1")
    [row] = case_view.queue_page(case_view.queue_filter(data.rt, ctx.actor), 0, 1)
    detail = case_view.get_case(data.rt, ctx.actor, row.id)
    dialogs = [
        NotifyDialog(detail, print),
        IssueDialog(detail, print, reveal_address=lambda: "青禾县青禾镇东村8号"),
        CloseDialog(detail, print),
    ]
    for dialog in dialogs:
        dialog.show()
    code = app.exec()
    data.rt.close()
    return code


if __name__ == "__main__":
    sys.exit(main())
