"""What each workflow action checks in its data and changes on the case (pure functions)."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from app.domain.calendar import CaseClock
from app.domain.case import Action, CaseFacts, Context, Outcome
from app.domain.errors import DomainError, ValidationError
from app.domain.states import CaseState, Decision, IssueMethod, MaterialStatus

S = CaseState
NOTIFY_CHANNELS = ("电话", "短信", "微信", "当面告知")
CARRIERS = ("中国邮政EMS", "中国邮政", "顺丰速运", "京东物流", "圆通速递", "中通快递")
_TRACKING = re.compile(r"^[A-Za-z0-9]{8,30}$")


def _text(data: Mapping[str, Any], key: str, label: str, *, min_len: int = 2) -> str:
    value = str(data.get(key) or "").strip()
    if len(value) < min_len:
        raise ValidationError(f"请填写{label}", field=key)
    if len(value) > 2000:
        raise ValidationError(f"{label}过长（最多2000字）", field=key)
    return value


def _date(data: Mapping[str, Any], key: str, label: str) -> date:
    value = data.get(key)
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValidationError(f"请填写有效的{label}（如2026-12-01）", field=key)


def _missing_items(data: Mapping[str, Any]) -> list[dict[str, str]]:
    raw = data.get("missing")
    if not isinstance(raw, list | tuple) or not raw:
        raise ValidationError("一次性告知须列明全部需补正的材料", field="missing")
    items: list[dict[str, str]] = []
    for entry in raw:
        entry = entry if isinstance(entry, Mapping) else {}
        name = str(entry.get("name") or "").strip()
        reason = str(entry.get("reason") or "").strip()
        if not name or not reason:
            raise ValidationError("每项补正材料都须写明材料名称和补正原因", field="missing")
        items.append({"name": name, "reason": reason})
    if len({i["name"] for i in items}) != len(items):
        raise ValidationError("补正材料清单中有重复的材料", field="missing")
    return items


def _outstanding(facts: CaseFacts) -> list[str]:
    """Required materials still missing or defective (deferred and committed ones are not)."""
    gaps = (MaterialStatus.MISSING, MaterialStatus.DEFECTIVE)
    return [m.name for m in facts.materials if m.required and m.status in gaps]


def _clock_changes(clock: CaseClock, ctx: Context) -> dict[str, Any]:
    deadline = clock.deadline(ctx.calendar, today=ctx.today)
    return {
        "accepted_on": clock.accepted_on,
        "paused_since": clock.paused_since,
        "paused_working_days": clock.paused_working_days,
        "deadline": deadline.day if deadline else None,
        "deadline_provisional": bool(deadline and deadline.provisional),
    }


def _accept(facts: CaseFacts, data: Mapping[str, Any], ctx: Context) -> Outcome:
    blocking, deferred, committed = [], [], []
    for m in facts.materials:
        if m.status is MaterialStatus.DEFERRED:
            if not m.deferrable:
                blocking.append(f"{m.name}（该材料不允许容缺）")
            elif m.due_date is None or m.due_date < ctx.today:
                blocking.append(f"{m.name}（容缺须约定不早于今天的补交日期）")
            else:
                deferred.append({"name": m.name, "due_date": m.due_date.isoformat()})
        elif m.status is MaterialStatus.COMMITTED:
            if not m.commitment_allowed:
                blocking.append(f"{m.name}（该材料不适用告知承诺）")
            else:
                committed.append(m.name)
        elif m.required and m.status is not MaterialStatus.RECEIVED:
            blocking.append(f"{m.name}（{m.status.label}）")
    if blocking:
        raise DomainError(
            "以下必要材料未齐全，不能受理：" + "；".join(blocking) + "。请出具一次性告知书。",
            code="materials",
        )
    clock = CaseClock(accepted_on=ctx.today, limit_days=facts.limit_days)
    changes = _clock_changes(clock, ctx)
    return Outcome(S.ACCEPTED, changes, {"deferred": deferred, "committed": committed})


def _request_correction(facts: CaseFacts, data: Mapping[str, Any], ctx: Context) -> Outcome:
    items = _missing_items(data)
    # 一次性告知: every gap known now must be on the notice, or the applicant comes twice.
    listed = {i["name"] for i in items}
    unlisted = [name for name in _outstanding(facts) if name not in listed]
    if unlisted:
        raise ValidationError(
            "一次性告知须列明全部需补正的材料，以下材料尚未列入：" + "、".join(unlisted),
            field="missing",
        )
    due = _date(data, "due_date", "补正期限")
    # A county correction is the county's decision, applied when the event arrives (perhaps
    # after an outage): its due date stands even if already past here.
    if due < ctx.today and facts.state is not S.HANDED_OFF:
        raise ValidationError("补正期限不能早于今天", field="due_date")
    changes: dict[str, Any] = {"correction_items": items, "correction_due": due}
    if facts.accepted_on is not None and facts.paused_since is None:
        changes.update(_clock_changes(facts.clock.pause(ctx.today), ctx))
    details = {"items": [i["name"] for i in items], "due_date": due.isoformat()}
    return Outcome(S.CORRECTION_REQUIRED, changes, details)


def _supplement(facts: CaseFacts, data: Mapping[str, Any], ctx: Context) -> Outcome:
    received = data.get("received")
    if not isinstance(received, list | tuple) or not received:
        raise ValidationError("请勾选申请人已补交的材料", field="received")
    names = [str(n).strip() for n in received if str(n).strip()]
    # A partial supplement must not let the case go on with a required material still missing.
    still_missing = [name for name in _outstanding(facts) if name not in names]
    if still_missing:
        raise ValidationError(
            "以下材料尚未补齐，不能登记补正完成：" + "、".join(still_missing), field="received"
        )
    changes: dict[str, Any] = {"correction_items": [], "correction_due": None}
    if facts.accepted_on is None:
        return Outcome(S.RECEIVED, changes, {"received": names})
    clock = facts.clock.resume(ctx.today, ctx.calendar) if facts.paused_since else facts.clock
    changes.update(_clock_changes(clock, ctx))
    if facts.level == "county" and not facts.at_county:
        return Outcome(S.HANDED_OFF, changes, {"received": names}, outbox=True)
    return Outcome(S.IN_REVIEW, changes, {"received": names})


def _county_holds(facts: CaseFacts) -> bool:
    """Whether the county node holds this township case (handed off, or corrected by the county).

    A county-level case can only be corrected after acceptance by the county itself, so an
    accepted county case waiting for correction is still held there and must hear of changes.
    """
    if facts.at_county or facts.level != "county":
        return False
    corrected = facts.state is S.CORRECTION_REQUIRED and facts.accepted_on is not None
    return facts.state is S.HANDED_OFF or corrected


def _refuse(facts: CaseFacts, data: Mapping[str, Any], ctx: Context) -> Outcome:
    reason = _text(data, "reason", "不予受理的理由")
    basis = _text(data, "basis", "不予受理的依据")
    changes = {"refusal_reason": reason, "refusal_basis": basis, "finished_on": ctx.today}
    return Outcome(S.REFUSED, changes, {"reason": reason, "basis": basis})


def _route(facts: CaseFacts, data: Mapping[str, Any], ctx: Context) -> Outcome:
    if not facts.station and not facts.at_county:
        raise DomainError("该事项未指定办理站办所，请联系管理员维护事项目录", code="no_station")
    return Outcome(S.IN_REVIEW, {"routed_on": ctx.today}, {"station": facts.station})


def _hand_off(facts: CaseFacts, data: Mapping[str, Any], ctx: Context) -> Outcome:
    if not facts.has_proxy:
        raise DomainError("帮代办须先登记代办人及委托授权", code="no_proxy")
    return Outcome(S.HANDED_OFF, {"handed_off_on": ctx.today}, {}, outbox=True)


def _decide(decision: Decision) -> Callable[[CaseFacts, Mapping[str, Any], Context], Outcome]:
    def effect(facts: CaseFacts, data: Mapping[str, Any], ctx: Context) -> Outcome:
        opinion = _text(data, "opinion", "审批意见")
        basis = ""
        if decision is Decision.DENIED:
            basis = _text(data, "basis", "不予批准的依据")
        changes = {
            "decision": decision,
            "opinion": opinion,
            "decision_basis": basis,
            "decided_on": ctx.today,
        }
        details = {"decision": decision.value, "opinion": opinion, "basis": basis}
        return Outcome(S.DECIDED, changes, details)

    return effect


def _notify(facts: CaseFacts, data: Mapping[str, Any], ctx: Context) -> Outcome:
    channel = str(data.get("channel") or "")
    if channel not in NOTIFY_CHANNELS:
        raise ValidationError("请选择通知方式：" + "、".join(NOTIFY_CHANNELS), field="channel")
    return Outcome(S.READY_TO_ISSUE, {"notified_on": ctx.today, "notify_channel": channel})


def _mail_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    carrier = str(data.get("carrier") or "")
    if carrier not in CARRIERS:
        raise ValidationError("请选择寄递企业：" + "、".join(CARRIERS), field="carrier")
    tracking = str(data.get("tracking_no") or "").strip().upper()
    if not _TRACKING.match(tracking):
        raise ValidationError("运单号应为8至30位字母或数字", field="tracking_no")
    return {"carrier": carrier, "tracking_no": tracking}


def _issue(facts: CaseFacts, data: Mapping[str, Any], ctx: Context) -> Outcome:
    method = data.get("method")
    changes: dict[str, Any] = {"issued_on": ctx.today}
    if facts.county_dispatch == "mail":
        # The county mailed the result to the applicant: the address, carrier and tracking
        # number it recorded stand; the issuance desk only records the handover as done.
        if method != IssueMethod.MAIL:
            raise ValidationError("县级已将结果邮寄给申请人，请按邮寄送达登记出件", field="method")
        return Outcome(S.ISSUED, {**changes, "issue_method": IssueMethod.MAIL}, {"method": "mail"})
    if method == IssueMethod.PICKUP:
        _text(data, "collector_name", "领取人姓名", min_len=1)
        if data.get("collector_role") not in ("applicant", "proxy"):
            raise ValidationError("请选择领取人是申请人本人还是代领人", field="collector_role")
        if data.get("id_checked") is not True:
            raise ValidationError("请先核验领取人身份证件", field="id_checked")
        if data["collector_role"] == "proxy" and data.get("authorisation_checked") is not True:
            raise ValidationError("代领须核验委托书", field="authorisation_checked")
        changes["collector_role"] = data["collector_role"]
    elif method == IssueMethod.MAIL:
        changes["mail_address"] = _text(data, "address", "邮寄地址", min_len=6)
        changes.update(_mail_fields(data))
    else:
        raise ValidationError("请选择出件方式：自取或邮寄", field="method")
    changes["issue_method"] = IssueMethod(str(method))
    details = {k: v for k, v in changes.items() if k in ("carrier", "tracking_no")}
    return Outcome(S.ISSUED, changes, {"method": str(method), **details})


def _close(facts: CaseFacts, data: Mapping[str, Any], ctx: Context) -> Outcome:
    rating = data.get("rating")
    # bool is an int subclass: True must not pass as a rating of 1.
    valid = isinstance(rating, int) and not isinstance(rating, bool) and 1 <= rating <= 5
    if rating is not None and not valid:
        raise ValidationError("好差评等级应为1至5", field="rating")
    return Outcome(S.CLOSED, {"finished_on": ctx.today}, {"rating": rating})


def _withdraw(facts: CaseFacts, data: Mapping[str, Any], ctx: Context) -> Outcome:
    reason = _text(data, "reason", "撤回原因")
    changes = {"withdraw_reason": reason, "finished_on": ctx.today}
    outbox = _county_holds(facts)
    return Outcome(S.WITHDRAWN, changes, {"reason": reason}, outbox=outbox)


def _county_signed(facts: CaseFacts, data: Mapping[str, Any], ctx: Context) -> Outcome:
    return Outcome(S.HANDED_OFF, {"county_signed_on": _date(data, "on", "签收日期")})


def _county_decided(facts: CaseFacts, data: Mapping[str, Any], ctx: Context) -> Outcome:
    try:
        decision = Decision(str(data.get("decision")))
    except ValueError:
        raise ValidationError("县级办结结果无效", field="decision") from None
    opinion = _text(data, "opinion", "县级审批意见")
    changes = {
        "decision": decision,
        "opinion": opinion,
        # A denial's basis goes on the 办结通知书 the township hands over.
        "decision_basis": str(data.get("basis") or "").strip(),
        "decided_on": _date(data, "on", "办结日期"),
    }
    return Outcome(S.HANDED_OFF, changes, {"decision": decision.value})


def _county_dispatched(facts: CaseFacts, data: Mapping[str, Any], ctx: Context) -> Outcome:
    if facts.decision is None:
        raise DomainError("县级尚未办结，不能登记结果寄送", code="not_decided")
    if data.get("method") == "mail":
        changes: dict[str, Any] = {"county_dispatch": "mail", **_mail_fields(data)}
    elif data.get("method") == "township_pickup":
        changes = {"county_dispatch": "township_pickup"}
    else:
        raise ValidationError("县级结果送达方式无效", field="method")
    return Outcome(S.READY_TO_ISSUE, changes, dict(changes))


EFFECTS: dict[Action, Callable[[CaseFacts, Mapping[str, Any], Context], Outcome]] = {
    Action.ACCEPT: _accept,
    Action.REQUEST_CORRECTION: _request_correction,
    Action.SUPPLEMENT: _supplement,
    Action.REFUSE: _refuse,
    Action.ROUTE: _route,
    Action.HAND_OFF: _hand_off,
    Action.APPROVE: _decide(Decision.APPROVED),
    Action.DENY: _decide(Decision.DENIED),
    Action.NOTIFY: _notify,
    Action.ISSUE: _issue,
    Action.CLOSE: _close,
    Action.WITHDRAW: _withdraw,
    Action.COUNTY_SIGNED: _county_signed,
    Action.COUNTY_DECIDED: _county_decided,
    Action.COUNTY_DISPATCHED: _county_dispatched,
}
