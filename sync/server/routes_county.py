"""Routes county staff call: record events, publish catalog and holidays, read the inbox."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from sync.protocol import (
    BLOB_MIMES,
    CatalogRelease,
    CatalogUpload,
    CountyEvent,
    HolidayCalendar,
    HolidayRelease,
    NewCountyEvent,
)
from sync.protocol_county import CaseDetail, CasePage, CountyStatus, TownshipStats
from sync.protocol_types import IsoDate
from sync.server import blobs, casework, distribution, inbox
from sync.server.auth import AdminStaff, Staff, WindowStaff
from sync.server.context import server_of
from sync.server.routes import AUTH_ERRORS, Sha256Path, errors

router = APIRouter(prefix="/api/v1")


@router.post(
    "/events",
    response_model=CountyEvent,
    status_code=201,
    summary="县级窗口登记签收、补正、办结、送达或归档（发往办件所属乡镇）",
    responses=errors(*AUTH_ERRORS, 400, 403, 404, 409, 413, 422),
)
def post_event(request: Request, staff: WindowStaff, event: NewCountyEvent) -> CountyEvent:
    return casework.append_event(server_of(request), staff, event)


@router.post(
    "/catalog",
    response_model=CatalogRelease,
    status_code=201,
    summary="发布事项目录版本（同版本同内容重复发布返回200）",
    responses={
        200: {"model": CatalogRelease, "description": "该版本已以相同内容发布"},
        **errors(*AUTH_ERRORS, 400, 403, 409, 413, 422),
    },
)
def post_catalog(
    request: Request, staff: AdminStaff, upload: CatalogUpload, response: Response
) -> CatalogRelease:
    release, created = distribution.publish_catalog(server_of(request), staff, upload)
    response.status_code = 201 if created else 200
    return release


@router.post(
    "/holidays",
    response_model=HolidayRelease,
    summary="发布节假日安排（替换所含年份的安排）",
    responses=errors(*AUTH_ERRORS, 400, 403, 413, 422),
)
def post_holidays(request: Request, staff: AdminStaff, calendar: HolidayCalendar) -> HolidayRelease:
    return distribution.publish_holidays(server_of(request), staff, calendar)


@router.get(
    "/county/cases",
    response_model=CasePage,
    summary="县级收件箱：全部乡镇的帮代办办件，可按乡镇、事项、状态、期限筛选",
    responses=errors(*AUTH_ERRORS, 422),
)
def get_cases(
    request: Request,
    staff: Staff,
    township: Annotated[str | None, Query(pattern=r"^[0-9]{9}$")] = None,
    item_code: Annotated[str | None, Query(pattern=r"^[0-9A-Za-z_.-]{1,40}$")] = None,
    status: CountyStatus | None = None,
    due_before: IsoDate | None = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=inbox.INBOX_PAGE_MAX)] = 50,
) -> CasePage:
    where = inbox.InboxFilter(township, item_code, status, due_before)
    return inbox.list_cases(server_of(request), where, offset, limit)


@router.get(
    "/county/cases/{case_uuid}",
    response_model=CaseDetail,
    summary="一个办件的完整内容（含证件号码）、修订历史和县级事件",
    responses=errors(*AUTH_ERRORS, 404, 422),
)
def get_case(request: Request, staff: Staff, case_uuid: UUID) -> CaseDetail:
    return inbox.case_detail(server_of(request), str(case_uuid))


@router.get(
    "/county/blobs/{sha256:sha256}",
    summary="下载一个附件（校验后返回原始字节）",
    response_class=Response,
    responses={
        200: {
            "description": "附件内容",
            "content": {
                mime: {"schema": {"type": "string", "format": "binary"}} for mime in BLOB_MIMES
            },
        },
        **errors(*AUTH_ERRORS, 404, 409, 422),
    },
)
def get_blob(request: Request, staff: Staff, sha256: Sha256Path) -> Response:
    data, mime = blobs.read_blob(server_of(request), sha256)
    return Response(data, media_type=mime, headers={"Cache-Control": "no-store"})


@router.get(
    "/county/stats",
    response_model=list[TownshipStats],
    summary="各乡镇帮代办办件统计（按状态、逾期）",
    responses=errors(*AUTH_ERRORS),
)
def get_stats(request: Request, staff: Staff) -> list[TownshipStats]:
    server = server_of(request)
    return inbox.township_stats(server, server.now().date())
