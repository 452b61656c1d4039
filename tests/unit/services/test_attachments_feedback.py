"""Attachments stored by hash and checked on read; complaints and consultations."""

from __future__ import annotations

import hashlib

import pytest
from helpers.factories import make_case

from app.domain.errors import DomainError, KnownError, NotFound, PermissionDenied, ValidationError
from app.domain.states import CaseState
from app.services import attachments, feedback
from app.services.attachments import blob_path
from app.store.models import AttachmentRecord, ComplaintRecord, ConsultationRecord

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
PDF = b"%PDF-1.4\n" + b"0" * 500


def test_attachment_stored_by_hash_and_read_back(rt, world):
    ref = make_case(rt, world, CaseState.RECEIVED)
    info = attachments.add_attachment(
        rt, world.window, ref.id, PNG, original_name="../../etc/扫描件.png"
    )
    assert info.sha256 == hashlib.sha256(PNG).hexdigest()
    assert info.mime == "image/png"
    assert info.original_name == "扫描件.png"
    assert blob_path(rt, info.sha256).read_bytes() == PNG
    assert attachments.read_attachment(rt, world.window, info.id) == PNG
    again = attachments.add_attachment(rt, world.window, ref.id, PNG, original_name="b.png")
    assert again.sha256 == info.sha256
    assert len(list(rt.blobs_dir.rglob("*"))) == 2  # one folder, one blob


def test_corrupted_blob_is_detected(rt, world):
    ref = make_case(rt, world, CaseState.RECEIVED)
    info = attachments.add_attachment(rt, world.window, ref.id, PDF, original_name="a.pdf")
    blob_path(rt, info.sha256).write_bytes(PDF + b"x")
    with pytest.raises(KnownError, match="已损坏"):
        attachments.read_attachment(rt, world.window, info.id)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "空文件"),
        (b"MZ\x90\x00 not an image", "PDF、JPEG 或 PNG"),
        (b"%PDF" + b"0" * (21 * 2**20), "20MB"),
    ],
)
def test_bad_attachments_refused_and_nothing_written(rt, world, data, message):
    ref = make_case(rt, world, CaseState.RECEIVED)
    with pytest.raises(ValidationError, match=message):
        attachments.add_attachment(rt, world.window, ref.id, data, original_name="x")
    assert AttachmentRecord.select().count() == 0


def test_attachment_scope_and_state(rt, world):
    ref = make_case(rt, world, CaseState.RECEIVED)
    with pytest.raises(NotFound):
        attachments.add_attachment(rt, world.other_window, ref.id, PNG, original_name="a.png")
    with pytest.raises(PermissionDenied):
        attachments.add_attachment(rt, world.issuance, ref.id, PNG, original_name="a.png")
    closed = make_case(rt, world, CaseState.CLOSED)
    with pytest.raises(DomainError):
        attachments.add_attachment(rt, world.window, closed.id, PNG, original_name="a.png")


def test_complaints_and_consultations(rt, world):
    ref = make_case(rt, world, CaseState.CLOSED)
    feedback.record_complaint(
        rt, world.window, channel="12345热线", content="等候时间太长", case_id=ref.id
    )
    item = world.township_item()
    feedback.record_consultation(rt, world.issuance, item_code=item.code, channel="电话")
    assert ComplaintRecord.select().count() == 1
    assert ConsultationRecord.select().count() == 1
    with pytest.raises(ValidationError):
        feedback.record_complaint(rt, world.window, channel="微博", content="内容内容")
    with pytest.raises(PermissionDenied):
        feedback.record_consultation(
            rt, world.stations["nongye"], item_code=item.code, channel="窗口"
        )
    with pytest.raises(NotFound):
        feedback.record_consultation(rt, world.window, item_code="370999-XX-999", channel="窗口")
    assert ConsultationRecord.select().count() == 1
