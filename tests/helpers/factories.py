"""Factories: a township world with one account per role; cases driven to any state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from app.domain.case import Action
from app.domain.roles import Actor, Role
from app.domain.states import CaseState, MaterialStatus
from app.services import accounts, cases, catalog, org
from app.services.people import PersonInput, ProxyInput
from forms.catalog import dump_catalog, load_demo_catalog
from forms.schema import Catalog, Item
from forms.validators import make_resident_id

TOWNSHIP = "370999101"
OTHER_TOWNSHIP = "370999102"
ADMIN = Actor(None, "test-admin", Role.ADMIN, township="", display_name="测试管理员")
SYNC = Actor(None, "county-sync", Role.SYNC, township=TOWNSHIP)


@dataclass
class World:
    catalog: Catalog
    window: Actor
    issuance: Actor
    stations: dict[str, Actor]
    other_window: Actor
    passwords: dict[str, str] = field(default_factory=dict)

    def township_item(self, station: str | None = None, *, immediate: bool | None = None) -> Item:
        for item in self.catalog.township_items():
            if station and item.station != station:
                continue
            if immediate is not None and (item.promised_limit_days == 0) != immediate:
                continue
            return item
        raise LookupError("no such item in the demo catalog")

    def county_item(self) -> Item:
        return self.catalog.county_items()[0]


def make_user(
    rt: Any,
    username: str,
    role: Role,
    *,
    township: str = TOWNSHIP,
    station: str | None = None,
    desk: str = "A1",
) -> tuple[Actor, str]:
    password = accounts.create_account(
        rt,
        ADMIN,
        username=username,
        display_name=f"测试{username}",
        role=role,
        township=township,
        station=station,
    )
    from app.store.models import AccountRecord

    record = AccountRecord.get(AccountRecord.username == username)
    return accounts.actor_of(record, desk), password


def make_world(rt: Any) -> World:
    for code, name in ((TOWNSHIP, "青禾镇"), (OTHER_TOWNSHIP, "白杨镇")):
        org.add_township(
            rt, ADMIN, code=code, name=name, county_code="370999", county_name="青禾县"
        )
        org.add_desk(rt, ADMIN, township=code, code="A1", name="综合窗口")
    catalog.import_catalog(rt, ADMIN, dump_catalog(load_demo_catalog()))
    window, pw1 = make_user(rt, "window1", Role.WINDOW)
    issuance, _ = make_user(rt, "issue1", Role.ISSUANCE, desk="C1")
    other, _ = make_user(rt, "window9", Role.WINDOW, township=OTHER_TOWNSHIP)
    from forms.schema import STATIONS

    stations = {
        s: make_user(rt, f"st_{s}", Role.STATION, station=s, desk="S1")[0] for s in STATIONS
    }
    return World(catalog.get_catalog(), window, issuance, stations, other, {"window1": pw1})


_serial = iter(range(1, 10**6))


def person(n: int | None = None) -> PersonInput:
    n = n if n is not None else next(_serial)
    id_number = make_resident_id(
        "370902", date(1960, 1, 1) + timedelta(days=n * 37 % 15000), n % 999 + 1
    )
    return PersonInput(
        name=f"申请人{n}",
        id_number=id_number,
        phone=f"139{n:08d}"[:11],
        address=f"青禾县青禾镇东村{n}号",
    )


def form_data(item: Item, who: PersonInput) -> dict[str, Any]:
    from app.services.demo import DemoBuilder

    fake = DemoBuilder.__new__(DemoBuilder)
    import random

    fake.rng = random.Random(1)
    return {f.key: fake._value(f, who, date(2026, 11, 16)) for f in item.form}


def intake(
    rt: Any,
    world: World,
    item: Item,
    *,
    actor: Actor | None = None,
    missing: tuple[str, ...] = (),
    who: PersonInput | None = None,
) -> cases.CaseRef:
    who = who or person()
    lines = tuple(
        cases.MaterialInput(
            m.name, MaterialStatus.MISSING if m.name in missing else MaterialStatus.RECEIVED
        )
        for m in item.materials
    )
    proxy = None
    if item.level == "county":
        helper = person()
        proxy = ProxyInput(
            name="帮代办员甲", id_number=helper.id_number, relation="帮代办员", phone="13700000001"
        )
    req = cases.IntakeRequest(
        item_code=item.code,
        applicant=who,
        materials=lines,
        form_data=form_data(item, who),
        proxy=proxy,
        authorisation="已签署帮代办委托书" if proxy else "",
        handling_mode="proxy" if proxy else "window",
    )
    return cases.intake(rt, actor or world.window, req)


PATHS: dict[CaseState, list[tuple[str, Action, dict[str, Any]]]] = {
    CaseState.RECEIVED: [],
    CaseState.CORRECTION_REQUIRED: [("window", Action.REQUEST_CORRECTION, {})],
    CaseState.REFUSED: [
        ("window", Action.REFUSE, {"reason": "不属于受理范围", "basis": "《行政许可法》第三十二条"})
    ],
    CaseState.WITHDRAWN: [("window", Action.WITHDRAW, {"reason": "申请人撤回"})],
    CaseState.ACCEPTED: [("window", Action.ACCEPT, {})],
}


def correction_data(item: Item, today: date) -> dict[str, Any]:
    return {
        "missing": [{"name": item.materials[0].name, "reason": "复印件不清晰"}],
        "due_date": today + timedelta(days=10),
    }


def drive(
    rt: Any,
    world: World,
    ref: cases.CaseRef,
    actor: Actor,
    action: Action,
    data: dict[str, Any] | None = None,
) -> cases.CaseRef:
    return cases.act(rt, actor, ref.id, action, data or {}, expected_version=ref.version)


def make_case(
    rt: Any, world: World, state: CaseState, *, county: bool = False, item: Item | None = None
) -> cases.CaseRef:
    """A case in `state`, reached through the real workflow."""
    item = item or (
        world.county_item() if county or state is CaseState.HANDED_OFF else world.township_item()
    )
    ref = intake(rt, world, item)
    if state is CaseState.RECEIVED:
        return ref
    w, today = world.window, rt.today()
    if state is CaseState.CORRECTION_REQUIRED:
        return drive(rt, world, ref, w, Action.REQUEST_CORRECTION, correction_data(item, today))
    if state is CaseState.REFUSED:
        return drive(rt, world, ref, w, Action.REFUSE, PATHS[state][0][2])
    if state is CaseState.WITHDRAWN:
        return drive(rt, world, ref, w, Action.WITHDRAW, PATHS[state][0][2])
    ref = drive(rt, world, ref, w, Action.ACCEPT)
    if state is CaseState.ACCEPTED:
        return ref
    if item.level == "county":
        ref = drive(rt, world, ref, w, Action.HAND_OFF)
        if state is CaseState.HANDED_OFF:
            return ref
        raise ValueError("county cases beyond handed_off need the county events")
    ref = drive(rt, world, ref, w, Action.ROUTE)
    if state is CaseState.IN_REVIEW:
        return ref
    station = world.stations[item.station or ""]
    ref = drive(rt, world, ref, station, Action.APPROVE, {"opinion": "同意办理"})
    if state is CaseState.DECIDED:
        return ref
    ref = drive(rt, world, ref, world.issuance, Action.NOTIFY, {"channel": "电话"})
    if state is CaseState.READY_TO_ISSUE:
        return ref
    pickup = {
        "method": "pickup",
        "collector_name": "本人",
        "collector_role": "applicant",
        "id_checked": True,
    }
    ref = drive(rt, world, ref, world.issuance, Action.ISSUE, pickup)
    if state is CaseState.ISSUED:
        return ref
    return drive(rt, world, ref, world.issuance, Action.CLOSE, {"rating": 5})
