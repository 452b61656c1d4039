"""The staff token, asked for once per session when it is not kept in a safe keyring (it
then lives in memory only), or when the county refused the one that was kept."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.domain.errors import KnownError
from app.ui.dialogs.decision import ERROR_STYLE
from sync.client.county_staff import check_staff_token


class TokenDialog(QDialog):
    """The staff token, typed once per session when it is not kept in a safe keyring."""

    def __init__(self, parent: QWidget | None = None, *, can_keep: bool = False) -> None:
        super().__init__(parent)
        self.setWindowTitle("县级工作人员令牌")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.token = ""
        self.can_keep = can_keep
        intro = QLabel(
            "请输入县级签发的工作人员令牌（形如 bjs.用户名.随机串）。"
            + (
                "勾选下方选项可存入系统密钥环，下次不再询问。"
                if can_keep
                else "本机没有安全的系统密钥环：令牌只保存在内存中，本次登录期间有效，"
                "下次登录需重新输入。"
            )
        )
        intro.setWordWrap(True)
        self.token_edit = QLineEdit()
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("bjs.用户名.随机串")
        self.keep_check = QCheckBox("存入系统密钥环(&K)")
        self.keep_check.setChecked(can_keep)
        self.keep_check.setVisible(can_keep)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.hide()
        buttons = QDialogButtonBox()
        ok = buttons.addButton("连接(&O)", QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton("取消", QDialogButtonBox.ButtonRole.RejectRole)
        ok.setDefault(True)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.token_edit)
        layout.addWidget(self.keep_check)
        layout.addWidget(self.error_label)
        layout.addWidget(buttons)
        self.resize(520, self.sizeHint().height())
        self.token_edit.setFocus()

    @property
    def keep(self) -> bool:
        return self.can_keep and self.keep_check.isChecked()

    def accept(self) -> None:
        try:
            self.token = check_staff_token(self.token_edit.text())
        except KnownError as exc:  # said here; the dialog stays open
            self.error_label.setText(exc.message)
            self.error_label.show()
            self.token_edit.setFocus()
            self.token_edit.selectAll()
            return
        self.token_edit.clear()
        super().accept()
