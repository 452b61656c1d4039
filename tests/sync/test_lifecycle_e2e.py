"""帮代办 from intake to closed, with the real county server process, on both databases.

The township acts only through its services (intake, workflow actions, attachments, documents,
the desks' queues) and the sync worker's `run_cycle`, as the desktop client does; the county
only through its HTTP API with a staff token, as the county workspace does. After every step
both sides are checked: the township case (state, version, audit trail), the county inbox and
detail (status, packages, events), the event cursor, and that a second cycle changes nothing.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from county_helpers import (
    ADDRESS,
    APPLICANT_ID,
    APPLICANT_NAME,
    APPLICANT_PHONE,
    JPEG,
    PDF,
    PNG,
    PROXY_ID,
    PROXY_NAME,
    PROXY_PHONE,
    TOWNSHIP,
    bearer,
    sha,
)
from county_live import LiveCounty
from helpers.factories import form_data

from app.domain.case import Action
from app.domain.queues import WINDOW_FOLLOW_UP
from app.domain.states import CaseState, MaterialStatus
from app.services import audit, case_view, documents, intake_support
from app.services.attachments import add_attachment
from app.services.cases import CaseRef, IntakeRequest, MaterialInput, act
from app.services.people import PersonInput, ProxyInput
from app.store.models import (
    CaseMaterialRecord,
    CaseRecord,
    DocumentRecord,
    EvaluationRecord,
    OutboxRecord,
)
from sync.client.config import SyncConfig
from sync.client.events import apply_event, cursor, sync_actor
from sync.client.http import CountyClient
from sync.client.outbox import RunReport
from sync.client.worker import CycleReport, run_cycle

S = CaseState
CORRECTED = "残疾评定表"  # the material the county sends back (required, not deferrable)
BASIS = "《残疾人残疾分类和分级》（GB/T 26341-2010）：评定结果未达到残疾标准"


@dataclass
class Town:
    """The township runtime and its sync client, the county process, and what was checked."""

    rt: Any
    world: Any
    county: LiveCounty
    client: CountyClient
    ref: CaseRef | None = None
    seen: int = 0  # audit entries of the case already checked
    events: list[str] = field(default_factory=list)  # the county's events so far, in order

    @property
    def case(self) -> CaseRecord:
        assert self.ref is not None
        return CaseRecord.get_by_id(self.ref.id)

    def trail(self, *actions: str) -> list[audit.AuditEntry]:
        """The case's audit entries since the last check are exactly these, in this order."""
        entries = audit.events_for("case", str(self.case.uuid))
        new = entries[self.seen :]
        assert [e.action for e in new] == list(actions)
        self.seen = len(entries)
        return new

    def township(self, state: CaseState, version: int) -> CaseRecord:
        case = self.case
        assert (case.state, case.version) == (state.value, version)
        return case

    def act(self, actor: Any, action: Action, data: dict[str, Any] | None = None) -> CaseRecord:
        """A desk takes an action on the case as its workspace shows it now."""
        assert self.ref is not None
        seen = case_view.get_case(self.rt, actor, self.ref.id)
        assert action in case_view.allowed_actions(actor, seen.id)  # the button is enabled
        self.ref = act(self.rt, actor, seen.id, action, data or {}, expected_version=seen.version)
        return self.case

    def post(self, kind: str, data: dict[str, Any]) -> None:
        """County staff record an event (POST /api/v1/events with the staff token)."""
        self.county.event(str(self.case.uuid), kind, data)
        self.events.append(kind)

    def refused(self, kind: str, data: dict[str, Any]) -> requests.Response:
        body = {"case_uuid": str(self.case.uuid), "kind": kind, "data": data}
        return requests.post(f"{self.county.url}/api/v1/events", json=body,
                             headers=bearer(self.county.staff), timeout=10)  # fmt: skip

    def cycle(self, *, delivered: int = 0, applied: int = 0, recorded: int = 0) -> CycleReport:
        """One worker cycle doing exactly this; a second one right after does nothing."""
        report = run_cycle(self.rt, self.client)
        assert report.error == "" and report.events is not None
        assert report.sent == RunReport(delivered=delivered)
        got = (report.events.applied, report.events.recorded, report.events.skipped)
        assert got == (applied, recorded, [])
        assert report.events.cursor == cursor() == len(self.events)
        version = self.case.version
        again = run_cycle(self.rt, self.client)
        assert again.sent == RunReport() and again.events is not None
        assert (again.events.applied, again.events.recorded, again.events.skipped) == (0, 0, [])
        assert again.events.cursor == cursor() == len(self.events)
        assert self.case.version == version
        return report

    def at_county(self, status: str, revisions: list[str]) -> dict[str, Any]:
        """The county inbox row and detail: status, package history, the events recorded."""
        uuid = str(self.case.uuid)
        inbox = self.county.staff_get("/county/cases", township=TOWNSHIP).json()
        [row] = [c for c in inbox["cases"] if c["case_uuid"] == uuid]
        assert (row["status"], row["latest_revision"]) == (status, len(revisions))
        detail: dict[str, Any] = self.county.staff_get(f"/county/cases/{uuid}").json()
        assert detail["summary"]["status"] == status
        assert [(h["revision"], h["action"]) for h in detail["history"]] == list(
            enumerate(revisions, start=1)
        )
        assert [e["kind"] for e in detail["events"]] == self.events
        assert [e["seq"] for e in detail["events"]] == list(range(1, len(self.events) + 1))
        return detail

    def outbox(self) -> list[tuple[str, int, str]]:
        rows = OutboxRecord.select().where(OutboxRecord.case == self.case.id)
        return [(r.kind, r.revision, r.status) for r in rows.order_by(OutboxRecord.revision)]

    def queue(self, actor: Any, states: tuple[CaseState, ...] | None = None) -> list[str]:
        """The case numbers a desk's list shows (the query the workspace runs)."""
        scope = case_view.queue_filter(self.rt, actor, states=states)
        return [r.case_no for r in case_view.queue_page(scope, 0, 100, urgent=states is None)]

    def document(self, actor: Any, kind: str) -> str:
        issued = documents.issue(self.rt, actor, kind, case_id=self.case.id)
        assert not issued.reprint and DocumentRecord.get(number=issued.number).status == "issued"
        return pdf_text(issued.path)


def pdf_text(path: Path) -> str:
    done = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True, timeout=60)  # fmt: skip
    return "".join(done.stdout.split())  # CJK lines wrap anywhere: compare without whitespace


@pytest.fixture
def town(rt: Any, world: Any, clock: Any, tmp_path: Path, county_db_url: str) -> Iterator[Town]:
    # The county process runs on the real clock and refuses event dates after its today, so
    # the township works on the same day.
    clock.value = datetime.combine(date.today(), time(9, 30))
    county = LiveCounty(tmp_path, county_db_url)
    county.start()
    client = CountyClient(SyncConfig(county.url, county.township))
    try:
        yield Town(rt, world, county, client)
    finally:
        client.close()
        county.stop()


def take_in(town: Town) -> CaseRef:
    """接件 of a county item as 帮代办, through the intake service the window page calls:
    applicant, proxy, checklist, form and two scanned attachments, in one transaction."""
    item = town.world.county_item()
    who = PersonInput(APPLICANT_NAME, APPLICANT_ID, phone=APPLICANT_PHONE, address=ADDRESS)
    proxy = ProxyInput(PROXY_NAME, PROXY_ID, relation="村帮代办员", phone=PROXY_PHONE)
    materials = item.materials
    request = IntakeRequest(
        item_code=item.code,
        applicant=who,
        materials=tuple(MaterialInput(m.name, MaterialStatus.RECEIVED) for m in materials),
        form_data=form_data(item, who),
        proxy=proxy,
        authorisation=intake_support.authorisation_text(item, "proxy"),
        handling_mode="proxy",
    )
    files = (
        intake_support.PendingFile("身份证.pdf", PDF, materials[0].name),
        intake_support.PendingFile("照片.png", PNG, materials[2].name),
    )
    town.ref = intake_support.submit_intake(town.rt, town.world.window, request, files)
    town.trail("case.intake", "case.attachment", "case.attachment")
    return town.ref


def handed_off_and_delivered(town: Town) -> int:
    """Intake, 受理, 移交 with 委托书 and 移交单, the hand-off package delivered; the version."""
    w = town.world.window
    v = take_in(town).version
    assert town.township(S.RECEIVED, v).revision == 0
    town.act(w, Action.ACCEPT)
    town.trail("case.accept")
    town.act(w, Action.HAND_OFF)
    case = town.township(S.HANDED_OFF, v + 2)
    assert (case.revision, case.handed_off_on) == (1, date.today())
    assert town.outbox() == [("hand_off", 1, "pending")]
    authorisation = town.document(w, "proxy_authorisation")
    assert "帮代办委托书" in authorisation and PROXY_NAME in authorisation
    handover = town.document(w, "handover")
    assert "帮代办移交单" in handover and case.case_no in handover
    town.trail("case.hand_off", "document.issue", "document.issue")
    assert case.case_no in town.queue(w, WINDOW_FOLLOW_UP)

    town.cycle(delivered=1)
    assert town.outbox() == [("hand_off", 1, "delivered")]
    detail = town.at_county("handed_off", ["hand_off"])
    package = detail["package"]
    assert [a["sha256"] for a in package["attachments"]] == [sha(PDF), sha(PNG)]
    assert package["applicant"]["id_number"] == APPLICANT_ID
    assert package["proxy"]["name"] == PROXY_NAME and package["case_no"] == case.case_no
    town.trail()  # delivery is the outbox row's business, not a step of the case
    row = OutboxRecord.get(case=case.id, revision=1)
    assert [e.action for e in audit.events_for("outbox", str(row.id))] == ["sync.delivered"]
    return v + 2


def test_journey_correction_supplement_approved_township_pickup_closed(town: Town):
    w, issuance, today = town.world.window, town.world.issuance, date.today()
    v = handed_off_and_delivered(town)

    # County signs; a second desk's worker that fetched the same page applies nothing again.
    town.post("signed", {"on": today.isoformat()})
    early = town.client.events(0, 100)
    town.cycle(applied=1)
    assert town.township(S.HANDED_OFF, v + 1).county_signed_on == today
    town.trail("case.county_signed")
    assert [apply_event(town.rt, sync_actor(TOWNSHIP), e) for e in early.events] == [""]
    town.township(S.HANDED_OFF, v + 1)
    town.trail()
    town.at_county("signed", ["hand_off"])

    # County asks for one material again; the window sees it in its follow-up list.
    due = today + timedelta(days=10)
    missing = [{"name": CORRECTED, "reason": "评定表缺少评定医师签字"}]
    town.post("correction", {"missing": missing, "due_date": due.isoformat()})
    town.cycle(applied=1)
    case = town.township(S.CORRECTION_REQUIRED, v + 2)
    assert (case.correction_items, case.correction_due) == (missing, due)
    line = CaseMaterialRecord.get(case=case.id, name=CORRECTED)
    assert (line.status, line.reason) == (MaterialStatus.DEFECTIVE.value, "评定表缺少评定医师签字")
    assert case.case_no in town.queue(w, WINDOW_FOLLOW_UP) and case.case_no in town.queue(w)
    [entry] = town.trail("case.request_correction")
    assert entry.account == "county-sync" and entry.details["items"] == [CORRECTED]
    notice = town.document(w, "correction")
    assert "补正材料通知书" in notice and CORRECTED in notice and "评定医师签字" in notice
    town.trail("document.issue")
    town.at_county("correction", ["hand_off"])

    # The applicant brings the signed form: scanned, recorded, sent as revision 2.
    add_attachment(town.rt, w, case.id, JPEG, original_name="评定表.jpg", material=CORRECTED)
    detail = case_view.get_case(town.rt, w, case.id)
    assert intake_support.supplement_lines(detail) == [CORRECTED]
    town.act(w, Action.SUPPLEMENT, {"received": [CORRECTED]})
    case = town.township(S.HANDED_OFF, v + 3)
    assert (case.revision, case.correction_items, case.correction_due) == (2, [], None)
    assert town.outbox() == [("hand_off", 1, "delivered"), ("supplement", 2, "pending")]
    town.trail("case.attachment", "case.supplement")
    town.cycle(delivered=1)
    detail = town.at_county("supplemented", ["hand_off", "supplement"])
    attachments = {a["sha256"]: a["material"] for a in detail["package"]["attachments"]}
    assert attachments[sha(JPEG)] == CORRECTED and len(attachments) == 3
    statuses = {m["name"]: m["status"] for m in detail["package"]["materials"]}
    assert statuses[CORRECTED] == "received"
    assert town.county.staff_get(f"/county/blobs/{sha(JPEG)}").content == JPEG

    # County approves, then keeps the result for the township to hand over.
    town.post("decided", {"decision": "approved", "opinion": "经审核，符合办证条件，准予办理",
                          "on": today.isoformat()})  # fmt: skip
    town.cycle(applied=1)
    case = town.township(S.HANDED_OFF, v + 4)
    assert (case.decision, case.decided_on) == ("approved", today)
    assert case.opinion == "经审核，符合办证条件，准予办理"
    town.trail("case.county_decided")
    town.at_county("decided", ["hand_off", "supplement"])
    town.post("dispatched", {"method": "township_pickup", "on": today.isoformat()})
    town.cycle(applied=1)
    case = town.township(S.READY_TO_ISSUE, v + 5)
    assert case.county_dispatch == "township_pickup"
    assert case.case_no in town.queue(issuance)
    assert case.case_no not in town.queue(w, WINDOW_FOLLOW_UP)
    town.trail("case.county_dispatched")
    town.at_county("dispatched", ["hand_off", "supplement"])

    # 出件: the 办结通知书, the proxy collects (ID and 委托书 checked), 好差评, 办结.
    notice = town.document(issuance, "completion")
    assert "准予办理" in notice and case.case_no in notice
    assert "到青禾县青禾镇便民服务中心领取" in notice  # not the county hall of the 办事指南
    town.act(issuance, Action.ISSUE, {"method": "pickup", "collector_name": PROXY_NAME,
                                      "collector_role": "proxy", "id_checked": True,
                                      "authorisation_checked": True})  # fmt: skip
    assert town.township(S.ISSUED, v + 6).collector_role == "proxy"
    receipt = town.document(issuance, "delivery")
    assert "结果送达回证" in receipt and "受托代领人" in receipt
    town.act(issuance, Action.CLOSE, {"rating": 5, "comment": "帮代办省得跑县城"})
    case = town.township(S.CLOSED, v + 7)
    assert case.finished_on == today and EvaluationRecord.get(case=case.id).level == 5
    town.trail("document.issue", "case.issue", "document.issue", "case.close")
    town.cycle()  # closing at the township sends nothing: the county archives on its own
    assert case.case_no not in town.queue(issuance)

    # County archives: the township only notes it.
    town.post("closed", {"on": today.isoformat(), "note": "材料已归档"})
    town.cycle(recorded=1)
    town.township(S.CLOSED, v + 7)
    [entry] = town.trail("sync.event_closed")
    assert (entry.outcome, entry.details["seq"]) == ("ok", 5)
    town.at_county("closed", ["hand_off", "supplement"])
    assert audit.verify(town.rt.audit_key).ok


def test_journey_denied_with_appeal_route_mailed_closed(town: Town):
    issuance, today = town.world.issuance, date.today()
    v = handed_off_and_delivered(town)

    town.post("signed", {"on": today.isoformat()})
    town.post("decided", {"decision": "denied", "opinion": "经鉴定，不符合残疾人证办理条件",
                          "basis": BASIS, "on": today.isoformat()})  # fmt: skip
    town.cycle(applied=2)  # both events in one cycle, in order
    case = town.township(S.HANDED_OFF, v + 2)
    assert (case.decision, case.decision_basis, case.decided_on) == ("denied", BASIS, today)
    town.trail("case.county_signed", "case.county_decided")
    shown = case_view.get_case(town.rt, issuance, case.id)
    assert (shown.decision, shown.opinion) == ("denied", "经鉴定，不符合残疾人证办理条件")
    town.at_county("decided", ["hand_off"])

    notice = town.document(issuance, "completion")
    assert "不予办理" in notice and "".join(BASIS.split()) in notice
    assert "青禾县人民政府申请行政复议" in notice and "青禾县人民法院提起行政诉讼" in notice
    town.trail("document.issue")

    town.post("dispatched", {"method": "mail", "carrier": "中国邮政EMS",
                             "tracking_no": "1187654321098", "on": today.isoformat()})  # fmt: skip
    town.cycle(applied=1)
    case = town.township(S.READY_TO_ISSUE, v + 3)
    assert (case.county_dispatch, case.carrier, case.tracking_no) == (
        "mail", "中国邮政EMS", "1187654321098")  # fmt: skip
    assert case_view.get_case(town.rt, issuance, case.id).tracking_no == "1187654321098"
    assert case.case_no in town.queue(issuance)
    town.trail("case.county_dispatched")
    town.at_county("dispatched", ["hand_off"])

    # The 出件 desk records the county's mailing and closes the case.
    mailing = {"carrier": case.carrier, "tracking_no": case.tracking_no}
    town.act(issuance, Action.ISSUE, {"method": "mail", "address": ADDRESS, **mailing})
    assert town.township(S.ISSUED, v + 4).issue_method == "mail"
    town.act(issuance, Action.CLOSE, {"rating": None})
    town.township(S.CLOSED, v + 5)
    town.trail("case.issue", "case.close")
    town.cycle()
    town.at_county("dispatched", ["hand_off"])
    assert audit.verify(town.rt.audit_key).ok


def test_journey_withdrawn_before_signing_refuses_later_county_events(town: Town):
    w, today = town.world.window, date.today()
    v = handed_off_and_delivered(town)

    town.act(w, Action.WITHDRAW, {"reason": "申请人决定暂不办理"})
    case = town.township(S.WITHDRAWN, v + 1)
    assert (case.revision, case.withdraw_reason, case.finished_on) == (2, "申请人决定暂不办理",
                                                                       today)  # fmt: skip
    assert town.outbox() == [("hand_off", 1, "delivered"), ("withdraw", 2, "pending")]
    assert case.case_no not in town.queue(w, WINDOW_FOLLOW_UP)
    town.trail("case.withdraw")
    town.cycle(delivered=1)
    detail = town.at_county("withdrawn", ["hand_off", "withdraw"])
    assert detail["package"]["reason"] == "申请人决定暂不办理"

    later = {
        "signed": {"on": today.isoformat()},
        "correction": {"missing": [{"name": CORRECTED, "reason": "缺签字"}],
                       "due_date": (today + timedelta(days=5)).isoformat()},
        "decided": {"decision": "approved", "opinion": "准予办理", "on": today.isoformat()},
    }  # fmt: skip
    for kind, data in later.items():
        answer = town.refused(kind, data)
        assert answer.status_code == 409, (kind, answer.text)
        assert answer.json()["code"] == "state_conflict" and "已撤回" in answer.json()["detail"]
    page = requests.get(f"{town.county.url}/api/v1/events", headers=bearer(town.county.township),
                        timeout=10).json()  # fmt: skip
    assert (page["events"], page["next_cursor"]) == ([], 0)  # a refused event takes no seq
    town.cycle()
    town.township(S.WITHDRAWN, v + 1)
    town.trail()
    town.at_county("withdrawn", ["hand_off", "withdraw"])
