"""The three requests of every township push, answered without FastAPI's routing and
dependency solving: which blobs are missing, a blob, a package.

Every handoff costs the county these requests, and on them FastAPI's route matching,
dependency solving and body parsing cost more CPU than the work itself: a missing-blobs
query took 360 µs of CPU through FastAPI and 170 µs here (in process, thread hop included).

Only the plain case is served here: a township credential this process has already
verified, a declared body length, no query string, and for the JSON routes the content
type `application/json` and a body that validates. Everything else (the first request of
a credential, a wrong or missing one, a malformed body, any other address or method) goes
on to the FastAPI application, with whatever body was read handed on unchanged, so every
refusal is answered by the routes in routes.py, as their OpenAPI schema describes. The
work itself is the routes' own (`missing_answer`, `blob_answer`, `package_answer`), and an
expected refusal from it is rendered by the same function as the application's handler.
"""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

import pydantic
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.domain.errors import KnownError
from sync.protocol import API_PREFIX, HandoffPackage, MissingBlobsRequest
from sync.server import store
from sync.server.auth import TownshipPrincipal, already_verified, client_ip
from sync.server.context import CountyServer
from sync.server.errors import known_error_response
from sync.server.routes import Sha256Convertor, blob_answer, missing_answer, package_answer

M = TypeVar("M", bound=pydantic.BaseModel)
_MISSING = f"{API_PREFIX}/blobs/missing"
_PACKAGES = f"{API_PREFIX}/packages"
_BLOB = re.compile(re.escape(f"{API_PREFIX}/blobs/") + Sha256Convertor.regex)
_JSON = b"application/json"


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a header (names come lower-cased from the server), as Starlette
    reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _replayed(messages: list[Message], receive: Receive) -> Receive:
    """`receive` with the messages already taken from it given out again first."""
    pending = deque(messages)

    async def replay() -> Message:
        return pending.popleft() if pending else await receive()

    return replay


class PushHotPath:
    """ASGI middleware in front of the application's routes (see the module docstring)."""

    def __init__(self, app: ASGIApp, *, server: CountyServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        township = self._plain_township_request(scope)
        if township is None:
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        try:
            if path == _PACKAGES:
                await self._json(scope, receive, send, HandoffPackage, township, package_answer)
            elif path == _MISSING:
                await self._json(
                    scope, receive, send, MissingBlobsRequest, township, missing_answer,
                    in_loop=True,
                )  # fmt: skip
            else:
                sha256 = path.rsplit("/", 1)[1]
                request = Request(scope, receive)
                response = await blob_answer(self.server, request, sha256, township)
                await response(scope, receive, send)
        except KnownError as exc:
            await known_error_response(exc)(scope, receive, send)

    def _plain_township_request(self, scope: Scope) -> TownshipPrincipal | None:
        """The calling township when the request is one this path serves, else None."""
        if scope["type"] != "http" or scope["query_string"] or scope.get("root_path"):
            return None
        method, path = scope["method"], scope["path"]
        if method == "POST" and path in (_PACKAGES, _MISSING):
            if _header(scope, b"content-type") != _JSON:
                return None
        elif method != "PUT" or _BLOB.fullmatch(path) is None:
            return None
        length = _header(scope, b"content-length")
        if length is None or not length.isdigit():
            return None
        scheme, _, credential = (_header(scope, b"authorization") or b"").partition(b" ")
        if scheme.lower() != b"bearer" or not credential.isascii():
            return None
        ip = client_ip(scope)
        principal = already_verified(self.server, ip, "township", credential.decode("ascii"))
        return principal if isinstance(principal, TownshipPrincipal) else None

    async def _json(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        model: type[M],
        township: TownshipPrincipal,
        answer: Callable[[CountyServer, TownshipPrincipal, M], Response],
        *,
        in_loop: bool = False,
    ) -> None:
        """Read the body; if it is the model, answer in a worker thread (database work),
        else let the application answer with the body handed on. `in_loop`: an answer that
        is one indexed read is given in the event loop's own thread when a pooled
        PostgreSQL connection sits idle (`store.spare_only`: no wait, no connecting): the
        hop to a worker thread and back cost more than the read (in a push of 1,000
        handoffs, answered so, the missing-blobs query took 0.15-0.25 ms less server CPU
        per handoff, and the push about 2 % less time)."""
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        parsed = _parsed(model, b"".join(chunks)) if message["type"] == "http.request" else None
        if parsed is None:
            await self.app(scope, _replayed(messages, receive), send)
            return
        response = None
        if in_loop:
            try:
                with store.spare_only(self.server.db):
                    response = answer(self.server, township, parsed)
            except store.NotSpare:
                pass
        if response is None:
            response = await run_in_threadpool(answer, self.server, township, parsed)
        await response(scope, receive, send)


def _parsed(model: type[M], body: bytes) -> M | None:
    """The body as FastAPI reads a JSON body parameter (json.loads, then the model in
    Python mode), or None when it would refuse it."""
    try:
        data: Any = json.loads(body)
        return model.model_validate(data, from_attributes=True)
    except (ValueError, pydantic.ValidationError):
        return None
