"""Item catalog versions: import, activate, look up; a case keeps the version it began under."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pypinyin import Style, lazy_pinyin

from app.domain.errors import NotFound, PermissionDenied, ValidationError
from app.domain.roles import Actor, Role
from app.services import audit
from app.store import db as dbmod
from app.store.models import CatalogItemRecord, CatalogVersionRecord
from forms.catalog import CatalogError, catalog_sha256, dump_catalog, loads_catalog
from forms.schema import Catalog, Item

if TYPE_CHECKING:
    from app.services.runtime import Runtime


def initials(name: str) -> str:
    """Pinyin initials for quick search: 生育登记 → syd j → "sydj"."""
    return "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="ignore")).lower()


def import_catalog(rt: Runtime, actor: Actor, text: str, *, activate: bool = True) -> Catalog:
    """Validate and store a catalog version; an existing version must be byte-identical."""
    if actor.role not in (Role.ADMIN, Role.SYNC):
        raise PermissionDenied("只有系统管理员可以导入事项目录")
    try:
        catalog = loads_catalog(text)
    except CatalogError as exc:
        raise ValidationError("事项目录有误，未导入：\n" + str(exc), field="catalog") from None
    digest = catalog_sha256(catalog)
    with dbmod.write_transaction():
        existing = CatalogVersionRecord.get_or_none(CatalogVersionRecord.version == catalog.version)
        if existing is not None and existing.sha256 != digest:
            raise ValidationError(
                f"事项目录版本 {catalog.version} 已存在且内容不同；修改目录须发布新版本号",
                field="catalog",
            )
        if existing is None:
            existing = CatalogVersionRecord.create(
                version=catalog.version,
                sha256=digest,
                content=dump_catalog(catalog),
                imported_at=rt.now(),
                active=False,
            )
            CatalogItemRecord.insert_many(
                [
                    {
                        "catalog": existing.id,
                        "code": i.code,
                        "name": i.name,
                        "level": i.level,
                        "station": i.station,
                        "promised_days": i.promised_limit_days,
                        "initials": initials(i.name)[:100],
                    }
                    for i in catalog.items
                ]
            ).execute()
        if activate:
            CatalogVersionRecord.update(active=False).where(
                CatalogVersionRecord.active == True  # noqa: E712
            ).execute()
            CatalogVersionRecord.update(active=True).where(
                CatalogVersionRecord.id == existing.id
            ).execute()
        audit.record(
            rt,
            actor,
            "catalog.import",
            object_type="catalog",
            object_id=catalog.version,
            details={"sha256": digest, "items": len(catalog.items), "active": activate},
        )
    return catalog


_parsed: dict[str, Catalog] = {}


def _load(row_id: int, sha256: str) -> Catalog:
    """Parse a stored version once per process (versions never change once stored)."""
    cached = _parsed.get(sha256)
    if cached is None:
        content = (
            CatalogVersionRecord.select(CatalogVersionRecord.content)
            .where(CatalogVersionRecord.id == row_id)
            .scalar()
        )
        cached = _parsed[sha256] = loads_catalog(content)
    return cached


def get_catalog(version: str | None = None) -> Catalog:
    """The active catalog, or a given version (cases keep their version)."""
    query = CatalogVersionRecord.select(
        CatalogVersionRecord.id, CatalogVersionRecord.version, CatalogVersionRecord.sha256
    )
    if version is None:
        row = query.where(CatalogVersionRecord.active == True).first()  # noqa: E712
        if row is None:
            raise NotFound("尚未导入事项目录，请先导入（bujianmian catalog import）或从县级同步")
    else:
        row = query.where(CatalogVersionRecord.version == version).first()
        if row is None:
            raise NotFound(f"事项目录版本 {version} 不存在")
    return _load(row.id, row.sha256)


def get_item(code: str, version: str | None = None) -> Item:
    catalog = get_catalog(version)
    if not catalog.has_item(code):
        raise NotFound(f"事项目录 {catalog.version} 中没有事项 {code}")
    return catalog.item(code)


def list_versions() -> list[tuple[str, bool, int]]:
    rows = CatalogVersionRecord.select().order_by(CatalogVersionRecord.imported_at)
    return [
        (
            r.version,
            bool(r.active),
            CatalogItemRecord.select().where(CatalogItemRecord.catalog == r.id).count(),
        )
        for r in rows
    ]


def search_items(text: str, *, limit: int = 20) -> list[Item]:
    """Items of the active catalog whose name, code or pinyin initials contain `text`."""
    catalog = get_catalog()
    needle = text.strip().lower()
    if not needle:
        return list(catalog.items[:limit])
    found = [
        item
        for item in catalog.items
        if needle in item.name.lower()
        or needle in item.code.lower()
        or needle in initials(item.name)
        or any(needle in k for k in item.keywords)
    ]
    return found[:limit]


def export_catalog(version: str | None = None) -> str:
    return dump_catalog(get_catalog(version))
