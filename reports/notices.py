"""Window documents: 收件回执, 受理通知书, 补正材料通知书, 不予受理通知书, 办结（领取）通知."""

from __future__ import annotations

from reportlab.platypus import Flowable

from reports.blocks import (
    date_cn,
    datetime_cn,
    esc,
    gap,
    grid_table,
    info_table,
    markup,
    note_box,
    numbered,
    para,
    qr_block,
    seal_block,
    sign_and_seal,
)
from reports.data import (
    CaseDoc,
    CorrectionDoc,
    DecisionDoc,
    MaterialRow,
    Party,
    RefusalDoc,
    head_of,
)

CORRECTION_LAW = (
    "依照《中华人民共和国行政许可法》第三十二条第一款第（四）项和第八十二条的规定，申请材料不齐全"
    "或者不符合法定形式的，应当当场或者在五个工作日内一次告知申请人需要补正的全部内容；逾期不告知的，"
    "自收到申请材料之日起即为受理。"
)


def _party_line(party: Party | None) -> str:
    if party is None:
        return "无"
    return f"{party.name}（{party.id_type} {party.id_masked}）"


def promised_text(case: CaseDoc) -> str:
    """The promised completion date as the citizen should read it."""
    if case.promised_days == 0:
        return "即办件，材料齐全当场办结"
    if case.deadline is None:
        return f"自受理之日起{case.promised_days}个工作日内办结"
    text = f"{date_cn(case.deadline)}前办结（{case.promised_days}个工作日）"
    if case.deadline_provisional:
        text += "；此为预计日期，补正或补交容缺材料期间不计时，办结日期相应顺延"
    return text


def case_table(case: CaseDoc, *, with_contact: bool = True, promise: bool = False) -> Flowable:
    """The case identity block most documents open with."""
    rows: list[list[tuple[str, str]]] = [
        [("办件编号", case.case_no), ("查询码", case.query_code)],
        [("事项名称", case.item_name), ("事项编码", case.item_code)],
        [("申请人", case.applicant.name), ("证件号码", case.applicant.id_masked)],
    ]
    if with_contact:
        contact = [("联系电话", case.applicant.phone_masked), ("代办人", _party_line(case.proxy))]
        rows.append(contact)
    rows.append([("收件时间", datetime_cn(case.received_at)), ("办件类型", case.kind_label)])
    rows.append([("办理方式", case.handling_mode), ("收件窗口", f"{case.desk}（{case.clerk}）")])
    if promise:
        rows.append([("承诺办结", promised_text(case))])
    return info_table(rows)


def materials_table(materials: tuple[MaterialRow, ...]) -> Flowable:
    rows = []
    for number, row in enumerate(materials, 1):
        note = row.reason
        if row.due_date is not None:
            note = f"请于{date_cn(row.due_date)}前补交" + (f"；{row.reason}" if row.reason else "")
        rows.append([str(number), row.name, row.form, str(row.copies), row.status, note])
    return grid_table(
        ["序号", "材料名称", "原件/复印件", "份数", "状态", "说明"],
        rows,
        [11, 0, 25, 12, 20, 40],
        aligns=["center", "left", "center", "center", "center"],
    )


def _deferred(case: CaseDoc) -> list[MaterialRow]:
    return [row for row in case.materials if row.due_date is not None]


def receipt_story(case: CaseDoc) -> list[Flowable]:
    """收件回执: every material received, 容缺 items with due dates, the promise, the QR code."""
    organ = head_of(case).organ
    story: list[Flowable] = [case_table(case, promise=True), gap(2)]
    story += [para("一、收取的申请材料", "heading"), materials_table(case.materials)]
    deferred = _deferred(case)
    if deferred:
        story.append(para("二、容缺后补材料（补齐前办件暂停计时）", "heading"))
        story += numbered([f"{row.name}：请于{date_cn(row.due_date)}前补交" for row in deferred])
    tips = (
        "本回执是您提交申请材料的凭证，请妥善保管，领取办理结果时请一并出示。",
        f"咨询电话：{organ.phone}；办公地址：{organ.address}。",
    )
    story.append(qr_block(case.progress_url, case.query_code, case.case_no, tips))
    signers = [("申请人（签字）", ""), ("收件人（签字）", case.clerk)]
    story.append(sign_and_seal(signers, head_of(case)))
    return story


def _salutation(party: Party) -> Flowable:
    return para(f"{party.name}：", "salutation")


def acceptance_story(case: CaseDoc) -> list[Flowable]:
    """受理通知书: materials complete, accepted on a date, promised completion date."""
    accepted = date_cn(case.accepted_on or case.issued_on)
    story: list[Flowable] = [
        _salutation(case.applicant),
        para(
            f"你（单位）于{date_cn(case.received_at.date())}申请办理的“{case.item_name}”事项"
            f"（办件编号：{case.case_no}），经审查，申请材料齐全、符合法定形式，"
            f"本中心决定予以受理，受理日期为{accepted}。",
            "body_indent",
        ),
        para(f"承诺办结：{promised_text(case)}。", "body_indent"),
    ]
    if case.handler:
        story.append(para(f"办理部门：{case.handler}。", "body_indent"))
    deferred = _deferred(case)
    if deferred:
        names = "；".join(f"{row.name}，{date_cn(row.due_date)}前补交" for row in deferred)
        story.append(para(f"本件为容缺受理，请按期补交以下材料：{names}。", "body_indent"))
    story.append(
        para("你可以扫描下方二维码或登录查询网址，输入查询码查看办理进度。", "body_indent")
    )
    story += [gap(), case_table(case, with_contact=False)]
    story.append(qr_block(case.progress_url, case.query_code, case.case_no))
    story.append(seal_block(head_of(case)))
    return story


def _correction_table(items: tuple[MaterialRow, ...]) -> Flowable:
    rows = [[str(n), item.name, item.status, item.reason] for n, item in enumerate(items, 1)]
    return grid_table(
        ["序号", "材料名称", "问题", "原因及补正要求"],
        rows,
        [11, 50, 22, 0],
        aligns=["center", "left", "center"],
    )


def _correction_law(case: CaseDoc) -> Flowable:
    """The 5-working-day rule, with the two dates an applicant needs to invoke it."""
    dates = (
        f"本中心收到你的申请材料的时间为{datetime_cn(case.received_at)}，"
        f"本通知书作出日期为{date_cn(case.issued_on)}。"
    )
    return note_box([para(CORRECTION_LAW, "note"), para(dates, "note")])


def correction_story(data: CorrectionDoc) -> list[Flowable]:
    """补正材料通知书（一次性告知）: every problem at once, the due date, the 5-working-day rule."""
    case = data.case
    return [
        _salutation(case.applicant),
        para(
            f"你（单位）于{datetime_cn(case.received_at)}提交的“{case.item_name}”事项申请材料"
            f"（办件编号：{case.case_no}），经审查，存在下列材料缺少或者不符合法定形式的情形。"
            f"现将需要补正的全部内容一次性告知如下：",
            "body_indent",
        ),
        gap(2),
        _correction_table(data.items),
        gap(2),
        markup(
            f"请于<b>{esc(date_cn(data.due_date))}</b>前携带上述全部材料到"
            f"{esc(case.organ.name)}（{esc(case.organ.address)}）补正。补正期间不计入承诺办结时限；"
            "材料补齐、符合法定形式的，本中心依法予以受理。",
            "body_indent",
        ),
        gap(2),
        _correction_law(case),
        gap(3),
        para(f"咨询电话：{case.organ.phone}。", "body_indent"),
        qr_block(case.progress_url, case.query_code, case.case_no),
        sign_and_seal([("申请人签收", ""), ("签收日期", "")], head_of(case)),
    ]


def remedy_text(reconsideration_organ: str, court: str) -> str:
    """The applicant's right to appeal, with both time limits and where to go."""
    return (
        f"如对本决定不服，可以自收到本通知书之日起六十日内向{reconsideration_organ}申请行政复议"
        f"（《中华人民共和国行政复议法》第二十条），或者自收到本通知书之日起六个月内向{court}"
        "提起行政诉讼（《中华人民共和国行政诉讼法》第四十六条）。"
    )


def refusal_story(data: RefusalDoc) -> list[Flowable]:
    """不予受理通知书: reason, legal basis, and where and how long to appeal."""
    case = data.case
    return [
        _salutation(case.applicant),
        para(
            f"你（单位）于{date_cn(case.received_at.date())}申请办理的“{case.item_name}”事项"
            f"（办件编号：{case.case_no}），经审查，本中心决定不予受理。",
            "body_indent",
        ),
        para("一、不予受理的理由", "heading"),
        para(data.reason, "body_indent"),
        para("二、依据", "heading"),
        para(data.basis, "body_indent"),
        para("三、救济途径", "heading"),
        para(remedy_text(data.reconsideration_organ, data.court), "body_indent"),
        para(f"咨询电话：{case.organ.phone}。", "body_indent"),
        sign_and_seal([("申请人签收", ""), ("签收日期", "")], head_of(case)),
    ]


def completion_story(data: DecisionDoc) -> list[Flowable]:
    """办结通知 / 领取通知: the decision and, when approved, where and when to collect."""
    case = data.case
    outcome = "准予办理" if data.approved else "不予办理"
    story: list[Flowable] = [
        _salutation(case.applicant),
        para(
            f"你（单位）申请办理的“{case.item_name}”事项（办件编号：{case.case_no}）已办理完结，"
            f"办理结果为：{outcome}。",
            "body_indent",
        ),
        para(f"办理意见：{data.opinion}", "body_indent"),
    ]
    if data.basis:
        story.append(para(f"依据：{data.basis}", "body_indent"))
    if data.approved:
        story.append(_collect_paragraph(data))
        if data.bring:
            story.append(para(f"领取时请携带：{'、'.join(data.bring)}。", "body_indent"))
        story.append(
            para(
                f"如需邮寄送达，请致电{case.organ.phone}告知收件地址。",
                "body_indent",
            )
        )
    else:
        story.append(para(remedy_text(data.reconsideration_organ, data.court), "body_indent"))
    story += [gap(), case_table(case, with_contact=False)]
    story.append(qr_block(case.progress_url, case.query_code, case.case_no))
    story.append(seal_block(head_of(case)))
    return story


def _collect_paragraph(data: DecisionDoc) -> Flowable:
    when = f"请于{esc(date_cn(data.collect_by))}前" if data.collect_by else "请"
    return markup(
        f"{when}到<b>{esc(data.pickup_place)}</b>领取《{esc(data.result_name)}》。"
        f"领取时间：{esc(data.pickup_hours)}。",
        "body_indent",
    )
