"""Clerk-style steps through the window's new-case page: typing, Enter, clicks, shortcuts."""

from __future__ import annotations

from datetime import date
from typing import Any

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from app.domain.states import MaterialStatus
from app.services.cases import CaseRef
from app.services.people import PersonInput, ProxyInput
from app.ui import tasks
from app.ui.intake.form_fields import ORG_MIRRORS, PERSON_MIRRORS
from app.ui.intake.page import IntakePage

ENTER = Qt.Key.Key_Return
CTRL = Qt.KeyboardModifier.ControlModifier


def type_text(qtbot: Any, widget: QWidget, text: str) -> None:
    """Key presses for `text`; Chinese characters arrive as an input method commits them
    (QTest can only type ASCII keys)."""
    for char in text:
        if char.isascii():
            qtbot.keyClicks(widget, char)
            continue
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, char))


def settle(qtbot: Any) -> None:
    """Every background task done and its result delivered (results may start new tasks)."""
    qtbot.waitUntil(lambda: tasks.wait_all(10000) and tasks.pending() == 0, timeout=15000)


def choose_item(qtbot: Any, page: IntakePage, query: str, code: str) -> None:
    """Type into the item box, move down to the item with ↓, take it with Enter."""
    box = page.picker.search_edit
    box.setFocus()
    type_text(qtbot, box, query)
    page.picker.refresh()
    codes = [c.item.code for c in page.picker.choices]
    assert code in codes, (query, codes)
    for _ in range(codes.index(code)):
        qtbot.keyClick(box, Qt.Key.Key_Down)
    qtbot.keyClick(box, ENTER)
    assert page.item is not None and page.item.code == code
    settle(qtbot)


def type_applicant(qtbot: Any, page: IntakePage, who: PersonInput) -> None:
    """ID number, Enter, name, Enter, phone, Enter, address — as at the counter."""
    form = page.applicant
    form.id_field.number_edit.setFocus()
    type_text(qtbot, form.id_field.number_edit, who.id_number)
    settle(qtbot)  # the look-up of a returning applicant
    qtbot.keyClick(form.id_field.number_edit, ENTER)
    if form.id_field.reason_edit.hasFocus() and who.override_reason:
        type_text(qtbot, form.id_field.reason_edit, who.override_reason)
        qtbot.keyClick(form.id_field.reason_edit, ENTER)
    assert form.name_edit.hasFocus()
    form.name_edit.selectAll()
    type_text(qtbot, form.name_edit, who.name)
    qtbot.keyClick(form.name_edit, ENTER)
    assert form.phone_edit.hasFocus()
    type_text(qtbot, form.phone_edit, who.phone)
    qtbot.keyClick(form.phone_edit, ENTER)
    assert form.address_edit.hasFocus()
    type_text(qtbot, form.address_edit, who.address)


def type_proxy(qtbot: Any, page: IntakePage, proxy: ProxyInput) -> None:
    form = page.proxy
    for edit, text in (
        (form.name_edit, proxy.name),
        (form.id_field.number_edit, proxy.id_number),
        (form.phone_edit, proxy.phone),
    ):
        edit.setFocus()
        type_text(qtbot, edit, text)
    form.relation_combo.setCurrentText(proxy.relation)


def fill_form(qtbot: Any, page: IntakePage, values: dict[str, Any], who: PersonInput) -> None:
    """Type the application form; fields that repeat the applicant are left empty (mirrored)."""
    mirrors = ORG_MIRRORS if who.kind == "org" else PERSON_MIRRORS
    applicant = {"name": who.name, "id_number": who.id_number, "phone": who.phone}
    applicant["address"] = who.address
    page.tabs.setCurrentIndex(1)
    for key, value in values.items():
        row = page.form.rows[key]
        if key in mirrors and applicant.get(mirrors[key]) == value:
            continue
        widget = row.widget
        if isinstance(widget, QComboBox):
            widget.setCurrentIndex(widget.findData(value))
        elif isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QPlainTextEdit):
            widget.setFocus()
            type_text(qtbot, widget, str(value))
        elif isinstance(widget, QLineEdit):
            widget.setFocus()
            text = str(value)
            type_text(qtbot, widget, text.replace("-", "") if row.spec.type == "date" else text)
            widget.editingFinished.emit()


def set_material(
    page: IntakePage,
    name: str,
    status: MaterialStatus,
    *,
    reason: str = "",
    due: date | None = None,
) -> None:
    row = page.materials.row_of(name)
    row.set_status(status)
    if reason:
        row.reason.setText(reason)
    if due is not None:
        row.due.setDate(due)


def submit(qtbot: Any, page: IntakePage) -> CaseRef:
    """Ctrl+S, and wait for the case to be saved."""
    with qtbot.waitSignal(page.submitted, timeout=15000) as blocker:
        qtbot.keyClick(page.submit_button, Qt.Key.Key_S, CTRL)
    settle(qtbot)
    ref = blocker.args[0]
    assert isinstance(ref, CaseRef)
    return ref
