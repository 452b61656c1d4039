"""县级帮代办窗口 workspace against the real county server process: the inbox of two townships
with its filters and pages, a case with masked numbers and verified attachments, the whole
county journey through the dialogs (签收 → 要求补正 → 乡镇补正 → 办结 → 送达 → 归档), bad input
and refusals in Chinese, an unreachable server, and the staff token from the keyring or asked."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest
from helpers.county_desk import (
    DeskCounty,
    running_county,
    sample,
    send,
    supplement,
    township_events,
)
from helpers.factories import ADMIN, make_user
from helpers.fixtures import FakeClock
from helpers.ui_steps import click
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication

from app.domain.calendar import DeadlineStatus
from app.domain.masking import find_unmasked_ids, mask_id, mask_phone
from app.domain.roles import Role
from app.services import audit, catalog, settings
from app.ui import tasks
from app.ui.county.dialogs import (
    ArchiveDialog,
    CountyCorrectionDialog,
    DecideDialog,
    DispatchDialog,
    SignDialog,
)
from app.ui.county.inbox import COL_DEADLINE
from app.ui.dialogs.decision import ActionDialog
from app.ui.widgets.queue import STATUS_COLOURS
from app.ui.workspaces import county as county_module
from app.ui.workspaces.county import CountyWorkspace
from forms.catalog import dump_catalog, load_demo_catalog
from sync.client.config import URL_KEY
from sync.client.county_staff import STAFF_TOKEN_NAME, store_staff_token
from sync.protocol import EventKind
from sync.protocol_county import CountyStatus


@pytest.fixture
def clock() -> FakeClock:
    """The desk's clock on the real day: the county server runs on the real clock."""
    return FakeClock(datetime.now().replace(microsecond=0))


@pytest.fixture(scope="module")
def county(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DeskCounty]:
    with running_county(tmp_path_factory.mktemp("county")) as server:
        yield server


@pytest.fixture
def ctx(rt: Any, county: DeskCounty, make_ctx: Any) -> Any:
    """A county desk: its catalog (for form labels), the server address, a county account."""
    catalog.import_catalog(rt, ADMIN, dump_catalog(load_demo_catalog()))
    settings.set_value(rt, ADMIN, URL_KEY, county.url)
    actor, _ = make_user(rt, "county1", Role.COUNTY, township="", desk="")
    return make_ctx(actor)


def settle(qtbot: Any) -> None:
    """Every background job answered and its answer shown."""
    qtbot.waitUntil(lambda: tasks.pending() == 0, timeout=30000)


def open_workspace(qtbot: Any, ctx: Any, keystore: Any, county: DeskCounty) -> CountyWorkspace:
    if keystore is not None and keystore.get_secret(STAFF_TOKEN_NAME) is None:
        store_staff_token(county.staff, keystore)
    workspace = CountyWorkspace(ctx, keystore=keystore)
    qtbot.addWidget(workspace)
    workspace.resize(1366, 700)
    workspace.show()
    qtbot.waitExposed(workspace)
    qtbot.waitUntil(
        lambda: (
            workspace.desk is not None
            or workspace.token_dialog is not None
            or workspace.banner.isVisible()
        )
    )
    settle(qtbot)
    return workspace


def shown(workspace: CountyWorkspace) -> list[str]:
    return [str(line.case.case_uuid) for line in workspace.inbox.model.lines]


def select(qtbot: Any, workspace: CountyWorkspace, case_uuid: str) -> None:
    row = workspace.inbox.model.row_of(case_uuid)
    assert row is not None, f"{case_uuid} is not in the inbox"
    workspace.inbox.table.selectRow(row)
    settle(qtbot)
    detail = workspace.panel.detail
    assert detail is not None and str(detail.summary.case_uuid) == case_uuid


def choose(qtbot: Any, combo: Any, value: object) -> None:
    combo.setCurrentIndex(combo.findData(value))
    settle(qtbot)


def press(qtbot: Any, workspace: CountyWorkspace, kind: EventKind) -> ActionDialog:
    button = workspace.buttons[kind]
    assert button.isEnabled()
    click(qtbot, button)
    qtbot.waitUntil(lambda: workspace.dialog is not None and workspace.dialog.isVisible())
    assert workspace.dialog is not None
    return workspace.dialog


def confirm(qtbot: Any, workspace: CountyWorkspace, dialog: ActionDialog) -> None:
    click(qtbot, dialog.ok_button)
    qtbot.waitUntil(lambda: workspace.dialog is None, timeout=30000)
    settle(qtbot)


def enabled(workspace: CountyWorkspace) -> set[EventKind]:
    return {kind for kind, button in workspace.buttons.items() if button.isEnabled()}


def real_png() -> bytes:
    image = QImage(24, 16, QImage.Format.Format_RGB32)
    image.fill(QColor("#1e6b2c"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


# --- the inbox ---------------------------------------------------------------------------------


def test_inbox_of_two_townships_with_filters_and_pages(
    qtbot, rt, ctx, keystore, county, monkeypatch
):
    ours = send(county)
    late = send(county, deadline_in=-3)
    theirs = send(county, sample.OTHER)
    workspace = open_workspace(qtbot, ctx, keystore, county)
    assert {ours["case_uuid"], late["case_uuid"], theirs["case_uuid"]} <= set(shown(workspace))
    towns = workspace.inbox.township_combo
    assert [towns.itemText(i) for i in range(towns.count())] == [
        "全部乡镇",
        "青禾镇（370999101）",
        "白杨镇（370999102）",
    ]
    model = workspace.inbox.model
    index = model.index(model.row_of(late["case_uuid"]) or 0, COL_DEADLINE)
    assert model.data(index).endswith("超期")
    background = model.data(index, Qt.ItemDataRole.BackgroundRole)
    assert background == QColor(STATUS_COLOURS[DeadlineStatus.RED][0])

    choose(qtbot, towns, sample.OTHER)
    assert theirs["case_uuid"] in shown(workspace)
    assert {line.case.township for line in model.lines} == {sample.OTHER}
    choose(qtbot, towns, None)
    county.live.event(ours["case_uuid"], "signed", {"on": date.today().isoformat()})
    choose(qtbot, workspace.inbox.status_combo, CountyStatus.SIGNED.value)
    assert ours["case_uuid"] in shown(workspace) and late["case_uuid"] not in shown(workspace)
    assert {line.case.status for line in model.lines} == {CountyStatus.SIGNED}
    choose(qtbot, workspace.inbox.status_combo, None)
    workspace.inbox.due_edit.setDate(workspace.inbox.due_edit.date())  # today
    workspace.inbox.due_check.setChecked(True)
    settle(qtbot)
    assert late["case_uuid"] in shown(workspace) and ours["case_uuid"] not in shown(workspace)
    workspace.inbox.due_check.setChecked(False)
    settle(qtbot)

    monkeypatch.setattr(county_module, "INBOX_PAGE", 2)
    workspace.refresh()  # F5
    settle(qtbot)
    first = shown(workspace)
    assert len(first) == 2 and workspace.inbox.page_label.text().startswith("第 1 / ")
    assert not workspace.inbox.prev_button.isEnabled()
    click(qtbot, workspace.inbox.next_button)
    settle(qtbot)
    assert workspace.inbox.page_label.text().startswith("第 2 / ")
    assert not set(shown(workspace)) & set(first)
    assert "统计" in workspace.tabs.tabText(1)
    figures = workspace.stats.table
    names = [figures.item(r, 0).text() for r in range(figures.rowCount())]
    assert names == ["青禾镇（370999101）", "白杨镇（370999102）", "全县合计"]


# --- a case in full -------------------------------------------------------------------------------


def test_case_shows_masked_numbers_and_verified_attachments(
    qtbot, rt, ctx, keystore, county, texts_of
):
    png = real_png()
    items = load_demo_catalog().item("370999-XJ-001")
    form = {
        "applicant_name": "欧阳晓明",
        "id_number": sample.APPLICANT_ID,
        "phone": sample.APPLICANT_PHONE,
    }
    sent = send(
        county,
        files=(
            (sample.PDF, "application/pdf", items.materials[0].name),
            (png, "image/png", items.materials[2].name),
        ),
        form_data=form,
    )
    workspace = open_workspace(qtbot, ctx, keystore, county)
    select(qtbot, workspace, sent["case_uuid"])
    text = "\n".join(texts_of(workspace))
    for secret in (
        sample.APPLICANT_ID,
        sample.PROXY_ID,
        sample.APPLICANT_PHONE,
        sample.PROXY_PHONE,
        sample.ADDRESS,
    ):
        assert secret not in text
    assert find_unmasked_ids(text) == []
    assert mask_id(sample.APPLICANT_ID) in text and mask_phone(sample.PROXY_PHONE) in text
    assert "申请人姓名：欧阳晓明" in text  # the form's labels from the desk's catalog
    panel = workspace.panel
    assert panel.materials_table.rowCount() == len(items.materials)
    assert panel.history_table.item(0, 1).text() == "乡镇移交"
    assert panel.tabs.tabText(2) == "附件 2(&3)"

    panel.attachment_list.setCurrentRow(1)
    settle(qtbot)
    saved = panel.current_file()
    assert saved is not None and saved.parent == rt.data_dir / "tmp" / "county"
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == hashlib.sha256(png).hexdigest()
    assert not panel.preview_label.pixmap().isNull() and panel.open_button.isEnabled()
    panel.attachment_list.setCurrentRow(0)
    settle(qtbot)
    assert "PDF 文件（已校验）" in panel.preview_label.text()

    click(qtbot, panel.secrets["applicant_id"].button)
    assert panel.secrets["applicant_id"].value_label.text() == sample.APPLICANT_ID
    [reveal] = audit.events_for("county_case", sent["case_uuid"])
    assert (reveal.action, reveal.details["field"], reveal.account) == (
        "pii.reveal",
        "applicant_id",
        "county1",
    )


# --- the county's steps ---------------------------------------------------------------------------


def test_the_county_journey_through_the_dialogs(qtbot, rt, ctx, keystore, county):
    sent = send(county)
    uuid = sent["case_uuid"]
    workspace = open_workspace(qtbot, ctx, keystore, county)
    select(qtbot, workspace, uuid)
    assert enabled(workspace) == {EventKind.SIGNED}

    workspace.activateWindow()  # F2: 签收, as the button says
    qtbot.waitUntil(lambda: QApplication.activeWindow() is workspace)
    qtbot.keyClick(workspace, Qt.Key.Key_F2)
    qtbot.waitUntil(lambda: isinstance(workspace.dialog, SignDialog))
    confirm(qtbot, workspace, workspace.dialog)
    assert county.status(uuid) == "signed" and county.kinds(uuid) == ["signed"]
    assert enabled(workspace) == {EventKind.CORRECTION, EventKind.DECIDED}
    assert "已签收" in workspace.banner.text()

    dialog = press(qtbot, workspace, EventKind.CORRECTION)
    assert isinstance(dialog, CountyCorrectionDialog)
    click(qtbot, dialog.ok_button)  # nothing ticked: said here, nothing sent
    assert "请勾选" in dialog.error_label.text() and county.kinds(uuid) == ["signed"]
    material = sent["materials"][1]["name"]
    dialog.set_checked(material, True, "复印件不清晰，请提供原件扫描件")
    confirm(qtbot, workspace, dialog)
    [_signed, correction] = county.detail(uuid)["events"]
    assert correction["data"]["missing"] == [
        {"name": material, "reason": "复印件不清晰，请提供原件扫描件"}
    ]
    assert date.fromisoformat(correction["data"]["due_date"]) > date.today()
    assert enabled(workspace) == set()  # waiting for the township

    supplement(county, sent)
    workspace.refresh()  # F5
    settle(qtbot)
    assert workspace.panel.detail.summary.status is CountyStatus.SUPPLEMENTED
    assert enabled(workspace) == {EventKind.CORRECTION, EventKind.DECIDED}
    assert workspace.panel.history_table.rowCount() == 2

    dialog = press(qtbot, workspace, EventKind.DECIDED)
    assert isinstance(dialog, DecideDialog)
    dialog.deny_radio.setChecked(True)
    dialog.opinion_edit.setPlainText("经审查，不符合法定条件，不予批准。")
    click(qtbot, dialog.ok_button)
    assert "不予批准的依据" in dialog.error_label.text() and dialog.isVisible()
    assert county.kinds(uuid) == ["signed", "correction"]  # nothing was sent
    dialog.approve_radio.setChecked(True)
    dialog.approval_phrases.setCurrentIndex(1)
    dialog.approval_phrases.activated.emit(1)
    confirm(qtbot, workspace, dialog)
    decided = county.detail(uuid)["events"][-1]["data"]
    assert decided["decision"] == "approved" and decided["opinion"].startswith("经审查")

    dialog = press(qtbot, workspace, EventKind.DISPATCHED)
    assert isinstance(dialog, DispatchDialog)
    click(qtbot, dialog.ok_button)  # no tracking number
    assert "运单号应为8至30位字母或数字" in dialog.error_label.text()
    assert county.kinds(uuid) == ["signed", "correction", "decided"]
    dialog.carrier_combo.setCurrentText("顺丰速运")
    qtbot.keyClicks(dialog.tracking_edit, "sf1234567890")
    confirm(qtbot, workspace, dialog)
    dispatched = county.detail(uuid)["events"][-1]["data"]
    assert (dispatched["carrier"], dispatched["tracking_no"]) == ("顺丰速运", "SF1234567890")

    dialog = press(qtbot, workspace, EventKind.CLOSED)
    assert isinstance(dialog, ArchiveDialog)
    confirm(qtbot, workspace, dialog)
    assert county.status(uuid) == "closed" and enabled(workspace) == set()
    kinds = ["signed", "correction", "decided", "dispatched", "closed"]
    assert [e["kind"] for e in township_events(county) if e["case_uuid"] == uuid] == kinds
    trail = audit.events_for("county_case", uuid)
    assert [e.action for e in trail] == [f"county.{k}" for k in kinds]
    assert all(e.outcome == "ok" and e.account == "county1" for e in trail)
    assert "SF1234567890" in workspace.panel.events_table.item(3, 2).text()


def test_a_refusal_from_the_county_is_shown_in_the_dialog(qtbot, rt, ctx, keystore, county):
    sent = send(county)
    workspace = open_workspace(qtbot, ctx, keystore, county)
    select(qtbot, workspace, sent["case_uuid"])
    dialog = press(qtbot, workspace, EventKind.SIGNED)
    county.live.event(sent["case_uuid"], "signed", {"on": date.today().isoformat()})
    click(qtbot, dialog.ok_button)
    settle(qtbot)
    assert "当前为「已签收」，不能签收" in dialog.error_label.text() and dialog.isVisible()
    assert county.kinds(sent["case_uuid"]) == ["signed"]
    [refused] = audit.events_for("county_case", sent["case_uuid"])
    assert (refused.outcome, refused.details["code"]) == ("fail", "state_conflict")
    click(qtbot, dialog.cancel_button)
    workspace.refresh()
    settle(qtbot)
    assert enabled(workspace) == {EventKind.CORRECTION, EventKind.DECIDED}


def test_unreachable_server_says_so_and_changes_nothing(qtbot, rt, ctx, keystore, county):
    sent = send(county)
    workspace = open_workspace(qtbot, ctx, keystore, county)
    select(qtbot, workspace, sent["case_uuid"])
    rows = shown(workspace)
    county.live.stop()
    try:
        workspace.refresh()  # F5
        settle(qtbot)
        assert "无法连接县级服务器" in workspace.banner.text() and workspace.banner.isVisible()
        assert shown(workspace) == rows
        assert str(workspace.panel.detail.summary.case_uuid) == sent["case_uuid"]
        dialog = press(qtbot, workspace, EventKind.SIGNED)
        click(qtbot, dialog.ok_button)
        settle(qtbot)
        assert "无法连接县级服务器" in dialog.error_label.text() and dialog.isVisible()
        click(qtbot, dialog.cancel_button)
        assert audit.events_for("county_case", sent["case_uuid"]) == []
    finally:
        county.live.start()
    assert county.kinds(sent["case_uuid"]) == []
    workspace.refresh()
    settle(qtbot)
    assert workspace.banner.isHidden() and enabled(workspace) == {EventKind.SIGNED}


# --- the staff token ----------------------------------------------------------------------------


def test_token_asked_once_when_there_is_no_safe_keyring(qtbot, rt, ctx, county):
    sent = send(county)
    workspace = open_workspace(qtbot, ctx, None, county)
    dialog = workspace.token_dialog
    assert dialog is not None and dialog.isVisible() and workspace.desk is None
    assert dialog.keep_check.isHidden()  # nowhere safe to keep it
    qtbot.keyClicks(dialog.token_edit, "bjt.370999101." + "A" * 43)
    dialog.accept()
    assert "令牌格式不对" in dialog.error_label.text() and dialog.isVisible()
    dialog.token_edit.clear()
    qtbot.keyClicks(dialog.token_edit, county.staff)
    dialog.accept()
    qtbot.waitUntil(lambda: workspace.desk is not None)
    settle(qtbot)
    assert workspace.token == county.staff and sent["case_uuid"] in shown(workspace)
    workspace.refresh()  # F5 in the same session: not asked again
    settle(qtbot)
    assert workspace.token_dialog is None
    files = [p.read_bytes() for p in rt.data_dir.rglob("*") if p.is_file()]
    assert not any(county.staff.encode() in data for data in files)


def test_no_token_given_says_how_to_go_on(qtbot, rt, ctx, county):
    workspace = open_workspace(qtbot, ctx, None, county)
    assert workspace.token_dialog is not None
    workspace.token_dialog.reject()
    qtbot.waitUntil(lambda: workspace.token_dialog is None)
    assert "按 F5 重新输入" in workspace.banner.text() and workspace.desk is None


def test_token_from_the_keyring_and_a_revoked_one_replaced(qtbot, rt, ctx, keystore, county):
    sent = send(county)
    store_staff_token("bjs.county1." + "B" * 43, keystore)  # a token the county does not know
    workspace = open_workspace(qtbot, ctx, keystore, county)
    assert workspace.token_dialog is None  # from the keyring, not asked
    assert "不接受本机的县级工作人员令牌" in workspace.banner.text() and workspace.desk is None
    workspace.refresh()  # F5: asked for a new one, which may go into the keyring
    qtbot.waitUntil(lambda: workspace.token_dialog is not None)
    dialog = workspace.token_dialog
    assert dialog.keep_check.isVisible() and dialog.keep_check.isChecked()
    qtbot.keyClicks(dialog.token_edit, county.staff)
    dialog.accept()
    qtbot.waitUntil(lambda: workspace.desk is not None)
    settle(qtbot)
    assert keystore.get_secret(STAFF_TOKEN_NAME) == county.staff
    assert workspace.banner.isHidden() and sent["case_uuid"] in shown(workspace)


def test_main_window_opens_the_county_workspace(qtbot, rt, ctx, keystore, county, monkeypatch):
    from app.ui.main_window import MainWindow

    store_staff_token(county.staff, keystore)
    monkeypatch.setattr(county_module, "open_keystore", lambda: keystore)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    workspace = window.workspace
    assert isinstance(workspace, CountyWorkspace) and "县级帮代办窗口" in window.windowTitle()
    qtbot.waitUntil(lambda: workspace.desk is not None)
    settle(qtbot)
    workspace.tabs.setCurrentIndex(1)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert workspace.tabs.currentIndex() == 0
    assert workspace.inbox.township_combo.hasFocus()
