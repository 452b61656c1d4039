"""The county server over HTTP: each failure becomes a SyncError saying what to do.

Sent exactly as the requests.Session it replaced sent (same bytes, proxies, TLS, redirects,
sorting of failures), without requests' per-request machinery, which cost much of the CPU:
straight to the county written and read by the client itself (sync/client/direct.py, with
http.client's bytes and rules), through a proxy on urllib3.
"""

from __future__ import annotations

import json
import os
import threading
from importlib.util import find_spec
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import pydantic
import requests
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    SSLError,
)
from urllib3.util import Retry, Timeout, make_headers, parse_url

from app.domain.errors import KnownError
from sync.client.config import SyncConfig
from sync.client.direct import DirectPool, Failed
from sync.client.transport import (
    DEFAULT_PORTS,
    MAX_REDIRECTS,
    Answer,
    json_body,
    location_of,
    prepared_url,
    redirected,
)
from sync.protocol import API_PREFIX, CatalogRelease, EventPage, HolidayRelease, MissingBlobs

# Connect quickly (the extranet is up or it is not); give a large upload time to arrive.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
M = TypeVar("M", bound=pydantic.BaseModel)
# What requests' adapter used: one attempt; a failed read is raised as it is, never re-sent.
_ONE_TRY = Retry(0, read=False)
POOL_SIZE = 10  # requests' pool size; the outbox sends from up to 4 threads
# Sent with every request, in requests' order (its defaults, then ours).
_DEFAULT_HEADERS = {
    "User-Agent": "bujianmian-township/1",
    "Accept-Encoding": requests.utils.default_headers()["Accept-Encoding"],
    "Accept": "*/*",
    "Connection": "keep-alive",
}


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


def _transport_error(exc: Exception) -> SyncError:
    """What a urllib3 failure means, told apart exactly as the requests adapter did: a TLS
    failure; nothing sent (refused, no such host, connect timeout); else perhaps received."""
    reason = exc.reason if isinstance(exc, MaxRetryError) else exc
    if isinstance(reason, SSLError):
        return _tls_failure()
    # A dead proxy counts as uncertain, as it did with requests (its ProxyError).
    if isinstance(exc, MaxRetryError) and isinstance(
        reason, ConnectTimeoutError | ConnectionRefusedError
    ):
        return _offline()
    return _uncertain()


def _tls_failure() -> Unreachable:
    return Unreachable(
        "无法与县级服务器建立安全连接（证书校验失败），请检查服务器证书和本机的 CA 证书设置",
        code="tls",
    )


def _offline() -> Unreachable:
    return Unreachable("无法连接县级服务器，可能是政务外网不通，稍后自动重试", code="offline")


def _direct_error(exc: Failed) -> SyncError:
    """A failure on a direct connection, told apart as `_transport_error` tells urllib3's."""
    if exc.tls:
        return _tls_failure()
    if not exc.sent:
        return _offline()
    return _uncertain()


def _uncertain() -> Uncertain:
    return Uncertain("已发出请求但没有收到县级服务器的答复，稍后将原样重发", code="uncertain")


def error_of(response: Answer | requests.Response) -> SyncError:
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


def _parse(model: type[M], answer: Answer) -> M:
    try:
        return model.model_validate_json(answer.content)
    except pydantic.ValidationError as exc:
        raise ServerTrouble(
            "县级服务器的答复不符合同步协议（版本可能不一致），稍后重试", status=answer.status_code
        ) from exc


def environment(config: SyncConfig) -> tuple[dict[str, str], str | bool]:
    """The proxies (HTTP(S)_PROXY, NO_PROXY …) and the TLS verification requests would take
    from the environment for the county's address, read once.

    requests read them again for every request, which cost the outbox worker a noticeable
    share of its CPU; the client takes them once instead.
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
    Connections are kept alive and shared by the threads that send (urllib3 pools are
    thread-safe).
    """

    def __init__(self, config: SyncConfig, *, read_timeout: float = READ_TIMEOUT) -> None:
        self.config = config
        self._timeout = Timeout(connect=CONNECT_TIMEOUT, read=read_timeout)
        self._proxies, verify = environment(config)
        # As requests gave its pools: certificates always checked, against this bundle.
        bundled: str = requests.certs.where()  # type: ignore[attr-defined]
        self._ca = verify if isinstance(verify, str) else bundled
        where = "ca_cert_dir" if os.path.isdir(self._ca) else "ca_certs"
        self._settings: dict[str, Any] = {
            "num_pools": POOL_SIZE,
            "maxsize": POOL_SIZE,
            "block": False,
            "cert_reqs": "CERT_REQUIRED",
            where: self._ca,
        }
        self._headers = {**_DEFAULT_HEADERS, "Authorization": f"Bearer {config.credential}"}
        self._base = prepared_url(f"{config.url}{API_PREFIX}")
        self._lock = threading.Lock()
        # Through a proxy: urllib3 (the "" manager's settings apply to those); straight to the
        # county: the client's own HTTP/1.1 (sync/client/direct.py).
        self._managers: dict[str, urllib3.PoolManager] = {"": urllib3.PoolManager(**self._settings)}
        self._direct = DirectPool(
            size=POOL_SIZE, connect_timeout=CONNECT_TIMEOUT, read_timeout=read_timeout, ca=self._ca
        )
        self._routes: dict[tuple[str, str | None], tuple[urllib3.PoolManager, bool]] = {}

    def close(self) -> None:
        """Close the kept-alive connections (a later request opens new ones)."""
        with self._lock:
            managers = list(self._managers.values())
        for manager in managers:
            manager.clear()
        self._direct.close()

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        if self._base is None:  # requests failed each request on an address it cannot use
            raise _uncertain()
        url = f"{self._base}{path}?{urlencode(params)}" if params else f"{self._base}{path}"
        sent = {**self._headers, **(headers or {})}
        body = data or None
        if not data and json is not None:  # as requests' json=: its dumps, then the type
            body = json_body(json)
        if body:
            sent["Content-Length"] = str(len(body))
        elif method not in ("GET", "HEAD"):
            sent["Content-Length"] = "0"
        if not data and json is not None:
            sent.setdefault("Content-Type", "application/json")
        answer = self._exchange(method, url, body, sent)
        if answer.status_code >= 400:
            raise error_of(answer)
        return answer

    def _exchange(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> Answer:
        """Send, then follow redirects as requests did (at most 30)."""
        answer = self._send(method, url, body, headers)
        hops = 0
        while (location := location_of(answer)) is not None:
            if hops == MAX_REDIRECTS:
                raise _uncertain()  # requests' TooManyRedirects
            hops += 1
            method, url, body, headers = redirected(answer, method, body, headers, location)
            answer = self._send(method, url, body, headers)
        return answer

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str]) -> Answer:
        parts = urlsplit(url)
        manager, absolute = self._route(parts.scheme, parts.hostname, url)
        if parts.scheme == "https" and not os.path.exists(self._ca):
            raise Unreachable(
                f"找不到所设置的 CA 证书文件（{self._ca}），无法校验县级服务器的证书；"
                "请在同步设置中改正证书路径",
                code="tls",
            )
        if absolute:  # plain http through an HTTP proxy names the whole address
            target = requests.utils.urldefragauth(url)
        else:
            target = f"{parts.path or '/'}?{parts.query}" if parts.query else parts.path or "/"
        if manager is self._managers[""] and parts.hostname and parts.scheme in DEFAULT_PORTS:
            origin = (parts.scheme, parts.hostname, parts.port or DEFAULT_PORTS[parts.scheme])
            try:
                return self._direct.send(origin, method, target, body, headers, url)
            except Failed as exc:
                raise _direct_error(exc) from exc
        try:
            pool = manager.connection_from_host(parts.hostname, parts.port, parts.scheme)
            response = pool.urlopen(
                method,
                target,
                body=body,
                headers=headers,
                retries=_ONE_TRY,
                redirect=False,
                assert_same_host=False,
                timeout=self._timeout,
                chunked=False,
            )
        except (HTTPError, OSError) as exc:
            raise _transport_error(exc) from exc
        return Answer(response.status, response.headers, response.data, url)

    def _route(self, scheme: str, host: str | None, url: str) -> tuple[urllib3.PoolManager, bool]:
        """The pool manager (direct or the proxy the environment names) for an address."""
        route = self._routes.get((scheme, host))
        if route is None:
            with self._lock:
                proxy = requests.utils.select_proxy(url, self._proxies)
                if not proxy:
                    route = (self._managers[""], False)
                else:
                    proxy = requests.utils.prepend_scheme_if_needed(proxy, "http")
                    if proxy not in self._managers:
                        self._managers[proxy] = self._proxy_manager(proxy)
                    socks = proxy.lower().startswith("socks")
                    route = (self._managers[proxy], scheme != "https" and not socks)
                self._routes[(scheme, host)] = route
        return route

    def _proxy_manager(self, proxy: str) -> urllib3.PoolManager:
        if not parse_url(proxy).host:
            raise _uncertain()  # requests' InvalidProxyURL
        user, password = requests.utils.get_auth_from_url(proxy)
        if proxy.lower().startswith("socks"):
            if find_spec("socks") is None:
                raise _uncertain()  # requests' InvalidSchema: SOCKS support is not installed
            from urllib3.contrib.socks import SOCKSProxyManager

            return SOCKSProxyManager(proxy, username=user, password=password, **self._settings)
        auth = {}
        if user:  # spelt as requests spelt it
            basic = make_headers(proxy_basic_auth=f"{user}:{password}")["proxy-authorization"]
            auth["Proxy-Authorization"] = basic
        return urllib3.ProxyManager(proxy, proxy_headers=auth, **self._settings)

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
