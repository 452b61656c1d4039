"""综合窗口 workspace, scripted as a clerk works: new case (Ctrl+N), 受理 (F2) with the receipt,
一次性告知 (F3), 分送 / 移交 (F4), 不予受理, 补正材料已收 from the follow-up list, 撤回;
stale cases, one document per double click, and no unmasked numbers on screen."""

from __future__ import annotations

from helpers.factories import drive, form_data, intake, make_case, person
from helpers.intake_steps import (
    choose_item,
    fill_form,
    set_material,
    settle,
    submit,
    type_applicant,
    type_proxy,
    type_text,
)
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLabel

from app.domain.case import Action
from app.domain.masking import find_unmasked_ids
from app.domain.states import CaseState, MaterialStatus
from app.services import audit, case_view, documents, intake_support
from app.services.people import ProxyInput
from app.store.models import OutboxRecord
from app.ui.dialogs.correction import CorrectionDialog
from app.ui.dialogs.decision import ActionDialog
from app.ui.dialogs.refusal import RefusalDialog, WithdrawDialog
from app.ui.dialogs.supplement import SupplementDialog
from app.ui.main_window import MainWindow
from app.ui.workspaces import workspace_for
from app.ui.workspaces.window import PAGE_INTAKE, PAGE_WORK, WindowWorkspace

CTRL = Qt.KeyboardModifier.ControlModifier


def _desk(qtbot, ctx) -> tuple[MainWindow, WindowWorkspace]:
    window = MainWindow(ctx, workspace_factory=WindowWorkspace, idle_check_ms=3_600_000)
    qtbot.addWidget(window)
    workspace = window.workspace
    assert isinstance(workspace, WindowWorkspace)
    for queue in (workspace.queue, workspace.follow_up):
        queue.poll_timer.stop()  # the tests refresh through the workspace itself
    window.resize(1366, 768)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    return window, workspace


def _key(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """A key pressed in the main window (active again after a dialog has closed)."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window, key, modifier)
    settle(qtbot)


def _kinds(rt, actor, case_id: int) -> list[str]:
    return [d.kind for d in documents.list_for_case(actor, case_id)]


def _state(rt, actor, case_id: int) -> CaseState:
    return case_view.get_case(rt, actor, case_id).state


def _dialog(qtbot, workspace: WindowWorkspace) -> ActionDialog:
    qtbot.waitUntil(lambda: workspace.dialog is not None and workspace.dialog.isVisible())
    assert workspace.dialog is not None
    return workspace.dialog


def _confirm(qtbot, workspace: WindowWorkspace, dialog: ActionDialog) -> None:
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    settle(qtbot)
    qtbot.waitUntil(lambda: workspace.dialog is None)
    settle(qtbot)


def _new_case(qtbot, window, workspace, item, *, who=None, missing=(), proxy=None):
    """Ctrl+N, the item, the applicant, the form, the materials (all but `missing`), Ctrl+S."""
    who = who or person()
    _key(qtbot, window, Qt.Key.Key_N, CTRL)
    assert workspace.pages.currentIndex() == PAGE_INTAKE
    page = workspace.intake
    assert page.picker.search_edit.hasFocus()
    choose_item(qtbot, page, item.code, item.code)
    type_applicant(qtbot, page, who)
    if proxy is not None:
        type_proxy(qtbot, page, proxy)
    fill_form(qtbot, page, form_data(item, who), who)
    page.materials.receive_all_required()
    for name in missing:
        set_material(page, name, MaterialStatus.MISSING)
    ref = submit(qtbot, page)
    assert workspace.pages.currentIndex() == PAGE_WORK
    assert workspace.detail is not None and workspace.detail.id == ref.id
    return ref


def _ticked(dialog: CorrectionDialog) -> list[str]:
    table = dialog.table
    rows = range(table.rowCount())
    return [
        table.item(r, 0).text()
        for r in rows
        if table.item(r, 0).checkState() == Qt.CheckState.Checked
    ]


def _supplement_everything(qtbot, workspace: WindowWorkspace, case_id: int) -> None:
    """Pick the case in the follow-up list, 补正材料已收, tick all, confirm."""
    workspace.queue_tabs.setCurrentWidget(workspace.follow_up)
    workspace.follow_up.table.selectRow(workspace.follow_up.model.row_of(case_id))
    supplement = workspace.bar.buttons[Action.SUPPLEMENT]
    assert supplement.isEnabled()
    qtbot.mouseClick(supplement, Qt.MouseButton.LeftButton)
    dialog = _dialog(qtbot, workspace)
    assert isinstance(dialog, SupplementDialog)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.error_label.text() == "请勾选申请人已补交的材料"
    qtbot.mouseClick(dialog.all_button, Qt.MouseButton.LeftButton)
    _confirm(qtbot, workspace, dialog)


def test_the_window_role_gets_this_workspace(qtbot, rt, world, make_ctx):
    workspace = workspace_for(make_ctx(world.window))
    qtbot.addWidget(workspace)
    assert type(workspace) is WindowWorkspace and workspace.title == "综合窗口"


def test_township_case_received_accepted_with_receipt_and_routed(
    qtbot, rt, world, make_ctx, texts_of
):
    item = world.township_item("jisheng", immediate=False)
    window, workspace = _desk(qtbot, make_ctx(world.window))
    ref = _new_case(qtbot, window, workspace, item)
    bar = workspace.bar.buttons
    assert bar[Action.ACCEPT].isEnabled() and not bar[Action.ROUTE].isEnabled()
    assert workspace.hint_label.text() == "材料齐全：受理（F2）并打印收件回执。"
    assert find_unmasked_ids("\n".join(texts_of(window))) == []

    _key(qtbot, window, Qt.Key.Key_F2)
    assert _state(rt, world.window, ref.id) is CaseState.ACCEPTED
    assert _kinds(rt, world.window, ref.id) == ["receipt"]
    assert workspace.documents.table.rowCount() == 1  # the 文书 tab shows it
    assert "收件回执" in workspace.result_label.text()
    assert bar[Action.ROUTE].isEnabled() and not bar[Action.HAND_OFF].isEnabled()

    _key(qtbot, window, Qt.Key.Key_F4)
    assert _state(rt, world.window, ref.id) is CaseState.IN_REVIEW
    # Out of the desk's queue, into the follow-up list; the view follows the case.
    assert workspace.queue.model.row_of(ref.id) is None
    assert workspace.follow_up.model.row_of(ref.id) is not None
    assert workspace.panel.state_label.text() == "状态：审批中"
    assert not any(button.isEnabled() for a, button in bar.items() if a is not Action.WITHDRAW)


def test_missing_material_correction_then_supplement_then_accept(qtbot, rt, world, make_ctx, boxes):
    item = world.township_item("minzheng")
    gap = item.materials[0].name
    window, workspace = _desk(qtbot, make_ctx(world.window))
    ref = _new_case(qtbot, window, workspace, item, missing=(gap,))
    assert gap in workspace.hint_label.text() and "F3" in workspace.hint_label.text()
    # 受理 with a gap is refused by the workflow, in Chinese, and nothing changes.
    _key(qtbot, window, Qt.Key.Key_F2)
    assert len(boxes) == 1 and boxes[0].startswith("以下必要材料未齐全，不能受理")
    assert _state(rt, world.window, ref.id) is CaseState.RECEIVED

    _key(qtbot, window, Qt.Key.Key_F3)
    dialog = _dialog(qtbot, workspace)
    assert isinstance(dialog, CorrectionDialog)
    assert _ticked(dialog) == [gap]  # every gap ticked already, with a reason to edit
    dialog.set_checked(gap, True, "未提交原件")
    due = dialog.due_edit.date().toPython()
    assert due == intake_support.default_correction_due(rt)
    _confirm(qtbot, workspace, dialog)
    detail = case_view.get_case(rt, world.window, ref.id)
    assert detail.state is CaseState.CORRECTION_REQUIRED
    assert detail.correction_items == ({"name": gap, "reason": "未提交原件"},)
    assert _kinds(rt, world.window, ref.id) == ["correction"]

    # The applicant comes back with the material: 补正材料已收 from the follow-up list.
    _supplement_everything(qtbot, workspace, ref.id)
    assert _state(rt, world.window, ref.id) is CaseState.RECEIVED

    _key(qtbot, window, Qt.Key.Key_F2)
    detail = case_view.get_case(rt, world.window, ref.id)
    assert detail.state is CaseState.ACCEPTED
    assert [m.status for m in detail.materials if m.name == gap] == ["received"]
    assert _kinds(rt, world.window, ref.id) == ["correction", "receipt"]


def test_correction_must_list_every_gap(qtbot, rt, world, make_ctx):
    item = world.township_item("minzheng")
    first, second = item.materials[0].name, item.materials[1].name
    ref = intake(rt, world, item, missing=(first, second))
    window, workspace = _desk(qtbot, make_ctx(world.window))
    workspace.queue.table.selectRow(workspace.queue.model.row_of(ref.id))
    _key(qtbot, window, Qt.Key.Key_F3)
    dialog = _dialog(qtbot, workspace)
    assert isinstance(dialog, CorrectionDialog)
    # Every labelled field can be reached by its Alt key: no label shows a bare "&".
    labels = [w for w in dialog.findChildren(QLabel) if "&" in w.text()]
    assert labels and all(label.buddy() is not None for label in labels)
    dialog.set_checked(second, False)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.error_label.text().endswith(f"以下材料尚未勾选：{second}")
    assert _state(rt, world.window, ref.id) is CaseState.RECEIVED
    qtbot.mouseClick(dialog.all_button, Qt.MouseButton.LeftButton)
    _confirm(qtbot, workspace, dialog)
    detail = case_view.get_case(rt, world.window, ref.id)
    assert [i["name"] for i in detail.correction_items] == [first, second]


def test_refusal_at_intake_prints_the_refusal_notice(qtbot, rt, world, make_ctx):
    item = world.township_item("laodong")
    ref = intake(rt, world, item)
    _window, workspace = _desk(qtbot, make_ctx(world.window))
    workspace.queue.table.selectRow(workspace.queue.model.row_of(ref.id))
    qtbot.mouseClick(workspace.bar.buttons[Action.REFUSE], Qt.MouseButton.LeftButton)
    dialog = _dialog(qtbot, workspace)
    assert isinstance(dialog, RefusalDialog)
    bases = [dialog.bases.itemText(i) for i in range(dialog.bases.count())]
    assert bases[1] == f"本事项设定依据：{item.legal_basis}"
    type_text(qtbot, dialog.reason_edit, "申请人户籍不在本镇")
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.error_label.text() == "请填写不予受理的依据"
    dialog.bases.setCurrentIndex(2)
    dialog.bases.activated.emit(2)
    assert dialog.basis_edit.text() == bases[2]
    _confirm(qtbot, workspace, dialog)
    assert _state(rt, world.window, ref.id) is CaseState.REFUSED
    assert _kinds(rt, world.window, ref.id) == ["refusal"]
    [event] = [e for e in audit.events_for("case", ref.uuid) if e.action == "case.refuse"]
    assert event.details["basis"] == bases[2]


def test_county_case_is_handed_off_to_the_outbox(qtbot, rt, world, make_ctx):
    item = world.county_item()
    helper = person()
    proxy = ProxyInput("帮代办员乙", helper.id_number, "帮代办员", "13700000002")
    window, workspace = _desk(qtbot, make_ctx(world.window))
    ref = _new_case(qtbot, window, workspace, item, proxy=proxy)
    _key(qtbot, window, Qt.Key.Key_F2)
    assert workspace.bar.buttons[Action.HAND_OFF].isEnabled()
    assert not workspace.bar.buttons[Action.ROUTE].isEnabled()
    assert "移交县级" in workspace.hint_label.text()
    _key(qtbot, window, Qt.Key.Key_F4)
    assert _state(rt, world.window, ref.id) is CaseState.HANDED_OFF
    rows = list(OutboxRecord.select().where(OutboxRecord.case == ref.id))
    assert [(r.kind, r.status) for r in rows] == [("hand_off", "pending")]
    # Both hand-off papers are made side by side: compare them as a set.
    assert sorted(_kinds(rt, world.window, ref.id)) == [
        "handover",
        "proxy_authorisation",
        "receipt",
    ]
    assert workspace.follow_up.model.row_of(ref.id) is not None


def test_stale_case_is_refused_and_shown_again(qtbot, rt, world, make_ctx, boxes):
    ref = intake(rt, world, world.township_item())
    window, workspace = _desk(qtbot, make_ctx(world.window))
    workspace.queue.table.selectRow(workspace.queue.model.row_of(ref.id))
    drive(rt, world, ref, world.window, Action.ACCEPT)  # the other 窗口 (B 岗) was quicker
    _key(qtbot, window, Qt.Key.Key_F2)
    assert len(boxes) == 1 and "已被他人更新" in boxes[0]
    assert workspace.panel.state_label.text() == "状态：已受理"
    assert workspace.bar.buttons[Action.ROUTE].isEnabled()
    assert _kinds(rt, world.window, ref.id) == []


def test_double_click_on_reprint_makes_one_receipt(qtbot, rt, world, make_ctx):
    ref = make_case(rt, world, CaseState.ACCEPTED)
    window, workspace = _desk(qtbot, make_ctx(world.window))
    workspace.queue.table.selectRow(workspace.queue.model.row_of(ref.id))
    qtbot.mouseDClick(workspace.reprint_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(workspace.reprint_button, Qt.MouseButton.LeftButton)
    settle(qtbot)
    assert _kinds(rt, world.window, ref.id) == ["receipt"]
    _key(qtbot, window, Qt.Key.Key_P, CTRL)  # Ctrl+P reprints: still one document
    assert _kinds(rt, world.window, ref.id) == ["receipt"]
    assert "补打" in workspace.result_label.text()


def test_withdraw_needs_a_reason(qtbot, rt, world, make_ctx):
    ref = make_case(rt, world, CaseState.ACCEPTED)
    _window, workspace = _desk(qtbot, make_ctx(world.window))
    workspace.queue.table.selectRow(workspace.queue.model.row_of(ref.id))
    qtbot.mouseClick(workspace.bar.buttons[Action.WITHDRAW], Qt.MouseButton.LeftButton)
    dialog = _dialog(qtbot, workspace)
    assert isinstance(dialog, WithdrawDialog)
    qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.error_label.text() == "请填写撤回原因"
    type_text(qtbot, dialog.reason_edit, "申请人主动申请撤回")
    _confirm(qtbot, workspace, dialog)
    detail = case_view.get_case(rt, world.window, ref.id)
    assert detail.state is CaseState.WITHDRAWN
    assert not any(button.isEnabled() for button in workspace.bar.buttons.values())


def test_draft_survives_going_back_to_the_list(qtbot, rt, world, make_ctx):
    window, workspace = _desk(qtbot, make_ctx(world.window))
    _key(qtbot, window, Qt.Key.Key_N, CTRL)
    page = workspace.intake
    choose_item(qtbot, page, "sydj", "370999-JS-001")
    type_text(qtbot, page.applicant.name_edit, "赵桂芝")
    qtbot.mouseClick(page.back_button, Qt.MouseButton.LeftButton)
    assert workspace.pages.currentIndex() == PAGE_WORK
    # The list page's keys are off on the new-case page and back on here.
    _key(qtbot, window, Qt.Key.Key_N, CTRL)
    assert workspace.pages.currentIndex() == PAGE_INTAKE
    assert page.item is not None and page.applicant.name_edit.text() == "赵桂芝"
    assert page.applicant.id_field.number_edit.hasFocus()
