"""Realistic fictitious data for every document: previews, the demo, tests and benchmarks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime

from app.domain.case_number import progress_link
from forms.catalog import load_demo_catalog
from forms.validators import make_resident_id
from reports.data import (
    CaseDoc,
    CorrectionDoc,
    DecisionDoc,
    DeliveryDoc,
    DocData,
    GuideDoc,
    HandoverDoc,
    MaterialRow,
    Organ,
    Party,
    ProxyAuthDoc,
    RefusalDoc,
)

ORGAN = Organ(
    township="青禾镇",
    county="青禾县",
    name="青禾镇人民政府便民服务中心",
    address="青禾县青禾镇人民路88号便民服务中心一楼",
    phone="0538-99991100",
)
PROGRESS_BASE = "https://zwfw.qinghe.gov.cn/bjm/progress"
# Fictitious people: valid checksums so masking and validators treat them as real numbers.
APPLICANT_ID = make_resident_id("370902", date(1968, 5, 17), 123)
PROXY_ID = make_resident_id("370921", date(1990, 11, 2), 456)
APPLICANT_PHONE = "13953801234"
PROXY_PHONE = "15805385678"
APPLICANT = Party.from_full(
    "王秀英", "居民身份证", APPLICANT_ID, APPLICANT_PHONE, "青禾县青禾镇杏花村三组12号"
)
PROXY = Party.from_full("李建国", "居民身份证", PROXY_ID, PROXY_PHONE, "青禾县青禾镇杏花村村委会")

_DIBAO_MATERIALS = (
    MaterialRow("共同生活家庭成员居民身份证", "复印件", 3, "已收取"),
    MaterialRow("居民户口簿", "复印件", 1, "已收取", reason="首页及成员页"),
    MaterialRow("《最低生活保障申请书》", "原件", 1, "已收取"),
    MaterialRow("家庭经济状况核对授权书", "原件", 1, "已收取"),
    MaterialRow("家庭收入情况声明", "原件", 1, "已收取"),
    MaterialRow("残疾人证或疾病诊断证明", "复印件", 1, "已收取"),
    MaterialRow("社会保障卡或惠民惠农“一卡通”银行卡", "复印件", 1, "容缺后补", date(2026, 3, 9)),
)


def base_case() -> CaseDoc:
    """A 最低生活保障 case received at the township window on 2 March 2026."""
    case_no = "370999101-A1-20260302-0012"
    return CaseDoc(
        organ=ORGAN,
        document_no="青禾便民收〔2026〕0012号",
        issued_on=date(2026, 3, 2),
        case_no=case_no,
        query_code="K7Q2M9",
        progress_url=progress_link(PROGRESS_BASE, case_no, "K7Q2M9"),
        item_code="370999-MZ-001",
        item_name="最低生活保障申请",
        kind_label="承诺件",
        promised_days=20,
        received_at=datetime(2026, 3, 2, 9, 35),
        applicant=APPLICANT,
        clerk="王芳",
        desk="综合窗口A岗",
        handling_mode="窗口办理",
        materials=_DIBAO_MATERIALS,
        accepted_on=date(2026, 3, 2),
        deadline=date(2026, 3, 30),
        deadline_provisional=True,
        handler="民政（民政办）",
    )


def proxy_case() -> CaseDoc:
    """A county item (残疾人证新办) taken in as 帮代办 by a village proxy."""
    case_no = "370999101-A2-20260303-0004"
    return CaseDoc(
        organ=ORGAN,
        document_no="青禾帮代委〔2026〕0008号",
        issued_on=date(2026, 3, 3),
        case_no=case_no,
        query_code="P4X8TW",
        progress_url=progress_link(PROGRESS_BASE, case_no, "P4X8TW"),
        item_code="370999-XJ-001",
        item_name="残疾人证新办",
        kind_label="承诺件",
        promised_days=15,
        received_at=datetime(2026, 3, 3, 14, 10),
        applicant=APPLICANT,
        clerk="李静",
        desk="综合窗口B岗",
        handling_mode="帮代办（县级）",
        materials=(
            MaterialRow("申请人居民身份证", "复印件", 1, "已收取"),
            MaterialRow("居民户口簿", "复印件", 1, "已收取", reason="首页及本人页"),
            MaterialRow("近期免冠彩色证件照", "原件", 2, "已收取", reason="二寸白底"),
            MaterialRow("《残疾人证申请表》", "原件", 1, "已收取"),
            MaterialRow("残疾评定表", "原件", 1, "容缺后补", date(2026, 3, 17)),
        ),
        accepted_on=date(2026, 3, 3),
        deadline=date(2026, 3, 24),
        proxy=PROXY,
        handler="青禾县残疾人联合会",
    )


def _correction() -> CorrectionDoc:
    case = replace(
        base_case(),
        document_no="青禾便民补〔2026〕0005号",
        issued_on=date(2026, 3, 3),
        accepted_on=None,
        deadline=None,
    )
    items = (
        MaterialRow(
            "家庭收入情况声明",
            "原件",
            1,
            "不符合要求",
            reason="未写明2025年度家庭成员务工收入，且缺少申请人签字；请按样表如实填写并签字",
        ),
        MaterialRow(
            "残疾人证或疾病诊断证明",
            "复印件",
            1,
            "缺少",
            reason="申请书中填写家庭成员患慢性病，需提供二级以上医院出具的诊断证明",
        ),
    )
    return CorrectionDoc(case, items, due_date=date(2026, 3, 17))


def _refusal() -> RefusalDoc:
    case = replace(
        base_case(),
        document_no="青禾便民不受〔2026〕0002号",
        accepted_on=None,
        deadline=None,
        materials=(),
    )
    return RefusalDoc(
        case,
        reason="申请人户籍不在本镇，本镇不是其最低生活保障申请的受理机关。"
        "请向户籍所在地乡镇人民政府（街道办事处）提出申请。",
        basis="《社会救助暂行办法》第十一条第（一）项：申请最低生活保障，由共同生活的家庭成员向户籍所在地的乡镇人民政府、街道办事处提出书面申请。",
        reconsideration_organ="青禾县人民政府",
        court="青禾县人民法院",
    )


def _completion() -> DecisionDoc:
    case = replace(base_case(), document_no="青禾便民结〔2026〕0031号", issued_on=date(2026, 3, 26))
    return DecisionDoc(
        case,
        approved=True,
        opinion="经入户调查、民主评议和公示，申请人家庭符合最低生活保障条件，自2026年4月起纳入最低生活保障。",
        result_name="最低生活保障金领取证",
        pickup_place="青禾镇便民服务中心出件窗口",
        pickup_hours="法定工作日 上午8:30-12:00 下午13:30-17:30",
        collect_by=date(2026, 4, 10),
        bring=("申请人居民身份证原件", "本通知书", "收件回执"),
    )


def _delivery() -> DeliveryDoc:
    case = replace(base_case(), document_no="青禾便民送〔2026〕0031号", issued_on=date(2026, 3, 30))
    return DeliveryDoc(
        case,
        result_name="最低生活保障金领取证",
        method="自取",
        issued_by="周强",
        collector=APPLICANT,
        collector_relation="申请人本人",
        id_checked=True,
        collected_at=datetime(2026, 3, 30, 10, 20),
    )


def _proxy_authorisation() -> ProxyAuthDoc:
    return ProxyAuthDoc(
        proxy_case(),
        matters="本人因行动不便，委托受托人代为办理残疾人证新办事项，包括提交申请材料、"
        "接收补正告知、补交材料和领取办理结果。",
        powers=("代为提交和补交申请材料", "代为接收一次性告知单等文书", "代为领取办理结果"),
        valid_until=date(2026, 6, 30),
        applicant_id_full=APPLICANT_ID,
        proxy_id_full=PROXY_ID,
    )


def _handover() -> HandoverDoc:
    case = replace(proxy_case(), document_no="青禾帮代移〔2026〕0008号", issued_on=date(2026, 3, 4))
    return HandoverDoc(
        case,
        materials=case.materials[:4],
        package_sha256="9f2c4e1b7a5d3c8e0f6a2b4d9c1e7f3a5b8d0c2e4f6a8b1d3c5e7f9a0b2c4d6e",
        receiver="青禾县政务服务中心0号综合窗口（帮代办）",
        sent_by="李静",
        sent_on=date(2026, 3, 4),
        transfer="邮寄（EMS）",
        tracking_no="1186523409871",
        attachment_count=6,
    )


def _guide() -> GuideDoc:
    item = load_demo_catalog().item("370999-MZ-001")
    return GuideDoc(item, ORGAN, "青禾便民告〔2026〕0107号", date(2026, 3, 2), clerk="王芳")


def _acceptance() -> CaseDoc:
    return replace(base_case(), document_no="青禾便民受〔2026〕0012号")


_SAMPLES: dict[str, Callable[[], DocData]] = {
    "receipt": base_case,
    "acceptance": _acceptance,
    "correction": _correction,
    "refusal": _refusal,
    "completion": _completion,
    "delivery": _delivery,
    "proxy_authorisation": _proxy_authorisation,
    "handover": _handover,
    "guide": _guide,
}


def sample_data(kind: str) -> DocData:
    """Fictitious but realistic data for one document kind (the same on every call)."""
    try:
        return _SAMPLES[kind]()
    except KeyError:
        raise KeyError(f"没有这种文书：{kind}") from None
