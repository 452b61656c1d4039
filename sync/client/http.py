"""The county server over HTTP (requests): each failure becomes a SyncError saying what to do."""

from __future__ import annotations

import json
import os
from typing import Any, TypeVar

import pydantic
import requests
from urllib3.exceptions import NewConnectionError

from app.domain.errors import KnownError
from sync.client.config import SyncConfig
from sync.protocol import API_PREFIX, CatalogRelease, EventPage, HolidayRelease, MissingBlobs

# Connect quickly (the extranet is up or it is not); give a large upload time to arrive.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
M = TypeVar("M", bound=pydantic.BaseModel)


class SyncError(KnownError):
    """A failed exchange. `retry` says whether sending again later can help."""

    retry = True

    def __init__(self, message: str, *, code: str = "sync", status: int | None = None) -> None:
        super().__init__(message, code=code)
        self.status = status


class Unreachable(SyncError):
    """Nothing reached the server (no route, refused, connect timeout): safe to resend."""


class Uncertain(SyncError):
    """The request left but no answer came back: the server may or may not have it."""


class ServerTrouble(SyncError):
    """5xx, 429 or an answer that is not ours: try again later."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float = 0) -> None:
        super().__init__(message, code="server", status=status)
        self.retry_after = retry_after


class Refused(SyncError):
    """A 4xx the county means: a person must look at it (except missing blobs)."""

    retry = False

    def __init__(
        self, message: str, *, code: str, status: int, missing: list[str] | None = None
    ) -> None:
        super().__init__(message, code=code, status=status)
        self.missing = missing or []


class BadCredential(Refused):
    """401: the credential is wrong or revoked; nothing can be sent until it is replaced."""


def never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the server (refused, no route, connect
    timeout): sending it again cannot make anything happen twice."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if not isinstance(exc, requests.ConnectionError):
        return False
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError | ConnectionRefusedError)


def _transport_error(exc: requests.RequestException) -> SyncError:
    if isinstance(exc, requests.exceptions.SSLError):
        return Unreachable(
            "无法与县级服务器建立安全连接（证书校验失败），请检查服务器证书和本机的 CA 证书设置",
            code="tls",
        )
    if never_sent(exc):
        return Unreachable("无法连接县级服务器，可能是政务外网不通，稍后自动重试", code="offline")
    return Uncertain("已发出请求但没有收到县级服务器的答复，稍后将原样重发", code="uncertain")


def error_of(response: requests.Response) -> SyncError:
    """The SyncError an error answer (4xx/5xx) of the county server stands for."""
    status = response.status_code
    try:
        body: dict[str, Any] = response.json()
        detail, code = str(body["detail"]), str(body["code"])
    except (ValueError, KeyError, TypeError):
        body, detail, code = {}, "", ""
    if status == 429:
        retry_after = response.headers.get("Retry-After", "")
        wait = float(retry_after) if retry_after.isdigit() else 60.0
        return ServerTrouble("县级服务器繁忙，稍后自动重试", status=status, retry_after=wait)
    if status >= 500 or not detail:
        return ServerTrouble(f"县级服务器暂时出错（{status}），稍后自动重试", status=status)
    if status == 401:
        return BadCredential(
            f"县级服务器不接受本乡镇的同步凭据：{detail}请管理员核对或重新签发凭据。",
            code=code,
            status=status,
        )
    missing = body.get("missing") if isinstance(body.get("missing"), list) else None
    return Refused(detail, code=code, status=status, missing=missing)


def _parse(model: type[M], answer: requests.Response) -> M:
    try:
        return model.model_validate_json(answer.content)
    except pydantic.ValidationError as exc:
        raise ServerTrouble(
            "县级服务器的答复不符合同步协议（版本可能不一致），稍后重试", status=answer.status_code
        ) from exc


def environment(config: SyncConfig) -> tuple[dict[str, str], str | bool]:
    """The proxies (HTTP(S)_PROXY, NO_PROXY …) and the TLS verification requests would take
    from the environment for the county's address, read once.

    requests reads them again for every request, which cost the outbox worker a noticeable
    share of its CPU; the session gets them once instead (`trust_env` off).
    """
    proxies = requests.utils.get_environ_proxies(config.url)
    # As requests does: a CA bundle named in the environment wins over the configured one.
    verify = (
        os.environ.get("REQUESTS_CA_BUNDLE")
        or os.environ.get("CURL_CA_BUNDLE")
        or config.ca_bundle
        or True
    )
    return proxies, verify


class CountyClient:
    """One township's session with the county server; TLS is verified (system or given CA).

    The environment (proxies, a CA bundle) is read once, when the client is made: a running
    program's environment does not change, so every request still goes the way it says.
    """

    def __init__(self, config: SyncConfig, *, read_timeout: float = READ_TIMEOUT) -> None:
        self.config = config
        self._timeout = (CONNECT_TIMEOUT, read_timeout)
        self._session = requests.Session()
        # Off, so requests no longer reads the environment (nor ~/.netrc, whose password would
        # replace the bearer credential) on every request; what it would read is set here.
        self._session.trust_env = False
        self._session.proxies, self._session.verify = environment(config)
        self._session.headers["Authorization"] = f"Bearer {config.credential}"
        self._session.headers["User-Agent"] = "bujianmian-township/1"

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = f"{self.config.url}{API_PREFIX}{path}"
        try:
            response = self._session.request(method, url, timeout=self._timeout, **kwargs)
        except requests.RequestException as exc:
            raise _transport_error(exc) from exc
        if response.status_code >= 400:
            raise error_of(response)
        return response

    def health(self) -> None:
        self._call("GET", "/health")

    def missing_blobs(self, hashes: list[str]) -> list[str]:
        answer = self._call("POST", "/blobs/missing", json={"hashes": hashes})
        return _parse(MissingBlobs, answer).missing

    def put_blob(self, sha256: str, data: bytes) -> None:
        headers = {"Content-Type": "application/octet-stream"}
        self._call("PUT", f"/blobs/{sha256}", data=data, headers=headers)

    def post_package(self, body: bytes) -> dict[str, Any]:
        """Send the stored bytes as they are; the parsed receipt (201 or 200)."""
        headers = {"Content-Type": "application/json"}
        answer = self._call("POST", "/packages", data=body, headers=headers)
        try:
            receipt: dict[str, Any] = json.loads(answer.content)
        except ValueError as exc:
            raise ServerTrouble("县级服务器的回执无法解析，稍后重试", status=200) from exc
        return receipt

    def events(self, after: int, limit: int = 100) -> EventPage:
        answer = self._call("GET", "/events", params={"after": after, "limit": limit})
        return _parse(EventPage, answer)

    def catalog_latest(self) -> CatalogRelease:
        """The county's newest catalog version (Refused 404 when none is published)."""
        return _parse(CatalogRelease, self._call("GET", "/catalog/latest"))

    def holidays(self) -> HolidayRelease:
        """Every published holiday year (Refused 404 when none is published)."""
        return _parse(HolidayRelease, self._call("GET", "/holidays"))
