"""The 帮代办 package of one outbox row, built from the township case (personal data decrypted)."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import peewee as pw
import pydantic

from app.domain.errors import KnownError
from app.store import db as dbmod
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


def _fields(model: type[pw.Model], *names: str) -> tuple[pw.Field, ...]:
    return tuple(model._meta.fields[name] for name in names)


# The columns a package is made of. They are read with hand-written SQL (three statements,
# written once per database kind) and converted by each field's own `python_value`, exactly as
# peewee converts them: building peewee queries cost more than the rest of the package.
CASE_FIELDS = _fields(
    CaseRecord, "uuid", "case_no", "query_code", "township", "item_code", "item_name",
    "catalog_version", "kind", "limit_days", "accepted_on", "handed_off_on", "deadline",
    "authorisation", "commitment", "form_cipher", "withdraw_reason", "applicant", "proxy",
)  # fmt: skip
APPLICANT_FIELDS = _fields(
    ApplicantRecord, "id", "name", "id_type", "id_cipher", "id_override_reason", "phone_cipher",
    "address_cipher", "kind", "legal_rep",
)  # fmt: skip
PROXY_FIELDS = _fields(
    ProxyRecord, "id", "name", "id_type", "id_cipher", "id_override_reason", "phone_cipher",
    "relation",
)  # fmt: skip
MATERIAL_FIELDS = _fields(
    CaseMaterialRecord, "name", "required", "status", "form", "copies", "due_date", "reason"
)
ATTACHMENT_FIELDS = _fields(AttachmentRecord, "sha256", "size", "mime", "material")


@dataclass(frozen=True)
class _Statements:
    case: str
    materials: str
    attachments: str


@functools.lru_cache(maxsize=1)
def _statements() -> _Statements:
    """The three SELECTs (`?` placeholders, run through app.store.db.execute, which suits them
    to the database; identifiers quoted as both SQLite and PostgreSQL quote them)."""

    def q(name: str) -> str:
        return f'"{name}"'

    def cols(alias: str, fields: Sequence[pw.Field]) -> str:
        return ", ".join(f"{alias}.{q(f.column_name)}" for f in fields)

    def table(model: type[pw.Model]) -> str:
        return q(model._meta.table_name)

    def key(model: type[pw.Model], name: str) -> str:
        return q(model._meta.fields[name].column_name)

    # LEFT JOINs: a missing applicant or proxy is told apart from a missing case.
    case = (
        f"SELECT {cols('c', CASE_FIELDS)}, {cols('a', APPLICANT_FIELDS)}, "
        f"{cols('p', PROXY_FIELDS)} FROM {table(CaseRecord)} c "
        f"LEFT JOIN {table(ApplicantRecord)} a "
        f"ON a.{key(ApplicantRecord, 'id')} = c.{key(CaseRecord, 'applicant')} "
        f"LEFT JOIN {table(ProxyRecord)} p "
        f"ON p.{key(ProxyRecord, 'id')} = c.{key(CaseRecord, 'proxy')} "
        f"WHERE c.{key(CaseRecord, 'id')} = ?"
    )

    def of_case(model: type[pw.Model], fields: Sequence[pw.Field], order: str) -> str:
        return (
            f"SELECT {cols('t', fields)} FROM {table(model)} t "
            f"WHERE t.{key(model, 'case')} = ? ORDER BY t.{key(model, order)}"
        )

    return _Statements(
        case,
        of_case(CaseMaterialRecord, MATERIAL_FIELDS, "position"),
        of_case(AttachmentRecord, ATTACHMENT_FIELDS, "id"),
    )


def _values(fields: Sequence[pw.Field], raw: Sequence[Any]) -> dict[str, Any]:
    """A row by field name, each value converted as peewee would (dates, booleans, UUIDs)."""
    return {f.name: f.python_value(v) for f, v in zip(fields, raw, strict=True)}  # type: ignore[no-untyped-call]


def _fetch(sql: str, case_id: int) -> list[tuple[Any, ...]]:
    return list(dbmod.execute(None, sql, (case_id,)).fetchall())


def _plain(rt: Runtime, blob: bytes | None, context: str) -> str:
    # bytes(): PostgreSQL hands a bytea back as a memoryview, SQLite as bytes.
    return "" if blob is None else rt.cipher.decrypt(bytes(blob), context=context)


def _applicant(rt: Runtime, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "id_type": row["id_type"],
        "id_number": _plain(rt, row["id_cipher"], "applicant.id"),
        "id_override_reason": row["id_override_reason"],
        "phone": _plain(rt, row["phone_cipher"], "applicant.phone"),
        "address": _plain(rt, row["address_cipher"], "applicant.address"),
        "kind": row["kind"],
        "legal_rep": row["legal_rep"],
    }


def _proxy(rt: Runtime, row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "id_type": row["id_type"],
        "id_number": _plain(rt, row["id_cipher"], "proxy.id"),
        "id_override_reason": row["id_override_reason"],
        "phone": _plain(rt, row["phone_cipher"], "proxy.phone"),
        "relation": row["relation"],
    }


def _materials(sql: str, case_id: int) -> list[dict[str, Any]]:
    """The case's materials in checklist order (position)."""
    rows = (_values(MATERIAL_FIELDS, raw) for raw in _fetch(sql, case_id))
    return [
        {
            "name": m["name"],
            "required": m["required"],
            "status": m["status"],
            "form": m["form"],
            "copies": m["copies"],
            "due_date": _iso(m["due_date"]),
            "reason": m["reason"],
        }
        for m in rows
    ]


def _attachments(sql: str, case_id: int) -> list[dict[str, Any]]:
    """The case's attachments in the order they were added (id)."""
    return [_values(ATTACHMENT_FIELDS, raw) for raw in _fetch(sql, case_id)]


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def case_id_of(row: OutboxRecord) -> int:
    """The case's id without loading the case (peewee's `<fk>_id`, unknown to the type checker)."""
    return int(row.case_id)  # type: ignore[attr-defined]


def _case_row(case_id: int, sql: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The case, its applicant and its proxy from one joined row (missing ones raise as
    `get_by_id` would)."""
    found = _fetch(sql, case_id)
    if not found:
        raise CaseRecord.DoesNotExist(case_id)  # type: ignore[attr-defined]
    raw, split = found[0], len(CASE_FIELDS) + len(APPLICANT_FIELDS)
    return (
        _values(CASE_FIELDS, raw[: len(CASE_FIELDS)]),
        _values(APPLICANT_FIELDS, raw[len(CASE_FIELDS) : split]),
        _values(PROXY_FIELDS, raw[split:]),
    )


def package_data(rt: Runtime, row: OutboxRecord) -> dict[str, Any]:
    """The package fields of the row's revision, as the case stands now."""
    sql, case_id = _statements(), case_id_of(row)
    case, applicant, proxy = _case_row(case_id, sql.case)
    if case["proxy"] is None:
        raise KnownError(
            f"办件 {case['case_no']} 没有登记代办人，不能作为帮代办移交", code="no_proxy"
        )
    form = json.loads(_plain(rt, case["form_cipher"], "case.form") or "{}")
    if applicant["id"] is None:
        raise ApplicantRecord.DoesNotExist(case["applicant"])  # type: ignore[attr-defined]
    if proxy["id"] is None:
        raise ProxyRecord.DoesNotExist(case["proxy"])  # type: ignore[attr-defined]
    action = PackageAction(row.kind)
    return {
        "case_uuid": str(case["uuid"]),
        "revision": row.revision,
        "action": action.value,
        "reason": case["withdraw_reason"] if action is PackageAction.WITHDRAW else "",
        "township": case["township"],
        "case_no": case["case_no"],
        "query_code": case["query_code"],
        "item_code": case["item_code"],
        "item_name": case["item_name"],
        "catalog_version": case["catalog_version"],
        "kind": case["kind"],
        "limit_days": case["limit_days"],
        "accepted_on": _iso(case["accepted_on"]),
        "handed_off_on": _iso(case["handed_off_on"]),
        "deadline": _iso(case["deadline"]),
        "applicant": _applicant(rt, applicant),
        "proxy": _proxy(rt, proxy),
        "authorisation": case["authorisation"],
        "commitment": case["commitment"],
        "form_data": form,
        "materials": _materials(sql.materials, case_id),
        "attachments": _attachments(sql.attachments, case_id),
    }


def build_package(rt: Runtime, row: OutboxRecord) -> HandoffPackage:
    """The package to POST for this row, checked against the protocol before it is kept."""
    data = package_data(rt, row)
    try:
        package = HandoffPackage.model_validate(data)
    except pydantic.ValidationError as exc:
        problems = "；".join(str(e.get("msg", "")) for e in exc.errors()[:5])
        raise KnownError(
            f"办件 {data['case_no']} 的数据不符合县级同步要求，未发送：{problems}", code="invalid"
        ) from exc
    return package


def seal(rt: Runtime, body: bytes) -> str:
    """The body as it is stored in the outbox row's payload (encrypted: it holds full IDs)."""
    sealed = rt.cipher.encrypt(body.decode("utf-8"), context=PACKAGE_CONTEXT)
    return base64.b64encode(sealed).decode("ascii")


def unseal(rt: Runtime, stored: str) -> bytes:
    return rt.cipher.decrypt(base64.b64decode(stored), context=PACKAGE_CONTEXT).encode("utf-8")
