"""Scanned attachments: stored once by SHA-256 in the data folder, checked on every read."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from app.domain.errors import DomainError, KnownError, PermissionDenied, ValidationError
from app.domain.roles import Actor, Role
from app.domain.states import CaseState
from app.services import audit
from app.services.case_view import load_visible
from app.services.files import write_atomically
from app.store import db as dbmod
from app.store.models import AttachmentRecord

if TYPE_CHECKING:
    from app.services.runtime import Runtime

MAX_BYTES = 20 * 1024 * 1024
MIME_BY_MAGIC = (
    (b"%PDF-", "application/pdf"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
)
EDITABLE = {
    CaseState.RECEIVED.value,
    CaseState.CORRECTION_REQUIRED.value,
    CaseState.ACCEPTED.value,
    CaseState.IN_REVIEW.value,
}


@dataclass(frozen=True)
class AttachmentInfo:
    id: int
    material: str
    sha256: str
    size: int
    mime: str
    original_name: str


def sniff_mime(data: bytes) -> str:
    for magic, mime in MIME_BY_MAGIC:
        if data.startswith(magic):
            return mime
    raise ValidationError("附件只能是 PDF、JPEG 或 PNG 文件", field="file")


def blob_path(rt: Runtime, sha256: str) -> Path:
    return rt.blobs_dir / sha256[:2] / sha256


def store_blob(rt: Runtime, data: bytes) -> str:
    """Write the bytes under their hash (atomic rename, fsync); an existing blob is reused."""
    digest = hashlib.sha256(data).hexdigest()
    target = blob_path(rt, digest)
    if target.exists():
        return digest
    write_atomically(target, data)
    return digest


def add_attachment(
    rt: Runtime, actor: Actor, case_id: int, data: bytes, *, original_name: str, material: str = ""
) -> AttachmentInfo:
    if actor.role not in (Role.WINDOW, Role.STATION, Role.COUNTY):
        raise PermissionDenied(f"{actor.role.label}不能添加附件")
    if not data:
        raise ValidationError("附件是空文件", field="file")
    if len(data) > MAX_BYTES:
        raise ValidationError("附件不能超过20MB", field="file")
    mime = sniff_mime(data)
    case = load_visible(actor, case_id)
    if case.state not in EDITABLE:
        raise DomainError("该办件当前状态不能再添加附件", code="illegal_state")
    digest = store_blob(rt, data)
    name = Path(original_name).name[:255] or "附件"
    with dbmod.write_transaction():
        row = AttachmentRecord.create(
            case=case.id,
            material=material,
            sha256=digest,
            size=len(data),
            mime=mime,
            original_name=name,
            added_at=rt.now(),
            added_by=actor.account_id,
        )
        audit.record(
            rt,
            actor,
            "case.attachment",
            object_type="case",
            object_id=str(case.uuid),
            details={"case_no": case.case_no, "sha256": digest, "material": material},
        )
    return AttachmentInfo(row.id, material, digest, len(data), mime, name)


def list_attachments(actor: Actor, case_id: int) -> list[AttachmentInfo]:
    case = load_visible(actor, case_id)
    rows = (
        AttachmentRecord.select()
        .where(AttachmentRecord.case == case.id)
        .order_by(AttachmentRecord.id)
    )
    return [
        AttachmentInfo(r.id, r.material, r.sha256, r.size, r.mime, r.original_name) for r in rows
    ]


def read_attachment(rt: Runtime, actor: Actor, attachment_id: int) -> bytes:
    row = AttachmentRecord.get_or_none(AttachmentRecord.id == attachment_id)
    if row is None:
        raise KnownError("附件不存在")
    load_visible(actor, row.case_id)
    data = blob_path(rt, row.sha256).read_bytes()
    if hashlib.sha256(data).hexdigest() != row.sha256:
        raise KnownError("附件文件已损坏（校验值不符），请重新扫描")
    return data
