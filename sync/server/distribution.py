"""County → township: item catalog versions and the holiday calendar, published by the admin."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime

from app.domain.calendar import HolidayDay, dump_holiday_file, parse_holiday_file
from forms.catalog import CatalogError, catalog_sha256, dump_catalog, loads_catalog
from sync.protocol import CatalogRelease, CatalogUpload, HolidayCalendar, HolidayRelease
from sync.server import store
from sync.server.auth import StaffPrincipal
from sync.server.context import CountyServer
from sync.server.errors import ApiError
from sync.server.store import CountyCatalogRecord, CountyHolidayYearRecord


def _sort_key(version: str) -> str:
    year, month, serial = (int(part) for part in version.split("."))
    return f"{year:04d}.{month:02d}.{serial:03d}"


def _release(row: CountyCatalogRecord) -> CatalogRelease:
    return CatalogRelease(
        version=row.version,
        sha256=row.sha256,
        published=row.published,
        items=row.items,
        uploaded_at=row.uploaded_at,
        content=row.content,
    )


def publish_catalog(
    server: CountyServer, staff: StaffPrincipal, upload: CatalogUpload
) -> tuple[CatalogRelease, bool]:
    """Store a checked catalog version; the same version again must be the same content."""
    try:
        catalog = loads_catalog(upload.content)
    except CatalogError as exc:
        raise ApiError(
            422, "事项目录有误，未发布：\n" + str(exc)[:4000], code="invalid_catalog"
        ) from None
    except (ValueError, RecursionError):  # an absurdly long number or deep nesting in the JSON
        raise ApiError(422, "事项目录有误，未发布：JSON 无法解析", code="invalid_catalog") from None
    digest = catalog_sha256(catalog)
    with store.transaction(server.db):
        row = CountyCatalogRecord.get_or_none(CountyCatalogRecord.version == catalog.version)
        if row is not None:
            if row.sha256 != digest:
                raise ApiError(
                    409,
                    f"事项目录版本 {catalog.version} 已发布且内容不同；修改目录须使用新版本号",
                    code="version_conflict",
                )
            return _release(row), False
        row = CountyCatalogRecord.create(
            version=catalog.version,
            sort_key=_sort_key(catalog.version),
            sha256=digest,
            published=catalog.published,
            items=len(catalog.items),
            content=dump_catalog(catalog),
            uploaded_at=server.now().replace(microsecond=0),
            uploaded_by=staff.username,
        )
    return _release(row), True


def catalog_release(server: CountyServer, version: str | None) -> CatalogRelease:
    """The given version, or the newest by version number."""
    with store.connection(server.db):
        query = CountyCatalogRecord.select()
        if version is None:
            row = query.order_by(CountyCatalogRecord.sort_key.desc()).first()
        else:
            row = query.where(CountyCatalogRecord.version == version).first()
    if row is None:
        what = "尚未发布事项目录" if version is None else f"没有事项目录版本 {version}"
        raise ApiError(404, f"县级{what}", code="not_found")
    return _release(row)


def publish_holidays(
    server: CountyServer, staff: StaffPrincipal, calendar: HolidayCalendar
) -> HolidayRelease:
    """Replace the schedule of the years in the upload; other years keep theirs."""
    years, days = parse_holiday_file(json.dumps(calendar.model_dump(mode="json")))
    now = server.now().replace(microsecond=0)
    with store.transaction(server.db):
        for year in sorted(years):
            entries = [
                {"date": d.day.isoformat(), "kind": d.kind, "name": d.name}
                for d in sorted(days, key=lambda d: d.day)
                if d.day.year == year
            ]
            text = json.dumps(entries, ensure_ascii=False)
            CountyHolidayYearRecord.insert(
                year=year, days=text, uploaded_at=now, uploaded_by=staff.username
            ).on_conflict(
                conflict_target=[CountyHolidayYearRecord.year],
                update={
                    CountyHolidayYearRecord.days: text,
                    CountyHolidayYearRecord.uploaded_at: now,
                    CountyHolidayYearRecord.uploaded_by: staff.username,
                },
            ).execute()
    return holiday_release(server)


def holiday_release(server: CountyServer) -> HolidayRelease:
    """Every published year in the holiday file format, with a hash to skip unchanged ones."""
    with store.connection(server.db):
        rows = list(CountyHolidayYearRecord.select().order_by(CountyHolidayYearRecord.year))
    if not rows:
        raise ApiError(404, "县级尚未发布节假日安排", code="not_found")
    days = [
        HolidayDay(datetime.strptime(e["date"], "%Y-%m-%d").date(), e["kind"], e["name"])
        for row in rows
        for e in json.loads(row.days)
    ]
    years = [int(r.year) for r in rows]
    text = dump_holiday_file(years, days)
    return HolidayRelease(
        years=years,
        days=json.loads(text)["days"],
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        updated_at=max(r.uploaded_at for r in rows),
    )
