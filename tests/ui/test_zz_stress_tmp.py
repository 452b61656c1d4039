import pytest
from PySide6.QtCore import Qt
from app.ui.login import LoginDialog
from app.ui.context import make_settings

@pytest.mark.parametrize("n", range(40))
def test_many(qtbot, rt, world, n):
    dialog = LoginDialog(rt, make_settings())
    qtbot.addWidget(dialog)
    dialog.show()
    for i in range(3):
        dialog.username_edit.setText("window1")
        dialog.password_edit.setText("bad-Password-1")
        qtbot.keyClick(dialog.password_edit, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not dialog.busy)
