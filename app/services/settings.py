"""Settings declared once: key, Chinese label, type, default and check; changes are audited."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.domain.errors import NotFound, PermissionDenied, ValidationError
from app.domain.roles import Actor, Role
from app.services import audit
from app.services.logs import scrub
from app.services.runtime import get_setting, set_setting
from app.store import db as dbmod
from app.store.models import TownshipRecord

if TYPE_CHECKING:
    from app.services.runtime import Runtime


def _int_range(low: int, high: int) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        if not value.isdigit() or not low <= int(value) <= high:
            return f"应为{low}至{high}之间的整数"
        return None

    return check


def _url(value: str) -> str | None:
    return None if re.match(r"^https?://[^\s]+$", value) else "应为 http:// 或 https:// 开头的网址"


def _text(value: str) -> str | None:
    return None if 2 <= len(value.strip()) <= 100 else "应为2至100个字"


def _phone(value: str) -> str | None:
    return (
        None if re.match(r"^[0-9\-（）()转 ]{7,30}$", value) else "应为电话号码，如 0538-12345678"
    )


def _county_url(value: str) -> str | None:
    if re.match(r"^https?://[^\s/]+(:[0-9]+)?/?$", value):
        return None
    return "应为县级服务器地址，如 https://county.example:8750"


def _ca_bundle(value: str) -> str | None:
    from pathlib import Path

    if not value or Path(value).is_file():
        return None
    return "应为本机上存在的证书文件（PEM）路径"


@dataclass(frozen=True)
class Setting:
    key: str
    label: str
    default: str  # "" means: derived (see `help`)
    help: str
    check: Callable[[str], str | None]
    per_township: bool = False


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting(
            "idle_minutes",
            "空闲锁定时间（分钟）",
            "10",
            "超过该时间无操作须重新输入密码",
            _int_range(1, 240),
        ),
        Setting(
            "progress_base_url", "进度查询网址", "", "收件回执二维码指向的县级进度查询页面", _url
        ),
        Setting("reconsideration_organ", "行政复议机关", "", "默认：本县人民政府", _text),
        Setting("court", "行政诉讼法院", "", "默认：本县人民法院", _text),
        Setting(
            "county_sync_url", "县级服务器地址", "", "帮代办办件同步到的县级服务器", _county_url
        ),
        Setting(
            "county_ca_bundle", "县级服务器证书（CA）", "", "默认：使用系统信任的证书", _ca_bundle
        ),
        Setting(
            "organ_name",
            "出具机关（盖章单位）",
            "",
            "默认：XX镇人民政府便民服务中心",
            _text,
            per_township=True,
        ),
        Setting("organ_address", "办公地址", "", "印在文书上的地址", _text, per_township=True),
        Setting("organ_phone", "咨询电话", "", "印在文书上的咨询电话", _phone, per_township=True),
    )
}


def stored_key(key: str, township: str | None) -> str:
    return f"{key}:{township}" if SETTINGS[key].per_township else key


def get(key: str, township: str | None = None) -> str:
    setting = SETTINGS[key]
    return get_setting(stored_key(key, township)) or setting.default


def set_value(
    rt: Runtime, actor: Actor, key: str, value: str, *, township: str | None = None
) -> None:
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("只有系统管理员可以修改设置")
    setting = SETTINGS.get(key)
    if setting is None:
        raise NotFound(f"没有这项设置：{key}。可用：" + "、".join(SETTINGS))
    if setting.per_township and not township:
        raise ValidationError(f"「{setting.label}」须指定乡镇（--township）", field="township")
    if township and not TownshipRecord.select().where(TownshipRecord.code == township).exists():
        raise NotFound(f"乡镇 {township} 不存在")
    value = value.strip()
    problem = setting.check(value)
    if problem:
        raise ValidationError(f"「{setting.label}」{problem}", field=key)
    with dbmod.write_transaction():
        set_setting(stored_key(key, township), value)
        audit.record(
            rt,
            actor,
            "settings.set",
            object_type="setting",
            object_id=stored_key(key, township),
            details={"value": scrub(value)},
        )
