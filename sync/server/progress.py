"""The public progress page behind the receipt's QR code: steps and dates, nothing personal.

It reads only the county's case index and event kinds and dates, never a package body, so
no name, ID number, phone or address can reach the page. A wrong query code and an unknown
case number get the very same answer, and lookups are limited per client address.
"""

from __future__ import annotations

import hmac
import json
import re
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime

from app.domain.case_number import QUERY_CODE_ALPHABET
from sync.protocol_county import CountyStatus
from sync.server import store
from sync.server.casework import MOVES
from sync.server.context import CountyServer
from sync.server.pages import esc, page
from sync.server.store import (
    CountyCaseRecord,
    CountyEventRecord,
    CountyPackageRecord,
    CountyTownshipRecord,
)

_CASE_NO = re.compile(r"^[0-9]{9}-[A-Z0-9]{2}-[0-9]{8}-[0-9]{4}$")
_QUERY_CODE = re.compile(f"^[{QUERY_CODE_ALPHABET}]{{6}}$")
_PUBLIC_STATUS = {
    CountyStatus.HANDED_OFF: "已移交县级，等待县级签收",
    CountyStatus.SIGNED: "县级已签收，正在办理",
    CountyStatus.CORRECTION: "需补正材料，请联系受理乡镇窗口",
    CountyStatus.SUPPLEMENTED: "已补正，县级正在办理",
    CountyStatus.DECIDED: "县级已办结，结果待送达",
    CountyStatus.DISPATCHED: "结果已送出",
    CountyStatus.CLOSED: "办结",
    CountyStatus.WITHDRAWN: "已撤回",
}


@dataclass(frozen=True)
class Step:
    label: str
    on: date
    note: str = ""


@dataclass(frozen=True)
class Progress:
    case_no: str
    item_name: str
    township_name: str
    status: str
    deadline: date | None
    steps: list[Step]


def _event_step(kind: str, data: dict[str, object], at: datetime) -> Step:
    on = date.fromisoformat(str(data.get("on") or at.date().isoformat()))
    if kind == "signed":
        return Step("县级已签收", on)
    if kind == "correction":
        missing = data.get("missing")
        count = len(missing) if isinstance(missing, list) else 0
        note = f"需补正材料{count}项，请于{data.get('due_date')}前到受理乡镇窗口补交"
        return Step("需补正", at.date(), note)
    if kind == "decided":
        return Step("已办结", on, "请留意受理乡镇窗口的领取通知")
    if kind == "dispatched":
        if data.get("method") == "mail":
            tail = str(data.get("tracking_no") or "")[-4:]
            return Step("结果已寄出", on, f"{data.get('carrier')}，运单尾号 {tail}")
        return Step("待乡镇领取", on, "结果已送往受理乡镇，请按通知到乡镇窗口领取")
    return Step("办结", on)


@dataclass(frozen=True)
class _Move:
    """A package or an event of the case: when it arrived, what it was, how it reads."""

    at: datetime
    trigger: str
    step: Step


def _allowed(trigger: str, status: CountyStatus | None) -> bool:
    return any(what == trigger and status in sources for what, sources, _ in MOVES)


def _after(trigger: str, status: CountyStatus | None) -> CountyStatus | None:
    return next((target for what, _, target in MOVES if what == trigger), status)


def _package_first(package: _Move, event: _Move, status: CountyStatus | None) -> bool:
    """Whether the package came before the event. Times are whole seconds, so within one
    second the case's status decides: the server accepted them only in a legal order."""
    if package.at != event.at:
        return package.at < event.at
    if not _allowed(package.trigger, status):
        return False
    return not _allowed(event.trigger, status) or _allowed(
        event.trigger, _after(package.trigger, status)
    )


def _in_order(packages: list[_Move], events: list[_Move]) -> list[Step]:
    """Merge the packages (by arrival) and the events (by seq) in the order they happened."""
    steps: list[Step] = []
    status: CountyStatus | None = None
    p, e = deque(packages), deque(events)
    while p or e:
        take_package = bool(p) and (not e or _package_first(p[0], e[0], status))
        move = p.popleft() if take_package else e.popleft()
        steps.append(move.step)
        status = _after(move.trigger, status)
    return steps


def _package_step(case: CountyCaseRecord, action: str, received: datetime) -> Step:
    if action == "hand_off":
        return Step("已移交县级", case.handed_off_on)
    if action == "supplement":
        return Step("已补正材料", received.date())
    return Step("已撤回", received.date())


def _steps(case: CountyCaseRecord) -> list[Step]:
    packages = (
        CountyPackageRecord.select(CountyPackageRecord.action, CountyPackageRecord.received_at)
        .where(CountyPackageRecord.case == case.id)
        .order_by(CountyPackageRecord.received_at, CountyPackageRecord.id)
    )
    events = (
        CountyEventRecord.select()
        .where(CountyEventRecord.case == case.id)
        .order_by(CountyEventRecord.seq)
    )
    return _in_order(
        [
            _Move(p.received_at, p.action, _package_step(case, p.action, p.received_at))
            for p in packages
        ],
        [_Move(e.at, e.kind, _event_step(e.kind, json.loads(e.data), e.at)) for e in events],
    )


def lookup(server: CountyServer, case_no: str, query_code: str) -> Progress | None:
    """The case's public progress; None alike for an unknown number and a wrong code."""
    with store.connection(server.db):
        case = CountyCaseRecord.get_or_none(CountyCaseRecord.case_no == case_no)
        # Compare even when nothing was found, so both paths do the same work.
        expected = case.query_code if case is not None else "-" * len(query_code)
        matches = hmac.compare_digest(expected.encode("ascii"), query_code.encode("ascii"))
        if case is None or not matches:
            return None
        township = CountyTownshipRecord.get_or_none(CountyTownshipRecord.code == case.township)
        return Progress(
            case_no=case.case_no,
            item_name=case.item_name,
            township_name=township.name if township else "",
            status=_PUBLIC_STATUS[CountyStatus(case.status)],
            deadline=case.deadline,
            steps=_steps(case),
        )


def normalise(case_no: str | None, query_code: str | None) -> tuple[str, str] | None:
    """Upper-cased, trimmed inputs, or None when either is not even shaped right."""
    number = (case_no or "").strip().upper()
    code = (query_code or "").strip().upper()
    if _CASE_NO.match(number) and _QUERY_CODE.match(code):
        return number, code
    return None


def input_problem(case_no: str | None, query_code: str | None) -> str:
    """What to tell someone whose number or code is missing or not shaped right."""
    given = (("办件编号", case_no), ("查询码", query_code))
    missing = [name for name, value in given if not (value or "").strip()]
    if missing:
        return f"请输入{'和'.join(missing)}（印在收件回执上）。"
    return "办件编号或查询码格式不正确，请对照收件回执填写。"


# Phones: no auto-capitalised first letter, no autocorrect, upper case for the code.
FORM = """<form method="get" action="/progress" autocomplete="off">
<label>办件编号<input name="no" inputmode="latin" maxlength="32" required autocapitalize="off"
 autocorrect="off" spellcheck="false" placeholder="区划代码-窗口代码-日期-序号"></label>
<label>查询码<input name="code" maxlength="6" required autocapitalize="characters"
 autocorrect="off" spellcheck="false" placeholder="收件回执上的6位查询码"></label>
<button type="submit">查询</button>
</form>"""


def form_page(message: str = "") -> str:
    notice = f'<p class="notice">{esc(message)}</p>' if message else ""
    intro = "<p>请输入收件回执上的办件编号和查询码，查看帮代办办件的办理进度。</p>"
    return page("办件进度查询", notice + intro + FORM)


def not_found_page() -> str:
    return form_page("未查询到办件，请核对办件编号和查询码（查询码印在收件回执上）。")


def result_page(progress: Progress) -> str:
    rows = "".join(
        f'<li><span class="date">{s.on.isoformat()}</span><b>{esc(s.label)}</b>'
        + (f'<span class="note">{esc(s.note)}</span>' if s.note else "")
        + "</li>"
        for s in progress.steps
    )
    deadline = progress.deadline.isoformat() if progress.deadline else "即办"
    body = (
        f'<p class="status">{esc(progress.status)}</p>'
        "<dl>"
        f"<dt>办件编号</dt><dd>{esc(progress.case_no)}</dd>"
        f"<dt>办理事项</dt><dd>{esc(progress.item_name)}</dd>"
        f"<dt>受理乡镇</dt><dd>{esc(progress.township_name)}</dd>"
        f"<dt>承诺办结</dt><dd>{esc(deadline)}</dd>"
        "</dl>"
        f'<ol class="steps">{rows}</ol>'
        '<p class="small">本页只显示办理进度，不显示任何个人信息。'
        "如有疑问请联系受理乡镇便民服务中心。</p>"
        '<p><a href="/progress">查询其他办件</a></p>'
    )
    return page("办件进度", body)


def limited_page() -> str:
    return page("查询过于频繁", '<p class="notice">查询过于频繁，请一分钟后再试。</p>')
