"""Plain document data built from a case: what reports/ prints (numbers masked here)."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from app.domain.case_number import progress_link
from app.domain.states import MaterialStatus
from app.services import settings
from app.services.cases import HANDLING_MODES
from app.services.catalog import get_item
from app.services.org import station_name
from app.services.people import id_type_label
from app.store.models import (
    AccountRecord,
    AttachmentRecord,
    CaseMaterialRecord,
    CaseRecord,
    TownshipRecord,
)
from reports.data import (
    CaseDoc,
    CorrectionDoc,
    DecisionDoc,
    DeliveryDoc,
    DocData,
    GuideDoc,
    HandoverDoc,
    MaterialRow,
    Organ,
    Party,
    ProxyAuthDoc,
    RefusalDoc,
)

if TYPE_CHECKING:
    from app.services.runtime import Runtime

DEFAULT_PROGRESS_URL = "https://zwfw.example.gov.cn/bjm/progress"


def organ(township: str) -> Organ:
    town = TownshipRecord.get(TownshipRecord.code == township)
    return Organ(
        township=town.name,
        county=town.county_name,
        name=settings.get("organ_name", township) or f"{town.name}人民政府便民服务中心",
        address=settings.get("organ_address", township)
        or f"{town.county_name}{town.name}便民服务中心",
        phone=settings.get("organ_phone", township),
    )


def progress_url(case: CaseRecord) -> str:
    base = settings.get("progress_base_url") or DEFAULT_PROGRESS_URL
    return progress_link(base, case.case_no, case.query_code)


def _decrypt(rt: Runtime, blob: Any, context: str) -> str:
    return rt.cipher.decrypt(bytes(blob), context=context) if blob else ""


def _party(rt: Runtime, record: Any, prefix: str, *, with_address: bool = False) -> Party:
    return Party.from_full(
        record.name,
        id_type_label(record.id_type),
        _decrypt(rt, record.id_cipher, f"{prefix}.id"),
        _decrypt(rt, record.phone_cipher, f"{prefix}.phone"),
        _decrypt(rt, record.address_cipher, f"{prefix}.address") if with_address else "",
    )


def _materials(case: CaseRecord) -> tuple[MaterialRow, ...]:
    rows = CaseMaterialRecord.select().where(CaseMaterialRecord.case == case.id)
    return tuple(
        MaterialRow(m.name, m.form, m.copies, MaterialStatus(m.status).label, m.due_date, m.reason)
        for m in rows.order_by(CaseMaterialRecord.position)
    )


def _clerk(username: str) -> str:
    account = AccountRecord.get_or_none(AccountRecord.username == username)
    return account.display_name if account else username


def case_doc(rt: Runtime, case: CaseRecord, number: str, clerk: str, on: date) -> CaseDoc:
    item = get_item(case.item_code, case.catalog_version)
    return CaseDoc(
        organ=organ(case.township),
        document_no=number,
        issued_on=on,
        case_no=case.case_no,
        query_code=case.query_code,
        progress_url=progress_url(case),
        item_code=case.item_code,
        item_name=case.item_name,
        kind_label=item.kind_label,
        promised_days=case.limit_days,
        received_at=case.received_at,
        applicant=_party(rt, case.applicant, "applicant", with_address=True),
        clerk=_clerk(clerk),
        desk=case.desk,
        handling_mode=HANDLING_MODES.get(case.handling_mode, case.handling_mode),
        materials=_materials(case),
        accepted_on=case.accepted_on,
        deadline=case.deadline,
        deadline_provisional=bool(case.deadline_provisional),
        proxy=_party(rt, case.proxy, "proxy") if case.proxy_id else None,
        handler=station_name(case.station) or item.county_department or "",
    )


def package_digest(case: CaseRecord) -> str:
    """SHA-256 of the electronic 帮代办 package: case identity, checklist and attachment hashes."""
    attachments = sorted(
        a.sha256 for a in AttachmentRecord.select().where(AttachmentRecord.case == case.id)
    )
    body = {
        "case_uuid": str(case.uuid),
        "case_no": case.case_no,
        "revision": case.revision,
        "catalog_version": case.catalog_version,
        "materials": [[m.name, m.status, m.copies] for m in _materials(case)],
        "attachments": attachments,
    }
    return hashlib.sha256(json.dumps(body, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _appeal(township: str) -> tuple[str, str]:
    town = TownshipRecord.get(TownshipRecord.code == township)
    organ_name = settings.get("reconsideration_organ") or f"{town.county_name}人民政府"
    court = settings.get("court") or f"{town.county_name}人民法院"
    return organ_name, court


def build(rt: Runtime, kind: str, case: CaseRecord, number: str, clerk: str) -> DocData:
    """The data of one document of `kind` for `case` (the caller checked readiness)."""
    on = rt.today()
    base = case_doc(rt, case, number, clerk, on)
    item = get_item(case.item_code, case.catalog_version)
    if kind in ("receipt", "acceptance"):
        return base
    if kind == "correction":
        rows = tuple(
            MaterialRow(
                i["name"], _form_of(base, i["name"]), 1, "须补正", case.correction_due, i["reason"]
            )
            for i in case.correction_items
        )
        return CorrectionDoc(base, rows, case.correction_due or on)
    if kind == "refusal":
        organ_name, court = _appeal(case.township)
        return RefusalDoc(base, case.refusal_reason, case.refusal_basis, organ_name, court)
    if kind == "completion":
        organ_name, court = _appeal(case.township)
        # A county result sent back for the township to hand over is collected there.
        kept_here = case.county_dispatch == "township_pickup"
        return DecisionDoc(
            base,
            approved=case.decision == "approved",
            opinion=case.opinion,
            result_name=item.result_name,
            pickup_place=base.organ.address if kept_here else item.location,
            pickup_hours=item.hours,
            bring=("申请人有效身份证件", "本通知书"),
            basis=case.decision_basis,
            reconsideration_organ=organ_name,
            court=court,
        )
    if kind == "delivery":
        return _delivery(rt, case, base, item.result_name, clerk)
    if kind == "proxy_authorisation":
        return ProxyAuthDoc(
            base,
            matters=f"代为办理「{case.item_name}」",
            powers=_POWERS,
            valid_until=on + timedelta(days=183),
            applicant_id_full=_decrypt(rt, case.applicant.id_cipher, "applicant.id"),
            proxy_id_full=_decrypt(rt, case.proxy.id_cipher, "proxy.id") if case.proxy else None,
        )
    if kind == "handover":
        count = AttachmentRecord.select().where(AttachmentRecord.case == case.id).count()
        return HandoverDoc(
            base,
            base.materials,
            package_digest(case),
            receiver=base.handler or "县级帮代办窗口",
            sent_by=_clerk(clerk),
            sent_on=on,
            transfer="邮寄（EMS）",
            attachment_count=count,
        )
    raise ValueError(kind)


_POWERS = ("代为提交申请材料", "代为签收受理、补正等文书", "代为领取办理结果")


def _form_of(base: CaseDoc, name: str) -> str:
    return next((m.form for m in base.materials if m.name == name), "原件")


def _delivery(rt: Runtime, case: CaseRecord, base: CaseDoc, result: str, clerk: str) -> DeliveryDoc:
    if case.issue_method == "mail":
        address = _decrypt(rt, case.mail_address_cipher, "case.mail_address")
        return DeliveryDoc(
            base,
            result,
            "邮寄",
            _clerk(clerk),
            mailing_address=address,
            recipient=base.applicant,
            carrier=case.carrier,
            tracking_no=case.tracking_no,
            mailed_on=case.issued_on,
        )
    relation = "受托代领人" if case.collector_role == "proxy" else "申请人本人"
    collector = base.proxy if case.collector_role == "proxy" and base.proxy else base.applicant
    return DeliveryDoc(
        base,
        result,
        "自取",
        _clerk(clerk),
        collector=collector,
        collector_relation=relation,
        id_checked=True,
        collected_at=_issued_at(case),
    )


def _issued_at(case: CaseRecord) -> datetime:
    """When the result was handed over: the time of the case's 出件 event in the audit trail."""
    from app.services.audit import events_for

    issued = [e.at for e in events_for("case", str(case.uuid)) if e.action == "case.issue"]
    if issued:
        return issued[-1]
    assert case.issued_on is not None  # the delivery rule only lets issued cases through
    return datetime.combine(case.issued_on, datetime.min.time())


def guide(rt: Runtime, township: str, item_code: str, number: str, clerk: str) -> GuideDoc:
    return GuideDoc(get_item(item_code), organ(township), number, rt.today(), _clerk(clerk))
