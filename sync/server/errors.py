"""Errors as the API answers them: a status, a Chinese `detail` and a stable `code`, never a 500."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.domain.errors import AuthError, KnownError, NotFound, PermissionDenied, StaleError
from sync.protocol import API_PREFIX, ErrorBody, EventKind

log = logging.getLogger(__name__)


class ApiError(KnownError):
    """An expected refusal with its HTTP status (and, for absent blobs, their hashes)."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str,
        missing: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.status = status
        self.missing = missing
        self.headers = headers


def _status_of(exc: KnownError) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, AuthError):
        return 401
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, NotFound):
        return 404
    if isinstance(exc, StaleError):
        return 409
    return 422


def error_response(
    status: int,
    message: str,
    code: str,
    *,
    missing: list[str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorBody(detail=message, code=code, missing=missing)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def known_error_response(exc: KnownError) -> JSONResponse:
    """The answer to an expected refusal (ApiError, or a domain error by its kind)."""
    missing = exc.missing if isinstance(exc, ApiError) else None
    headers = exc.headers if isinstance(exc, ApiError) else None
    return error_response(_status_of(exc), exc.message, exc.code, missing=missing, headers=headers)


# --- pydantic's error types in Chinese ---------------------------------------------------------

_TYPE_MESSAGES: dict[str, str] = {
    "missing": "缺少此项",
    "extra_forbidden": "不是本接口的字段",
    "string_type": "应为文本",
    "string_too_short": "至少{min_length}个字",
    "string_too_long": "最多{max_length}个字",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数值",
    "float_parsing": "应为数值",
    "finite_number": "应为有限的数值",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "greater_than": "应大于{gt}",
    "greater_than_equal": "不能小于{ge}",
    "less_than": "应小于{lt}",
    "less_than_equal": "不能大于{le}",
    "uuid_type": "应为 UUID",
    "uuid_parsing": "应为 UUID",
    "date_type": "应为日期，格式如 2026-12-01",
    "date_parsing": "应为日期，格式如 2026-12-01",
    "date_from_datetime_parsing": "应为日期，格式如 2026-12-01",
    "date_from_datetime_inexact": "应为日期，格式如 2026-12-01",
    "datetime_type": "应为日期时间",
    "datetime_parsing": "应为日期时间，格式如 2026-12-01T09:30:00",
    "datetime_from_date_parsing": "应为日期时间，格式如 2026-12-01T09:30:00",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "list_type": "应为列表",
    "too_short": "至少{min_length}项",
    "too_long": "最多{max_length}项",
    "dict_type": "应为对象",
    "model_type": "应为对象",
    "model_attributes_type": "应为对象",
    "union_tag_invalid": "类型“{tag}”无效，应为以下之一：{expected_tags}",
    "union_tag_not_found": "缺少类型字段 {discriminator}",
    "json_invalid": "请求内容不是有效的 JSON",
    "json_type": "请求内容不是有效的 JSON",
}

FIELD_LABELS: dict[str, str] = {
    "case_uuid": "办件UUID",
    "revision": "修订号",
    "action": "操作",
    "reason": "原因",
    "township": "乡镇区划代码",
    "case_no": "办件编号",
    "query_code": "查询码",
    "item_code": "事项编码",
    "item_name": "事项名称",
    "catalog_version": "事项目录版本",
    "kind": "类型",
    "limit_days": "承诺时限",
    "accepted_on": "受理日期",
    "handed_off_on": "移交日期",
    "deadline": "办结期限",
    "applicant": "申请人",
    "proxy": "代办人",
    "authorisation": "委托授权",
    "commitment": "告知承诺",
    "form_data": "申请表",
    "materials": "材料清单",
    "attachments": "附件",
    "name": "名称",
    "id_type": "证件类型",
    "id_number": "证件号码",
    "id_override_reason": "校验例外原因",
    "phone": "联系电话",
    "address": "地址",
    "relation": "与申请人关系",
    "legal_rep": "法定代表人",
    "required": "是否必要",
    "status": "状态",
    "copies": "份数",
    "due_date": "期限",
    "sha256": "SHA-256",
    "size": "大小",
    "mime": "文件类型",
    "material": "所属材料",
    "hashes": "哈希列表",
    "data": "事件内容",
    "on": "日期",
    "missing": "补正材料",
    "decision": "办结结果",
    "opinion": "意见",
    "basis": "依据",
    "method": "送达方式",
    "carrier": "寄递企业",
    "tracking_no": "运单号",
    "note": "备注",
    "content": "内容",
    "years": "年份",
    "days": "日期列表",
    "date": "日期",
    "after": "游标",
    "limit": "条数",
    "offset": "起始位置",
    "due_before": "期限截止",
}

_WHERE = {"body": "", "query": "查询参数", "path": "地址参数", "header": "请求头"}
_SKIP = {kind.value for kind in EventKind} | {"function-after", "function-before"}


def _location(loc: Sequence[Any]) -> str:
    parts: list[str] = []
    for index, item in enumerate(loc):
        if index == 0 and item in _WHERE:
            if _WHERE[item]:
                parts.append(_WHERE[item])
            continue
        if isinstance(item, int):
            parts.append(f"第{item + 1}项")
        elif str(item) not in _SKIP and not str(item).startswith(("function-", "json-or-python")):
            parts.append(FIELD_LABELS.get(str(item), str(item)))
    return "·".join(parts)


def _message(error: dict[str, Any]) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in ("too_short", "too_long") and isinstance(error.get("input"), str):
        kind = "string_" + kind  # a length check placed after a validator reports generically
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    template = _TYPE_MESSAGES.get(kind, "内容无效")
    try:
        return template.format(**{k: str(v) for k, v in ctx.items()})
    except (KeyError, IndexError):
        return template.split("{")[0].rstrip("：") or "内容无效"


def describe_errors(errors: Sequence[Any], *, limit: int = 5) -> str:
    """One Chinese sentence for pydantic's error list: where, and what is wrong there."""
    lines: list[str] = []
    for error in errors[:limit]:
        where = _location(error.get("loc", ()))
        lines.append(f"{where}：{_message(error)}" if where else _message(error))
    more = f"（另有{len(errors) - limit}处）" if len(errors) > limit else ""
    return "请求内容有误：" + "；".join(dict.fromkeys(lines)) + more


_HTTP_MESSAGES = {
    400: ("请求无法解析", "bad_request"),
    401: ("未提供有效的凭据", "unauthorized"),
    404: ("找不到该地址", "not_found"),
    405: ("该地址不支持此请求方法", "method_not_allowed"),
    413: ("请求内容过大", "too_large"),
    415: ("不支持的内容类型", "unsupported_media_type"),
}


HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this address. Starlette's 405 names only the first
    route's methods, but GET and POST of /api/v1/events (and of /holidays) are two routes."""
    routes = request.app.router.routes

    def serves(method: str) -> bool:
        scope = {**request.scope, "method": method}
        return any(route.matches(scope)[0] is Match.FULL for route in routes)

    return ", ".join(method for method in HTTP_METHODS if serves(method))


def install_handlers(app: FastAPI) -> None:
    """Route every error through one JSON shape with a Chinese message."""

    @app.exception_handler(KnownError)
    async def known(request: Request, exc: KnownError) -> JSONResponse:
        return known_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, describe_errors(exc.errors()), "invalid")

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message, code = _HTTP_MESSAGES.get(exc.status_code, ("请求有误", "http_error"))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = allowed_methods(request)
        return error_response(exc.status_code, message, code, headers=headers or None)

    @app.exception_handler(Exception)
    async def bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "服务器内部错误，已记录，请稍后再试或联系县级管理员", "internal")


class BodyLimit:
    """Refuse request bodies past a limit (blob uploads have their own) with a Chinese 413.

    A declared Content-Length is checked before anything runs; a body sent in chunks is
    counted while it is read and stops with the same answer once it passes the limit.
    """

    def __init__(self, app: ASGIApp, *, default: int, blobs: int) -> None:
        self.app = app
        self.default = default
        self.blobs = blobs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        blob = scope["method"] == "PUT" and str(scope["path"]).startswith(f"{API_PREFIX}/blobs/")
        limit = self.blobs if blob else self.default
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            what = "附件" if blob else "请求内容"
            message = f"{what}过大：不能超过{limit // (1024 * 1024)}MB"
            response = error_response(413, message, "too_large")
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise StarletteHTTPException(413)
            return message

        await self.app(scope, counted, send)
