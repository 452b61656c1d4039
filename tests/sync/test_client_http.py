"""The county client reads the proxy and CA settings of the environment once, when it is made,
and every request still goes where the environment says."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from sync.client.config import SyncConfig
from sync.client.http import CountyClient, Unreachable, environment

CREDENTIAL = "bjt.370999101." + "A" * 43
NOWHERE = "http://county.invalid:8750"  # never resolves: reached through a proxy or not at all


class Listener(ThreadingHTTPServer):
    """A loopback server answering 200 to anything: as the county, or as a proxy (then the
    request line holds the whole address)."""

    seen: list[tuple[str, str]]


class _Answer(BaseHTTPRequestHandler):
    server: Listener

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("Authorization", "")))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener(("127.0.0.1", 0), _Answer)
    server.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _url(server: Listener) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or CA bundle of the machine running the tests."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            monkeypatch.delenv(name)


def test_proxy_is_read_when_the_client_is_made(listener: Listener, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("http_proxy", _url(listener))
    client = CountyClient(SyncConfig(NOWHERE, CREDENTIAL))
    monkeypatch.delenv("http_proxy")  # read already: the requests still go through the proxy
    try:
        client.health()
    finally:
        client.close()
    assert listener.seen == [(f"{NOWHERE}/api/v1/health", f"Bearer {CREDENTIAL}")]


def test_no_request_reads_the_environment_again(
    listener: Listener, monkeypatch: pytest.MonkeyPatch
):
    client = CountyClient(SyncConfig(_url(listener), CREDENTIAL))
    reads: list[str] = []
    real = requests.utils.get_environ_proxies

    def counted(url: str, no_proxy: str | None = None) -> dict[str, str]:
        reads.append(url)
        return real(url, no_proxy=no_proxy)

    for module in (requests.utils, requests.sessions):
        monkeypatch.setattr(module, "get_environ_proxies", counted)
    try:
        for _ in range(3):
            client.health()
    finally:
        client.close()
    assert reads == [] and len(listener.seen) == 3


def test_no_proxy_still_goes_direct(listener: Listener, monkeypatch: pytest.MonkeyPatch):
    """The listener is its own proxy: its address in the request line tells it came that way."""
    county = _url(listener)
    monkeypatch.setenv("HTTP_PROXY", county)
    for no_proxy, line in (("127.0.0.1", "/api/v1/health"), ("", f"{county}/api/v1/health")):
        monkeypatch.setenv("NO_PROXY", no_proxy)
        client = CountyClient(SyncConfig(county, CREDENTIAL))
        try:
            client.health()
        finally:
            client.close()
        assert listener.seen.pop() == (line, f"Bearer {CREDENTIAL}")


def test_tls_verification_as_requests_would_take_it(monkeypatch: pytest.MonkeyPatch):
    given = SyncConfig("https://county.example:8750", CREDENTIAL, ca_bundle="/etc/county-ca.pem")
    assert environment(SyncConfig(given.url, CREDENTIAL))[1] is True
    assert environment(given)[1] == "/etc/county-ca.pem"
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/curl-ca.pem")
    assert environment(given)[1] == "/etc/curl-ca.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/requests-ca.pem")
    client = CountyClient(given)
    try:  # the bundle is looked for before anything is sent, and missing it is said in Chinese
        with pytest.raises(Unreachable, match=r"CA 证书文件（/etc/requests-ca\.pem）"):
            client.health()
    finally:
        client.close()
