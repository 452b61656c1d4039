"""The package read with a few hand-written queries is the one the peewee records gave."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from county_helpers import JPEG, PDF
from helpers.factories import drive, make_case

from app.domain.case import Action
from app.domain.errors import KnownError
from app.domain.states import CaseState
from app.services.attachments import add_attachment
from app.store.models import (
    ApplicantRecord,
    AttachmentRecord,
    CaseMaterialRecord,
    CaseRecord,
    OutboxRecord,
    ProxyRecord,
)
from sync.client.package import _plain, build_package, case_id_of, package_data
from sync.protocol import HandoffPackage, PackageAction

# --- the package as it was built from peewee records, kept as the reference ----------------


def _reference_applicant(rt: Any, row: ApplicantRecord) -> dict[str, Any]:
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


def _reference_proxy(rt: Any, row: ProxyRecord) -> dict[str, Any]:
    return {
        "name": row.name,
        "id_type": row.id_type,
        "id_number": _plain(rt, row.id_cipher, "proxy.id"),
        "id_override_reason": row.id_override_reason,
        "phone": _plain(rt, row.phone_cipher, "proxy.phone"),
        "relation": row.relation,
    }


def _reference_materials(case: CaseRecord) -> list[dict[str, Any]]:
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


def _reference_attachments(case: CaseRecord) -> list[dict[str, Any]]:
    rows = AttachmentRecord.select().where(AttachmentRecord.case == case.id)
    return [
        {"sha256": a.sha256, "size": a.size, "mime": a.mime, "material": a.material}
        for a in rows.order_by(AttachmentRecord.id)
    ]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def reference_package_data(rt: Any, row: OutboxRecord) -> dict[str, Any]:
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
        "applicant": _reference_applicant(rt, ApplicantRecord.get_by_id(case.applicant_id)),
        "proxy": _reference_proxy(rt, ProxyRecord.get_by_id(case.proxy_id)),
        "authorisation": case.authorisation,
        "commitment": case.commitment,
        "form_data": form,
        "materials": _reference_materials(case),
        "attachments": _reference_attachments(case),
    }


# --- the comparison -------------------------------------------------------------------------


def typed(value: Any) -> Any:
    """`value` with the type of every leaf beside it: True and 1 compare equal, these not."""
    if isinstance(value, dict):
        return {k: typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


def _varied_case(rt: Any, world: Any) -> int:
    """An accepted county case whose rows exercise every conversion: materials stored out of
    checklist order with a due date, a reason and a false flag, three attachments, an
    applicant without an address, a commitment, a withdraw reason."""
    ref = make_case(rt, world, CaseState.ACCEPTED, county=True)
    names = [m.name for m in world.county_item().materials]
    for data, material in ((PDF, names[0]), (JPEG, names[-1]), (PDF + b"%2\n", "")):
        add_attachment(rt, world.window, ref.id, data, original_name="扫描件", material=material)
    materials = list(CaseMaterialRecord.select().where(CaseMaterialRecord.case == ref.id))
    for m in materials:  # reversed positions: the checklist order is not the insertion order
        m.position = 1000 - m.position
        m.save()
    first = min(materials, key=lambda m: m.position)
    first.status, first.due_date, first.reason = "deferred", date(2026, 12, 1), "容缺后补"
    first.required, first.copies = False, 2
    first.save()
    case = CaseRecord.get_by_id(ref.id)
    ApplicantRecord.update(address_cipher=None, legal_rep="法人乙").where(
        ApplicantRecord.id == case.applicant_id
    ).execute()
    CaseRecord.update(commitment=True).where(CaseRecord.id == ref.id).execute()
    ref = drive(rt, world, ref, world.window, Action.HAND_OFF)
    drive(rt, world, ref, world.window, Action.WITHDRAW, {"reason": "申请人撤回"})
    return int(ref.id)


@pytest.mark.parametrize("revision", [1, 2])
def test_package_is_the_one_the_records_gave(rt: Any, world: Any, revision: int):
    case_id = _varied_case(rt, world)
    row = OutboxRecord.get((OutboxRecord.case == case_id) & (OutboxRecord.revision == revision))
    expected = reference_package_data(rt, row)
    assert typed(package_data(rt, row)) == typed(expected)
    assert expected["materials"][0]["due_date"] == "2026-12-01"
    assert len(expected["attachments"]) == 3 and expected["applicant"]["address"] == ""
    assert (expected["action"], bool(expected["reason"])) == (
        ("hand_off", False) if revision == 1 else ("withdraw", True)
    )
    reference = HandoffPackage.model_validate(expected)
    assert build_package(rt, row).model_dump_json() == reference.model_dump_json()


def _first_row(case_id: int) -> OutboxRecord:
    return OutboxRecord.get((OutboxRecord.case == case_id) & (OutboxRecord.revision == 1))


def test_package_is_read_with_three_queries(rt: Any, world: Any, monkeypatch: Any):
    row = _first_row(_varied_case(rt, world))
    db = CaseRecord._meta.database.obj
    statements: list[str] = []
    execute = db.execute_sql

    def counting(sql: str, params: Any = None) -> Any:
        statements.append(sql)
        return execute(sql, params)

    monkeypatch.setattr(db, "execute_sql", counting)
    package_data(rt, row)
    assert len(statements) == 3


def test_no_proxy_is_refused_and_a_missing_case_raises(rt: Any, world: Any):
    row = _first_row(_varied_case(rt, world))
    CaseRecord.update(proxy=None).where(CaseRecord.id == case_id_of(row)).execute()
    with pytest.raises(KnownError, match="没有登记代办人") as refused:
        package_data(rt, row)
    assert refused.value.code == "no_proxy"
    row.case = 10**9
    with pytest.raises(CaseRecord.DoesNotExist):
        package_data(rt, row)
