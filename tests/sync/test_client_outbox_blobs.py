"""Which blobs go up before a package: only those the county says it lacks, asked at every
send; and the audit of a finished row."""

from __future__ import annotations

from typing import Any

import pytest
from county_helpers import JPEG, PDF, sha
from helpers.factories import drive, make_case

from app.domain.case import Action
from app.domain.states import CaseState
from app.services import audit
from app.services.attachments import add_attachment
from app.store.models import CaseRecord, OutboxRecord
from sync.client import outbox
from sync.client.http import Refused, ServerTrouble
from sync.client.outbox import run_once
from sync.protocol import HandoffPackage

SCANS = (PDF, JPEG)


class RecordingCounty:
    """Answers like the county server and records every request. `failures`: raised by the
    next package posts, one each; `lost`: blobs it says it has but does not."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.blobs: set[str] = set()
        self.lost: set[str] = set()
        self.failures: list[Exception] = []

    def missing_blobs(self, hashes: list[str]) -> list[str]:
        self.calls.append(("missing", tuple(hashes)))
        return [h for h in hashes if h not in self.blobs and h not in self.lost]

    def put_blob(self, sha256: str, data: bytes) -> None:
        assert sha(data) == sha256
        self.calls.append(("put", sha256))
        self.blobs.add(sha256)
        self.lost.discard(sha256)

    def post_package(self, body: bytes) -> dict[str, Any]:
        package = HandoffPackage.model_validate_json(body)
        self.calls.append(("package", package.revision))
        if self.failures:
            raise self.failures.pop(0)
        lacking = [h for h in package.attachment_hashes() if h not in self.blobs]
        if lacking:
            raise Refused("县级缺少附件", code="missing_blobs", status=422, missing=lacking)
        return {
            "case_uuid": str(package.case_uuid),
            "revision": package.revision,
            "attachments": package.attachment_hashes(),
        }


def _accepted_with_scans(rt: Any, world: Any) -> Any:
    ref = make_case(rt, world, CaseState.ACCEPTED, county=True)
    material = world.county_item().materials[0].name
    for scan in SCANS:
        add_attachment(rt, world.window, ref.id, scan, original_name="扫描件", material=material)
    return ref


def _handed_off(rt: Any, world: Any, *, withdrawn: bool = False) -> OutboxRecord:
    """A handed-off case with two scans (withdrawn too: a revision 2 queued behind); its
    revision 1 row."""
    ref = drive(rt, world, _accepted_with_scans(rt, world), world.window, Action.HAND_OFF)
    if withdrawn:
        drive(rt, world, ref, world.window, Action.WITHDRAW, {"reason": "申请人撤回"})
    return OutboxRecord.get((OutboxRecord.case == ref.id) & (OutboxRecord.revision == 1))


def _send(rt: Any, county: RecordingCounty) -> outbox.RunReport:
    return run_once(rt, county, senders=1)  # type: ignore[arg-type]


HASHES = tuple(sha(scan) for scan in SCANS)


def test_the_first_send_asks_and_uploads_only_what_the_county_lacks(rt: Any, world: Any):
    _handed_off(rt, world)
    county = RecordingCounty()
    county.blobs.add(HASHES[0])  # the same scan came with another case before
    assert _send(rt, county).delivered == 1
    assert county.calls == [("missing", HASHES), ("put", HASHES[1]), ("package", 1)]


def test_a_later_revision_asks_and_uploads_nothing_twice(rt: Any, world: Any):
    _handed_off(rt, world, withdrawn=True)
    county = RecordingCounty()
    assert _send(rt, county).delivered == 2
    assert county.calls[4:] == [("missing", HASHES), ("package", 2)]


def test_a_retried_row_asks_first(rt: Any, world: Any, clock: Any):
    row = _handed_off(rt, world)
    county = RecordingCounty()
    county.failures.append(ServerTrouble("县级服务器暂时出错（500），稍后自动重试", status=500))
    assert _send(rt, county).retrying == 1
    assert OutboxRecord.get_by_id(row.id).attempts == 1
    county.calls.clear()
    clock.advance(hours=2)
    assert _send(rt, county).delivered == 1
    assert county.calls == [("missing", HASHES), ("package", 1)]


def test_an_uncertain_row_asks_first(rt: Any, world: Any):
    row = _handed_off(rt, world)
    OutboxRecord.update(status="uncertain").where(OutboxRecord.id == row.id).execute()
    county = RecordingCounty()
    assert _send(rt, county).delivered == 1
    assert county.calls == [
        ("missing", HASHES),
        ("put", HASHES[0]),
        ("put", HASHES[1]),
        ("package", 1),
    ]


def test_a_blob_the_county_lacks_after_all_is_sent_with_the_package_again(rt: Any, world: Any):
    _handed_off(rt, world, withdrawn=True)
    county = RecordingCounty()
    county.failures.append(ServerTrouble("县级服务器暂时出错（500），稍后自动重试", status=500))
    assert _send(rt, county).retrying == 1  # revision 1's blobs went up, then the 500
    county.blobs.discard(HASHES[1])
    county.lost.add(HASHES[1])  # asked, the county still says it has it
    county.calls.clear()
    OutboxRecord.update(next_attempt_at=rt.now()).execute()
    assert _send(rt, county).delivered == 2
    assert county.calls == [
        ("missing", HASHES),
        ("package", 1),
        ("put", HASHES[1]),
        ("package", 1),
        ("missing", HASHES),
        ("package", 2),
    ]


def _audited(row: OutboxRecord) -> list[tuple[str, dict[str, Any]]]:
    return [(e.action, e.details) for e in audit.events_for("outbox", str(row.id))]


def test_the_audit_names_the_case_from_its_package(
    rt: Any, world: Any, monkeypatch: pytest.MonkeyPatch
):
    conflicting, delivered = _handed_off(rt, world), _handed_off(rt, world)

    def unread(row: OutboxRecord) -> str:
        raise AssertionError("the case was read again for its number")

    monkeypatch.setattr(outbox, "_case_no", unread)
    county = RecordingCounty()
    county.failures.append(Refused("县级已有内容不同的同一办件", code="conflict", status=409))
    report = _send(rt, county)  # the oldest case first: it meets the 409
    assert (report.delivered, report.stopped) == (1, 1)
    for row, action in ((conflicting, "sync.conflict"), (delivered, "sync.delivered")):
        case_no = CaseRecord.get_by_id(row.case_id).case_no
        [(done, details)] = _audited(row)
        assert (done, details["case_no"], details["revision"]) == (action, case_no, 1)


def test_a_row_stopped_before_its_package_exists_names_its_case(rt: Any, world: Any):
    row = _handed_off(rt, world)
    CaseRecord.update(proxy=None).where(CaseRecord.id == row.case_id).execute()
    assert _send(rt, RecordingCounty()).stopped == 1
    [(action, details)] = _audited(row)
    assert action == "sync.refused" and "没有登记代办人" in details["error"]
    assert details["case_no"] == CaseRecord.get_by_id(row.case_id).case_no
