"""Reading cases: who may see which case, masked details, audited reveal, queues and search."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from app.domain.calendar import DeadlineStatus, deadline_status
from app.domain.case import Action
from app.domain.errors import NotFound, PermissionDenied
from app.domain.masking import mask_address, mask_id, mask_phone
from app.domain.queues import ROLE_QUEUES
from app.domain.roles import REVEAL_ROLES, Actor, Role
from app.domain.states import CaseState
from app.domain.workflow import can
from app.security.pii import KIND_ID_NUMBER, KIND_PHONE
from app.services import audit
from app.services.people import USCC, id_type_label
from app.store import db as dbmod
from app.store.models import ApplicantRecord, CaseMaterialRecord, CaseRecord
from app.store.queries import (
    RECENT,
    URGENT,
    CaseRow,
    QueueFilter,
    change_token,
    count_cases,
    page_cases,
)

if TYPE_CHECKING:
    from app.services.runtime import Runtime

REVEAL_FIELDS = {
    "applicant_id": ("申请人证件号码", "applicant", "id_cipher", "applicant.id"),
    "applicant_phone": ("申请人联系电话", "applicant", "phone_cipher", "applicant.phone"),
    "applicant_address": ("申请人住址", "applicant", "address_cipher", "applicant.address"),
    "proxy_id": ("代办人证件号码", "proxy", "id_cipher", "proxy.id"),
    "proxy_phone": ("代办人联系电话", "proxy", "phone_cipher", "proxy.phone"),
    "mail_address": ("邮寄地址", "case", "mail_address_cipher", "case.mail_address"),
}


def visibility(actor: Actor) -> QueueFilter:
    """The slice of cases an actor may see at all."""
    if actor.role is Role.SYNC:
        return QueueFilter(township=actor.township)
    if actor.role is Role.COUNTY:
        return QueueFilter(at_county=True)
    if actor.role is Role.STATION:
        return QueueFilter(township=actor.township, station=actor.station, at_county=False)
    return QueueFilter(township=actor.township, at_county=False)


def _visible(actor: Actor, case: CaseRecord) -> bool:
    scope = visibility(actor)
    return (
        (scope.township is None or case.township == scope.township)
        and (scope.station is None or case.station == scope.station)
        and (scope.at_county is None or case.at_county == scope.at_county)
    )


def load_visible(actor: Actor, case_id: int) -> CaseRecord:
    case = CaseRecord.get_or_none(CaseRecord.id == case_id)
    if case is None or not _visible(actor, case):
        # The same answer for "absent" and "not yours": no probing of other stations' cases.
        raise NotFound("办件不存在或不在您的办理范围内")
    return case


@dataclass(frozen=True)
class MaterialLine:
    name: str
    form: str
    copies: int
    required: bool
    status: str
    due_date: date | None
    reason: str


@dataclass(frozen=True)
class CaseDetail:
    """Everything a workspace shows about a case; personal numbers masked."""

    id: int
    case_no: str
    uuid: str
    query_code: str
    state: CaseState
    version: int
    item_code: str
    item_name: str
    catalog_version: str
    station: str | None
    level: str
    kind: str
    handling_mode: str
    applicant_name: str
    applicant_kind: str
    applicant_id_type: str
    applicant_id_masked: str
    applicant_phone_masked: str
    applicant_address_masked: str
    proxy_name: str
    proxy_id_masked: str
    authorisation: str
    deadline: date | None
    deadline_provisional: bool
    deadline_status: DeadlineStatus | None
    materials: tuple[MaterialLine, ...]
    decision: str | None
    opinion: str
    correction_items: tuple[dict[str, str], ...]
    correction_due: date | None
    tracking_no: str
    form_data: dict[str, object]
    carrier: str = ""
    county_dispatch: str = ""  # how the county sent its result back: "mail" / "township_pickup"


def _decrypt(rt: Runtime, blob: bytes | None, context: str) -> str:
    return rt.cipher.decrypt(bytes(blob), context=context) if blob else ""


def _masked_form(rt: Runtime, case: CaseRecord) -> dict[str, object]:
    """The application form as shown: ID numbers, phones and addresses masked by the field's
    declared type or label, and any other number shaped like an ID or a mobile too."""
    from app.services.catalog import get_item
    from app.services.logs import scrub

    raw = json.loads(_decrypt(rt, case.form_cipher, "case.form") or "{}")
    fields = {f.key: f for f in get_item(case.item_code, case.catalog_version).form}
    masked: dict[str, object] = {}
    for key, value in raw.items():
        spec, text = fields.get(key), str(value)
        if spec is not None and spec.type == "id_number":
            masked[key] = mask_id(text)
        elif spec is not None and spec.type == "phone":
            masked[key] = mask_phone(text)
        elif spec is not None and ("住址" in spec.label or "地址" in spec.label):
            masked[key] = mask_address(text)
        else:
            masked[key] = scrub(text) if isinstance(value, str) else value
    return masked


def get_case(rt: Runtime, actor: Actor, case_id: int) -> CaseDetail:
    case = load_visible(actor, case_id)
    applicant: ApplicantRecord = case.applicant
    full_id = _decrypt(rt, applicant.id_cipher, "applicant.id")
    proxy = case.proxy
    status = None
    if case.deadline and case.state in _CLOCK:
        status = deadline_status(rt.calendar, rt.today(), case.deadline)
    materials = tuple(
        MaterialLine(m.name, m.form, m.copies, m.required, m.status, m.due_date, m.reason)
        for m in CaseMaterialRecord.select()
        .where(CaseMaterialRecord.case == case.id)
        .order_by(CaseMaterialRecord.position)
    )
    return CaseDetail(
        id=case.id,
        case_no=case.case_no,
        uuid=str(case.uuid),
        query_code=case.query_code,
        state=CaseState(case.state),
        version=case.version,
        item_code=case.item_code,
        item_name=case.item_name,
        catalog_version=case.catalog_version,
        station=case.station,
        level=case.level,
        kind=case.kind,
        handling_mode=case.handling_mode,
        applicant_name=applicant.name,
        applicant_kind=applicant.kind,
        applicant_id_type=id_type_label(applicant.id_type),
        applicant_id_masked=full_id if applicant.id_type == USCC else mask_id(full_id),
        applicant_phone_masked=mask_phone(_decrypt(rt, applicant.phone_cipher, "applicant.phone")),
        applicant_address_masked=mask_address(
            _decrypt(rt, applicant.address_cipher, "applicant.address")
        ),
        proxy_name=proxy.name if proxy else "",
        proxy_id_masked=mask_id(_decrypt(rt, proxy.id_cipher, "proxy.id")) if proxy else "",
        authorisation=case.authorisation,
        deadline=case.deadline,
        deadline_provisional=case.deadline_provisional,
        deadline_status=status,
        materials=materials,
        decision=case.decision,
        opinion=case.opinion,
        correction_items=tuple(case.correction_items or ()),
        correction_due=case.correction_due,
        tracking_no=case.tracking_no,
        form_data=_masked_form(rt, case),
        carrier=case.carrier,
        county_dispatch=case.county_dispatch,
    )


_CLOCK = {"accepted", "in_review", "handed_off", "correction_required"}


def reveal(rt: Runtime, actor: Actor, case_id: int, field: str) -> str:
    """The full value of one personal field, for a task that needs it; always audited."""
    if field not in REVEAL_FIELDS:
        raise NotFound("没有这项个人信息")
    if actor.role not in REVEAL_ROLES:
        raise PermissionDenied(f"{actor.role.label}不能查看完整的个人信息")
    case = load_visible(actor, case_id)
    label, owner, column, context = REVEAL_FIELDS[field]
    record = {"applicant": case.applicant, "proxy": case.proxy, "case": case}[owner]
    value = _decrypt(rt, getattr(record, column), context) if record is not None else ""
    with dbmod.write_transaction():
        audit.record(
            rt,
            actor,
            "pii.reveal",
            object_type="case",
            object_id=str(case.uuid),
            details={"case_no": case.case_no, "field": field, "label": label},
        )
    return value


def allowed_actions(actor: Actor, case_id: int) -> frozenset[Action]:
    """The actions the workflow would let this actor try on the case now (for enabling
    buttons); the service checks again, with the data, when the action is taken."""
    from app.services.cases import facts_of

    facts = facts_of(load_visible(actor, case_id))
    return frozenset(a for a in Action if can(facts, a, actor))


def _search_filter(rt: Runtime, scope: QueueFilter, text: str) -> QueueFilter:
    """Exact ID or mobile numbers go through the blind index; everything else as typed."""
    from dataclasses import replace

    clean = text.strip().replace(" ", "")
    if len(clean) in (15, 18) and clean[:-1].isdigit():
        return replace(scope, id_index=rt.cipher.blind_index(clean, kind=KIND_ID_NUMBER))
    if len(clean) == 11 and clean.isdigit() and clean.startswith("1"):
        return replace(scope, phone_index=rt.cipher.blind_index(clean, kind=KIND_PHONE))
    return replace(scope, search=text)


def queue_filter(
    rt: Runtime, actor: Actor, *, states: tuple[CaseState, ...] | None = None, search: str = ""
) -> QueueFilter:
    """The actor's queue (their role's states unless given), narrowed by a search text."""
    from dataclasses import replace

    scope = visibility(actor)
    chosen = states if states is not None else ROLE_QUEUES.get(actor.role)
    if chosen is not None:
        scope = replace(scope, states=tuple(s.value for s in chosen))
    return _search_filter(rt, scope, search) if search.strip() else scope


def queue_changed_token(actor: Actor) -> tuple[str, int]:
    """Poll this to learn that another desk changed a case this actor can see."""
    return change_token(visibility(actor))


def queue_count(f: QueueFilter) -> int:
    return count_cases(f)


def queue_page(
    f: QueueFilter, offset: int, limit: int = 100, *, urgent: bool = True
) -> list[CaseRow]:
    """A page of rows; work queues most urgent first, searches and state filters newest first."""
    order = URGENT if urgent else RECENT
    return page_cases(f, offset, max(1, min(limit, 500)), order=order)
