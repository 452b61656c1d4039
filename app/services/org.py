"""Townships, their stations and desks (set up once by the administrator or the demo)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.domain.case_number import check_desk_code, check_township_code
from app.domain.errors import NotFound, PermissionDenied, ValidationError
from app.domain.roles import Actor, Role
from app.services import audit
from app.store import db as dbmod
from app.store.models import DeskRecord, StationRecord, TownshipRecord
from forms.schema import STATIONS

if TYPE_CHECKING:
    from app.services.runtime import Runtime


def _require_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("只有系统管理员可以维护乡镇、站办所和窗口")


def add_township(
    rt: Runtime, actor: Actor, *, code: str, name: str, county_code: str, county_name: str
) -> None:
    """A township with its six stations (计生, 农业, 农经, 劳动, 民政, 退役军人)."""
    _require_admin(actor)
    check_township_code(code)
    if not code.startswith(county_code):
        raise ValidationError("乡镇区划代码须以所属县级区划代码开头", field="township")
    if not name.strip():
        raise ValidationError("请填写乡镇名称", field="name")
    with dbmod.write_transaction():
        if TownshipRecord.get_or_none(TownshipRecord.code == code):
            raise ValidationError(f"乡镇 {code} 已存在", field="township")
        town = TownshipRecord.create(
            code=code, name=name.strip(), county_code=county_code, county_name=county_name
        )
        for station_code, station_name in STATIONS.items():
            StationRecord.create(township=town, code=station_code, name=station_name)
        audit.record(
            rt,
            actor,
            "township.add",
            object_type="township",
            object_id=code,
            details={"name": name.strip()},
        )


def add_desk(rt: Runtime, actor: Actor, *, township: str, code: str, name: str) -> None:
    _require_admin(actor)
    code = check_desk_code(code)
    with dbmod.write_transaction():
        town = TownshipRecord.get_or_none(TownshipRecord.code == township)
        if town is None:
            raise NotFound(f"乡镇 {township} 不存在")
        exists = DeskRecord.select().where(
            (DeskRecord.township == town) & (DeskRecord.code == code)
        )
        if exists.exists():
            raise ValidationError(f"窗口代码 {code} 已存在", field="desk")
        DeskRecord.create(township=town, code=code, name=name.strip() or f"{code}号窗口")
        audit.record(rt, actor, "desk.add", object_type="desk", object_id=f"{township}-{code}")


def township_name(code: str) -> str:
    town = TownshipRecord.get_or_none(TownshipRecord.code == code)
    if town is None:
        raise NotFound(f"乡镇 {code} 不存在")
    return str(town.name)


def desks(township: str) -> list[tuple[str, str]]:
    query = (
        DeskRecord.select(DeskRecord.code, DeskRecord.name)
        .join(TownshipRecord)
        .where(TownshipRecord.code == township)
        .order_by(DeskRecord.code)
    )
    return [(d.code, d.name) for d in query]


def station_name(code: str | None) -> str:
    return STATIONS.get(code or "", "")
