"""Protocol v1 for the county workspace: case status at the county, inbox pages, case detail."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from uuid import UUID

from sync.protocol import CountyEvent, HandoffPackage, PackageAction
from sync.protocol_types import IsoDateTime, Model


class CountyStatus(StrEnum):
    """Where a 帮代办 case stands at the county (packages and events move it)."""

    HANDED_OFF = "handed_off"
    SIGNED = "signed"
    CORRECTION = "correction"
    SUPPLEMENTED = "supplemented"
    DECIDED = "decided"
    DISPATCHED = "dispatched"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]


STATUS_LABELS: dict[CountyStatus, str] = {
    CountyStatus.HANDED_OFF: "待签收",
    CountyStatus.SIGNED: "已签收",
    CountyStatus.CORRECTION: "待乡镇补正",
    CountyStatus.SUPPLEMENTED: "已补正待审",
    CountyStatus.DECIDED: "已办结待送达",
    CountyStatus.DISPATCHED: "结果已送出",
    CountyStatus.CLOSED: "办结",
    CountyStatus.WITHDRAWN: "已撤回",
}


class CaseSummary(Model):
    """One line of the county inbox: no personal data, so lists can be shown anywhere."""

    case_uuid: UUID
    township: str
    township_name: str
    case_no: str
    item_code: str
    item_name: str
    status: CountyStatus
    status_label: str
    deadline: date | None
    handed_off_on: date
    latest_revision: int
    received_at: IsoDateTime
    updated_at: IsoDateTime


class CasePage(Model):
    cases: list[CaseSummary]
    total: int
    offset: int
    limit: int


class PackageInfo(Model):
    revision: int
    action: PackageAction
    received_at: IsoDateTime


class CaseDetail(Model):
    """A case as county staff open it: the latest package in full, its history, its events."""

    summary: CaseSummary
    package: HandoffPackage
    history: list[PackageInfo]
    events: list[CountyEvent]


class TownshipStats(Model):
    """Per-township figures for the county workspace (cases by status, and overdue ones)."""

    township: str
    name: str
    total: int
    by_status: dict[CountyStatus, int]
    overdue: int
