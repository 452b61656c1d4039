"""Demo data: a township with its 2+6+2 accounts, the demo catalog and realistic cases.

Every case goes through the real services (intake, workflow actions, audit, outbox) with a
simulated clock, so the demo database is exactly what daily use would produce.
"""

from __future__ import annotations

import contextlib
import math
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from app.domain.case import Action
from app.domain.errors import KnownError
from app.domain.roles import Actor, Role
from app.domain.states import CaseState, MaterialStatus
from app.services import accounts, cases, catalog, org
from app.services.people import PersonInput, ProxyInput
from app.store import db as dbmod
from forms.catalog import dump_catalog, load_demo_catalog
from forms.schema import Catalog, Item
from forms.validators import make_resident_id, make_uscc

if TYPE_CHECKING:
    from app.services.runtime import Runtime

TOWNSHIP = ("370999101", "青禾镇")
COUNTY = ("370999", "青禾县")
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "秀英桂兰玉梅凤兰建国建华建军志强海燕春梅国庆红梅丽娟德明文华永刚淑珍桂英明辉晓东"
    "小红振华玉兰春花秋菊冬梅立新卫东"
)
VILLAGES = ("东村", "西村", "南庄", "北营", "杏花村", "柳树屯", "河湾村", "前屯", "后屯", "新农村")
REGION_CODES = ("370902", "370911", "370921", "370923", "370982", "370983")


@dataclass
class DemoAccounts:
    """The printed credentials of the demo accounts (generated each run)."""

    rows: list[tuple[str, str, str, str]] = field(default_factory=list)


def _admin() -> Actor:
    return Actor(None, "demo", Role.ADMIN, township="", display_name="演示数据")


def setup_township(rt: Runtime) -> DemoAccounts:
    """The demo township, desks, catalog and accounts: 2 综合窗口, 6 站办所, 2 出件, 1 管理员."""
    admin = _admin()
    code, name = TOWNSHIP
    org.add_township(rt, admin, code=code, name=name, county_code=COUNTY[0], county_name=COUNTY[1])
    for desk, desk_name in (
        ("A1", "综合窗口A岗"),
        ("A2", "综合窗口B岗"),
        ("C1", "出件窗口1"),
        ("C2", "出件窗口2"),
        ("S1", "站办所审批席"),
    ):
        org.add_desk(rt, admin, township=code, code=desk, name=desk_name)
    catalog.import_catalog(rt, admin, dump_catalog(load_demo_catalog()))
    from app.services import settings

    for key, value, town in (
        ("organ_address", "青禾县青禾镇政通路8号便民服务中心一楼", code),
        ("organ_phone", "0538-87651234", code),
        ("progress_base_url", "https://zwfw.qinghe.gov.cn/bjm/progress", None),
    ):
        settings.set_value(rt, admin, key, value, township=town)
    from forms.schema import STATIONS

    specs: list[tuple[str, str, Role, str | None]] = [
        ("window1", "王芳", Role.WINDOW, None),
        ("window2", "李静", Role.WINDOW, None),
    ]
    people = ("赵敏", "钱伟", "孙丽", "周强", "吴娟", "郑军")
    specs += [(f"st_{s}", p, Role.STATION, s) for s, p in zip(STATIONS, people, strict=True)]
    specs += [("issue1", "冯涛", Role.ISSUANCE, None), ("issue2", "陈洁", Role.ISSUANCE, None)]
    specs += [("admin1", "褚明", Role.ADMIN, None)]
    result = DemoAccounts()
    for username, display, role, station in specs:
        password = accounts.create_account(
            rt,
            admin,
            username=username,
            display_name=display,
            role=role,
            township=code,
            station=station,
        )
        label = role.label + (f"·{STATIONS[station]}" if station else "")
        result.rows.append((username, display, label, password))
    return result


class _Clock:
    """A movable 'now' for the runtime while the demo replays months of work."""

    def __init__(self, start: datetime) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value


def _workday_times(rng: random.Random, rt: Runtime, start: date, end: date) -> Iterator[datetime]:
    day = start
    while True:
        if rt.calendar.is_workday(day):
            minutes = rng.randint(8 * 60 + 30, 17 * 60 + 20)
            yield datetime.combine(day, time(minutes // 60, minutes % 60, rng.randint(0, 59)))
        day += timedelta(days=1)
        if day > end:
            day = start


class DemoBuilder:
    """Replays realistic case lives up to `today`; cases stop wherever 'today' finds them."""

    def __init__(self, rt: Runtime, rng: random.Random, today: datetime) -> None:
        self.rt, self.rng, self.today = rt, rng, today
        self.catalog: Catalog = catalog.get_catalog()
        code = TOWNSHIP[0]
        self.window = [
            accounts.actor_of(_account(u), "A1" if u == "window1" else "A2")
            for u in ("window1", "window2")
        ]
        self.issuance = accounts.actor_of(_account("issue1"), "C1")
        self.stations = {
            a.station: a for a in (accounts.actor_of(r, "S1") for r in _station_accounts())
        }
        self.sync = Actor(None, "county-sync", Role.SYNC, township=code, display_name="县级同步")
        self.clock = _Clock(today)
        self.real_now = rt.now

    def person(self, received: date) -> PersonInput:
        rng = self.rng
        birth = date(rng.randint(1940, 2004), rng.randint(1, 12), rng.randint(1, 28))
        name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))
        id_number = make_resident_id(rng.choice(REGION_CODES), birth, rng.randint(1, 999))
        phone = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
        village = rng.choice(VILLAGES)
        address = f"{COUNTY[1]}{TOWNSHIP[1]}{village}{rng.randint(1, 12)}组{rng.randint(1, 80)}号"
        return PersonInput(name=name, id_number=id_number, phone=phone, address=address)

    def form_data(self, item: Item, person: PersonInput, received: date) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for f in item.form:
            data[f.key] = self._value(f, person, received)
        return data

    def _value(self, f: Any, person: PersonInput, received: date) -> Any:
        if f.type == "id_number":
            return person.id_number
        if f.type == "phone":
            return person.phone
        if f.type == "uscc":
            return make_uscc("370999", f"{self.rng.randint(10000000, 99999999)}")
        if f.type == "choice":
            return self.rng.choice(f.choices)
        if f.type == "bool":
            return True
        if f.type == "date":
            return (received - timedelta(days=self.rng.randint(30, 3000))).isoformat()
        if f.type in ("int", "decimal"):
            low = f.min if f.min is not None else 1
            high = f.max if f.max is not None else max(low + 10, 10)
            value = self.rng.uniform(low, min(high, low + 50))
            if f.type == "int":
                return max(math.ceil(low), int(value))
            return str(max(Decimal(str(low)), Decimal(str(round(value, 2)))))
        if f.pattern:
            return self._patterned(f.pattern, person)
        if f.key in ("name", "applicant_name") or "姓名" in f.label:
            return person.name
        if "地址" in f.label or "住址" in f.label:
            return person.address
        return f"{f.label}（演示）"[: int(f.max) if f.max else 50]

    def _patterned(self, pattern: str, person: PersonInput) -> str:
        """A value for a patterned text field: an ID-based code or a bank-card-like number."""
        rng = self.rng
        candidates = [
            f"{person.id_number}{rng.randint(1, 7)}{rng.randint(1, 4)}",
            "6" + "".join(rng.choice("0123456789") for _ in range(18)),
            "".join(rng.choice("0123456789") for _ in range(16)),
        ]
        for value in candidates:
            if re.fullmatch(pattern, value):
                return value
        raise KnownError(f"演示数据无法生成符合格式 {pattern} 的值")


def _account(username: str) -> Any:
    from app.store.models import AccountRecord

    return AccountRecord.get(AccountRecord.username == username)


def _station_accounts() -> list[Any]:
    from app.store.models import AccountRecord

    return list(AccountRecord.select().where(AccountRecord.role == Role.STATION.value))


class _Stop(Exception):
    """The simulated life reached 'today': the case stays in the state it has."""


COMPLAINTS = (
    "窗口工作人员解释政策不够清楚，希望改进",
    "排队等候时间较长，建议高峰期增开窗口",
    "补正材料要求第一次没有讲全，跑了两趟",
)
# Mostly satisfied, as township 好差评 figures are; a few poor ratings keep the chart honest.
RATINGS = (5,) * 14 + (4,) * 6 + (3,) * 2 + (2, 1)


class CaseLife:
    """One case from intake to wherever today finds it."""

    def __init__(self, builder: DemoBuilder, start: datetime) -> None:
        self.b, self.rng, self.t = builder, builder.rng, start
        self.ref: cases.CaseRef | None = None
        self.county_mailed = False  # the county sent the result to the applicant by mail

    def later(self, working_days: int, *, minutes: int = 0) -> None:
        day = self.b.rt.calendar.add_working_days(self.t.date(), working_days).day
        clock = (
            self.t.time()
            if working_days == 0
            else time(self.rng.randint(8, 16), self.rng.randint(0, 59))
        )
        self.t = datetime.combine(day, clock) + timedelta(minutes=minutes)

    def do(self, actor: Actor, action: Action, data: dict[str, Any] | None = None) -> None:
        if self.t > self.b.today:
            raise _Stop
        assert self.ref is not None
        self.b.clock.value = self.t
        self.ref = cases.act(
            self.b.rt, actor, self.ref.id, action, data, expected_version=self.ref.version
        )

    def run(self) -> None:
        with contextlib.suppress(_Stop):
            self._feedback_before()
            self._life()

    def _feedback_before(self) -> None:
        """Some citizens ask first (咨询); a few complain about an earlier visit (投诉)."""
        from app.services import feedback

        window = self.rng.choice(self.b.window)
        self.b.clock.value = self.t - timedelta(minutes=self.rng.randint(5, 30))
        if self.rng.random() < 0.1:
            item = self.rng.choice(self.b.catalog.items)
            channel = self.rng.choice(("窗口", "电话", "12345热线"))
            feedback.record_consultation(self.b.rt, window, item_code=item.code, channel=channel)
        if self.rng.random() < 0.01:
            feedback.record_complaint(
                self.b.rt,
                window,
                channel=self.rng.choice(("12345热线", "意见箱", "窗口")),
                content=self.rng.choice(COMPLAINTS),
            )

    def _intake(self, item: Item, window: Actor) -> list[str]:
        person = self.b.person(self.t.date())
        county = item.level == "county"
        mode = "proxy" if county else ("door" if self.rng.random() < 0.04 else "window")
        proxy = None
        if mode != "window":
            helper = self.b.person(self.t.date())
            proxy = ProxyInput(
                name=helper.name,
                id_number=helper.id_number,
                phone=helper.phone,
                relation="帮代办员" if county else "村级代办员",
            )
        missing: list[str] = []
        lines = []
        for m in item.materials:
            status = MaterialStatus.RECEIVED
            due = None
            if m.required and self.rng.random() < 0.06 and len(missing) < 2:
                status, due = MaterialStatus.MISSING, None
                missing.append(m.name)
            elif m.deferrable and self.rng.random() < 0.3:
                status, due = (
                    MaterialStatus.DEFERRED,
                    self.b.rt.calendar.add_working_days(self.t.date(), 10).day,
                )
            elif m.commitment_allowed and self.rng.random() < 0.3:
                status = MaterialStatus.COMMITTED
            lines.append(cases.MaterialInput(m.name, status, due_date=due))
        self.b.clock.value = self.t
        self.ref = cases.intake(
            self.b.rt,
            window,
            cases.IntakeRequest(
                item_code=item.code,
                applicant=person,
                materials=tuple(lines),
                form_data=self.b.form_data(item, person, self.t.date()),
                proxy=proxy,
                authorisation="已签署帮代办委托书" if proxy else "",
                handling_mode=mode,
            ),
        )
        return missing

    def _life(self) -> None:
        rng, b = self.rng, self.b
        county = rng.random() < 0.18
        item = rng.choice(b.catalog.county_items() if county else b.catalog.township_items())
        window = rng.choice(b.window)
        missing = self._intake(item, window)
        self.later(0, minutes=rng.randint(3, 15))
        if missing:
            reasons = [{"name": n, "reason": "申请时未提供"} for n in missing]
            due = b.rt.calendar.add_working_days(self.t.date(), 10).day
            self.do(window, Action.REQUEST_CORRECTION, {"missing": reasons, "due_date": due})
            self.later(rng.randint(1, 6))
            if rng.random() < 0.2:
                self.do(
                    window,
                    Action.REFUSE,
                    {"reason": "逾期未补正且不符合受理条件", "basis": "《行政许可法》第三十二条"},
                )
                return
            self.do(window, Action.SUPPLEMENT, {"received": missing})
        elif rng.random() < 0.02:
            self.do(
                window,
                Action.REFUSE,
                {
                    "reason": "申请事项不属于本机关职权范围",
                    "basis": "《行政许可法》第三十二条第一款第（二）项",
                },
            )
            return
        if rng.random() < 0.02:
            self.do(window, Action.WITHDRAW, {"reason": "申请人主动申请撤回"})
            return
        if rng.random() < 0.15:
            self.later(rng.randint(0, 1), minutes=rng.randint(30, 240))  # 预审 takes a while
        self.do(window, Action.ACCEPT)
        if rng.random() < 0.3:
            self.later(rng.randint(0, 1), minutes=rng.randint(10, 120))
        if county:
            self._county(item, window)
        else:
            self._station(item, window)
        self._issue()

    def _station(self, item: Item, window: Actor) -> None:
        rng = self.rng
        self.do(window, Action.ROUTE)
        approver = self.b.stations[item.station]
        if item.promised_limit_days:
            limit = item.promised_limit_days
            # Nine in ten decided within the promise; the rest run a few days over (red).
            self.later(rng.randint(0, limit) if rng.random() < 0.9 else limit + rng.randint(1, 3))
        if rng.random() < 0.06:
            self.do(
                approver,
                Action.REQUEST_CORRECTION,
                {
                    "missing": [{"name": item.materials[0].name, "reason": "复印件不清晰"}],
                    "due_date": self.t.date() + timedelta(days=14),
                },
            )
            self.later(rng.randint(1, 4))
            self.do(window, Action.SUPPLEMENT, {"received": [item.materials[0].name]})
            self.later(rng.randint(0, 2))
        if rng.random() < 0.07:
            self.do(
                approver,
                Action.DENY,
                {
                    "opinion": "经审查，申请人不符合受理条件中规定的条件",
                    "basis": item.legal_basis[:200],
                },
            )
        else:
            self.do(approver, Action.APPROVE, {"opinion": "经审查，材料齐全，符合条件，同意办理"})

    def _county(self, item: Item, window: Actor) -> None:
        rng, sync = self.rng, self.b.sync
        self.do(window, Action.HAND_OFF)
        self.later(rng.randint(1, 2))
        self.do(sync, Action.COUNTY_SIGNED, {"on": self.t.date()})
        if rng.random() < 0.1:
            self.do(
                sync,
                Action.REQUEST_CORRECTION,
                {
                    "missing": [{"name": item.materials[0].name, "reason": "县级审核：需补充原件"}],
                    "due_date": self.t.date() + timedelta(days=14),
                },
            )
            self.later(rng.randint(1, 4))
            self.do(window, Action.SUPPLEMENT, {"received": [item.materials[0].name]})
        self.later(rng.randint(1, max(1, item.promised_limit_days)))
        self.do(
            sync,
            Action.COUNTY_DECIDED,
            {"decision": "approved", "opinion": "县级审核通过，准予办理", "on": self.t.date()},
        )
        self.later(rng.randint(0, 2))
        if rng.random() < 0.5:
            data = {
                "method": "mail",
                "carrier": "中国邮政EMS",
                "tracking_no": f"EA{rng.randint(10**8, 10**9 - 1)}CN",
            }
        else:
            data = {"method": "township_pickup"}
        self.do(sync, Action.COUNTY_DISPATCHED, data)
        self.county_mailed = data["method"] == "mail"

    def _issue(self) -> None:
        rng, clerk = self.rng, self.b.issuance
        if self.ref and self.ref.state is CaseState.DECIDED:
            self.later(rng.randint(0, 1), minutes=30)
            self.do(
                clerk, Action.NOTIFY, {"channel": rng.choice(("电话", "短信", "电话", "当面告知"))}
            )
        self.later(rng.randint(0, 3))
        if rng.random() < 0.65:
            data: dict[str, Any] = {
                "method": "pickup",
                "collector_name": "申请人本人",
                "collector_role": "applicant",
                "id_checked": True,
            }
        else:
            data = {
                "method": "mail",
                "address": f"{COUNTY[1]}{TOWNSHIP[1]}{rng.choice(VILLAGES)}{rng.randint(1, 80)}号",
                "carrier": "中国邮政EMS",
                "tracking_no": f"EB{rng.randint(10**8, 10**9 - 1)}CN",
            }
        if self.county_mailed:
            data = {"method": "mail"}  # the county mailed it: the desk records the handover
        self.do(clerk, Action.ISSUE, data)
        if data["method"] == "mail":
            self.later(rng.randint(1, 3))  # closed when the delivery is confirmed
        else:
            self.later(0, minutes=rng.randint(1, 5))
        self.do(clerk, Action.CLOSE, {"rating": rng.choice(RATINGS)})


def generate_cases(
    rt: Runtime, n: int, *, seed: int = 20261122, days: int = 180, progress: Any = None
) -> int:
    """Replay `n` case lives received over the last `days` days; returns the number made."""
    if n < 0:
        raise KnownError("办件数量不能为负数")
    rng = random.Random(seed)
    today = rt.now()
    builder = DemoBuilder(rt, rng, today)
    # Most cases are months old and finished; a third arrived in the last fortnight and are
    # still moving, as on a real desk.
    older = _workday_times(rng, rt, today.date() - timedelta(days=days), today.date())
    recent = _workday_times(rng, rt, today.date() - timedelta(days=14), today.date())
    times = sorted(next(recent if rng.random() < 0.33 else older) for _ in range(n))
    times = [t for t in times if t <= today] + [today - timedelta(minutes=5)] * sum(
        t > today for t in times
    )
    rt.now = builder.clock
    try:
        for offset in range(0, n, 200):
            with dbmod.current().atomic():
                for start in times[offset : offset + 200]:
                    CaseLife(builder, start).run()
            if progress:
                progress(min(offset + 200, n), n)
    finally:
        rt.now = builder.real_now
    return n
