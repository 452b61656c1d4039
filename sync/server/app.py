"""The FastAPI application of the county server: routes, error handling, the public page."""

from __future__ import annotations

from typing import Annotated

import peewee as pw
from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from sync.protocol import MAX_BLOB_BYTES, PROTOCOL_VERSION, ErrorBody, Health
from sync.server import progress, routes, routes_county, store
from sync.server.auth import client_ip
from sync.server.context import CountyServer, server_of
from sync.server.errors import BodyLimit, error_response, install_handlers
from sync.server.hotpath import PushHotPath
from sync.server.pages import SECURITY_HEADERS

JSON_BODY_LIMIT = 8 * 1024 * 1024
DESCRIPTION = """县级帮代办服务（不见面小系统）同步接口，协议版本 1。

乡镇以 `Authorization: Bearer bjt.…` 凭据调用，只能读写本乡镇的办件和事件；县级工作人员以
`Bearer bjs.…` 令牌调用。所有 4xx 应答均为 `{"detail": "<中文说明>", "code": "…"}`。
协议说明见 docs/sync-protocol.md。"""


def _html(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=SECURITY_HEADERS)


def _html_responses() -> dict[int | str, dict[str, object]]:
    html = {"content": {"text/html": {"schema": {"type": "string"}}}}
    return {
        200: {"description": "查询表单或办理进度", **html},
        400: {"description": "办件编号或查询码格式不正确", **html},
        404: {"description": "未查询到办件（编号不存在或查询码不符，两者应答相同）", **html},
        429: {"description": "查询过于频繁", **html},
        422: {"model": ErrorBody, "description": "查询参数无法解析"},
    }


def health(request: Request) -> Health | JSONResponse:
    """Up, and the database answers."""
    server = server_of(request)
    try:
        with store.connection(server.db):
            server.db.execute_sql("SELECT 1")  # type: ignore[no-untyped-call]
    except pw.PeeweeException:
        return error_response(503, "数据库不可用", "db_unavailable")
    return Health(protocol=PROTOCOL_VERSION, server_time=server.now().replace(microsecond=0))


def progress_page(
    request: Request,
    no: Annotated[str | None, Query(description="办件编号")] = None,
    code: Annotated[str | None, Query(description="6位查询码")] = None,
) -> HTMLResponse:
    """The form, or the case's steps; an unknown case and a wrong code look the same."""
    server = server_of(request)
    if no is None and code is None:
        return _html(progress.form_page())
    ip = client_ip(request.scope)
    if not server.progress_limiter.allow(ip):
        response = _html(progress.limited_page(), 429)
        response.headers["Retry-After"] = str(server.progress_limiter.window)
        return response
    inputs = progress.normalise(no, code)
    if inputs is None:
        return _html(progress.form_page(progress.input_problem(no, code)), 400)
    found = progress.lookup(server, *inputs)
    if found is None:
        return _html(progress.not_found_page(), 404)
    return _html(progress.result_page(found))


def _public_routes(app: FastAPI) -> None:
    app.get(
        "/api/v1/health",
        response_model=Health,
        summary="健康检查（含数据库）",
        responses={503: {"model": ErrorBody, "description": "数据库不可用"}},
    )(health)
    app.get(
        "/progress",
        response_class=HTMLResponse,
        summary="公众办件进度查询页（收件回执二维码地址）",
        responses=_html_responses(),
    )(progress_page)


def create_app(server: CountyServer, *, hot_path: bool = True) -> FastAPI:
    """The ASGI application serving `server` (run it with uvicorn, or a TestClient).
    `hot_path`: serve the plain requests of a township push without FastAPI's routing (see
    hotpath.py); off, every request takes the routes (the tests compare the two)."""
    app = FastAPI(
        title="不见面小系统 县级帮代办服务",
        version=str(PROTOCOL_VERSION),
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        # Swagger UI loads scripts from a CDN, which government extranets usually block.
        docs_url=None,
        redoc_url=None,
    )
    app.state.county = server
    install_handlers(app)
    if hot_path:  # added first: inside BodyLimit, which checks its declared length first
        app.add_middleware(PushHotPath, server=server)
    app.add_middleware(BodyLimit, default=JSON_BODY_LIMIT, blobs=MAX_BLOB_BYTES)
    _public_routes(app)
    app.include_router(routes.router)
    app.include_router(routes_county.router)
    return app
