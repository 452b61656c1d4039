"""Routes a township calls: packages, blobs, its event feed, catalog and holidays."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.convertors import Convertor, register_url_convertor

from sync.protocol import (
    BlobStored,
    CatalogRelease,
    ErrorBody,
    EventPage,
    HandoffPackage,
    HandoffReceipt,
    HolidayRelease,
    MissingBlobs,
    MissingBlobsRequest,
)
from sync.server import blobs, casework, distribution, store
from sync.server.auth import (
    Bearer,
    Township,
    TownshipPrincipal,
    bearer_token,
    verify_credential_async,
)
from sync.server.context import CountyServer, server_of
from sync.server.packages import receive_package, stored_receipt

ERROR_TEXT = {
    400: "请求无法解析",
    401: "未提供凭据或凭据无效",
    403: "无权进行此操作",
    404: "不存在（或不属于本乡镇）",
    409: "与已有数据冲突，须由人处理，不要自动重试",
    413: "内容过大",
    415: "文件类型不支持",
    422: "内容有误（中文说明见 detail）",
    429: "请求过于频繁",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error answers a route can give (all ErrorBody)."""
    return {code: {"model": ErrorBody, "description": ERROR_TEXT[code]} for code in codes}


AUTH_ERRORS = (401, 429)
Sha256Path = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$", description="小写十六进制 SHA-256")]


class Sha256Convertor(Convertor[str]):
    """`{sha256:sha256}` in a route path: only a hash matches, so `/blobs/missing` stays the
    address of its own route (405 for other methods) instead of a blob named "missing"."""

    regex = "[0-9a-f]{64}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("sha256", Sha256Convertor())
router = APIRouter(prefix="/api/v1")


async def any_caller(request: Request, credentials: Bearer) -> str:
    """Dependency for data every caller may read: a township credential or a staff token."""
    token = bearer_token(credentials)
    kind = "staff" if token.startswith("bjs.") else "township"
    await verify_credential_async(request, kind, token)
    return kind


Caller = Annotated[str, Depends(any_caller)]


@router.post(
    "/packages",
    response_model=HandoffReceipt,
    status_code=201,
    summary="移交、补正或撤回一个帮代办办件（幂等）",
    responses={
        200: {"model": HandoffReceipt, "description": "同一修订号的相同内容已收到：原回执"},
        **errors(*AUTH_ERRORS, 400, 403, 409, 413, 422),
    },
)
def post_package(request: Request, township: Township, package: HandoffPackage) -> Response:
    return package_answer(server_of(request), township, package)


def package_answer(
    server: CountyServer, township: TownshipPrincipal, package: HandoffPackage
) -> Response:
    """The receipt of a package (201 when new, 200 for a resend); blocks (database)."""
    receipt, created = receive_package(server, township, package)
    return Response(receipt, status_code=201 if created else 200, media_type="application/json")


@router.get(
    "/packages/{case_uuid}/{revision}",
    response_model=HandoffReceipt,
    summary="查询本乡镇某办件某修订的回执（发送结果不确定时用）",
    responses=errors(*AUTH_ERRORS, 404, 422),
)
def get_receipt(
    request: Request,
    township: Township,
    case_uuid: UUID,
    revision: Annotated[int, Path(ge=1, le=1_000_000)],
) -> Response:
    receipt = stored_receipt(server_of(request), township.code, str(case_uuid), revision)
    return Response(receipt, media_type="application/json")


@router.post(
    "/blobs/missing",
    response_model=MissingBlobs,
    summary="列出本乡镇尚未上传的附件哈希",
    responses=errors(*AUTH_ERRORS, 400, 413, 422),
)
def post_missing(request: Request, township: Township, body: MissingBlobsRequest) -> Response:
    return missing_answer(server_of(request), township, body)


def missing_answer(
    server: CountyServer, township: TownshipPrincipal, body: MissingBlobsRequest
) -> Response:
    """Which of the hashes the township has not uploaded; blocks (database)."""
    with store.connection(server.db):
        missing = blobs.missing_for(server.db, township.code, body.hashes, server)
    # Serialised here, in this worker thread: a returned model would cost another thread hop
    # for FastAPI to validate it (sync endpoints), on every push of every township.
    return Response(MissingBlobs(missing=missing).model_dump_json(), media_type="application/json")


@router.put(
    "/blobs/{sha256:sha256}",
    response_model=BlobStored,
    status_code=201,
    summary="上传一个附件（原始字节；PDF、JPEG 或 PNG，不超过20MB）",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
    responses={
        200: {"model": BlobStored, "description": "本乡镇已上传过相同内容"},
        404: {"model": ErrorBody, "description": "地址中不是64位小写十六进制的 SHA-256"},
        **errors(*AUTH_ERRORS, 400, 413, 415, 422),
    },
)
async def put_blob(request: Request, township: Township, sha256: Sha256Path) -> Response:
    return await blob_answer(server_of(request), request, sha256, township)


async def blob_answer(
    server: CountyServer, request: Request, sha256: str, township: TownshipPrincipal
) -> Response:
    """The request body stored as the blob `sha256` (201 when new to the township, else 200)."""
    stored = await blobs.receive_blob(server, request, sha256, township.code)
    # Serialised here: FastAPI would validate the model again against response_model.
    status = 201 if stored.created else 200
    return Response(stored.model_dump_json(), status_code=status, media_type="application/json")


@router.get(
    "/events",
    response_model=EventPage,
    summary="本乡镇的县级事件（按序号，从游标之后）",
    responses=errors(*AUTH_ERRORS, 422),
)
def get_events(
    request: Request,
    township: Township,
    after: Annotated[int, Query(ge=0, le=2**62, description="已处理到的序号")] = 0,
    limit: Annotated[int, Query(ge=1, le=casework.EVENT_PAGE_MAX)] = 100,
) -> EventPage:
    return casework.list_events(server_of(request), township.code, after, limit)


@router.get(
    "/catalog/latest",
    response_model=CatalogRelease,
    summary="最新发布的事项目录",
    responses=errors(*AUTH_ERRORS, 404),
)
def get_latest_catalog(request: Request, caller: Caller) -> CatalogRelease:
    return distribution.catalog_release(server_of(request), None)


@router.get(
    "/catalog/{version}",
    response_model=CatalogRelease,
    summary="指定版本的事项目录",
    responses=errors(*AUTH_ERRORS, 404, 422),
)
def get_catalog(
    request: Request,
    caller: Caller,
    version: Annotated[str, Path(pattern=r"^[0-9]{4}\.[0-9]{1,2}\.[0-9]{1,3}$")],
) -> CatalogRelease:
    return distribution.catalog_release(server_of(request), version)


@router.get(
    "/holidays",
    response_model=HolidayRelease,
    summary="县级发布的节假日安排（全部年份）",
    responses=errors(*AUTH_ERRORS, 404),
)
def get_holidays(request: Request, caller: Caller) -> HolidayRelease:
    return distribution.holiday_release(server_of(request))
