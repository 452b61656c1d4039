"""Whole journeys through the three desks' widgets, as the clerks would do them: the 综合窗口
takes the case in, the station decides, the 出件 desk hands the result over."""

from __future__ import annotations

import subprocess

from helpers.factories import form_data, person
from helpers.intake_steps import (
    choose_item,
    fill_form,
    set_material,
    settle,
    submit,
    type_applicant,
)
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.domain.case import Action
from app.domain.states import CaseState, MaterialStatus
from app.services import case_view, documents
from app.store.models import EvaluationRecord
from app.ui.main_window import MainWindow
from app.ui.tasks import wait_all
from app.ui.workspaces.issuance import IssuanceWorkspace
from app.ui.workspaces.station import StationWorkspace
from app.ui.workspaces.window import WindowWorkspace

CTRL = Qt.KeyboardModifier.ControlModifier


def _desk(qtbot, ctx, factory):
    window = MainWindow(ctx, workspace_factory=factory, idle_check_ms=3_600_000)
    qtbot.addWidget(window)
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    return window, window.workspace


def _key(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window, key, modifier)
    settle(qtbot)


def _dialog(qtbot, workspace):
    qtbot.waitUntil(lambda: workspace.dialog is not None and workspace.dialog.isVisible())
    return workspace.dialog


def _confirm(qtbot, workspace, dialog) -> None:
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    wait_all()
    qtbot.waitUntil(lambda: workspace.dialog is None)
    settle(qtbot)


def _select(workspace, case_id: int) -> None:
    workspace.refresh()
    row = workspace.queue.model.row_of(case_id)
    assert row is not None, "the case is not in this desk's queue"
    workspace.queue.table.selectRow(row)


def _kinds(actor, case_id: int) -> list[str]:
    return [d.kind for d in documents.list_for_case(actor, case_id)]


def _text(path) -> str:
    return subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _take_in(qtbot, window, workspace, item, *, missing=()):
    who = person()
    _key(qtbot, window, Qt.Key.Key_N, CTRL)
    page = workspace.intake
    choose_item(qtbot, page, item.code, item.code)
    type_applicant(qtbot, page, who)
    fill_form(qtbot, page, form_data(item, who), who)
    page.materials.receive_all_required()
    for name in missing:
        set_material(page, name, MaterialStatus.MISSING)
    return submit(qtbot, page)


def test_intake_accept_route_approve_mail_close(qtbot, rt, world, make_ctx):
    item = world.township_item("minzheng", immediate=False)
    window_desk, window_ws = _desk(qtbot, make_ctx(world.window), WindowWorkspace)
    ref = _take_in(qtbot, window_desk, window_ws, item)
    _key(qtbot, window_desk, Qt.Key.Key_F2)  # 受理 + 收件回执
    _key(qtbot, window_desk, Qt.Key.Key_F4)  # 分送站办所
    assert _kinds(world.window, ref.id) == ["receipt"]

    station = world.stations["minzheng"]
    station_desk, station_ws = _desk(qtbot, make_ctx(station), StationWorkspace)
    _select(station_ws, ref.id)
    _key(qtbot, station_desk, Qt.Key.Key_F2)
    dialog = _dialog(qtbot, station_ws)
    dialog.opinion_edit.insertPlainText("经审查，符合条件，同意办理。")
    _confirm(qtbot, station_ws, dialog)
    assert case_view.get_case(rt, station, ref.id).state is CaseState.DECIDED

    issuer = world.issuance
    issue_desk, issue_ws = _desk(qtbot, make_ctx(issuer), IssuanceWorkspace)
    _select(issue_ws, ref.id)
    _key(qtbot, issue_desk, Qt.Key.Key_F2)
    _confirm(qtbot, issue_ws, _dialog(qtbot, issue_ws))  # 通知申请人 (电话)
    _key(qtbot, issue_desk, Qt.Key.Key_F3)
    dialog = _dialog(qtbot, issue_ws)
    qtbot.mouseClick(dialog.mail_radio, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.address_button, Qt.MouseButton.LeftButton)  # audited reveal
    dialog.carrier_combo.setCurrentText("中国邮政EMS")
    qtbot.keyClicks(dialog.tracking_edit, "EA123456789CN")
    _confirm(qtbot, issue_ws, dialog)
    _key(qtbot, issue_desk, Qt.Key.Key_F4)
    dialog = _dialog(qtbot, issue_ws)
    qtbot.mouseClick(dialog.rating_buttons[5], Qt.MouseButton.LeftButton)
    _confirm(qtbot, issue_ws, dialog)

    detail = case_view.get_case(rt, issuer, ref.id)
    assert (detail.state, detail.tracking_no) == (CaseState.CLOSED, "EA123456789CN")
    assert EvaluationRecord.get(EvaluationRecord.case == ref.id).level == 5
    assert _kinds(issuer, ref.id) == ["receipt", "completion"]


def test_correction_then_accept_then_denied_with_appeal_rights(qtbot, rt, world, make_ctx):
    item = world.township_item("minzheng", immediate=False)
    gap = next(m.name for m in item.materials if m.required)
    window_desk, window_ws = _desk(qtbot, make_ctx(world.window), WindowWorkspace)
    ref = _take_in(qtbot, window_desk, window_ws, item, missing=(gap,))
    _key(qtbot, window_desk, Qt.Key.Key_F3)  # 一次性告知: the gap is already ticked
    _confirm(qtbot, window_ws, _dialog(qtbot, window_ws))
    assert case_view.get_case(rt, world.window, ref.id).state is CaseState.CORRECTION_REQUIRED
    assert _kinds(world.window, ref.id) == ["correction"]

    window_ws.queue_tabs.setCurrentWidget(window_ws.follow_up)
    window_ws.follow_up.refresh()
    window_ws.follow_up.table.selectRow(window_ws.follow_up.model.row_of(ref.id))
    qtbot.mouseClick(window_ws.bar.buttons[Action.SUPPLEMENT], Qt.MouseButton.LeftButton)
    dialog = _dialog(qtbot, window_ws)
    qtbot.mouseClick(dialog.all_button, Qt.MouseButton.LeftButton)
    _confirm(qtbot, window_ws, dialog)
    window_ws.queue_tabs.setCurrentWidget(window_ws.queue)
    _select(window_ws, ref.id)
    _key(qtbot, window_desk, Qt.Key.Key_F2)
    _key(qtbot, window_desk, Qt.Key.Key_F4)
    assert case_view.get_case(rt, world.window, ref.id).state is CaseState.IN_REVIEW

    station = world.stations["minzheng"]
    station_desk, station_ws = _desk(qtbot, make_ctx(station), StationWorkspace)
    _select(station_ws, ref.id)
    _key(qtbot, station_desk, Qt.Key.Key_F3)
    dialog = _dialog(qtbot, station_ws)
    dialog.opinion_edit.insertPlainText("经入户核查，家庭收入高于当地低保标准。")
    qtbot.mouseClick(dialog.basis_button, Qt.MouseButton.LeftButton)  # the item's legal basis
    _confirm(qtbot, station_ws, dialog)
    detail = case_view.get_case(rt, station, ref.id)
    assert (detail.state, detail.decision) == (CaseState.DECIDED, "denied")

    issuer = world.issuance
    issue_desk, issue_ws = _desk(qtbot, make_ctx(issuer), IssuanceWorkspace)
    _select(issue_ws, ref.id)
    _key(qtbot, issue_desk, Qt.Key.Key_F2)
    _confirm(qtbot, issue_ws, _dialog(qtbot, issue_ws))
    wait_all()
    notice = next(d for d in documents.list_for_case(issuer, ref.id) if d.kind == "completion")
    doc = documents.issued_copy(rt, issuer, "completion", ref.id)
    assert doc is not None and doc.number == notice.number
    text = _text(doc.path)
    assert "行政复议" in text and "行政诉讼" in text
