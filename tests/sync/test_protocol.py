"""Protocol models: strict validation with Chinese messages; event data the township can apply."""

from __future__ import annotations

import copy
import unicodedata
from datetime import date
from typing import Any, get_args

import pytest
from county_helpers import APPLICANT_ID, PDF, attachment, package, sha
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticError

from app.domain.calendar import WorkCalendar
from app.domain.case import Action, CaseFacts, Context
from app.domain.effects import CARRIERS, EFFECTS
from app.domain.states import CaseState, Decision
from sync.protocol import (
    Carrier,
    CountyEvent,
    EventPage,
    HandoffPackage,
    HandoffReceipt,
    HolidayCalendar,
    NewCountyEvent,
)
from sync.protocol_types import Line, Note
from sync.server.errors import describe_errors

NEW_EVENT: TypeAdapter[Any] = TypeAdapter(NewCountyEvent)
EVENT: TypeAdapter[Any] = TypeAdapter(CountyEvent)
UUID = "0b7f6c1e-7a3c-4a8e-9d55-3f1f7b0c2a11"


def refused(data: dict[str, Any]) -> str:
    """The Chinese message the server would answer for `data`."""
    with pytest.raises(PydanticError) as err:
        HandoffPackage.model_validate(data)
    return describe_errors(err.value.errors())


def changed(path: str, value: Any, **extra: Any) -> dict[str, Any]:
    data = copy.deepcopy(package(**extra))
    target = data
    keys = path.split(".")
    for key in keys[:-1]:
        target = target[int(key)] if key.isdigit() else target[key]
    target[keys[-1]] = value
    return data


def test_valid_package_is_normalised():
    data = changed("applicant.id_number", " " + APPLICANT_ID.lower() + " ")
    data["proxy"]["phone"] = "137-8765-4321"
    parsed = HandoffPackage.model_validate(data)
    assert parsed.applicant.id_number == APPLICANT_ID.upper()
    assert parsed.proxy.phone == "13787654321"
    assert parsed.deadline == date(2026, 11, 30)


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("A" * 64, "SHA-256：格式不正确"),
        ("a" * 63, "SHA-256：格式不正确"),
        ("g" * 64, "SHA-256：格式不正确"),
    ],
)
def test_hash_must_be_64_lowercase_hex(value, fragment):
    data = package(attachments=[{**attachment(PDF), "sha256": value}])
    message = refused(data)
    assert message.startswith("请求内容有误：附件·第1项·")
    assert fragment in message


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("size", 0, "大小：应大于0"),
        ("size", 20 * 1024 * 1024 + 1, "大小：不能大于20971520"),
        ("size", "45", "大小：应为整数"),
        ("mime", "image/gif", "文件类型：应为以下之一"),
        ("material", "户口簿", "附件所属材料不在材料清单中：户口簿"),
    ],
)
def test_attachment_fields_are_bounded(field, value, fragment):
    data = package(attachments=[{**attachment(PDF), field: value}])
    assert fragment in refused(data)


@pytest.mark.parametrize(
    ("path", "value", "fragment"),
    [
        ("item_name", "事" * 201, "事项名称：最多200个字"),
        ("applicant.name", "", "申请人·名称：至少1个字"),
        ("applicant.name", "张\x00三", "申请人·名称：不能包含控制字符或换行"),
        ("proxy.name", "李\n四", "代办人·名称：不能包含控制字符或换行"),
        ("accepted_on", "2026/11/16", "受理日期：应为真实的日期"),
        ("accepted_on", "2026-02-30", "受理日期：应为真实的日期"),
        ("accepted_on", 1763251200, "受理日期：应为真实的日期"),
        ("deadline", "2026-11-30T00:00:00", "办结期限：应为真实的日期"),
        ("limit_days", "10", "承诺时限：应为整数"),
        ("commitment", "false", "告知承诺：应为 true 或 false"),
        ("query_code", "K7M3Q0", "查询码：格式不正确"),
        ("action", "delete", "操作：应为以下之一"),
        ("case_no", "370999102-A1-20261116-0001", "办件编号须以本乡镇区划代码开头"),
        ("applicant.id_number", APPLICANT_ID[:-1] + "0", "身份证号码校验位不符"),
        ("proxy.phone", "", "请填写代办人的联系电话"),
        ("materials", [], "材料清单：至少1项"),
        ("form_data", {"Bad-Key": "x"}, "申请表"),
        ("form_data", {"area": float("nan")}, "申请表"),
        ("unknown_field", 1, "unknown_field：不是本接口的字段"),
    ],
)
def test_bad_fields_get_a_chinese_message(path, value, fragment):
    assert fragment in refused(changed(path, value))


def test_checksum_exception_passes_with_a_recorded_reason():
    data = changed("applicant.id_number", APPLICANT_ID[:-1] + "0")
    data["applicant"]["id_override_reason"] = "证件本身校验位如此"
    assert HandoffPackage.model_validate(data).applicant.id_override_reason


def test_withdraw_needs_a_reason():
    assert "撤回须填写原因" in refused(package(action="withdraw", revision=2))
    ok = HandoffPackage.model_validate(package(action="withdraw", revision=2, reason="申请人撤回"))
    assert ok.action == "withdraw"


def test_duplicate_material_names_are_refused():
    materials = [{"name": "居民身份证", "required": True, "status": "received"}] * 2
    assert "材料清单中有重复的材料名称" in refused(package(materials=materials))


def test_attachment_hashes_are_listed_once_in_order():
    parsed = HandoffPackage.model_validate(
        package(attachments=[attachment(b"%PDF-b"), attachment(PDF), attachment(b"%PDF-b")])
    )
    assert parsed.attachment_hashes() == [sha(b"%PDF-b"), sha(PDF)]


def test_receipt_round_trips_through_json():
    receipt = HandoffReceipt(
        case_uuid=UUID,
        revision=3,
        action="supplement",
        case_no="370999101-A1-20261116-0001",
        received_at="2026-11-16T09:30:00",
        attachments=[attachment(PDF)["sha256"]],
    )
    assert HandoffReceipt.model_validate_json(receipt.model_dump_json()) == receipt


def test_carriers_match_the_township_workflow():
    assert set(get_args(Carrier)) == set(CARRIERS)


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"kind": "dispatched", "data": {"method": "mail", "on": "2026-11-20"}}, "邮寄须填写"),
        (
            {
                "kind": "dispatched",
                "data": {"method": "township_pickup", "carrier": "顺丰速运", "on": "2026-11-20"},
            },
            "乡镇领取不填",
        ),
        (
            {
                "kind": "decided",
                "data": {"decision": "denied", "opinion": "不符合条件", "on": "2026-11-20"},
            },
            "不予批准须写明依据",
        ),
        (
            {
                "kind": "correction",
                "data": {
                    "missing": [{"name": "户口簿", "reason": "缺页"}] * 2,
                    "due_date": "2026-12-01",
                },
            },
            "重复",
        ),
        ({"kind": "approved", "data": {}}, "类型“approved”无效"),
        ({"kind": "signed", "data": {"on": "2026-11-20", "by": "x"}}, "不是本接口的字段"),
    ],
)
def test_bad_events_are_refused(data, fragment):
    with pytest.raises(PydanticError) as err:
        NEW_EVENT.validate_python({"case_uuid": UUID, **data})
    assert fragment in describe_errors(err.value.errors())


def _apply_on_township(action: Action, data: dict[str, Any]) -> CaseState:
    """Run the township workflow's own effect for `action` with the event data as sent."""
    facts = CaseFacts(
        state=CaseState.HANDED_OFF,
        township="370999101",
        level="county",
        station=None,
        limit_days=10,
        accepted_on=date(2026, 11, 16),
        decision=Decision.APPROVED,
        has_proxy=True,
    )
    ctx = Context(today=date(2026, 11, 20), calendar=WorkCalendar([], set()))
    return EFFECTS[action](facts, data, ctx).state


@pytest.mark.parametrize(
    ("event", "action", "state"),
    [
        (
            {"kind": "signed", "data": {"on": "2026-11-17"}},
            Action.COUNTY_SIGNED,
            CaseState.HANDED_OFF,
        ),
        (
            {
                "kind": "correction",
                "data": {
                    "missing": [{"name": "户口簿", "reason": "缺少户主页"}],
                    "due_date": "2026-12-01",
                },
            },
            Action.REQUEST_CORRECTION,
            CaseState.CORRECTION_REQUIRED,
        ),
        (
            {
                "kind": "decided",
                "data": {
                    "decision": "approved",
                    "opinion": "符合条件，予以批准",
                    "on": "2026-11-19",
                },
            },
            Action.COUNTY_DECIDED,
            CaseState.HANDED_OFF,
        ),
        (
            {
                "kind": "dispatched",
                "data": {
                    "method": "mail",
                    "carrier": "中国邮政EMS",
                    "tracking_no": "ems1234567890cn",
                    "on": "2026-11-20",
                },
            },
            Action.COUNTY_DISPATCHED,
            CaseState.READY_TO_ISSUE,
        ),
        (
            {"kind": "dispatched", "data": {"method": "township_pickup", "on": "2026-11-20"}},
            Action.COUNTY_DISPATCHED,
            CaseState.READY_TO_ISSUE,
        ),
    ],
)
def test_event_data_is_what_the_township_workflow_takes(event, action, state):
    parsed = NEW_EVENT.validate_python({"case_uuid": UUID, **event})
    data = parsed.data.model_dump(mode="json", exclude_none=True)
    assert _apply_on_township(action, data) is state


def test_event_page_parses_every_kind():
    stamp = {
        "case_uuid": UUID,
        "case_no": "370999101-A1-20261116-0001",
        "at": "2026-11-20T10:00:00",
    }
    page = EventPage.model_validate(
        {
            "events": [
                {**stamp, "seq": 1, "kind": "signed", "data": {"on": "2026-11-17"}},
                {**stamp, "seq": 2, "kind": "closed", "data": {"on": "2026-11-25"}},
            ],
            "next_cursor": 2,
            "has_more": False,
        }
    )
    assert [type(e).__name__ for e in page.events] == ["SignedEvent", "ClosedEvent"]
    assert EVENT.validate_python(page.events[1].model_dump(mode="json")) == page.events[1]


def test_holiday_calendar_bounds_years_and_kinds():
    HolidayCalendar.model_validate(
        {"years": [2027], "days": [{"date": "2027-01-01", "kind": "holiday", "name": "元旦"}]}
    )
    with pytest.raises(PydanticError) as err:
        HolidayCalendar.model_validate(
            {"years": [99999], "days": [{"date": "2027-01-01", "kind": "off", "name": "元旦"}]}
        )
    message = describe_errors(err.value.errors())
    assert "年份·第1项：不能大于2200" in message and "类型：应为以下之一" in message


def test_control_characters_are_exactly_unicodes_cc_category():
    # One line (Line) and several lines (Note: tab and newline allowed) against unicodedata,
    # over the ASCII and Latin-1 ranges and the first code points beyond.
    one_line, lines = TypeAdapter(Line), TypeAdapter(Note)
    for code in range(0x400):
        char = chr(code)
        control = unicodedata.category(char) == "Cc"
        for adapter, allowed in ((one_line, ""), (lines, "\n\t")):
            try:
                adapter.validate_python(f"甲{char}乙")
                accepted = True
            except PydanticError:
                accepted = False
            assert accepted == (not control or char in allowed), hex(code)
