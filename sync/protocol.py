"""The township ↔ county sync protocol, version 1 (served under /api/v1): pydantic models.

Every model forbids unknown fields and bounds every string, list and number, so a malformed
request is refused before it reaches storage. Custom checks raise ValueError with a Chinese
message; the server turns pydantic's own error types into Chinese (sync.server.errors).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import ConfigDict, Field, StrictBool, StrictInt, StringConstraints, model_validator

from app.domain.states import MaterialStatus
from sync.protocol_types import MAX_BLOB_BYTES as MAX_BLOB_BYTES
from sync.protocol_types import (
    RESIDENT_ID,
    USCC,
    CaseNo,
    CatalogVersion,
    FieldKey,
    FormValue,
    IsoDate,
    IsoDateTime,
    Label,
    Line,
    Model,
    Name,
    Note,
    QueryCode,
    Reason,
    Revision,
    Sha256,
    TownshipCode,
    check_id_number,
    check_phone_number,
)

PROTOCOL_VERSION = 1
API_PREFIX = "/api/v1"
BLOB_MIMES = ("application/pdf", "image/jpeg", "image/png")


class ErrorBody(Model):
    """Every 4xx answer: a complete Chinese sentence for people, a stable code for programs."""

    detail: str
    code: str
    missing: list[Sha256] | None = None


class Health(Model):
    status: Literal["ok"] = "ok"
    protocol: int = PROTOCOL_VERSION
    server_time: IsoDateTime


# --- the 帮代办 package -------------------------------------------------------------------------


class Person(Model):
    """Applicant or proxy with the FULL numbers: the county needs them to decide the case."""

    name: Name
    id_type: Annotated[Line, StringConstraints(min_length=1, max_length=40)] = RESIDENT_ID
    id_number: Annotated[Line, StringConstraints(min_length=1, max_length=40)]
    id_override_reason: Annotated[Line, StringConstraints(max_length=500)] = ""
    phone: Annotated[Line, StringConstraints(max_length=40)] = ""
    address: Annotated[Line, StringConstraints(max_length=500)] = ""

    @model_validator(mode="after")
    def _numbers(self) -> Person:
        self.id_number = check_id_number(self.id_type, self.id_number, self.id_override_reason)
        if self.phone:
            self.phone = check_phone_number(self.phone)
        return self


class Applicant(Person):
    kind: Literal["person", "org"] = "person"
    legal_rep: Annotated[Line, StringConstraints(max_length=50)] = ""

    @model_validator(mode="after")
    def _kind(self) -> Applicant:
        if self.kind == "org" and self.id_type != USCC:
            raise ValueError("法人或组织申请人的证件类型应为统一社会信用代码")
        if self.kind == "person" and not self.phone:
            raise ValueError("请填写申请人的联系电话")
        return self


class Proxy(Person):
    relation: Annotated[Line, StringConstraints(min_length=1, max_length=50)]

    @model_validator(mode="after")
    def _phone(self) -> Proxy:
        if not self.phone:
            raise ValueError("请填写代办人的联系电话")
        return self


class MaterialLine(Model):
    """One line of the materials checklist as the township window checked it."""

    name: Label
    required: StrictBool
    status: MaterialStatus
    form: Annotated[Line, StringConstraints(max_length=20)] = ""
    copies: Annotated[StrictInt, Field(ge=1, le=999)] = 1
    due_date: IsoDate | None = None
    reason: Note = ""


class AttachmentRef(Model):
    """A scanned attachment, by content: the bytes travel separately (PUT /blobs/{sha256})."""

    sha256: Sha256
    size: Annotated[StrictInt, Field(gt=0, le=MAX_BLOB_BYTES)]
    mime: Literal["application/pdf", "image/jpeg", "image/png"]
    material: Annotated[Line, StringConstraints(max_length=200)] = ""


class PackageAction(StrEnum):
    HAND_OFF = "hand_off"
    SUPPLEMENT = "supplement"
    WITHDRAW = "withdraw"


class HandoffPackage(Model):
    """One revision of a 帮代办 case as the township sends it; (case_uuid, revision) is its key."""

    case_uuid: UUID
    revision: Revision
    action: PackageAction
    reason: Note = ""
    township: TownshipCode
    case_no: CaseNo
    query_code: QueryCode
    item_code: Annotated[Line, StringConstraints(min_length=1, max_length=40)]
    item_name: Label
    catalog_version: CatalogVersion
    kind: Literal["immediate", "promised"]
    limit_days: Annotated[StrictInt, Field(ge=0, le=365)]
    accepted_on: IsoDate
    handed_off_on: IsoDate
    deadline: IsoDate | None = None
    applicant: Applicant
    proxy: Proxy
    authorisation: Reason
    commitment: StrictBool = False
    form_data: Annotated[dict[FieldKey, FormValue], Field(max_length=200)] = Field(
        default_factory=dict
    )
    materials: Annotated[list[MaterialLine], Field(min_length=1, max_length=100)]
    attachments: Annotated[list[AttachmentRef], Field(max_length=200)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> HandoffPackage:
        if not self.case_no.startswith(self.township + "-"):
            raise ValueError("办件编号须以本乡镇区划代码开头")
        if self.action is PackageAction.WITHDRAW and len(self.reason) < 2:
            raise ValueError("撤回须填写原因")
        if self.handed_off_on < self.accepted_on:
            raise ValueError("移交日期不能早于受理日期")
        if self.deadline is not None and self.deadline < self.accepted_on:
            raise ValueError("办结期限不能早于受理日期")
        names = [m.name for m in self.materials]
        if len(set(names)) != len(names):
            raise ValueError("材料清单中有重复的材料名称")
        unknown = sorted({a.material for a in self.attachments if a.material} - set(names))
        if unknown:
            raise ValueError("附件所属材料不在材料清单中：" + "、".join(unknown))
        return self

    def attachment_hashes(self) -> list[str]:
        """Every attachment's hash once, in the order of first appearance."""
        return list(dict.fromkeys(a.sha256 for a in self.attachments))


class HandoffReceipt(Model):
    """The county's answer to a package; a resend of the same content gets this same receipt."""

    case_uuid: UUID
    revision: Revision
    action: PackageAction
    case_no: CaseNo
    received_at: IsoDateTime
    attachments: list[Sha256]


class MissingBlobsRequest(Model):
    hashes: Annotated[list[Sha256], Field(min_length=1, max_length=1000)]


class MissingBlobs(Model):
    missing: list[Sha256]


class BlobStored(Model):
    sha256: Sha256
    size: int
    mime: str
    created: bool


# --- county → township events -------------------------------------------------------------------


class EventKind(StrEnum):
    SIGNED = "signed"
    CORRECTION = "correction"
    DECIDED = "decided"
    DISPATCHED = "dispatched"
    CLOSED = "closed"


class SignedData(Model):
    on: IsoDate


class CorrectionItem(Model):
    name: Label
    reason: Reason


class CorrectionData(Model):
    """Field names as the township workflow's 一次性告知 expects them (missing, due_date)."""

    missing: Annotated[list[CorrectionItem], Field(min_length=1, max_length=100)]
    due_date: IsoDate

    @model_validator(mode="after")
    def _unique(self) -> CorrectionData:
        if len({i.name for i in self.missing}) != len(self.missing):
            raise ValueError("补正材料清单中有重复的材料")
        return self


class DecidedData(Model):
    decision: Literal["approved", "denied"]
    opinion: Reason
    basis: Note = ""
    on: IsoDate

    @model_validator(mode="after")
    def _basis(self) -> DecidedData:
        if self.decision == "denied" and len(self.basis) < 2:
            raise ValueError("不予批准须写明依据")
        return self


# The carriers of app.domain.effects.CARRIERS (a test keeps the two lists equal).
Carrier = Literal["中国邮政EMS", "中国邮政", "顺丰速运", "京东物流", "圆通速递", "中通快递"]


class DispatchedData(Model):
    """By mail (carrier and tracking number) or kept for the township to fetch."""

    method: Literal["mail", "township_pickup"]
    carrier: Carrier | None = None
    tracking_no: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{8,30}$")] | None = None
    on: IsoDate

    @model_validator(mode="before")
    @classmethod
    def _upper(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("tracking_no"), str):
            return {**data, "tracking_no": data["tracking_no"].strip().upper()}
        return data

    @model_validator(mode="after")
    def _mail(self) -> DispatchedData:
        by_mail = self.carrier is not None and self.tracking_no is not None
        if self.method == "mail" and not by_mail:
            raise ValueError("邮寄须填写寄递企业和运单号")
        if self.method == "township_pickup" and (self.carrier or self.tracking_no):
            raise ValueError("乡镇领取不填寄递企业和运单号")
        return self


class ClosedData(Model):
    on: IsoDate
    note: Note = ""


class _NewEvent(Model):
    case_uuid: UUID


class NewSignedEvent(_NewEvent):
    kind: Literal["signed"]
    data: SignedData


class NewCorrectionEvent(_NewEvent):
    kind: Literal["correction"]
    data: CorrectionData


class NewDecidedEvent(_NewEvent):
    kind: Literal["decided"]
    data: DecidedData


class NewDispatchedEvent(_NewEvent):
    kind: Literal["dispatched"]
    data: DispatchedData


class NewClosedEvent(_NewEvent):
    kind: Literal["closed"]
    data: ClosedData


NewCountyEvent = Annotated[
    NewSignedEvent | NewCorrectionEvent | NewDecidedEvent | NewDispatchedEvent | NewClosedEvent,
    Field(discriminator="kind"),
]


class _Stamp(Model):
    seq: Annotated[int, Field(ge=1)]
    case_no: CaseNo
    at: IsoDateTime


class SignedEvent(NewSignedEvent, _Stamp):
    pass


class CorrectionEvent(NewCorrectionEvent, _Stamp):
    pass


class DecidedEvent(NewDecidedEvent, _Stamp):
    pass


class DispatchedEvent(NewDispatchedEvent, _Stamp):
    pass


class ClosedEvent(NewClosedEvent, _Stamp):
    pass


CountyEvent = Annotated[
    SignedEvent | CorrectionEvent | DecidedEvent | DispatchedEvent | ClosedEvent,
    Field(discriminator="kind"),
]


class EventPage(Model):
    """Events with seq > the cursor asked for; pass next_cursor as `after` to go on."""

    events: list[CountyEvent]
    next_cursor: int
    has_more: bool


# --- county → township: catalog and holiday calendar ----------------------------------------------


class CatalogUpload(Model):
    content: Annotated[str, StringConstraints(min_length=2, max_length=3_000_000)]


class CatalogRelease(Model):
    """A published catalog version; `content` is forms.catalog's canonical JSON text."""

    # `content` is hashed as is: not even its final newline may be trimmed.
    model_config = ConfigDict(str_strip_whitespace=False)

    version: CatalogVersion
    sha256: Sha256
    published: IsoDate
    items: int
    uploaded_at: IsoDateTime
    content: str


class HolidayEntry(Model):
    date: IsoDate
    kind: Literal["holiday", "workday"]
    name: Annotated[Line, StringConstraints(min_length=1, max_length=40)]


class HolidayCalendar(Model):
    """The holiday file format of app.domain.calendar (years declared, then their exceptions)."""

    years: Annotated[list[Annotated[StrictInt, Field(ge=1900, le=2200)]], Field(min_length=1)]
    days: Annotated[list[HolidayEntry], Field(max_length=5000)]


class HolidayRelease(HolidayCalendar):
    sha256: Sha256
    updated_at: IsoDateTime
