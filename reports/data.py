"""Plain data that documents are printed from: personal numbers arrive already masked.

A full ID number is printed only where the document cannot serve its purpose without it, and
only through a field whose name says so (`…_id_full`, on 帮代办委托书 alone): a caller has to
pass it on purpose, it never slips through from a `Party`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from app.domain.masking import mask_address, mask_id, mask_phone, mask_uscc
from forms.schema import Item

USCC_ID_TYPE = "统一社会信用代码"


@dataclass(frozen=True)
class Organ:
    """The issuing office: printed in the page header and above the seal."""

    township: str  # "青禾镇"
    county: str  # "青禾县"
    name: str  # the name on the seal: "青禾镇人民政府便民服务中心"
    address: str
    phone: str  # the office's public number, printed in full

    @property
    def header(self) -> str:
        return f"{self.county}{self.township}便民服务中心"


@dataclass(frozen=True)
class Party:
    """An applicant, proxy or collector as printed: identity numbers masked."""

    name: str
    id_type: str
    id_masked: str
    phone_masked: str
    address_masked: str = ""

    @classmethod
    def from_full(
        cls, name: str, id_type: str, id_number: str, phone: str = "", address: str = ""
    ) -> Party:
        """Mask full values here so that a caller holding them cannot print them by mistake.

        An organisation's 统一社会信用代码 stays readable: it is public and staff check it.
        """
        masked_id = mask_uscc(id_number) if id_type == USCC_ID_TYPE else mask_id(id_number)
        return cls(name, id_type, masked_id, mask_phone(phone), mask_address(address))


@dataclass(frozen=True)
class MaterialRow:
    """One material line: what was (or must be) handed in and how it stands."""

    name: str
    form: str  # "原件" / "复印件" / "原件、复印件" / "电子"
    copies: int
    status: str  # label, e.g. "已收取", "容缺后补", "缺少", "不符合要求"
    due_date: date | None = None  # 容缺 or correction deadline for this material
    reason: str = ""  # why it is missing or defective, or what to bring


@dataclass(frozen=True)
class CaseDoc:
    """What every case document prints; one instance per document (its own number and date)."""

    organ: Organ
    document_no: str  # 文书编号
    issued_on: date
    case_no: str
    query_code: str
    progress_url: str  # the full URL encoded in the QR code
    item_code: str
    item_name: str
    kind_label: str  # 即办件 / 承诺件
    promised_days: int  # 0 for 即办件
    received_at: datetime
    applicant: Party
    clerk: str
    desk: str
    handling_mode: str  # "窗口办理" / "帮代办（县级）" …
    materials: tuple[MaterialRow, ...] = ()
    accepted_on: date | None = None
    deadline: date | None = None
    # True while the date may still move (容缺 or correction pending): printed as 预计.
    deadline_provisional: bool = False
    proxy: Party | None = None
    handler: str = ""  # the station or county department that decides


@dataclass(frozen=True)
class CorrectionDoc:
    """补正材料通知书: every missing or defective material at once, each with its reason."""

    case: CaseDoc
    items: tuple[MaterialRow, ...]
    due_date: date


@dataclass(frozen=True)
class RefusalDoc:
    """不予受理通知书: the reason, its legal basis and where the applicant may appeal."""

    case: CaseDoc
    reason: str
    basis: str
    reconsideration_organ: str  # 行政复议机关, e.g. "青禾县人民政府"
    court: str  # e.g. "青禾县人民法院"


@dataclass(frozen=True)
class DecisionDoc:
    """办结通知 / 领取通知: the decision and how to collect the result.

    A denial must name where to appeal (行政许可法第三十八条): construction fails otherwise.
    """

    case: CaseDoc
    approved: bool
    opinion: str
    result_name: str
    pickup_place: str
    pickup_hours: str
    collect_by: date | None = None
    bring: tuple[str, ...] = ()
    basis: str = ""
    reconsideration_organ: str = ""
    court: str = ""

    def __post_init__(self) -> None:
        if not self.approved and not (self.reconsideration_organ and self.court):
            raise ValueError("不予办理的通知必须写明行政复议机关和人民法院")


@dataclass(frozen=True)
class DeliveryDoc:
    """结果送达回证 / 发放登记: who collected (自取) or where it was mailed (邮寄)."""

    case: CaseDoc
    result_name: str
    method: str  # "自取" or "邮寄"
    issued_by: str
    collector: Party | None = None
    collector_relation: str = ""  # "申请人本人" / "受托代领人"
    id_checked: bool = False
    collected_at: datetime | None = None
    # Printed in full: the record must show where the result went.
    mailing_address: str = ""
    recipient: Party | None = None
    carrier: str = ""
    tracking_no: str = ""
    mailed_on: date | None = None

    def __post_init__(self) -> None:
        if self.method not in ("自取", "邮寄"):
            raise ValueError(f"送达方式只能是自取或邮寄，不能是{self.method}")
        if self.method == "邮寄" and not (self.mailing_address and self.tracking_no):
            raise ValueError("邮寄送达必须写明邮寄地址和运单号")


@dataclass(frozen=True)
class ProxyAuthDoc:
    """帮代办委托书: the applicant authorises the proxy; both sign.

    The full ID numbers are the one deliberate exception to masking: an authorisation names
    the parties unambiguously. None prints a blank line to be filled in by hand.
    """

    case: CaseDoc
    matters: str  # 委托事项
    powers: tuple[str, ...]  # 委托权限
    valid_until: date
    applicant_id_full: str | None = None
    proxy_id_full: str | None = None


@dataclass(frozen=True)
class HandoverDoc:
    """帮代办移交单: the paper that travels to the county with the materials."""

    case: CaseDoc
    materials: tuple[MaterialRow, ...]
    package_sha256: str
    receiver: str  # the county window receiving the case
    sent_by: str
    sent_on: date
    transfer: str  # "邮寄（EMS）" / "专人送达"
    tracking_no: str = ""
    attachment_count: int = 0


@dataclass(frozen=True)
class GuideDoc:
    """一次性告知单: an item's 办事指南, printed for a citizen after a consultation."""

    item: Item
    organ: Organ
    document_no: str
    issued_on: date
    clerk: str = ""


@dataclass(frozen=True)
class DocHead:
    """What the page furniture and the seal block need, whatever the document."""

    organ: Organ
    document_no: str
    issued_on: date


DocData = (
    CaseDoc
    | CorrectionDoc
    | RefusalDoc
    | DecisionDoc
    | DeliveryDoc
    | ProxyAuthDoc
    | HandoverDoc
    | GuideDoc
)


def head_of(data: DocData) -> DocHead:
    """The office, number and date of any document's data."""
    if isinstance(data, CaseDoc):
        return DocHead(data.organ, data.document_no, data.issued_on)
    if isinstance(data, GuideDoc):
        return DocHead(data.organ, data.document_no, data.issued_on)
    return head_of(data.case)
