"""Case use cases: intake and every workflow action — permission, one transaction, audit, outbox."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from app.domain.case import Action, CaseFacts, Context, MaterialCheck
from app.domain.case_number import make_case_no, new_query_code
from app.domain.errors import DomainError, NotFound, PermissionDenied, StaleError, ValidationError
from app.domain.roles import Actor, Role
from app.domain.states import CaseState, Decision, MaterialStatus
from app.domain.workflow import transition
from app.services import audit
from app.services.catalog import get_catalog
from app.services.people import PersonInput, ProxyInput, save_applicant, save_proxy
from app.store import db as dbmod
from app.store.models import (
    CaseCounterRecord,
    CaseMaterialRecord,
    CaseRecord,
    EvaluationRecord,
    OutboxRecord,
)
from forms.schema import Item, validate_form

if TYPE_CHECKING:
    from app.services.runtime import Runtime

HANDLING_MODES = {"window": "窗口办理", "proxy": "帮代办", "door": "上门代办"}


@dataclass(frozen=True)
class MaterialInput:
    """One checklist line as the clerk marked it."""

    name: str
    status: MaterialStatus
    copies: int | None = None
    form: str | None = None
    due_date: date | None = None
    reason: str = ""


@dataclass(frozen=True)
class IntakeRequest:
    item_code: str
    applicant: PersonInput
    materials: tuple[MaterialInput, ...] = ()
    form_data: dict[str, Any] = field(default_factory=dict)
    proxy: ProxyInput | None = None
    authorisation: str = ""
    handling_mode: str = "window"
    commitment: bool = False


@dataclass(frozen=True)
class CaseRef:
    """What a caller needs to act on the case next (its id and the version it saw)."""

    id: int
    case_no: str
    uuid: str
    state: CaseState
    version: int


def _ref(case: CaseRecord) -> CaseRef:
    return CaseRef(case.id, case.case_no, str(case.uuid), CaseState(case.state), case.version)


def _checklist(item: Item, lines: tuple[MaterialInput, ...]) -> list[dict[str, Any]]:
    """Every material of the 办事指南, marked as the clerk said (unmarked ones are missing)."""
    given = {m.name: m for m in lines}
    unknown = set(given) - {m.name for m in item.materials}
    if unknown:
        raise ValidationError(
            "材料不在该事项的办事指南中：" + "、".join(sorted(unknown)), field="materials"
        )
    rows = []
    for position, spec in enumerate(item.materials, start=1):
        line = given.get(spec.name, MaterialInput(spec.name, MaterialStatus.MISSING))
        if line.status is MaterialStatus.DEFECTIVE and not line.reason.strip():
            raise ValidationError(f"请写明「{spec.name}」不符合要求的原因", field="materials")
        copies = line.copies if line.copies is not None else spec.copies
        if not 1 <= copies <= 99:
            raise ValidationError(f"「{spec.name}」的份数应在1至99之间", field="materials")
        rows.append(
            {
                "position": position,
                "name": spec.name,
                "form": line.form or spec.form_label,
                "copies": copies,
                "required": spec.required,
                "deferrable": spec.deferrable,
                "commitment_allowed": spec.commitment_allowed,
                "status": line.status.value,
                "due_date": line.due_date,
                "reason": line.reason.strip(),
            }
        )
    return rows


def _next_case_no(actor: Actor, day: date) -> str:
    key = f"{actor.township}-{actor.desk}"
    CaseCounterRecord.insert(desk_key=key, day=day, last_serial=1).on_conflict(
        conflict_target=[CaseCounterRecord.desk_key, CaseCounterRecord.day],
        update={CaseCounterRecord.last_serial: CaseCounterRecord.last_serial + 1},
    ).execute()
    serial = (
        CaseCounterRecord.select(CaseCounterRecord.last_serial)
        .where((CaseCounterRecord.desk_key == key) & (CaseCounterRecord.day == day))
        .scalar()
    )
    return make_case_no(actor.township, actor.desk, day, int(serial))


def form_errors(item: Item, data: Mapping[str, Any], accepted: Iterable[str]) -> dict[str, str]:
    """The application form's errors, except an ID field repeating a number the clerk already
    accepted (a checksum failure overridden with a reason): it must not be refused twice."""
    numbers = {n.strip().upper() for n in accepted if n.strip()}
    id_fields = {f.key for f in item.form if f.type in ("id_number", "uscc")}
    return {
        key: message
        for key, message in validate_form(item, dict(data)).items()
        if not (key in id_fields and str(data.get(key) or "").strip().upper() in numbers)
    }


def _accepted_numbers(req: IntakeRequest) -> list[str]:
    people: list[PersonInput | ProxyInput] = [req.applicant]
    if req.proxy is not None:
        people.append(req.proxy)
    return [p.id_number for p in people if len(p.override_reason.strip()) >= 4]


def _check_intake(actor: Actor, req: IntakeRequest, item: Item) -> None:
    if actor.role is not Role.WINDOW:
        raise PermissionDenied(f"{actor.role.label}不能接件，接件由综合窗口办理")
    if not actor.desk:
        raise ValidationError("请先在登录时选择本机窗口", field="desk")
    if req.handling_mode not in HANDLING_MODES:
        raise ValidationError("办理方式应为窗口办理、帮代办或上门代办", field="handling_mode")
    if req.handling_mode != "window" and req.proxy is None:
        raise ValidationError("帮代办、上门代办须登记代办人", field="proxy")
    if req.proxy is not None and len(req.authorisation.strip()) < 2:
        raise ValidationError("请填写委托授权情况（如：已签署帮代办委托书）", field="authorisation")
    errors = form_errors(item, req.form_data, _accepted_numbers(req))
    if errors:
        labels = {f.key: f.label for f in item.form}
        text = "；".join(f"{labels.get(k, k)}：{v}" for k, v in errors.items())
        raise ValidationError("申请表填写有误：" + text, field=next(iter(errors)))


def intake(rt: Runtime, actor: Actor, req: IntakeRequest) -> CaseRef:
    """接件: a complete case in state 已接件, or nothing at all."""
    catalog = get_catalog()
    if not catalog.has_item(req.item_code):
        raise NotFound(f"事项目录 {catalog.version} 中没有事项 {req.item_code}")
    item = catalog.item(req.item_code)
    _check_intake(actor, req, item)
    checklist = _checklist(item, req.materials)
    now = rt.now()
    with dbmod.write_transaction():
        applicant = save_applicant(rt, req.applicant)
        proxy = save_proxy(rt, req.proxy) if req.proxy else None
        form_json = json.dumps(req.form_data, ensure_ascii=False, sort_keys=True, default=str)
        case = CaseRecord.create(
            uuid=uuid.uuid4(),
            case_no=_next_case_no(actor, now.date()),
            query_code=new_query_code(),
            township=actor.township,
            desk=actor.desk,
            item_code=item.code,
            item_name=item.name,
            catalog_version=catalog.version,
            level=item.level,
            station=item.station,
            kind=item.kind,
            limit_days=item.promised_limit_days,
            handling_mode=req.handling_mode,
            state=CaseState.RECEIVED.value,
            applicant=applicant,
            applicant_name=applicant.name,
            proxy=proxy,
            authorisation=req.authorisation.strip(),
            commitment=req.commitment,
            form_cipher=rt.cipher.encrypt(form_json, context="case.form"),
            received_by=actor.account_id,
            received_at=now,
            updated_at=now,
        )
        CaseMaterialRecord.insert_many([{**row, "case": case.id} for row in checklist]).execute()
        audit.record(
            rt,
            actor,
            "case.intake",
            object_type="case",
            object_id=str(case.uuid),
            details={
                "case_no": case.case_no,
                "item": item.code,
                "mode": req.handling_mode,
                "materials": {r["name"]: r["status"] for r in checklist},
            },
        )
    return _ref(case)


_LOAD_SQL: dict[bool, str] = {}


def _load_for_update(case_id: int) -> CaseRecord:
    """The case row, locked on PostgreSQL (SQLite's IMMEDIATE transaction already is).

    The SQL of this hot query is built once: rendering a 60-column select costs more than
    running it."""
    postgres = dbmod.is_postgres()
    sql = _LOAD_SQL.get(postgres)
    if sql is None:
        query = CaseRecord.select().where(CaseRecord.id == 0)
        sql = (query.for_update() if postgres else query).sql()[0]
        _LOAD_SQL[postgres] = sql
    case: CaseRecord | None = next(iter(CaseRecord.raw(sql, case_id)), None)
    if case is None:
        raise NotFound("办件不存在")
    return case


def facts_of(case: CaseRecord, materials: list[CaseMaterialRecord] | None = None) -> CaseFacts:
    rows = (
        materials
        if materials is not None
        else list(CaseMaterialRecord.select().where(CaseMaterialRecord.case == case.id))
    )
    return CaseFacts(
        state=CaseState(case.state),
        township=case.township,
        level=case.level,
        station=case.station,
        limit_days=case.limit_days,
        accepted_on=case.accepted_on,
        paused_since=case.paused_since,
        paused_working_days=case.paused_working_days,
        decision=Decision(case.decision) if case.decision else None,
        has_proxy=case.proxy_id is not None,
        at_county=case.at_county,
        county_dispatch=case.county_dispatch,
        materials=tuple(
            MaterialCheck(
                m.name,
                m.required,
                MaterialStatus(m.status),
                m.deferrable,
                m.commitment_allowed,
                m.due_date,
                m.reason,
            )
            for m in sorted(rows, key=lambda m: m.position)
        ),
    )


def stale_message(case: CaseRecord) -> str:
    return (
        f"办件 {case.case_no} 已被他人更新（当前状态：{CaseState(case.state).label}），"
        "您看到的是旧信息，本次操作未保存。请刷新后再操作。"
    )


def act(
    rt: Runtime,
    actor: Actor,
    case_id: int,
    action: Action,
    data: Mapping[str, Any] | None = None,
    *,
    expected_version: int,
) -> CaseRef:
    """Take a workflow action on a case seen at `expected_version`."""
    data = dict(data or {})
    with dbmod.write_transaction():
        case = _load_for_update(case_id)
        if case.version != expected_version:
            raise StaleError(stale_message(case))
        ctx = Context(today=rt.today(), calendar=rt.calendar)
        outcome = transition(facts_of(case), action, actor, data, ctx)
        values = _stored_changes(rt, outcome.changes)
        values.update(state=outcome.state.value, version=case.version + 1, updated_at=rt.now())
        if outcome.outbox:
            values["revision"] = case.revision + 1
        updated = (
            CaseRecord.update(**values)
            .where((CaseRecord.id == case.id) & (CaseRecord.version == expected_version))
            .execute()
        )
        if updated != 1:
            raise StaleError(stale_message(case))
        _update_materials(case, action, data)
        if outcome.outbox:
            _enqueue(rt, case, action, values["revision"])
        if action is Action.CLOSE and data.get("rating") is not None:
            EvaluationRecord.create(
                case=case.id,
                level=data["rating"],
                comment=str(data.get("comment") or ""),
                at=rt.now(),
            )
        audit.record(
            rt,
            actor,
            f"case.{action.value}",
            object_type="case",
            object_id=str(case.uuid),
            details={
                "case_no": case.case_no,
                "from": case.state,
                "to": outcome.state.value,
                **outcome.details,
            },
        )
    return CaseRef(case.id, case.case_no, str(case.uuid), outcome.state, case.version + 1)


def _stored_changes(rt: Runtime, changes: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key, value in changes.items():
        values[key] = value.value if isinstance(value, Decision | CaseState) else value
    if "mail_address" in values:  # the address the issuance desk mailed the result to
        address = str(values.pop("mail_address"))
        values["mail_address_cipher"] = rt.cipher.encrypt(address, context="case.mail_address")
    if "issue_method" in values:
        values["issue_method"] = str(values["issue_method"])
    return values


def _update_materials(case: CaseRecord, action: Action, data: dict[str, Any]) -> None:
    if action is Action.REQUEST_CORRECTION:
        for entry in data["missing"]:
            CaseMaterialRecord.update(
                status=MaterialStatus.DEFECTIVE.value
                if _status_of(case, entry["name"]) == MaterialStatus.RECEIVED.value
                else MaterialStatus.MISSING.value,
                reason=str(entry["reason"]).strip(),
            ).where(
                (CaseMaterialRecord.case == case.id) & (CaseMaterialRecord.name == entry["name"])
            ).execute()
    elif action is Action.SUPPLEMENT:
        names = [str(n).strip() for n in data["received"]]
        CaseMaterialRecord.update(status=MaterialStatus.RECEIVED.value, reason="").where(
            (CaseMaterialRecord.case == case.id) & (CaseMaterialRecord.name.in_(names))
        ).execute()


def _status_of(case: CaseRecord, name: str) -> str | None:
    row = CaseMaterialRecord.get_or_none(
        (CaseMaterialRecord.case == case.id) & (CaseMaterialRecord.name == name)
    )
    return row.status if row else None


def _enqueue(rt: Runtime, case: CaseRecord, action: Action, revision: int) -> None:
    """The outbox row, in the same transaction as the state change (sent by the sync worker)."""
    payload = {"case_uuid": str(case.uuid), "revision": revision, "action": action.value}
    OutboxRecord.create(
        case=case.id,
        kind=action.value,
        revision=revision,
        payload=json.dumps(payload, sort_keys=True),
        status="pending",
        next_attempt_at=rt.now(),
        created_at=rt.now(),
    )


def update_materials(
    rt: Runtime,
    actor: Actor,
    case_id: int,
    lines: tuple[MaterialInput, ...],
    *,
    expected_version: int,
) -> CaseRef:
    """Re-mark the checklist before acceptance (the clerk corrects what was received)."""
    with dbmod.write_transaction():
        case = _load_for_update(case_id)
        if case.version != expected_version:
            raise StaleError(stale_message(case))
        if actor.role is not Role.WINDOW or actor.township != case.township:
            raise PermissionDenied("只有本乡镇综合窗口可以修改材料清单")
        if case.state not in (CaseState.RECEIVED.value, CaseState.CORRECTION_REQUIRED.value):
            raise DomainError("办件受理后不能再修改材料清单", code="illegal_state")
        item = get_catalog(case.catalog_version).item(case.item_code)
        rows = _checklist(item, lines)
        CaseMaterialRecord.delete().where(CaseMaterialRecord.case == case.id).execute()
        CaseMaterialRecord.insert_many([{**row, "case": case.id} for row in rows]).execute()
        CaseRecord.update(version=case.version + 1, updated_at=rt.now()).where(
            CaseRecord.id == case.id
        ).execute()
        audit.record(
            rt,
            actor,
            "case.materials",
            object_type="case",
            object_id=str(case.uuid),
            details={"case_no": case.case_no, "materials": {r["name"]: r["status"] for r in rows}},
        )
    return _ref(CaseRecord.get_by_id(case_id))
