"""What the county desk checks before it sends anything: which events a case's county status
allows (the server's table, mirrored), each event's data with Chinese messages, and how
personal numbers are shown. Pure: no network, no database."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, get_args
from uuid import UUID

import pydantic
from pydantic import TypeAdapter

from app.domain.errors import ValidationError
from app.domain.masking import mask_address, mask_id, mask_phone, mask_uscc
from sync.protocol import Carrier, EventKind, NewCountyEvent, Person
from sync.protocol_county import CaseDetail, CountyStatus
from sync.protocol_types import USCC

CARRIERS: tuple[str, ...] = get_args(Carrier)
_TRACKING = re.compile(r"^[A-Z0-9]{8,30}$")
_EVENT: TypeAdapter[NewCountyEvent] = TypeAdapter(NewCountyEvent)
S = CountyStatus
# The statuses each event may follow: sync.server.casework.MOVES (a test keeps them equal).
EVENT_SOURCES: dict[EventKind, frozenset[CountyStatus]] = {
    EventKind.SIGNED: frozenset({S.HANDED_OFF}),
    EventKind.CORRECTION: frozenset({S.SIGNED, S.SUPPLEMENTED}),
    EventKind.DECIDED: frozenset({S.SIGNED, S.SUPPLEMENTED}),
    EventKind.DISPATCHED: frozenset({S.DECIDED}),
    EventKind.CLOSED: frozenset({S.DISPATCHED}),
}
EVENT_LABELS: dict[EventKind, str] = {
    EventKind.SIGNED: "签收",
    EventKind.CORRECTION: "要求补正",
    EventKind.DECIDED: "办结",
    EventKind.DISPATCHED: "送达",
    EventKind.CLOSED: "归档",
}


def allowed_events(status: CountyStatus) -> frozenset[EventKind]:
    """What county staff may record on a case in `status` (the server checks again)."""
    return frozenset(kind for kind, sources in EVENT_SOURCES.items() if status in sources)


# --- each event checked here first, with Chinese messages ---------------------------------------


def _not_future(on: date, today: date) -> None:
    if on > today:
        raise ValidationError("日期不能晚于今天", field="on")


def _text(value: str, label: str, key: str) -> str:
    text = value.strip()
    if len(text) < 2:
        raise ValidationError(f"请填写{label}（至少2个字）", field=key)
    if len(text) > 2000:
        raise ValidationError(f"{label}最多2000字", field=key)
    return text


def _event(kind: EventKind, case_uuid: UUID | str, data: dict[str, Any]) -> NewCountyEvent:
    try:
        return _EVENT.validate_python({"case_uuid": str(case_uuid), "kind": kind, "data": data})
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        where = str(first["loc"][-1]) if first["loc"] else ""
        # Our own checks already said what is missing; what is left is odd characters.
        raise ValidationError(
            "填写的内容含有不能发送的字符（如控制字符）或过长，请检查后重试", field=where
        ) from None


def signed_event(case_uuid: UUID | str, on: date, today: date) -> NewCountyEvent:
    _not_future(on, today)
    return _event(EventKind.SIGNED, case_uuid, {"on": on})


def correction_event(
    case_uuid: UUID | str, missing: list[dict[str, str]], due_date: date, today: date
) -> NewCountyEvent:
    if not missing:
        raise ValidationError("请勾选需要乡镇补正的材料", field="missing")
    names = [line["name"] for line in missing]
    if len(set(names)) != len(names):
        raise ValidationError("补正材料清单中有重复的材料", field="missing")
    items = []
    for line in missing:
        reason = _text(line["reason"], f"「{line['name']}」的补正原因", "missing")
        items.append({"name": line["name"], "reason": reason})
    if due_date < today:
        raise ValidationError("补正期限不能早于今天", field="due_date")
    return _event(EventKind.CORRECTION, case_uuid, {"missing": items, "due_date": due_date})


def decided_event(
    case_uuid: UUID | str, decision: str, opinion: str, basis: str, on: date, today: date
) -> NewCountyEvent:
    if decision not in ("approved", "denied"):
        raise ValidationError("请选择准予或不予", field="decision")
    label = "审批意见" if decision == "approved" else "不予批准的理由"
    data: dict[str, Any] = {"decision": decision, "opinion": _text(opinion, label, "opinion")}
    if decision == "denied":
        data["basis"] = _text(basis, "不予批准的依据", "basis")
    _not_future(on, today)
    return _event(EventKind.DECIDED, case_uuid, {**data, "on": on})


def dispatched_event(
    case_uuid: UUID | str, method: str, carrier: str, tracking_no: str, on: date, today: date
) -> NewCountyEvent:
    data: dict[str, Any] = {"method": method, "on": on}
    if method == "mail":
        if carrier not in CARRIERS:
            raise ValidationError("请选择寄递企业：" + "、".join(CARRIERS), field="carrier")
        tracking = tracking_no.strip().upper()
        if not _TRACKING.match(tracking):
            raise ValidationError("运单号应为8至30位字母或数字", field="tracking_no")
        data.update(carrier=carrier, tracking_no=tracking)
    elif method != "township_pickup":
        raise ValidationError("请选择送达方式：邮寄或乡镇领取", field="method")
    _not_future(on, today)
    return _event(EventKind.DISPATCHED, case_uuid, data)


def closed_event(case_uuid: UUID | str, on: date, note: str, today: date) -> NewCountyEvent:
    if len(note.strip()) > 2000:
        raise ValidationError("备注最多2000字", field="note")
    _not_future(on, today)
    return _event(EventKind.CLOSED, case_uuid, {"on": on, "note": note.strip()})


# --- personal numbers as shown ------------------------------------------------------------------

# Fields a county clerk may reveal: (label, person, attribute).
REVEAL_FIELDS: dict[str, tuple[str, str, str]] = {
    "applicant_id": ("申请人证件号码", "applicant", "id_number"),
    "applicant_phone": ("申请人联系电话", "applicant", "phone"),
    "applicant_address": ("申请人住址", "applicant", "address"),
    "proxy_id": ("代办人证件号码", "proxy", "id_number"),
    "proxy_phone": ("代办人联系电话", "proxy", "phone"),
}


def masked(detail: CaseDetail, key: str) -> str:
    """A personal field as lists and views show it (an organisation's code is public)."""
    _label, owner, attribute = REVEAL_FIELDS[key]
    person: Person = getattr(detail.package, owner)
    value = str(getattr(person, attribute))
    if attribute == "id_number":
        return mask_uscc(value) if person.id_type == USCC else mask_id(value)
    return mask_phone(value) if attribute == "phone" else mask_address(value)
