"""The 帮代办 package of one outbox row, built from the township case (personal data decrypted)."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pydantic

from app.domain.errors import KnownError
from app.store.models import (
    ApplicantRecord,
    AttachmentRecord,
    CaseMaterialRecord,
    CaseRecord,
    OutboxRecord,
    ProxyRecord,
)
from sync.protocol import HandoffPackage, PackageAction

if TYPE_CHECKING:
    from app.services.runtime import Runtime

PACKAGE_CONTEXT = "outbox.package"


def _plain(rt: Runtime, blob: bytes | None, context: str) -> str:
    return "" if blob is None else rt.cipher.decrypt(bytes(blob), context=context)


def _applicant(rt: Runtime, row: ApplicantRecord) -> dict[str, Any]:
    return {
        "name": row.name,
        "id_type": row.id_type,
        "id_number": _plain(rt, row.id_cipher, "applicant.id"),
        "id_override_reason": row.id_override_reason,
        "phone": _plain(rt, row.phone_cipher, "applicant.phone"),
        "address": _plain(rt, row.address_cipher, "applicant.address"),
        "kind": row.kind,
        "legal_rep": row.legal_rep,
    }


def _proxy(rt: Runtime, row: ProxyRecord) -> dict[str, Any]:
    return {
        "name": row.name,
        "id_type": row.id_type,
        "id_number": _plain(rt, row.id_cipher, "proxy.id"),
        "id_override_reason": row.id_override_reason,
        "phone": _plain(rt, row.phone_cipher, "proxy.phone"),
        "relation": row.relation,
    }


def _materials(case: CaseRecord) -> list[dict[str, Any]]:
    rows = CaseMaterialRecord.select().where(CaseMaterialRecord.case == case.id)
    return [
        {
            "name": m.name,
            "required": m.required,
            "status": m.status,
            "form": m.form,
            "copies": m.copies,
            "due_date": m.due_date.isoformat() if m.due_date else None,
            "reason": m.reason,
        }
        for m in sorted(rows, key=lambda m: m.position)
    ]


def _attachments(case: CaseRecord) -> list[dict[str, Any]]:
    rows = AttachmentRecord.select().where(AttachmentRecord.case == case.id)
    return [
        {"sha256": a.sha256, "size": a.size, "mime": a.mime, "material": a.material}
        for a in rows.order_by(AttachmentRecord.id)
    ]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def case_id_of(row: OutboxRecord) -> int:
    """The case's id without loading the case (peewee's `<fk>_id`, unknown to the type checker)."""
    return int(row.case_id)  # type: ignore[attr-defined]


def package_data(rt: Runtime, row: OutboxRecord) -> dict[str, Any]:
    """The package fields of the row's revision, as the case stands now."""
    case: CaseRecord = CaseRecord.get_by_id(case_id_of(row))
    if case.proxy_id is None:
        raise KnownError(f"办件 {case.case_no} 没有登记代办人，不能作为帮代办移交", code="no_proxy")
    form = json.loads(_plain(rt, case.form_cipher, "case.form") or "{}")
    action = PackageAction(row.kind)
    return {
        "case_uuid": str(case.uuid),
        "revision": row.revision,
        "action": action.value,
        "reason": case.withdraw_reason if action is PackageAction.WITHDRAW else "",
        "township": case.township,
        "case_no": case.case_no,
        "query_code": case.query_code,
        "item_code": case.item_code,
        "item_name": case.item_name,
        "catalog_version": case.catalog_version,
        "kind": case.kind,
        "limit_days": case.limit_days,
        "accepted_on": _iso(case.accepted_on),
        "handed_off_on": _iso(case.handed_off_on),
        "deadline": _iso(case.deadline),
        "applicant": _applicant(rt, ApplicantRecord.get_by_id(case.applicant_id)),
        "proxy": _proxy(rt, ProxyRecord.get_by_id(case.proxy_id)),
        "authorisation": case.authorisation,
        "commitment": case.commitment,
        "form_data": form,
        "materials": _materials(case),
        "attachments": _attachments(case),
    }


def build_body(rt: Runtime, row: OutboxRecord) -> bytes:
    """The exact bytes to POST for this row: checked against the protocol before they are kept."""
    data = package_data(rt, row)
    try:
        package = HandoffPackage.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = "；".join(str(e.get("msg", "")) for e in exc.errors()[:5])
        raise KnownError(
            f"办件 {data['case_no']} 的数据不符合县级同步要求，未发送：{problems}", code="invalid"
        ) from exc
    return package.model_dump_json().encode("utf-8")


def seal(rt: Runtime, body: bytes) -> str:
    """The body as it is stored in the outbox row's payload (encrypted: it holds full IDs)."""
    sealed = rt.cipher.encrypt(body.decode("utf-8"), context=PACKAGE_CONTEXT)
    return base64.b64encode(sealed).decode("ascii")


def unseal(rt: Runtime, stored: str) -> bytes:
    return rt.cipher.decrypt(base64.b64decode(stored), context=PACKAGE_CONTEXT).encode("utf-8")
