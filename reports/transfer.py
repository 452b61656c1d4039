"""Documents that move a case or its result: 送达回证, 帮代办委托书, 帮代办移交单."""

from __future__ import annotations

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Spacer

from reports.blocks import (
    Cell,
    date_cn,
    datetime_cn,
    gap,
    grid_table,
    info_table,
    numbered,
    para,
    sign_and_seal,
    signature_lines,
)
from reports.data import DeliveryDoc, HandoverDoc, ProxyAuthDoc, head_of


def _case_rows(data: DeliveryDoc | HandoverDoc) -> list[list[tuple[str, str]]]:
    case = data.case
    return [
        [("办件编号", case.case_no), ("事项编码", case.item_code)],
        [("事项名称", case.item_name)],
        [("申请人", case.applicant.name), ("证件号码", case.applicant.id_masked)],
    ]


def _collector_rows(data: DeliveryDoc) -> list[list[tuple[str, str]]]:
    collector = data.collector
    checked = "已核验身份证件原件，人证一致" if data.id_checked else "未核验身份证件"
    if collector is None:
        return [[("领取人", "（由领取人签字）"), ("身份核验", checked)]]
    return [
        [("领取人", collector.name), ("领取身份", data.collector_relation or "—")],
        [("证件类型", collector.id_type), ("证件号码", collector.id_masked)],
        [("身份核验", checked), ("领取时间", datetime_cn(data.collected_at))],
    ]


def _mailing_rows(data: DeliveryDoc) -> list[list[tuple[str, str]]]:
    recipient = data.recipient or data.case.applicant
    return [
        [("收件人", recipient.name), ("联系电话", recipient.phone_masked)],
        [("邮寄地址", data.mailing_address)],
        [("寄递单位", data.carrier or "—"), ("运单号", data.tracking_no)],
        [("寄出日期", date_cn(data.mailed_on))],
    ]


def delivery_story(data: DeliveryDoc) -> list[Flowable]:
    """结果送达回证 / 发放登记: the result, how it went out, and the signatures."""
    rows = _case_rows(data)
    rows.append([("送达文书", f"《{data.result_name}》"), ("送达方式", data.method)])
    if data.method == "自取":
        rows += _collector_rows(data)
        signers = [
            ("领取人（签字）", ""),
            ("发放人（签字）", data.issued_by),
        ]
    else:
        rows += _mailing_rows(data)
        signers = [("寄件经办人（签字）", data.issued_by)]
    story: list[Flowable] = [info_table(rows), gap()]
    story += numbered(
        [
            "领取人应当场核对办理结果的份数和内容，确认无误后签字。",
            "委托他人代领的，应出示申请人的书面委托及代领人的身份证件原件。",
            "本回证由出件窗口存档，与办件材料一并归档备查。",
        ]
    )
    story.append(signature_lines(signers))
    return story


def _id_line(full: str | None) -> Cell:
    # A full number only when the caller passed one on purpose; otherwise room to write it in.
    return full if full else Spacer(1, 7 * mm)


def proxy_authorisation_story(data: ProxyAuthDoc) -> list[Flowable]:
    """帮代办委托书: who authorises whom, for what, until when; both sign."""
    case = data.case
    proxy = case.proxy
    if proxy is None:
        raise ValueError("帮代办委托书需要代办人信息")
    applicant = case.applicant
    rows: list[list[tuple[str, Cell]]] = [
        [("委托人", applicant.name), ("证件类型", applicant.id_type)],
        [("证件号码", _id_line(data.applicant_id_full))],
        [("联系电话", applicant.phone_masked), ("住址", applicant.address_masked or "—")],
        [("受托人", proxy.name), ("证件类型", proxy.id_type)],
        [("证件号码", _id_line(data.proxy_id_full))],
        [("联系电话", proxy.phone_masked), ("住址", proxy.address_masked or "—")],
    ]
    story: list[Flowable] = [
        info_table(rows),
        gap(),
        para("一、委托事项", "heading"),
        para(data.matters, "body_indent"),
        para(
            f"事项名称：{case.item_name}（事项编码：{case.item_code}；办件编号：{case.case_no}）",
            "body_indent",
        ),
        para("二、委托权限", "heading"),
        *numbered(data.powers),
        para("三、委托期限", "heading"),
        para(f"自{date_cn(case.issued_on)}起至{date_cn(data.valid_until)}止。", "body_indent"),
        para("四、委托人声明", "heading"),
        para(
            "委托人对受托人在上述权限内办理的事项予以承认，并对所提交申请材料的真实性、合法性负责。"
            "受托人不得转委托，不得超越权限办理。",
            "body_indent",
        ),
        signature_lines([("委托人（签字或捺印）", ""), ("受托人（签字）", "")]),
    ]
    return story


def _handover_rows(data: HandoverDoc) -> list[list[tuple[str, str]]]:
    case = data.case
    return [
        *_case_rows(data),
        [
            ("代办人", case.proxy.name if case.proxy else "—"),
            ("受理日期", date_cn(case.accepted_on)),
        ],
        [("移交单位", case.organ.name), ("接收单位", data.receiver)],
        [("移交方式", data.transfer), ("运单号", data.tracking_no or "—")],
        [("移交日期", date_cn(data.sent_on)), ("电子附件", f"{data.attachment_count}个")],
        [("电子材料包SHA-256", data.package_sha256)],
    ]


def _handover_materials(data: HandoverDoc) -> Flowable:
    lines = [
        [str(number), row.name, row.form, str(row.copies), row.reason]
        for number, row in enumerate(data.materials, 1)
    ]
    total = sum(row.copies for row in data.materials)
    lines.append(["", "合计", "", str(total), f"共{len(data.materials)}种材料"])
    return grid_table(
        ["序号", "材料名称", "形式", "份数", "备注"],
        lines,
        [11, 0, 24, 14, 45],
        aligns=["center", "left", "center", "center"],
    )


_HANDOVER_NOTES = (
    "接收单位收到材料后，请核对纸质材料种类和份数，并核对电子材料包的SHA-256值与系统记录一致。",
    "材料不一致或有缺损的，请在本单备注并通过系统一次性告知移交单位补正。",
    "本单一式两联，移交单位和接收单位各存一联。",
)


def handover_story(data: HandoverDoc) -> list[Flowable]:
    """帮代办移交单: the paper materials that travel with the case, and the package digest."""
    signers = [("移交人（签字）", data.sent_by), ("接收人（签字）", "")]
    return [
        info_table(_handover_rows(data)),
        gap(),
        para("一、随件移交的纸质材料", "heading"),
        _handover_materials(data),
        para("二、核对说明", "heading"),
        *numbered(_HANDOVER_NOTES),
        sign_and_seal(signers, head_of(data)),
    ]
