"""County → township: the newest item catalog and the holiday calendar, applied when changed.

A release goes through the same checks as `bujianmian catalog import` / `holidays import`
(the same service functions) and is applied in one transaction, or not at all. A release
that fails them is recorded once (audit and a setting keyed by its hash) and reported as the
last error in every cycle until the county publishes another one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from app.domain.calendar import dump_holiday_file, parse_holiday_file
from app.domain.errors import KnownError
from app.domain.roles import Actor
from app.services import audit
from app.services.catalog import import_catalog
from app.services.holidays import import_holidays
from app.services.runtime import get_setting, set_setting
from app.store import db as dbmod
from app.store.models import CatalogVersionRecord
from forms.catalog import CatalogError, catalog_sha256, loads_catalog
from sync.client.events import sync_actor
from sync.client.http import CountyClient, Refused
from sync.client.status import note_contact
from sync.protocol import CatalogRelease, HolidayRelease

if TYPE_CHECKING:
    from app.services.runtime import Runtime

CATALOG_REJECTED_KEY = "county_catalog_rejected"
HOLIDAYS_SHA_KEY = "county_holidays_sha256"
HOLIDAYS_REJECTED_KEY = "county_holidays_rejected"
HOLIDAY_SOURCE = "县级同步"
R = TypeVar("R")


@dataclass
class DistributionReport:
    catalog: str = ""  # the catalog version applied in this cycle
    holiday_years: list[int] = field(default_factory=list)  # the years replaced in this cycle
    problems: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """What was applied, in Chinese ('' when nothing changed)."""
        parts = []
        if self.catalog:
            parts.append(f"已启用县级事项目录 {self.catalog} 版")
        if self.holiday_years:
            years = "、".join(str(y) for y in self.holiday_years)
            parts.append(f"已更新 {years} 年节假日安排")
        return "；".join(parts)


def _fetch(get: Callable[[], R]) -> R | None:
    """The release, or None when the county has not published one yet (404)."""
    try:
        return get()
    except Refused as exc:
        if exc.status == 404:
            return None
        raise


def version_key(version: str) -> tuple[int, ...]:
    """'2026.11.1' → (2026, 11, 1): versions compare by number, not as text."""
    return tuple(int(part) for part in version.split("."))


def _refused_before(key: str, sha256: str, report: DistributionReport) -> bool:
    """True, and the stored reason reported again, when this very release was refused."""
    try:
        stored = json.loads(get_setting(key) or "{}")
    except ValueError:
        return False
    if isinstance(stored, dict) and stored.get("sha256") == sha256:
        report.problems.append(str(stored.get("message", "")))
        return True
    return False


def _refuse(rt: Runtime, actor: Actor, what: tuple[str, str, str], sha256: str, reason: str) -> str:
    """Record a refused release once: audited, and its reason kept under its hash."""
    key, object_type, object_id = what
    with dbmod.write_transaction():
        set_setting(key, json.dumps({"sha256": sha256, "message": reason}, ensure_ascii=False))
        audit.record(
            rt,
            actor,
            f"sync.{object_type}_rejected",
            object_type=object_type,
            object_id=object_id,
            outcome="refused",
            details={"sha256": sha256, "error": reason},
        )
    return reason


def _catalog_is_new(release: CatalogRelease) -> bool:
    """Newer than the active version, or the same version with other content (which the
    import then refuses and reports); an older county version never replaces a newer one."""
    active = CatalogVersionRecord.get_or_none(CatalogVersionRecord.active == True)  # noqa: E712
    if active is None:
        return True
    if version_key(release.version) < version_key(active.version):
        return False
    return bool(release.version != active.version or release.sha256 != active.sha256)


def _apply_catalog(rt: Runtime, actor: Actor, release: CatalogRelease) -> None:
    try:
        digest = catalog_sha256(loads_catalog(release.content))
    except CatalogError:
        digest = ""  # import_catalog below says what is wrong, in Chinese
    except (ValueError, RecursionError):  # an absurd number or nesting in the JSON
        raise KnownError("目录内容无法解析") from None
    if digest and digest != release.sha256:
        raise KnownError("目录内容与县级公布的校验值不符（传输或县级数据可能有误）")
    import_catalog(rt, actor, release.content)


def pull_catalog(
    rt: Runtime, client: CountyClient, actor: Actor, report: DistributionReport
) -> None:
    release = _fetch(client.catalog_latest)
    if release is None or not _catalog_is_new(release):
        return
    if _refused_before(CATALOG_REJECTED_KEY, release.sha256, report):
        return
    try:
        _apply_catalog(rt, actor, release)
    except KnownError as exc:
        reason = f"县级事项目录 {release.version} 版未能启用：{exc.message}"
        what = (CATALOG_REJECTED_KEY, "catalog", release.version)
        report.problems.append(_refuse(rt, actor, what, release.sha256, reason))
        return
    report.catalog = release.version


def _holiday_text(release: HolidayRelease) -> str:
    """The release as a holiday file, checked against the hash the county gave it."""
    text = json.dumps(
        {"years": release.years, "days": [d.model_dump(mode="json") for d in release.days]},
        ensure_ascii=False,
    )
    years, days = parse_holiday_file(text)
    canonical = dump_holiday_file(years, days)
    if hashlib.sha256(canonical.encode("utf-8")).hexdigest() != release.sha256:
        raise KnownError("节假日内容与县级公布的校验值不符（传输或县级数据可能有误）")
    return canonical


def pull_holidays(
    rt: Runtime, client: CountyClient, actor: Actor, report: DistributionReport
) -> None:
    release = _fetch(client.holidays)
    if release is None or release.sha256 == get_setting(HOLIDAYS_SHA_KEY):
        return
    if _refused_before(HOLIDAYS_REJECTED_KEY, release.sha256, report):
        return
    try:
        text = _holiday_text(release)
        with dbmod.write_transaction():
            years = import_holidays(rt, actor, text, source=HOLIDAY_SOURCE)
            set_setting(HOLIDAYS_SHA_KEY, release.sha256)
    except KnownError as exc:
        reason = f"县级节假日安排未能更新：{exc.message}"
        what = (HOLIDAYS_REJECTED_KEY, "holiday", release.updated_at.isoformat())
        report.problems.append(_refuse(rt, actor, what, release.sha256, reason))
        return
    report.holiday_years = years


def pull_distribution(rt: Runtime, client: CountyClient) -> DistributionReport:
    """Fetch the newest catalog and holiday calendar and apply what changed."""
    actor = sync_actor(client.config.township)
    report = DistributionReport()
    pull_catalog(rt, client, actor, report)
    pull_holidays(rt, client, actor, report)
    note_contact(True, report.problems[-1] if report.problems else "")
    return report
