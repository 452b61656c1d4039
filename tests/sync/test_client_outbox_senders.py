"""The outbox sends several cases at once: each row exactly once, a case's revisions in order,
one case's failure holding up no other. A county stand-in in memory answers like the server."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any
from uuid import UUID

import pytest
from county_helpers import PDF
from helpers.factories import drive, make_case

from app.domain.case import Action
from app.domain.states import CaseState
from app.store.models import CaseRecord, OutboxRecord
from sync.client.http import ServerTrouble, Unreachable
from sync.client.outbox import SENDERS, run_once
from sync.protocol import HandoffPackage

# Long enough for any machine to get the senders together; reached only when they never are.
GATHER_SECONDS = 20.0


class FakeCounty:
    """Answers like the county server. The first `together` packages wait until that many
    are in flight at once; packages of `failing` are refused with a 500, or end the pass as
    unreachable with `offline`."""

    def __init__(
        self, together: int = 0, failing: frozenset[UUID] = frozenset(), offline: bool = False
    ) -> None:
        self._lock = threading.Lock()
        self._gate = threading.Barrier(together, timeout=GATHER_SECONDS) if together else None
        self._waiting = together
        self.failing = failing
        self.offline = offline
        self.posted: list[tuple[UUID, int]] = []
        self.blobs: set[str] = set()
        self.met = False

    def missing_blobs(self, hashes: list[str]) -> list[str]:
        with self._lock:
            return [h for h in hashes if h not in self.blobs]

    def put_blob(self, sha256: str, data: bytes) -> None:
        with self._lock:
            self.blobs.add(sha256)

    def _gather(self) -> None:
        with self._lock:
            wait = self._gate is not None and self._waiting > 0
            self._waiting -= 1
        if wait:
            assert self._gate is not None
            self._gate.wait()  # BrokenBarrierError (the row is refused) if never together
            self.met = True

    def post_package(self, body: bytes) -> dict[str, Any]:
        package = HandoffPackage.model_validate_json(body)
        if package.case_uuid in self.failing:
            if self.offline:
                raise Unreachable("无法连接县级服务器", code="offline")
            raise ServerTrouble("县级服务器暂时出错（500），稍后自动重试", status=500)
        self._gather()
        with self._lock:
            self.posted.append((package.case_uuid, package.revision))
        return {
            "case_uuid": str(package.case_uuid),
            "revision": package.revision,
            "attachments": package.attachment_hashes(),
        }


def _handed_off(rt: Any, world: Any, count: int, *, withdrawn: int = 0) -> list[UUID]:
    """`count` handed-off cases with a scan each; the first `withdrawn` also withdrawn
    (a second revision queued behind the first)."""
    from app.services.attachments import add_attachment

    material = world.county_item().materials[0].name
    uuids = []
    for n in range(count):
        ref = make_case(rt, world, CaseState.ACCEPTED, county=True)
        scan = PDF + f"% scan {n}\n".encode()
        add_attachment(rt, world.window, ref.id, scan, original_name="扫描件.pdf",
                       material=material)  # fmt: skip
        ref = drive(rt, world, ref, world.window, Action.HAND_OFF)
        if n < withdrawn:
            drive(rt, world, ref, world.window, Action.WITHDRAW, {"reason": "申请人撤回"})
        uuids.append(CaseRecord.get_by_id(ref.id).uuid)
    return uuids


def _statuses() -> Counter[str]:
    return Counter(row.status for row in OutboxRecord.select())


def test_several_cases_in_flight_each_sent_once_revisions_in_order(rt: Any, world: Any):
    uuids = _handed_off(rt, world, 6, withdrawn=2)
    county = FakeCounty(together=SENDERS)
    report = run_once(rt, county)  # type: ignore[arg-type]
    assert county.met, "the senders never had several cases in flight at once"
    assert (report.delivered, report.retrying, report.stopped, report.blocked) == (8, 0, 0, 0)
    assert Counter(county.posted) == Counter([(u, 1) for u in uuids] + [(u, 2) for u in uuids[:2]])
    for case_uuid in uuids[:2]:
        assert [r for u, r in county.posted if u == case_uuid] == [1, 2]
    assert _statuses() == {"delivered": 8}
    assert run_once(rt, county).delivered == 0  # type: ignore[arg-type]
    assert len(county.posted) == 8


def test_one_failing_case_holds_up_no_other(rt: Any, world: Any):
    uuids = _handed_off(rt, world, 5, withdrawn=1)
    county = FakeCounty(failing=frozenset({uuids[0]}))
    report = run_once(rt, county)  # type: ignore[arg-type]
    # The failed case's first revision waits for a retry; its second must wait behind it.
    assert (report.delivered, report.retrying, report.blocked) == (4, 1, 1)
    assert sorted(county.posted) == sorted((u, 1) for u in uuids[1:])
    failed = OutboxRecord.select().where(OutboxRecord.status == "pending")
    assert sorted(r.revision for r in failed) == [1, 2]
    first = next(r for r in failed if r.revision == 1)
    assert first.attempts == 1 and "500" in first.last_error
    assert _statuses() == {"delivered": 4, "pending": 2}


def test_unreachable_ends_the_pass_and_every_row_is_recorded(rt: Any, world: Any):
    uuids = _handed_off(rt, world, 6)
    county = FakeCounty(failing=frozenset(uuids), offline=True)
    report = run_once(rt, county)  # type: ignore[arg-type]
    # The senders that were in flight record their row; the others stop before sending.
    assert report.delivered == 0 and 1 <= report.retrying <= SENDERS
    tried = list(OutboxRecord.select().where(OutboxRecord.attempts > 0))
    assert len(tried) == report.retrying
    assert all(r.status == "pending" and "无法连接" in r.last_error for r in tried)


def test_one_sender_sends_in_the_callers_thread(rt: Any, world: Any):
    uuids = _handed_off(rt, world, 3)
    seen: set[str] = set()

    class Watching(FakeCounty):
        def post_package(self, body: bytes) -> dict[str, Any]:
            seen.add(threading.current_thread().name)
            return super().post_package(body)

    county = Watching()
    assert run_once(rt, county, senders=1).delivered == 3  # type: ignore[arg-type]
    assert seen == {threading.current_thread().name}
    assert [u for u, _ in county.posted] == uuids  # oldest case first


def test_an_unexpected_error_in_a_sender_reaches_the_caller(rt: Any, world: Any):
    _handed_off(rt, world, 4)

    class Broken(FakeCounty):
        def post_package(self, body: bytes) -> dict[str, Any]:
            raise LookupError("boom")

    with pytest.raises(LookupError, match="boom"):
        run_once(rt, Broken())  # type: ignore[arg-type]
    assert set(_statuses()) == {"pending"}
