"""Complaints (投诉) and consultations (咨询) registered at the window."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.domain.errors import PermissionDenied, ValidationError
from app.domain.roles import Actor, Role
from app.services import audit
from app.services.case_view import load_visible
from app.store import db as dbmod
from app.store.models import ComplaintRecord, ConsultationRecord

if TYPE_CHECKING:
    from app.services.runtime import Runtime

CHANNELS = ("窗口", "电话", "12345热线", "政务服务网", "意见箱")
DESK_ROLES = (Role.WINDOW, Role.ISSUANCE)


def _check(actor: Actor, channel: str) -> None:
    if actor.role not in DESK_ROLES:
        raise PermissionDenied("投诉和咨询由综合窗口或出件窗口登记")
    if channel not in CHANNELS:
        raise ValidationError("请选择渠道：" + "、".join(CHANNELS), field="channel")


def record_complaint(
    rt: Runtime, actor: Actor, *, channel: str, content: str, case_id: int | None = None
) -> int:
    _check(actor, channel)
    if len(content.strip()) < 4:
        raise ValidationError("请填写投诉内容（不少于4个字）", field="content")
    case = load_visible(actor, case_id) if case_id is not None else None
    with dbmod.write_transaction():
        row = ComplaintRecord.create(
            township=actor.township,
            case=case.id if case else None,
            channel=channel,
            content=content.strip(),
            received_at=rt.now(),
            received_by=actor.username,
        )
        audit.record(
            rt,
            actor,
            "complaint.record",
            object_type="complaint",
            object_id=str(row.id),
            details={"channel": channel, "case_no": case.case_no if case else ""},
        )
    return int(row.id)


def record_consultation(
    rt: Runtime, actor: Actor, *, item_code: str, channel: str, note: str = ""
) -> int:
    _check(actor, channel)
    from app.services.catalog import get_item

    get_item(item_code)
    with dbmod.write_transaction():
        row = ConsultationRecord.create(
            township=actor.township,
            item_code=item_code,
            channel=channel,
            note=note.strip(),
            at=rt.now(),
            account=actor.username,
        )
        audit.record(
            rt,
            actor,
            "consultation.record",
            object_type="consultation",
            object_id=str(row.id),
            details={"item": item_code, "channel": channel},
        )
    return int(row.id)
