"""出件 workspace: notify (办结通知书), pickup with the ID checked (结果送达回证), mail with
carrier and tracking number, close with the 好差评 rating; stale cases; masked numbers."""

from __future__ import annotations

from helpers.factories import SYNC, drive, intake, make_case, person
from helpers.ui_steps import click, select_case, show_workspace
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from app.domain.case import Action
from app.domain.masking import find_unmasked_ids
from app.domain.states import CaseState
from app.services import audit, case_view, documents
from app.store.models import EvaluationRecord
from app.ui.dialogs.decision import ActionDialog
from app.ui.dialogs.issue import CloseDialog, IssueDialog, NotifyDialog
from app.ui.tasks import wait_all
from app.ui.workspaces.issuance import IssuanceWorkspace

BUTTONS = (Action.NOTIFY, Action.ISSUE, Action.CLOSE)


def _workspace(qtbot, ctx) -> IssuanceWorkspace:
    return show_workspace(qtbot, IssuanceWorkspace(ctx))


def _tick(qtbot, box) -> None:
    """A checkbox ticked from the keyboard (Space), as the clerk does after checking."""
    box.setFocus()
    qtbot.keyClick(box, Qt.Key.Key_Space)
    assert box.isChecked()


def _press(qtbot, workspace: IssuanceWorkspace, key: Qt.Key) -> ActionDialog:
    """The shortcut, pressed in the workspace's window (after a dialog it is active again)."""
    workspace.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is workspace)
    qtbot.keyClick(workspace, key)
    qtbot.waitUntil(lambda: workspace.dialog is not None and workspace.dialog.isVisible())
    assert workspace.dialog is not None
    return workspace.dialog


def _confirm(qtbot, workspace: IssuanceWorkspace, dialog: ActionDialog) -> None:
    click(qtbot, dialog.ok_button)
    wait_all()
    qtbot.waitUntil(lambda: workspace.dialog is None)


def _kinds(workspace: IssuanceWorkspace, case_id: int) -> list[str]:
    return [d.kind for d in documents.list_for_case(workspace.ctx.actor, case_id)]


def _document_titles(workspace: IssuanceWorkspace) -> list[str]:
    table = workspace.documents.table
    return [table.item(r, 0).text() for r in range(table.rowCount())]


def _enabled(workspace: IssuanceWorkspace) -> set[Action]:
    return {a for a in BUTTONS if workspace.bar.buttons[a].isEnabled()}


def test_notify_pickup_and_close_with_rating(qtbot, rt, world, make_ctx):
    ref = make_case(rt, world, CaseState.DECIDED)
    issuer = world.issuance
    workspace = _workspace(qtbot, make_ctx(issuer))
    select_case(workspace, ref.id)
    assert _enabled(workspace) == {Action.NOTIFY}

    dialog = _press(qtbot, workspace, Qt.Key.Key_F2)
    assert isinstance(dialog, NotifyDialog) and dialog.print_notice
    dialog.channel_combo.setCurrentText("短信")
    _confirm(qtbot, workspace, dialog)
    assert case_view.get_case(rt, issuer, ref.id).state is CaseState.READY_TO_ISSUE
    wait_all()
    qtbot.waitUntil(lambda: "办结通知书" in _document_titles(workspace))
    assert _kinds(workspace, ref.id) == ["completion"]
    assert _enabled(workspace) == {Action.NOTIFY, Action.ISSUE}  # telling again is allowed
    # 补打: clicking twice in a hurry reprints the same notice, it makes no second one.
    click(qtbot, workspace.notice_button)
    click(qtbot, workspace.notice_button)
    wait_all()
    assert _kinds(workspace, ref.id) == ["completion"]

    dialog = _press(qtbot, workspace, Qt.Key.Key_F3)
    assert isinstance(dialog, IssueDialog) and dialog.pickup_radio.isChecked()
    assert dialog.collector_edit.text() == case_view.get_case(rt, issuer, ref.id).applicant_name
    click(qtbot, dialog.ok_button)  # the ID was not checked yet
    qtbot.waitUntil(lambda: dialog.error_label.isVisible())
    assert dialog.error_label.text() == "请先核验领取人身份证件"
    assert case_view.get_case(rt, issuer, ref.id).state is CaseState.READY_TO_ISSUE
    _tick(qtbot, dialog.id_check)
    _confirm(qtbot, workspace, dialog)
    assert case_view.get_case(rt, issuer, ref.id).state is CaseState.ISSUED
    wait_all()
    qtbot.waitUntil(lambda: "结果送达回证" in _document_titles(workspace))
    assert _kinds(workspace, ref.id) == ["completion", "delivery"]
    assert _enabled(workspace) == {Action.CLOSE}

    dialog = _press(qtbot, workspace, Qt.Key.Key_F4)
    assert isinstance(dialog, CloseDialog)
    assert [b.text() for b in dialog.rating_buttons.values()] == [
        "非常满意",
        "满意",
        "基本满意",
        "不满意",
        "非常不满意",
    ]
    click(qtbot, dialog.rating_buttons[5])
    dialog.comment_edit.insert("服务热情，一次办好")
    _confirm(qtbot, workspace, dialog)
    assert case_view.get_case(rt, issuer, ref.id).state is CaseState.CLOSED
    evaluation = EvaluationRecord.get(EvaluationRecord.case == ref.id)
    assert (evaluation.level, evaluation.comment) == (5, "服务热情，一次办好")
    assert workspace.queue.model.row_of(ref.id) is None  # closed: no longer waiting here
    assert _enabled(workspace) == set()


def test_mail_with_carrier_and_tracking_number(qtbot, rt, world, make_ctx):
    who = person()
    item = world.township_item("jisheng", immediate=False)
    ref = intake(rt, world, item, who=who)
    for actor, action, data in (
        (world.window, Action.ACCEPT, {}),
        (world.window, Action.ROUTE, {}),
        (world.stations["jisheng"], Action.APPROVE, {"opinion": "同意"}),
        (world.issuance, Action.NOTIFY, {"channel": "电话"}),
    ):
        ref = drive(rt, world, ref, actor, action, data)
    workspace = _workspace(qtbot, make_ctx(world.issuance))
    select_case(workspace, ref.id)
    dialog = _press(qtbot, workspace, Qt.Key.Key_F3)
    assert isinstance(dialog, IssueDialog)
    click(qtbot, dialog.mail_radio)
    assert dialog.address_edit.text() == ""  # the address is filled only when asked for
    reveals = [e for e in audit.events_for("case", ref.uuid) if e.action == "pii.reveal"]
    assert reveals == []
    click(qtbot, dialog.address_button)
    assert dialog.address_edit.text() == who.address
    reveals = [e for e in audit.events_for("case", ref.uuid) if e.action == "pii.reveal"]
    assert [(e.account, e.details["field"]) for e in reveals] == [("issue1", "applicant_address")]

    dialog.carrier_combo.setCurrentText("顺丰速运")
    dialog.tracking_edit.setFocus()
    qtbot.keyClicks(dialog.tracking_edit, "12")
    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(lambda: dialog.error_label.isVisible())
    assert dialog.error_label.text() == "运单号应为8至30位字母或数字"
    assert dialog.tracking_edit.hasFocus()
    qtbot.keyClicks(dialog.tracking_edit, "34567890")
    qtbot.keyClick(dialog.tracking_edit, Qt.Key.Key_Return)
    wait_all()
    qtbot.waitUntil(lambda: workspace.dialog is None)
    detail = case_view.get_case(rt, world.issuance, ref.id)
    assert (detail.state, detail.tracking_no) == (CaseState.ISSUED, "1234567890")
    [event] = [e for e in audit.events_for("case", ref.uuid) if e.action == "case.issue"]
    assert (event.details["method"], event.details["carrier"]) == ("mail", "顺丰速运")
    wait_all()
    assert "delivery" not in _kinds(workspace, ref.id)  # a mailed result is signed for by post


def test_proxy_pickup_needs_the_authorisation_checked(qtbot, rt, world, make_ctx):
    ref = make_case(rt, world, CaseState.READY_TO_ISSUE)
    workspace = _workspace(qtbot, make_ctx(world.issuance))
    select_case(workspace, ref.id)
    dialog = _press(qtbot, workspace, Qt.Key.Key_F3)
    assert isinstance(dialog, IssueDialog)
    assert not dialog.authorisation_check.isEnabled()  # the applicant in person: no letter
    click(qtbot, dialog.proxy_radio)
    assert dialog.authorisation_check.isEnabled() and not dialog.collector_edit.isReadOnly()
    dialog.collector_edit.setText("")
    dialog.collector_edit.insert("李代领")
    _tick(qtbot, dialog.id_check)
    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(lambda: dialog.error_label.isVisible())
    assert dialog.error_label.text() == "代领须核验委托书"
    assert case_view.get_case(rt, world.issuance, ref.id).state is CaseState.READY_TO_ISSUE
    _tick(qtbot, dialog.authorisation_check)
    _confirm(qtbot, workspace, dialog)
    assert case_view.get_case(rt, world.issuance, ref.id).state is CaseState.ISSUED
    wait_all()
    qtbot.waitUntil(lambda: "结果送达回证" in _document_titles(workspace))


def test_stale_case_is_refused_with_the_message_and_reloaded(qtbot, rt, world, make_ctx, boxes):
    ref = make_case(rt, world, CaseState.DECIDED)
    workspace = _workspace(qtbot, make_ctx(world.issuance))
    select_case(workspace, ref.id)
    dialog = _press(qtbot, workspace, Qt.Key.Key_F2)
    # Another issuance desk records the notice first.
    drive(rt, world, ref, world.issuance, Action.NOTIFY, {"channel": "电话"})
    dialog.channel_combo.setCurrentText("微信")
    _confirm(qtbot, workspace, dialog)
    [message] = boxes
    assert ref.case_no in message and "已被他人更新" in message and "待出件" in message
    assert workspace.panel.state_label.text() == "状态：待出件"
    assert _enabled(workspace) == {Action.NOTIFY, Action.ISSUE}
    wait_all()
    assert _kinds(workspace, ref.id) == []  # the refused notice printed nothing
    [event] = [e for e in audit.events_for("case", ref.uuid) if e.action == "case.notify"]
    assert event.account == "issue1"


def test_queue_holds_decided_cases_waiting_for_issue(qtbot, rt, world, make_ctx):
    waiting = {
        make_case(rt, world, state).id
        for state in (CaseState.DECIDED, CaseState.READY_TO_ISSUE, CaseState.ISSUED)
    }
    make_case(rt, world, CaseState.CLOSED)
    make_case(rt, world, CaseState.IN_REVIEW)
    workspace = _workspace(qtbot, make_ctx(world.issuance))
    model = workspace.queue.model
    assert {model.case_id(r) for r in range(model.rowCount())} == waiting


def test_no_unmasked_number_in_the_workspace_or_its_dialogs(qtbot, rt, world, make_ctx, texts_of):
    who = person()
    ref = intake(rt, world, world.township_item("jisheng", immediate=False), who=who)
    for actor, action, data in (
        (world.window, Action.ACCEPT, {}),
        (world.window, Action.ROUTE, {}),
        (world.stations["jisheng"], Action.APPROVE, {"opinion": "同意"}),
    ):
        ref = drive(rt, world, ref, actor, action, data)
    workspace = _workspace(qtbot, make_ctx(world.issuance))
    select_case(workspace, ref.id)
    dialog = _press(qtbot, workspace, Qt.Key.Key_F2)
    for tab in range(workspace.panel.tabs.count()):
        workspace.panel.tabs.setCurrentIndex(tab)
        leaked = find_unmasked_ids("\n".join(texts_of(workspace)))
        assert leaked == [], leaked
    dialog.reject()
    qtbot.waitUntil(lambda: workspace.dialog is None)
    secrets = workspace.panel.secrets
    click(qtbot, secrets["applicant_phone"].button)
    assert find_unmasked_ids("\n".join(texts_of(workspace))) == [who.phone]


def _county_result(rt, world, dispatch: dict) -> object:
    """A 帮代办 case the county decided and sent back (the events as the sync applies them)."""
    ref = make_case(rt, world, CaseState.HANDED_OFF)
    today = rt.today().isoformat()
    for action, data in (
        (Action.COUNTY_SIGNED, {"on": today}),
        (Action.COUNTY_DECIDED, {"decision": "approved", "opinion": "同意", "on": today}),
        (Action.COUNTY_DISPATCHED, {**dispatch, "on": today}),
    ):
        ref = drive(rt, world, ref, SYNC, action, data)
    return ref


def test_county_result_kept_for_pickup_is_notified_then_collected(qtbot, rt, world, make_ctx):
    ref = _county_result(rt, world, {"method": "township_pickup"})
    workspace = _workspace(qtbot, make_ctx(world.issuance))
    select_case(workspace, ref.id)
    assert _enabled(workspace) == {Action.NOTIFY, Action.ISSUE}
    assert "先通知申请人" in workspace.note_label.text()
    dialog = _press(qtbot, workspace, Qt.Key.Key_F2)
    assert isinstance(dialog, NotifyDialog)
    _confirm(qtbot, workspace, dialog)
    case = case_view.get_case(rt, world.issuance, ref.id)
    assert case.state is CaseState.READY_TO_ISSUE
    [event] = [e for e in audit.events_for("case", ref.uuid) if e.action == "case.notify"]
    assert event.account == "issue1"
    wait_all()
    qtbot.waitUntil(lambda: "办结通知书" in _document_titles(workspace))


def test_county_mailed_result_is_recorded_without_retyping(qtbot, rt, world, make_ctx):
    ref = _county_result(
        rt, world, {"method": "mail", "carrier": "中国邮政EMS", "tracking_no": "1190000000017"}
    )
    workspace = _workspace(qtbot, make_ctx(world.issuance))
    select_case(workspace, ref.id)
    assert "1190000000017" in workspace.note_label.text()
    dialog = _press(qtbot, workspace, Qt.Key.Key_F3)
    assert isinstance(dialog, IssueDialog)
    assert dialog.mail_radio.isChecked() and not dialog.pickup_radio.isEnabled()
    assert (dialog.carrier_combo.currentText(), dialog.tracking_edit.text()) == (
        "中国邮政EMS",
        "1190000000017",
    )
    assert dialog.tracking_edit.isReadOnly() and not dialog.address_button.isEnabled()
    _confirm(qtbot, workspace, dialog)
    detail = case_view.get_case(rt, world.issuance, ref.id)
    assert (detail.state, detail.carrier, detail.tracking_no) == (
        CaseState.ISSUED,
        "中国邮政EMS",
        "1190000000017",
    )
    reveals = [e for e in audit.events_for("case", ref.uuid) if e.action == "pii.reveal"]
    assert reveals == []  # nothing to look up: the county addressed it
