"""Applicants and proxies: identity checks with recorded overrides, encrypted numbers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.domain.errors import ValidationError
from app.domain.masking import mask_id, mask_phone
from app.security.pii import KIND_ID_NUMBER, KIND_PHONE
from app.store.models import ApplicantRecord, ProxyRecord
from forms.validators import check_other_id, check_phone, check_resident_id, check_uscc

if TYPE_CHECKING:
    from app.services.runtime import Runtime

RESIDENT_ID = "居民身份证"
USCC = "统一社会信用代码"
MIN_OVERRIDE_REASON = 4


@dataclass(frozen=True)
class PersonInput:
    """An applicant (natural person or organisation) as typed at the window."""

    name: str
    id_number: str
    id_type: str = RESIDENT_ID
    phone: str = ""
    address: str = ""
    kind: str = "person"  # person | org
    legal_rep: str = ""
    override_reason: str = ""


@dataclass(frozen=True)
class ProxyInput:
    """The 代办人 who acts for the applicant (帮代办, 上门代办)."""

    name: str
    id_number: str
    relation: str
    phone: str = ""
    id_type: str = RESIDENT_ID
    override_reason: str = ""


@dataclass(frozen=True)
class ApplicantSummary:
    """A returning applicant found by ID number: masked numbers only."""

    applicant_id: int
    kind: str
    name: str
    id_type: str
    id_masked: str
    phone_masked: str
    has_address: bool


def id_type_label(id_type: str) -> str:
    """The Chinese name of an ID type (stored as its code for the other document types)."""
    from forms.validators import ID_TYPES

    return ID_TYPES.get(id_type, id_type)


def check_identity(id_type: str, raw: str, override_reason: str, *, field: str) -> str:
    """The normalised number; a checksum-only failure passes with a recorded reason."""
    if id_type == RESIDENT_ID:
        result = check_resident_id(raw)
    elif id_type == USCC:
        result = check_uscc(raw)
    else:
        result = check_other_id(id_type, raw)
    if result.ok:
        return result.value
    if result.overridable and len(override_reason.strip()) >= MIN_OVERRIDE_REASON:
        return result.value
    if result.overridable:
        raise ValidationError(result.message + "（如确需继续，请填写不少于4字的原因）", field=field)
    raise ValidationError(result.message, field=field)


def check_phone_number(raw: str, *, field: str, required: bool) -> str:
    if not raw.strip():
        if required:
            raise ValidationError("请填写联系电话", field=field)
        return ""
    result = check_phone(raw)
    if not result.ok:
        raise ValidationError(result.message, field=field)
    return result.value


def _numbers(rt: Runtime, prefix: str, id_number: str, phone: str) -> dict[str, object]:
    values: dict[str, object] = {
        "id_cipher": rt.cipher.encrypt(id_number, context=f"{prefix}.id"),
        "id_index": rt.cipher.blind_index(id_number, kind=KIND_ID_NUMBER),
        "id_tail": rt.cipher.tail_index(id_number, kind=KIND_ID_NUMBER),
    }
    if phone:
        values.update(
            phone_cipher=rt.cipher.encrypt(phone, context=f"{prefix}.phone"),
            phone_index=rt.cipher.blind_index(phone, kind=KIND_PHONE),
            phone_tail=rt.cipher.tail_index(phone, kind=KIND_PHONE),
        )
    return values


def save_applicant(rt: Runtime, person: PersonInput) -> ApplicantRecord:
    """Create the applicant or update the returning one (same ID type and number)."""
    if person.kind not in ("person", "org"):
        raise ValidationError("申请人类型应为自然人或法人/组织", field="kind")
    name = person.name.strip()
    if not 1 <= len(name) <= 100:
        raise ValidationError("请填写申请人姓名或单位名称", field="name")
    id_type = USCC if person.kind == "org" else person.id_type
    id_number = check_identity(id_type, person.id_number, person.override_reason, field="id_number")
    id_index = rt.cipher.blind_index(id_number, kind=KIND_ID_NUMBER)
    existing = ApplicantRecord.get_or_none(
        (ApplicantRecord.id_index == id_index) & (ApplicantRecord.id_type == id_type)
    )
    # A returning applicant keeps the phone on record unless a new one is typed.
    keeps_phone = existing is not None and existing.phone_cipher is not None
    required = person.kind == "person" and not keeps_phone
    phone = check_phone_number(person.phone, field="phone", required=required)
    values = _numbers(rt, "applicant", id_number, phone)
    values.update(name=name, kind=person.kind, id_type=id_type, legal_rep=person.legal_rep.strip())
    values["id_override_reason"] = person.override_reason.strip()
    if person.address.strip():
        values["address_cipher"] = rt.cipher.encrypt(
            person.address.strip(), context="applicant.address"
        )
    now = rt.now()
    if existing is None:
        return ApplicantRecord.create(**values, created_at=now, updated_at=now)
    ApplicantRecord.update(**values, updated_at=now).where(
        ApplicantRecord.id == existing.id
    ).execute()
    return ApplicantRecord.get_by_id(existing.id)


def save_proxy(rt: Runtime, proxy: ProxyInput) -> ProxyRecord:
    name = proxy.name.strip()
    if not name:
        raise ValidationError("请填写代办人姓名", field="proxy_name")
    if not proxy.relation.strip():
        raise ValidationError("请填写代办人与申请人的关系（如帮代办员、子女）", field="relation")
    id_number = check_identity(
        proxy.id_type, proxy.id_number, proxy.override_reason, field="proxy_id_number"
    )
    phone = check_phone_number(proxy.phone, field="proxy_phone", required=True)
    values = _numbers(rt, "proxy", id_number, phone)
    return ProxyRecord.create(
        **values,
        name=name,
        id_type=proxy.id_type,
        relation=proxy.relation.strip(),
        id_override_reason=proxy.override_reason.strip(),
        created_at=rt.now(),
    )


def find_applicant(rt: Runtime, id_number: str) -> ApplicantSummary | None:
    """A returning applicant by exact ID number (blind index), shown masked."""
    if not id_number.strip():
        return None
    index = rt.cipher.blind_index(id_number, kind=KIND_ID_NUMBER)
    row = ApplicantRecord.get_or_none(ApplicantRecord.id_index == index)
    if row is None:
        return None
    full_id = rt.cipher.decrypt(bytes(row.id_cipher), context="applicant.id")
    phone = (
        rt.cipher.decrypt(bytes(row.phone_cipher), context="applicant.phone")
        if row.phone_cipher
        else ""
    )
    return ApplicantSummary(
        row.id,
        row.kind,
        row.name,
        row.id_type,
        mask_id(full_id) if row.id_type != USCC else full_id,
        mask_phone(phone),
        row.address_cipher is not None,
    )
