"""The new-case page: finding the item, applicant and 代办人 checks as typed, the application
form, the materials checklist, attachments by drop and by the watched scan folder."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from helpers.factories import form_data as demo_form
from helpers.factories import intake, person
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
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication

from app.domain.errors import ValidationError
from app.domain.masking import find_unmasked_ids, mask_phone
from app.domain.states import CaseState, MaterialStatus
from app.services import attachments, case_view, intake_support
from app.services.cases import IntakeRequest
from app.services.people import ProxyInput
from app.store.models import ApplicantRecord, CaseRecord
from app.ui.intake.attachments import SCAN_FOLDER_KEY
from app.ui.intake.common import Level
from app.ui.intake.page import TAB_FILES, TAB_FORM, TAB_MATERIALS, TAB_PEOPLE, IntakePage
from forms.validators import resident_id_check_char

BIRTH = "370999-JS-001"  # 生育登记: 即办件, 计生, a 容缺 material (居民户口簿)


def _page(qtbot, ctx) -> IntakePage:
    page = IntakePage(ctx)
    qtbot.addWidget(page)
    page.resize(1340, 680)
    page.show()
    qtbot.waitExposed(page)
    page.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is page)
    return page


def _bad_checksum(id_number: str) -> str:
    good = resident_id_check_char(id_number[:17])
    wrong = next(c for c in "0123456789X" if c != good)
    return id_number[:17] + wrong


def _cases() -> int:
    return CaseRecord.select().count()


def _png(path: Path, colour: str = "#3366cc") -> Path:
    image = QImage(64, 48, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    assert image.save(str(path), "PNG")
    return path


def _ready_birth_case(qtbot, page: IntakePage, world, who=None):
    """生育登记 with the applicant, the form and every required material received."""
    who = who or person()
    item = world.catalog.item(BIRTH)
    choose_item(qtbot, page, "sydj", BIRTH)
    type_applicant(qtbot, page, who)
    fill_form(qtbot, page, demo_form(item, who), who)
    page.materials.receive_all_required()
    return item, who


# --- finding the item ------------------------------------------------------------------------


def test_items_by_pinyin_initials_and_recent_first(qtbot, rt, world, make_ctx, clock):
    frequent = world.township_item("minzheng")
    for _ in range(3):
        intake(rt, world, frequent)
    clock.advance(minutes=5)
    latest = world.county_item()
    intake(rt, world, latest)
    page = _page(qtbot, make_ctx(world.window))
    # Empty box: this desk's items, the latest first, both marked as recent.
    first = page.picker.choices[:2]
    assert [(c.item.code, c.tag, c.uses) for c in first] == [
        (latest.code, intake_support.TAG_RECENT, 1),
        (frequent.code, intake_support.TAG_RECENT, 3),
    ]
    assert page.picker.list.item(0).text().startswith(f"［最近］{latest.name}")
    # Initials, and the keyword's initials ("db" is 低保).
    type_text(qtbot, page.picker.search_edit, "sydj")
    page.picker.refresh()
    assert [c.item.name for c in page.picker.choices] == ["生育登记", "失业登记"]
    qtbot.keyClick(page.picker.search_edit, Qt.Key.Key_Down)
    assert page.picker.current_item().name == "失业登记"
    qtbot.keyClick(page.picker.search_edit, Qt.Key.Key_Up)
    qtbot.keyClick(page.picker.search_edit, Qt.Key.Key_Return)
    assert page.item is not None and page.item.name == "生育登记"
    # The item builds its checklist and form; the applicant's ID number is next.
    assert page.materials.material_names() == [m.name for m in page.item.materials]
    assert set(page.form.rows) == {f.key for f in page.item.form}
    assert page.applicant.id_field.number_edit.hasFocus()
    page.picker.search_edit.clear()
    type_text(qtbot, page.picker.search_edit, "db")
    page.picker.refresh()
    assert "最低生活保障申请" in [c.item.name for c in page.picker.choices]


# --- applicant and proxy ---------------------------------------------------------------------


def test_bad_checksum_needs_an_override_reason(qtbot, rt, world, make_ctx):
    page = _page(qtbot, make_ctx(world.window))
    _item, who = _ready_birth_case(qtbot, page, world)
    field = page.applicant.id_field
    field.number_edit.clear()
    type_text(qtbot, field.number_edit, _bad_checksum(who.id_number))
    settle(qtbot)
    assert field.message.level is Level.WARNING and "校验位不符" in field.message.text()
    assert not field.reason_edit.isHidden()  # shown (on the applicant tab)
    page.submit()
    assert _cases() == 0
    assert "申请人证件号码校验未通过" in page.error_label.text()
    assert field.reason_edit.hasFocus() and page.tabs.currentIndex() == TAB_PEOPLE
    type_text(qtbot, field.reason_edit, "证件原件")
    assert field.message.level is Level.OK and field.status().overridden
    ref = submit(qtbot, page)
    record = CaseRecord.get_by_id(ref.id).applicant
    assert record.id_override_reason == "证件原件"
    assert case_view.get_case(rt, world.window, ref.id).state is CaseState.RECEIVED


def test_returning_applicant_is_found_by_id_and_shown_masked(qtbot, rt, world, make_ctx, texts_of):
    who = person()
    intake(rt, world, world.township_item(), who=who)
    page = _page(qtbot, make_ctx(world.window))
    choose_item(qtbot, page, "sydj", BIRTH)
    number = page.applicant.id_field.number_edit
    type_text(qtbot, number, who.id_number)
    settle(qtbot)
    assert page.applicant.name_edit.text() == who.name
    hint = page.applicant.returning_label.text()
    assert hint.startswith(f"老申请人：{who.name}") and mask_phone(who.phone) in hint
    # Only the number the clerk typed shows in full; the earlier phone never does.
    assert find_unmasked_ids("\n".join(texts_of(page))) == [who.id_number]
    # Another number: the earlier applicant no longer applies.
    type_text(qtbot, number, "1")
    assert page.applicant.returning is None and page.applicant.returning_label.text() == ""


def test_phone_and_id_messages_while_typing(qtbot, rt, world, make_ctx):
    page = _page(qtbot, make_ctx(world.window))
    form = page.applicant
    form.phone_edit.setFocus()
    type_text(qtbot, form.phone_edit, "1391234")
    assert (form.phone_message.text(), form.phone_message.level) == ("已输入 7 位", Level.HINT)
    type_text(qtbot, form.phone_edit, "5678")
    assert form.phone_message.level is Level.OK
    form.id_field.number_edit.setFocus()
    type_text(qtbot, form.id_field.number_edit, "37090219")
    assert form.id_field.message.text() == "已输入 8 位"
    form.phone_edit.setFocus()  # leaving a half-typed number makes it an error
    assert form.id_field.message.level is Level.ERROR
    # An organisation: 统一社会信用代码 instead of the ID type choice, phone optional.
    qtbot.mouseClick(form.org_radio, Qt.MouseButton.LeftButton)
    assert form.id_label.text().startswith("统一社会信用代码")
    assert not form.id_field.type_combo.isVisible() and form.legal_rep_edit.isVisible()


def test_county_item_requires_a_proxy_and_authorisation(qtbot, rt, world, make_ctx):
    page = _page(qtbot, make_ctx(world.window))
    item = world.county_item()
    who = person()
    choose_item(qtbot, page, item.code, item.code)
    modes = [page.proxy.mode_combo.itemText(i) for i in range(page.proxy.mode_combo.count())]
    assert modes == ["帮代办", "上门代办"]
    assert page.proxy.name_edit.isEnabled()
    assert page.proxy.authorisation() == f"申请人委托帮代办「{item.name}」，已签署帮代办委托书"
    type_applicant(qtbot, page, who)
    fill_form(qtbot, page, demo_form(item, who), who)
    page.materials.receive_all_required()
    page.submit()
    assert _cases() == 0
    assert "请填写代办人姓名" in page.error_label.text()
    assert page.tabs.currentIndex() == TAB_PEOPLE and page.proxy.name_edit.hasFocus()
    helper = person()
    type_proxy(qtbot, page, ProxyInput("李代办", helper.id_number, "帮代办员", "13700000001"))
    ref = submit(qtbot, page)
    detail = case_view.get_case(rt, world.window, ref.id)
    assert (detail.handling_mode, detail.proxy_name) == ("proxy", "李代办")
    assert detail.authorisation == f"申请人委托帮代办「{item.name}」，已签署帮代办委托书"


# --- form and materials ----------------------------------------------------------------------


def test_nothing_is_saved_until_everything_is_valid(qtbot, rt, world, make_ctx):
    page = _page(qtbot, make_ctx(world.window))
    page.submit()
    assert page.error_label.text().startswith("请先修改以下") and "请先选择事项" in (
        page.error_label.text()
    )
    assert page.picker.search_edit.hasFocus()
    _ready_birth_case(qtbot, page, world)
    child = page.form.rows["child_order"]
    child.widget.setCurrentIndex(0)  # 请选择…
    page.submit()
    assert _cases() == 0
    assert page.tabs.currentIndex() == TAB_FORM
    assert child.message.text() == "请选择本次登记孩次" and child.message.isVisible()
    assert page.tabs.tabBar().tabTextColor(TAB_FORM) == QColor("#a3161a")
    child.widget.setCurrentIndex(1)
    assert child.message.text() == ""  # fixed: the message goes
    ref = submit(qtbot, page)
    assert _cases() == 1
    assert case_view.get_case(rt, world.window, ref.id).form_data["child_order"] == "一孩"
    # A saved case leaves a blank page for the next applicant.
    assert page.item is None and page.applicant.name_edit.text() == ""


def test_form_field_errors_show_next_to_the_field(qtbot, rt, world, make_ctx):
    page = _page(qtbot, make_ctx(world.window))
    item = world.township_item("minzheng")
    choose_item(qtbot, page, item.code, item.code)
    page.tabs.setCurrentIndex(TAB_FORM)
    size = page.form.rows["household_size"]
    size.widget.setFocus()
    type_text(qtbot, size.widget, "三口")
    assert size.message.text() == ""  # not while typing
    size.widget.editingFinished.emit()
    assert "应为整数" in size.message.text() and size.widget.property("problem") is True
    # A field the applicant section already holds is left empty and takes its value.
    assert page.form.rows["phone"].widget.placeholderText() == "同申请人（不填即沿用）"
    page.applicant.phone_edit.setText("13912345678")
    assert page.form.values()["phone"] == "13912345678"


def test_deferred_material_needs_a_due_date(qtbot, rt, world, make_ctx):
    page = _page(qtbot, make_ctx(world.window))
    item, _who = _ready_birth_case(qtbot, page, world)
    assert [r.material.deferrable for r in page.materials.rows] == [
        m.deferrable for m in item.materials
    ]
    deferrable = next(m.name for m in item.materials if m.deferrable)
    fixed = next(m.name for m in item.materials if not m.deferrable)
    options = page.materials.row_of(fixed).status
    assert "容缺后补" not in [options.itemText(i) for i in range(options.count())]
    set_material(page, deferrable, MaterialStatus.DEFERRED)
    assert page.materials.row_of(deferrable).due.isEnabled()
    page.submit()
    assert _cases() == 0
    assert page.tabs.currentIndex() == TAB_MATERIALS
    assert f"「{deferrable}」容缺受理，请选择补交日期" in page.error_label.text()
    due = rt.today() + timedelta(days=7)
    set_material(page, deferrable, MaterialStatus.DEFERRED, due=due)
    ref = submit(qtbot, page)
    detail = case_view.get_case(rt, world.window, ref.id)
    line = next(m for m in detail.materials if m.name == deferrable)
    assert (line.status, line.due_date) == ("deferred", due)


def test_defective_material_needs_a_reason(qtbot, rt, world, make_ctx):
    page = _page(qtbot, make_ctx(world.window))
    item, _who = _ready_birth_case(qtbot, page, world)
    name = item.materials[0].name
    set_material(page, name, MaterialStatus.DEFECTIVE)
    assert page.materials.summary.level is Level.WARNING
    page.submit()
    assert _cases() == 0 and f"请写明「{name}」不符合要求的原因" in page.error_label.text()
    row = page.materials.row_of(name)
    assert row.reason.hasFocus()
    type_text(qtbot, row.reason, "复印件不清晰")
    ref = submit(qtbot, page)
    line = case_view.get_case(rt, world.window, ref.id).materials[0]
    assert (line.status, line.reason) == ("defective", "复印件不清晰")


# --- attachments -----------------------------------------------------------------------------


def _drop(page: IntakePage, paths: list[Path]) -> None:
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    action = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(
        QPointF(20, 20), action, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(page, enter)
    assert enter.isAccepted()
    drop = QDropEvent(
        QPointF(20, 20), action, data, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    )
    QApplication.sendEvent(page, drop)


def test_dropped_files_are_saved_with_the_case(qtbot, rt, world, make_ctx, tmp_path):
    page = _page(qtbot, make_ctx(world.window))
    item, _who = _ready_birth_case(qtbot, page, world)
    page.tabs.setCurrentIndex(TAB_MATERIALS)
    page.materials.table.selectRow(0)
    text_file = tmp_path / "说明.txt"
    text_file.write_text("不是扫描件", encoding="utf-8")
    _drop(page, [_png(tmp_path / "身份证.png"), text_file])
    assert page.tabs.currentIndex() == TAB_FILES
    assert [(f.name, f.material) for f in page.attachments.files()] == [
        ("身份证.png", item.materials[0].name)
    ]
    assert "不是 PDF、JPEG 或 PNG 文件" in page.attachments.message.text()
    assert not page.attachments.preview.pixmap().isNull()  # the new file is previewed
    assert page.tabs.tabText(TAB_FILES) == "附件 1(&4)"
    ref = submit(qtbot, page)
    [saved] = attachments.list_attachments(world.window, ref.id)
    assert (saved.original_name, saved.material, saved.mime) == (
        "身份证.png",
        item.materials[0].name,
        "image/png",
    )


def test_new_scans_appear_and_attach_to_the_selected_material(
    qtbot, rt, world, make_ctx, tmp_path, settings
):
    folder = tmp_path / "高拍仪"
    folder.mkdir()
    _png(folder / "old.png")  # already there: not a new scan
    page = _page(qtbot, make_ctx(world.window))
    page.attachments.set_scan_folder(folder)
    assert settings.value(SCAN_FOLDER_KEY) == str(folder)
    item, _who = _ready_birth_case(qtbot, page, world)
    _png(folder / "scan-0001.png", "#cc3333")
    (folder / "notes.txt").write_text("忽略", encoding="utf-8")
    scans = page.attachments.scans_list
    qtbot.waitUntil(lambda: scans.count() == 1)
    assert scans.item(0).text() == "scan-0001.png"
    assert not page.attachments.preview.pixmap().isNull()
    second = item.materials[1].name
    page.materials.table.selectRow(1)
    page.tabs.setCurrentIndex(TAB_FILES)
    qtbot.mouseClick(page.attachments.attach_button, Qt.MouseButton.LeftButton)
    assert scans.count() == 0
    assert [(f.name, f.material) for f in page.attachments.files()] == [("scan-0001.png", second)]
    ref = submit(qtbot, page)
    [saved] = attachments.list_attachments(world.window, ref.id)
    assert (saved.original_name, saved.material) == ("scan-0001.png", second)
    # The folder is remembered: a new page watches it at once.
    again = _page(qtbot, make_ctx(world.window))
    assert again.attachments.scan_folder == folder


def test_a_failing_save_leaves_nothing_behind(qtbot, rt, world, make_ctx, monkeypatch):
    page = _page(qtbot, make_ctx(world.window))
    _ready_birth_case(qtbot, page, world)
    page.attachments.pending.append(intake_support.PendingFile("坏.png", b"\x89PNG\r\n\x1a\n"))

    def broken(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(attachments, "store_blob", broken)
    errors: list[str] = []
    monkeypatch.setattr("app.ui.intake.page.show_error", lambda _p, exc, _t: errors.append(exc))
    page.submit()
    settle(qtbot)
    assert _cases() == 0 and ApplicantRecord.select().count() == 0
    assert page.error_label.text() == "登记未完成，未保存任何内容。"
    assert [type(e) for e in errors] == [OSError]
    assert page.item is not None  # the draft is still there to try again


def test_overridden_id_in_a_mirrored_form_field(qtbot, rt, world, make_ctx):
    item = world.township_item("minzheng")  # its form has an id_number field
    who = person()
    bad = replace(who, id_number=_bad_checksum(who.id_number), override_reason="证件原件如此")
    page = _page(qtbot, make_ctx(world.window))
    choose_item(qtbot, page, item.code, item.code)
    type_applicant(qtbot, page, bad)
    fill_form(qtbot, page, demo_form(item, bad), bad)
    page.materials.receive_all_required()
    page.submit()
    settle(qtbot)
    assert _cases() == 1


# --- the service helpers behind the page (no Qt) ---------------------------------------------


def test_identity_status_tells_warnings_from_errors():
    good = person().id_number
    assert intake_support.identity_status("居民身份证", good).acceptable
    bad = intake_support.identity_status("居民身份证", _bad_checksum(good))
    assert (bad.acceptable, bad.needs_reason, bad.overridden) == (False, True, False)
    assert intake_support.identity_status("居民身份证", _bad_checksum(good), "证件原件").acceptable
    short = intake_support.identity_status("居民身份证", good[:10], "证件原件如此")
    assert (short.acceptable, short.needs_reason) == (False, False)
    assert intake_support.identity_status("passport", "E12345678").acceptable


def test_gaps_supplements_and_refusal_bases(rt, world):
    item = world.township_item("minzheng")
    first, optional = item.materials[0].name, next(m.name for m in item.materials if not m.required)
    ref = intake(rt, world, item, missing=(first, optional))
    detail = case_view.get_case(rt, world.window, ref.id)
    gaps = [line.name for line in intake_support.gap_lines(detail) if line.gap]
    assert gaps == [first]  # a missing optional material is no gap
    assert intake_support.supplement_lines(detail) == [first]
    bases = intake_support.refusal_bases(item)
    assert bases[0] == f"本事项设定依据：{item.legal_basis}"
    assert bases[1:] == list(intake_support.COMMON_REFUSAL_BASES)


def test_a_bad_attachment_stops_the_intake_before_anything_is_saved(rt, world):
    item = world.township_item()
    who = person()
    req = IntakeRequest(
        item_code=item.code,
        applicant=who,
        form_data=demo_form(item, who),
    )
    files = [intake_support.PendingFile("a.txt", b"plain text")]
    with pytest.raises(ValidationError, match="不是 PDF、JPEG 或 PNG 文件"):
        intake_support.submit_intake(rt, world.window, req, files)
    assert _cases() == 0
