"""Issuing 文书: numbered, recorded (kind, number, SHA-256, who, when), audited; a reprint is
the same document. A second click while one is being made never makes a second one."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import peewee as pw

from app.domain.documents import DocumentFacts, DocumentRule, check_ready, check_role, rule_for
from app.domain.errors import KnownError
from app.domain.roles import Actor, Role
from app.domain.states import CaseState
from app.services import audit, document_data
from app.services.case_view import load_visible
from app.services.files import write_atomically
from app.store import db as dbmod
from app.store.models import CaseCounterRecord, CaseRecord, DocumentRecord, TownshipRecord

if TYPE_CHECKING:
    from app.services.runtime import Runtime

_locks: dict[tuple[int | None, str, int], threading.Lock] = {}
_locks_guard = threading.Lock()


@dataclass(frozen=True)
class IssuedDocument:
    number: str
    kind: str
    title: str
    path: Path
    sha256: str
    reprint: bool


def facts_for_documents(case: CaseRecord) -> DocumentFacts:
    state = CaseState(case.state)
    return DocumentFacts(
        accepted=case.accepted_on is not None,
        correction_pending=bool(case.correction_items),
        refused=state is CaseState.REFUSED,
        decided=case.decision is not None,
        issued=case.issued_on is not None,
        has_proxy=case.proxy_id is not None,
        handed_off=case.handed_off_on is not None,
    )


def _occasion(rule: DocumentRule, case: CaseRecord | None) -> int:
    """Repeatable kinds get one document per occasion: here, per correction request."""
    if case is None or not rule.repeatable:
        return 0
    events = audit.events_for("case", str(case.uuid))
    return sum(1 for e in events if e.action == "case.request_correction")


def _allocate_number(rule: DocumentRule, township: str, year: int) -> str:
    """The next 文书编号 of this kind, township and year: e.g. 青禾便民收〔2026〕00012号."""
    # The counter table keys desks by "township-desk"; documents use "township+code" in it.
    scope = f"{township}{rule.code}"
    day = date(year, 1, 1)
    CaseCounterRecord.insert(desk_key=scope, day=day, last_serial=1).on_conflict(
        conflict_target=[CaseCounterRecord.desk_key, CaseCounterRecord.day],
        update={CaseCounterRecord.last_serial: CaseCounterRecord.last_serial + 1},
    ).execute()
    serial = (
        CaseCounterRecord.select(CaseCounterRecord.last_serial)
        .where((CaseCounterRecord.desk_key == scope) & (CaseCounterRecord.day == day))
        .scalar()
    )
    town = TownshipRecord.get(TownshipRecord.code == township)
    short = town.name.removesuffix("镇").removesuffix("乡").removesuffix("街道")
    return f"{short}便民{rule.word}〔{year}〕{int(serial):05d}号"


def _lock_for(key: tuple[int | None, str, int]) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(key, threading.Lock())


def _existing(case_id: int | None, kind: str, occasion: int) -> DocumentRecord | None:
    if case_id is None:
        return None
    row: DocumentRecord | None = DocumentRecord.get_or_none(
        (DocumentRecord.case == case_id)
        & (DocumentRecord.kind == kind)
        & (DocumentRecord.occasion == occasion)
    )
    return row


def _reserve(
    rt: Runtime,
    actor: Actor,
    rule: DocumentRule,
    township: str,
    case: CaseRecord | None,
    occasion: int,
) -> DocumentRecord:
    """The pending row with its number (or the row another desk reserved first)."""
    case_id = case.id if case else None
    try:
        with dbmod.write_transaction():
            found = _existing(case_id, rule.kind, occasion)
            if found is not None:
                return found
            number = _allocate_number(rule, township, rt.today().year)
            row: DocumentRecord = DocumentRecord.create(
                case=case_id,
                township=township,
                kind=rule.kind,
                occasion=occasion,
                number=number,
                status="pending",
                issued_by=actor.username,
                issued_at=rt.now(),
            )
            return row
    except pw.IntegrityError:
        found = _existing(case_id, rule.kind, occasion)
        if found is None:
            raise
        return found


def _file_ok(rt: Runtime, row: DocumentRecord) -> bool:
    path = rt.documents_dir / row.path
    if row.status != "issued" or not path.is_file():
        return False
    return hashlib.sha256(path.read_bytes()).hexdigest() == row.sha256


def _result(rt: Runtime, row: DocumentRecord, reprint: bool) -> IssuedDocument:
    rule = rule_for(row.kind)
    return IssuedDocument(
        row.number, row.kind, rule.title, rt.documents_dir / row.path, row.sha256, reprint
    )


def issue(
    rt: Runtime,
    actor: Actor,
    kind: str,
    *,
    case_id: int | None = None,
    item_code: str | None = None,
) -> IssuedDocument:
    """Produce (or reprint) a document; the record turns `issued` only once the file exists."""
    check_role(kind, actor.role)
    case = load_visible(actor, case_id) if case_id is not None else None
    rule = check_ready(kind, actor.role, facts_for_documents(case) if case else None)
    if case is None and item_code is None:
        raise KnownError(f"{rule.title}须指定办件或事项")
    township = case.township if case else actor.township
    occasion = _occasion(rule, case)
    with _lock_for((case_id, kind, occasion)):
        row = _reserve(rt, actor, rule, township, case, occasion)
        if _file_ok(rt, row):
            _audit(rt, actor, row, case, reprint=True)
            return _result(rt, row, reprint=True)
        data = (
            document_data.build(rt, kind, case, row.number, row.issued_by)
            if case is not None
            else document_data.guide(rt, township, str(item_code), row.number, actor.username)
        )
        from reports.documents import render_pdf

        pdf = render_pdf(kind, data)
        relative = Path(str(row.issued_at.year)) / f"{kind}-{row.id:08d}.pdf"
        write_atomically(rt.documents_dir / relative, pdf)
        digest = hashlib.sha256(pdf).hexdigest()
        with dbmod.write_transaction():
            DocumentRecord.update(status="issued", sha256=digest, path=str(relative)).where(
                DocumentRecord.id == row.id
            ).execute()
            row = DocumentRecord.get_by_id(row.id)
            _audit(rt, actor, row, case, reprint=False)
        return _result(rt, row, reprint=False)


def _audit(
    rt: Runtime, actor: Actor, row: DocumentRecord, case: CaseRecord | None, *, reprint: bool
) -> None:
    details = {"kind": row.kind, "number": row.number, "sha256": row.sha256, "reprint": reprint}
    if case is not None:
        details["case_no"] = case.case_no
    with dbmod.write_transaction():
        audit.record(
            rt,
            actor,
            "document.reprint" if reprint else "document.issue",
            object_type="case" if case else "document",
            object_id=str(case.uuid) if case else row.number,
            details=details,
        )


def issued_copy(rt: Runtime, actor: Actor, kind: str, case_id: int) -> IssuedDocument | None:
    """The already-issued document of this kind for the case's current occasion (a reprint,
    audited), or None when it has not been issued yet. Administrators may reprint."""
    rule = rule_for(kind)
    case = CaseRecord.get_or_none(CaseRecord.id == case_id)
    if case is None:
        return None
    if actor.role is not Role.ADMIN:
        case = load_visible(actor, case_id)
    row = _existing(case.id, kind, _occasion(rule, case))
    if row is None or not _file_ok(rt, row):
        return None
    _audit(rt, actor, row, case, reprint=True)
    return _result(rt, row, reprint=True)


@dataclass(frozen=True)
class DocumentInfo:
    number: str
    kind: str
    title: str
    issued_by: str
    issued_at: object
    status: str


def list_for_case(actor: Actor, case_id: int) -> list[DocumentInfo]:
    case = load_visible(actor, case_id)
    rows = DocumentRecord.select().where(DocumentRecord.case == case.id).order_by(DocumentRecord.id)
    return [
        DocumentInfo(r.number, r.kind, rule_for(r.kind).title, r.issued_by, r.issued_at, r.status)
        for r in rows
    ]


_SAMPLE_CASES = {
    "receipt": CaseRecord.accepted_on.is_null(False),
    "acceptance": CaseRecord.accepted_on.is_null(False),
    "correction": CaseRecord.state == CaseState.CORRECTION_REQUIRED.value,
    "refusal": CaseRecord.state == CaseState.REFUSED.value,
    "completion": CaseRecord.decision.is_null(False),
    "delivery": CaseRecord.issued_on.is_null(False),
    "proxy_authorisation": CaseRecord.proxy.is_null(False),
    "handover": CaseRecord.handed_off_on.is_null(False),
}


def _sample(rt: Runtime, kind: str, number: str) -> object:
    """A document's data from a case of this database ready for it, else the built-in sample."""
    from reports.samples import sample_data

    condition = _SAMPLE_CASES.get(kind)
    case = CaseRecord.select().where(condition).first() if condition is not None else None
    if case is not None:
        return document_data.build(rt, kind, case, number, "打印样张")
    town = TownshipRecord.select().first()
    if kind == "guide" and town is not None:
        from app.services.catalog import get_catalog

        item = get_catalog().township_items()[0]
        return document_data.guide(rt, town.code, item.code, number, "打印样张")
    return sample_data(kind)


def render_samples(rt: Runtime, actor: Actor, outdir: Path) -> list[Path]:
    """打印样张: one PDF of every kind, from this database's own cases where one is ready for
    it (so the township's name and items appear), else from built-in fictitious data. Samples
    carry the number 样张 and are not recorded as issued documents."""
    from reports.documents import KINDS, render_pdf

    outdir.mkdir(parents=True, exist_ok=True)
    written = []
    for n, kind in enumerate(KINDS, start=1):
        data = _sample(rt, kind, f"样张{n:02d}")
        path = outdir / f"{n:02d}-{kind}-{rule_for(kind).title}.pdf"
        write_atomically(path, render_pdf(kind, data))  # type: ignore[arg-type]
        written.append(path)
    with dbmod.write_transaction():
        audit.record(
            rt,
            actor,
            "document.samples",
            object_type="document",
            object_id="samples",
            details={"count": len(written), "folder": outdir.name},
        )
    return written
