"""站办所 workspace: approve, deny (basis required), send back for materials, 即办件 decided
on the spot with F2 and Enter, only this station's cases, buttons following the workflow."""

from __future__ import annotations

from helpers.factories import drive, make_case
from helpers.ui_steps import click, select_case, show_workspace
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit

from app.domain.case import Action
from app.domain.masking import find_unmasked_ids
from app.domain.states import CaseState
from app.services import audit, case_view, intake_support
from app.ui.dialogs.correction import CorrectionDialog
from app.ui.dialogs.decision import STANDARD_APPROVAL, ActionDialog, ApproveDialog, DenyDialog
from app.ui.tasks import wait_all
from app.ui.widgets.queue import COL_ITEM
from app.ui.workspaces.station import IMMEDIATE_NOTE, StationWorkspace

BUTTONS = (Action.APPROVE, Action.DENY, Action.REQUEST_CORRECTION)


def _workspace(qtbot, ctx) -> StationWorkspace:
    return show_workspace(qtbot, StationWorkspace(ctx))


def _open(qtbot, workspace: StationWorkspace, action: Action) -> ActionDialog:
    click(qtbot, workspace.bar.buttons[action])
    qtbot.waitUntil(lambda: workspace.dialog is not None and workspace.dialog.isVisible())
    assert workspace.dialog is not None
    return workspace.dialog


def _confirm(qtbot, workspace: StationWorkspace, dialog: ActionDialog) -> None:
    click(qtbot, dialog.ok_button)
    wait_all()
    qtbot.waitUntil(lambda: workspace.dialog is None)


def _shown_ids(workspace: StationWorkspace) -> list[int]:
    model = workspace.queue.model
    return [model.case_id(r) for r in range(model.rowCount())]


def _state(rt, actor, case_id: int) -> CaseState:
    return case_view.get_case(rt, actor, case_id).state


def test_station_approves_with_a_typed_opinion(qtbot, rt, world, make_ctx):
    item = world.township_item("jisheng", immediate=False)
    ref = make_case(rt, world, CaseState.IN_REVIEW, item=item)
    station = world.stations["jisheng"]
    workspace = _workspace(qtbot, make_ctx(station))
    select_case(workspace, ref.id)
    assert all(workspace.bar.buttons[a].isEnabled() for a in BUTTONS)
    assert workspace.note_label.isHidden()  # a 承诺件: no "decide now" note
    dialog = _open(qtbot, workspace, Action.APPROVE)
    assert isinstance(dialog, ApproveDialog)
    assert dialog.opinion_edit.text() == ""  # only a 即办件 comes with the standard opinion
    dialog.opinion_edit.insertPlainText("经入户核查，情况属实，同意办理。")
    _confirm(qtbot, workspace, dialog)
    detail = case_view.get_case(rt, station, ref.id)
    assert (detail.state, detail.decision) == (CaseState.DECIDED, "approved")
    assert detail.opinion == "经入户核查，情况属实，同意办理。"
    # The queue was read again: the decided case left it; the view shows the decision.
    assert _shown_ids(workspace) == []
    assert workspace.panel.state_label.text() == "状态：已办结待出件"
    assert not any(workspace.bar.buttons[a].isEnabled() for a in BUTTONS)


def test_deny_needs_a_basis_and_offers_the_items_legal_basis(qtbot, rt, world, make_ctx):
    item = world.township_item("minzheng")
    ref = make_case(rt, world, CaseState.IN_REVIEW, item=item)
    station = world.stations["minzheng"]
    workspace = _workspace(qtbot, make_ctx(station))
    select_case(workspace, ref.id)
    dialog = _open(qtbot, workspace, Action.DENY)
    assert isinstance(dialog, DenyDialog)
    dialog.opinion_edit.insertPlainText("经核查，家庭收入超过当地低保标准。")
    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(lambda: dialog.error_label.isVisible())
    assert dialog.error_label.text() == "请填写不予批准的依据"
    assert dialog.isVisible() and dialog.basis_edit.hasFocus()
    after = case_view.get_case(rt, station, ref.id)
    assert (after.state, after.version) == (CaseState.IN_REVIEW, ref.version)

    click(qtbot, dialog.basis_button)
    assert dialog.basis_edit.text() == item.legal_basis
    _confirm(qtbot, workspace, dialog)
    detail = case_view.get_case(rt, station, ref.id)
    assert (detail.state, detail.decision) == (CaseState.DECIDED, "denied")
    [event] = [e for e in audit.events_for("case", ref.uuid) if e.action == "case.deny"]
    assert event.details["basis"] == item.legal_basis
    assert event.details["opinion"] == "经核查，家庭收入超过当地低保标准。"


def test_send_back_for_materials_with_the_list_and_a_due_date(qtbot, rt, world, make_ctx):
    item = world.township_item("minzheng")
    ref = make_case(rt, world, CaseState.IN_REVIEW, item=item)
    station = world.stations["minzheng"]
    workspace = _workspace(qtbot, make_ctx(station))
    select_case(workspace, ref.id)
    dialog = _open(qtbot, workspace, Action.REQUEST_CORRECTION)
    assert isinstance(dialog, CorrectionDialog)
    assert (dialog.windowTitle(), dialog.ok_button.text()) == ("退回补正", "退回综合窗口")
    table = dialog.table
    assert [table.item(r, 0).text() for r in range(table.rowCount())] == [
        m.name for m in item.materials
    ]
    # Everything was received at the window: nothing is ticked, and nothing ticked is refused.
    click(qtbot, dialog.ok_button)
    assert dialog.error_label.text() == "请勾选申请人需要补正的材料"
    # Space ticks the material; typing in its reason cell gives the reason.
    material = item.materials[1].name
    table.setFocus()
    table.setCurrentCell(1, 0)
    qtbot.keyClick(table, Qt.Key.Key_Space)
    assert table.item(1, 0).checkState() == Qt.CheckState.Checked
    click(qtbot, dialog.ok_button)
    assert dialog.error_label.text() == f"请写明「{material}」需要补正的原因"
    table.setCurrentCell(1, 2)
    table.editItem(table.item(1, 2))
    [editor] = [w for w in table.viewport().findChildren(QLineEdit) if w.isVisible()]
    editor.insert("收入证明未加盖单位公章")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the table commits the cell (queued)
    qtbot.waitUntil(lambda: table.item(1, 2).text() == "收入证明未加盖单位公章")
    due = dialog.due_edit.date().toPython()
    assert due == intake_support.default_correction_due(rt) > rt.today()
    assert case_view.get_case(rt, station, ref.id).state is CaseState.IN_REVIEW
    _confirm(qtbot, workspace, dialog)
    detail = case_view.get_case(rt, station, ref.id)
    assert detail.state is CaseState.CORRECTION_REQUIRED
    assert detail.correction_items == ({"name": material, "reason": "收入证明未加盖单位公章"},)
    assert detail.correction_due == due
    assert _shown_ids(workspace) == []
    assert not any(workspace.bar.buttons[a].isEnabled() for a in BUTTONS)


def test_immediate_case_is_marked_and_approved_with_f2_and_enter(qtbot, rt, world, make_ctx):
    item = world.township_item("laodong", immediate=True)
    slow = make_case(
        rt, world, CaseState.IN_REVIEW, item=world.township_item("laodong", immediate=False)
    )
    ref = make_case(rt, world, CaseState.IN_REVIEW, item=item)
    station = world.stations["laodong"]
    workspace = _workspace(qtbot, make_ctx(station))
    model = workspace.queue.model
    marks = {
        model.case_id(r): workspace.mark.is_immediate(model.index(r, COL_ITEM))
        for r in range(model.rowCount())
    }
    assert marks == {ref.id: True, slow.id: False}
    assert not workspace.queue.table.viewport().grab().isNull()  # the badge paints
    select_case(workspace, ref.id)
    assert workspace.note_label.isVisible()
    assert workspace.note_label.text() == IMMEDIATE_NOTE
    assert "即办件" in workspace.panel.item_label.text()

    workspace.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is workspace)
    workspace.queue.table.setFocus()  # where the keyboard is after picking the case
    qtbot.keyClick(workspace.queue.table, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: workspace.dialog is not None and workspace.dialog.isVisible())
    dialog = workspace.dialog
    assert isinstance(dialog, ApproveDialog)
    assert dialog.opinion_edit.text() == STANDARD_APPROVAL
    qtbot.waitUntil(dialog.opinion_edit.hasFocus)  # Enter goes straight to the opinion
    qtbot.keyClick(dialog.opinion_edit, Qt.Key.Key_Return)
    wait_all()
    qtbot.waitUntil(lambda: workspace.dialog is None)
    detail = case_view.get_case(rt, station, ref.id)
    assert (detail.state, detail.opinion) == (CaseState.DECIDED, STANDARD_APPROVAL)
    assert _shown_ids(workspace) == [slow.id]
    assert workspace.note_label.isHidden()


def test_station_sees_only_its_cases_and_buttons_follow_the_state(
    qtbot, rt, world, make_ctx, boxes
):
    mine = make_case(rt, world, CaseState.IN_REVIEW, item=world.township_item("jisheng"))
    decided = make_case(rt, world, CaseState.DECIDED, item=world.township_item("jisheng"))
    other = make_case(rt, world, CaseState.IN_REVIEW, item=world.township_item("minzheng"))
    workspace = _workspace(qtbot, make_ctx(world.stations["jisheng"]))
    assert _shown_ids(workspace) == [mine.id]
    combo = workspace.queue.state_combo
    combo.setCurrentIndex(combo.findText("全部办件"))
    assert sorted(_shown_ids(workspace)) == sorted([mine.id, decided.id])
    select_case(workspace, mine.id)
    assert all(workspace.bar.buttons[a].isEnabled() for a in BUTTONS)
    select_case(workspace, decided.id)
    assert not any(workspace.bar.buttons[a].isEnabled() for a in BUTTONS)

    select_case(workspace, mine.id)
    workspace.show_case(other.id)  # e.g. a case number typed from another station's list
    assert boxes == ["办件不存在或不在您的办理范围内"]
    assert workspace.detail is None
    assert not any(workspace.bar.buttons[a].isEnabled() for a in BUTTONS)
    assert _state(rt, world.stations["minzheng"], other.id) is CaseState.IN_REVIEW


def test_stale_case_is_refused_and_shown_again(qtbot, rt, world, make_ctx, boxes):
    item = world.township_item("jisheng", immediate=False)
    ref = make_case(rt, world, CaseState.IN_REVIEW, item=item)
    station = world.stations["jisheng"]
    workspace = _workspace(qtbot, make_ctx(station))
    select_case(workspace, ref.id)
    dialog = _open(qtbot, workspace, Action.APPROVE)
    # Meanwhile the applicant withdraws at the window.
    drive(rt, world, ref, world.window, Action.WITHDRAW, {"reason": "申请人撤回申请"})
    dialog.opinion_edit.insertPlainText("同意办理。")
    _confirm(qtbot, workspace, dialog)
    [message] = boxes
    assert ref.case_no in message and "已被他人更新" in message and "撤回" in message
    assert _state(rt, station, ref.id) is CaseState.WITHDRAWN
    assert workspace.panel.state_label.text() == "状态：撤回"
    assert not any(workspace.bar.buttons[a].isEnabled() for a in BUTTONS)
    assert _shown_ids(workspace) == []


def test_no_unmasked_number_in_the_workspace_or_its_dialogs(qtbot, rt, world, make_ctx, texts_of):
    ref = make_case(rt, world, CaseState.IN_REVIEW, item=world.township_item("jisheng"))
    workspace = _workspace(qtbot, make_ctx(world.stations["jisheng"]))
    select_case(workspace, ref.id)
    for action in BUTTONS:
        dialog = _open(qtbot, workspace, action)
        for tab in range(workspace.panel.tabs.count()):
            workspace.panel.tabs.setCurrentIndex(tab)
            leaked = find_unmasked_ids("\n".join(texts_of(workspace)))
            assert leaked == [], leaked
        dialog.reject()
        qtbot.waitUntil(lambda: workspace.dialog is None)
