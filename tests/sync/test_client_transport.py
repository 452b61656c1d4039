"""The county client (http.client straight to the county, urllib3 through a proxy) sends exactly
what the requests.Session it replaced sent, and sorts every failure the same way: the old client,
kept here, is the oracle."""

from __future__ import annotations

import datetime
import gzip
import ipaddress
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sync.client.config import SyncConfig
from sync.client.http import (
    CONNECT_TIMEOUT,
    READ_TIMEOUT,
    CountyClient,
    SyncError,
    Uncertain,
    Unreachable,
    environment,
    error_of,
    never_sent,
)
from sync.protocol import API_PREFIX

CREDENTIAL = "bjt.370999101." + "B" * 43
NOWHERE = "http://county.invalid:8750"  # never resolves: reached through a proxy or not at all
BLOB = "ab" * 32
CLOSE, HANG = "close", "hang"  # answer nothing: hang up at once, or stay silent
Script = Sequence[bytes | str | tuple[bytes, str]]


def reply(status: int = 200, body: bytes = b'{"missing": []}', **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}", f"Content-Length: {len(body)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Wire:
    """A loopback HTTP/1.1 server (keep-alive, optionally TLS) that records the bytes of every
    request and answers from a script, then with a default answer."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port: int = self._listener.getsockname()[1]
        self._tls = tls
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.seen: list[bytes] = []
        self.connections = self.hung_up = self.connections_closed = 0
        self._script: list[bytes | str | tuple[bytes, str]] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def reset(self, script: Script = ()) -> None:
        with self._lock:
            self.seen, self._script = [], list(script)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(timeout=10)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self.connections += 1
                self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self._tls is not None:
                conn = self._tls.wrap_socket(conn, server_side=True)
            conn.settimeout(0.1)
            self._answer(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def _answer(self, conn: socket.socket) -> None:
        buffer = b""
        while not self._stop.is_set():
            request, buffer = self._read(conn, buffer)
            if request is None:
                with self._lock:
                    self.hung_up += 1
                return
            with self._lock:
                self.seen.append(request)
                answer = self._script.pop(0) if self._script else reply()
            if answer == HANG:
                self._stop.wait(10)
            if isinstance(answer, str):
                return
            if isinstance(answer, tuple):  # a part of an answer, or all of it, then hang up
                conn.sendall(answer[0])
                conn.close()
                with self._lock:
                    self.connections_closed += 1
                return
            conn.sendall(answer)

    def _read(self, conn: socket.socket, buffer: bytes) -> tuple[bytes | None, bytes]:
        while b"\r\n\r\n" not in buffer:
            chunk = self._recv(conn)
            if not chunk:
                return None, b""
            buffer += chunk
        head, _, rest = buffer.partition(b"\r\n\r\n")
        found = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        length = int(found.group(1)) if found else 0
        while len(rest) < length:
            chunk = self._recv(conn)
            if not chunk:
                return None, b""
            rest += chunk
        return head + b"\r\n\r\n" + rest[:length], rest[length:]

    def _recv(self, conn: socket.socket) -> bytes:
        while not self._stop.is_set():
            try:
                return conn.recv(65536)
            except TimeoutError:
                continue
        return b""


class RequestsClient(CountyClient):
    """The client as it was before urllib3: a requests.Session, told the environment once."""

    def __init__(self, config: SyncConfig, *, read_timeout: float = READ_TIMEOUT) -> None:
        self.config = config
        self._pair = (CONNECT_TIMEOUT, read_timeout)
        self._session = requests.Session()
        self._session.trust_env = False
        self._session.proxies, self._session.verify = environment(config)
        self._session.headers["Authorization"] = f"Bearer {config.credential}"
        self._session.headers["User-Agent"] = "bujianmian-township/1"

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.config.url}{API_PREFIX}{path}"
        try:
            response = self._session.request(method, url, timeout=self._pair, **kwargs)
        except requests.RequestException as exc:
            raise _requests_error(exc) from exc
        if response.status_code >= 400:
            raise error_of(response)
        return response


def _requests_error(exc: requests.RequestException) -> SyncError:
    """The old client's reading of a requests failure, word for word."""
    if isinstance(exc, requests.exceptions.SSLError):
        return Unreachable(
            "无法与县级服务器建立安全连接（证书校验失败），请检查服务器证书和本机的 CA 证书设置",
            code="tls",
        )
    if never_sent(exc):
        return Unreachable("无法连接县级服务器，可能是政务外网不通，稍后自动重试", code="offline")
    return Uncertain("已发出请求但没有收到县级服务器的答复，稍后将原样重发", code="uncertain")


Call = Callable[[CountyClient], Any]


def outcome(call: Call, client: CountyClient) -> tuple[Any, ...]:
    try:
        return ("ok", call(client))
    except SyncError as exc:
        extra = (getattr(exc, "retry_after", None), getattr(exc, "missing", None))
        return (type(exc).__name__, exc.code, exc.status, *extra, str(exc))
    except OSError as exc:
        return (type(exc).__name__, str(exc))


def on_both(
    wire: Wire, url: str, calls: list[Call], script: Script = (), **made: Any
) -> tuple[list[tuple[Any, ...]], list[bytes]]:
    """What the old and the new client get and send; they must agree. The new one's."""
    seen = []
    config = SyncConfig(url, CREDENTIAL, made.pop("ca_bundle", ""))
    for kind in (RequestsClient, CountyClient):
        wire.reset(script)
        client = kind(config, **made)
        try:
            results = [outcome(call, client) for call in calls]
        finally:
            client.close()
        seen.append((results, list(wire.seen)))
    assert seen[1] == seen[0]
    return seen[1]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or CA bundle of the machine running the tests."""
    for name in list(os.environ):
        if name.lower().endswith("_proxy") or name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
            monkeypatch.delenv(name)


@pytest.fixture
def wire() -> Iterator[Wire]:
    server = Wire()
    yield server
    server.close()


def _url(wire: Wire, scheme: str = "http") -> str:
    return f"{scheme}://127.0.0.1:{wire.port}"


def _closed_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return int(probe.getsockname()[1])


EVERY_CALL: list[Call] = [
    lambda c: c.health(),
    lambda c: c.missing_blobs([BLOB, "办" * 3]),
    lambda c: c.put_blob(BLOB, b"\x00\xff binary"),
    lambda c: c.put_blob(BLOB, b""),
    lambda c: c.post_package('{"办件": 1}'.encode()),
    lambda c: c.events(7, limit=50),
    lambda c: c.put_blob(BLOB, bytes(range(256)) * 1200),  # a scan's size: header and body apart
]


def test_every_request_is_sent_byte_for_byte_as_requests_sent_it(wire: Wire):
    results, seen = on_both(wire, _url(wire), EVERY_CALL)
    assert results[:3] == [("ok", None), ("ok", []), ("ok", None)]
    assert len(seen) == len(EVERY_CALL)
    head, _, body = seen[1].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /api/v1/blobs/missing HTTP/1.1\r\n")
    assert body == f'{{"hashes": ["{BLOB}", "\\u529e\\u529e\\u529e"]}}'.encode()
    assert b"\r\nContent-Type: application/json" in head
    assert seen[5].startswith(b"GET /api/v1/events?after=7&limit=50 HTTP/1.1\r\n")
    assert f"Authorization: Bearer {CREDENTIAL}".encode() in seen[0]


def test_error_answers_are_read_alike(wire: Wire):
    script = [
        reply(429, b'{"detail": "x", "code": "busy"}', Retry_After="7"),
        reply(503, b"<html>down</html>", Retry_After="30"),
        reply(401, '{"detail": "凭据已停用。", "code": "unauthorized"}'.encode()),
        reply(409, b'{"detail": "missing", "code": "blobs_missing", "missing": ["ab"]}'),
        reply(404, b"not json"),
        reply(200, b"not json either"),
    ]
    results, _ = on_both(wire, _url(wire), [*[EVERY_CALL[0]] * 4, EVERY_CALL[1], EVERY_CALL[4]],
                         script)  # fmt: skip
    assert results[0][:4] == ("ServerTrouble", "server", 429, 7.0)
    assert results[1][:4] == ("ServerTrouble", "server", 503, 0)
    assert results[2][:3] == ("BadCredential", "unauthorized", 401)
    assert results[3][:5] == ("Refused", "blobs_missing", 409, None, ["ab"])
    assert [r[0] for r in results[4:]] == ["ServerTrouble", "ServerTrouble"]


def _read(client: CountyClient) -> tuple[int, list[tuple[str, str]], bytes]:
    """An answer as callers read it: status, each header by name (values of a repeated one
    joined), body."""
    answer = client._call("GET", "/health")
    fields = [(name.lower(), answer.headers[name]) for name in answer.headers]
    return answer.status_code, fields, answer.content


def test_answers_of_every_shape_are_read_as_before(wire: Wire):
    """The direct client reads answers itself; what it makes of each is what http.client
    (under requests) made of it."""
    script: list[bytes | tuple[bytes, str]] = [
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n"
        b'\r\n4;ext=1\r\n{"a"\r\n3\r\n: 1\r\n1\r\n}\r\n0\r\nTrailer-Field: z\r\n\r\n',
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nX-Many: a\r\nx-many: b\r\nX-Folded: one \r\n\t two\r\n"
        b"X-Spaced:   padded  \r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 204 No Content\r\nX-After: nothing\r\n\r\n",
        (
            b"HTTP/1.1 200 OK\r\nX-A: 1\r\nnot a field\r\nX-B: 2\r\nContent-Length: 2\r\n\r\n{}",
            CLOSE,
        ),
        (b'HTTP/1.1 200 OK\r\n\r\n{"until": "closed"}', CLOSE),
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: "
        + str(len(gzip.compress(b'{"packed": true}'))).encode()
        + b"\r\n\r\n"
        + gzip.compress(b'{"packed": true}'),
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 200\r\nContent-Length: 2\r\n\r\n{}",  # no reason phrase
    ]
    results, seen = on_both(wire, _url(wire), [_read] * len(script), script)
    assert len(seen) == len(script)
    reads = [result[1] for result in results]
    assert reads[0] == (200, [("transfer-encoding", "chunked"),
                              ("content-type", "application/json")], b'{"a": 1}')  # fmt: skip
    assert reads[1] == (200, [("content-length", "2")], b"{}")
    assert reads[2][1][:3] == [("x-many", "a, b"), ("x-folded", "one two"),
                               ("x-spaced", "padded  ")]  # fmt: skip
    assert reads[4] == (204, [("x-after", "nothing")], b"")
    assert reads[5] == (200, [("x-a", "1")], b"{}")  # the header ends at a line that is no field
    assert reads[6][2] == b'{"until": "closed"}'
    assert reads[7][2] == b'{"packed": true}'


def test_broken_answers_are_uncertain_as_before(wire: Wire):
    script: list[bytes | tuple[bytes, str]] = [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{}", CLOSE),  # cut short
        (b"SMTP ready\r\n\r\n", CLOSE),
        (b"HTTP/1.1 2000 Odd\r\n\r\n", CLOSE),
        (b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\n{}", CLOSE),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", CLOSE),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Long: " + b"x" * 70000 + b"\r\n\r\n", CLOSE),
        (b"HTTP/1.1 200 OK\r\n" + b"X-Many: 1\r\n" * 100 + b"\r\n", CLOSE),
        reply(),
    ]
    results, _ = on_both(wire, _url(wire), [_read] * len(script), script)
    assert [result[0] for result in results[:-1]] == ["Uncertain"] * (len(script) - 1)
    assert results[-1][0] == "ok"  # and the client goes on with a new connection


def test_a_closed_port_is_unreachable():
    url = f"http://127.0.0.1:{_closed_port()}"
    client = CountyClient(SyncConfig(url, CREDENTIAL))
    try:
        with pytest.raises(Unreachable) as caught:
            client.post_package(b"{}")
    finally:
        client.close()
    assert caught.value.code == "offline"


@pytest.mark.parametrize(
    "answer",
    [CLOSE, HANG, (b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n{}", CLOSE)],
    ids=["hang-up", "silence", "half-an-answer"],
)
def test_no_answer_after_sending_is_uncertain(wire: Wire, answer: Any):
    results, seen = on_both(wire, _url(wire), [EVERY_CALL[4]], [answer], read_timeout=0.3)
    assert results[0][:2] == ("Uncertain", "uncertain")
    assert len(seen) == 1 and seen[0].endswith('{"办件": 1}'.encode())


def test_redirects_are_followed_as_requests_followed_them(wire: Wire):
    here, there = _url(wire), f"http://localhost:{wire.port}"
    script = [
        reply(307, Location="/api/v1/packages/again"),
        reply(),
        reply(302, Location=f"{there}/moved"),  # another host: no credential
        reply(),
        reply(301, Location=f"//127.0.0.1:{wire.port}/api/v1/x"),
        reply(),
        reply(303, Location=f"{here}/api/v1/y"),
    ]
    post, put = EVERY_CALL[4], EVERY_CALL[2]
    results, seen = on_both(wire, here, [post, post, post, put], script)
    assert [r[0] for r in results] == ["ok"] * 4
    assert seen[1].startswith(b"POST /api/v1/packages/again ") and seen[1].endswith(b"}")
    assert seen[3].startswith(b"GET /moved ") and b"Authorization" not in seen[3]
    assert seen[5].startswith(b"GET /api/v1/x ") and b"Authorization" in seen[5]


def test_endless_redirects_end_uncertain(wire: Wire):
    script = [reply(302, Location="/api/v1/health")] * 40
    results, seen = on_both(wire, _url(wire), [EVERY_CALL[0]], script)
    assert results[0][0] == "Uncertain" and len(seen) == 31


def test_an_http_proxy_gets_the_whole_address_and_its_credential(
    wire: Wire, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("HTTP_PROXY", f"http://proxy%20user:p%40ss@127.0.0.1:{wire.port}")
    results, seen = on_both(wire, NOWHERE, EVERY_CALL[:3])
    assert results[:2] == [("ok", None), ("ok", [])]
    assert seen[0].startswith(f"GET {NOWHERE}/api/v1/health HTTP/1.1\r\n".encode())
    assert b"\r\nProxy-Authorization: Basic cHJveHkgdXNlcjpwQHNz\r\n" in seen[0]


def test_a_dead_proxy_is_read_as_before(wire: Wire, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")
    results, _ = on_both(wire, NOWHERE, [EVERY_CALL[0]])
    assert results[0][0] == "Uncertain"  # requests called it a ProxyError: not "never sent"


# --- TLS --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: no system CA trusts it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "县级服务器测试")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder / "cert.pem", folder / "key.pem"


@pytest.fixture
def tls_wire(certificate: tuple[Path, Path]) -> Iterator[Wire]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server = Wire(tls=context)
    yield server
    server.close()


def test_an_untrusted_certificate_fails_as_before(tls_wire: Wire):
    results, seen = on_both(tls_wire, _url(tls_wire, "https"), [EVERY_CALL[4]])
    assert results[0][:2] == ("Unreachable", "tls") and seen == []


def test_the_given_ca_bundle_is_trusted(tls_wire: Wire, certificate: tuple[Path, Path]):
    calls = EVERY_CALL[:2]
    results, seen = on_both(tls_wire, _url(tls_wire, "https"), calls, ca_bundle=str(certificate[0]))
    assert results == [("ok", None), ("ok", [])] and len(seen) == 2


def test_the_environment_s_ca_bundle_wins(
    tls_wire: Wire, certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    results, _ = on_both(tls_wire, _url(tls_wire, "https"), [EVERY_CALL[0]], ca_bundle="/nowhere")
    assert results == [("ok", None)]


def test_a_missing_ca_bundle_is_said_in_chinese_and_nothing_is_sent(tls_wire: Wire, tmp_path: Path):
    missing = str(tmp_path / "gone.pem")
    tls_wire.reset(())
    client = CountyClient(SyncConfig(_url(tls_wire, "https"), CREDENTIAL, missing))
    try:
        with pytest.raises(Unreachable) as err:
            client.health()
    finally:
        client.close()
    assert err.value.code == "tls"
    assert "找不到所设置的 CA 证书文件" in err.value.message and missing in err.value.message
    assert tls_wire.seen == []


# --- connections ------------------------------------------------------------------------------


def test_four_senders_share_a_few_kept_alive_connections(wire: Wire):
    client = CountyClient(SyncConfig(_url(wire), CREDENTIAL))
    failures: list[BaseException] = []

    def send() -> None:
        try:
            for _ in range(25):
                client.post_package(b"{}")
        except BaseException as exc:  # reported to the test thread below
            failures.append(exc)

    threads = [threading.Thread(target=send) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    finally:
        client.close()
    assert failures == [] and len(wire.seen) == 100
    assert 1 <= wire.connections <= 4


def test_a_kept_connection_the_server_has_closed_is_not_used_again(wire: Wire):
    # The server answers, then hangs up (as uvicorn does with a connection idle for 5 s).
    wire.reset([(reply(), CLOSE), reply()])
    client = CountyClient(SyncConfig(_url(wire), CREDENTIAL))
    try:
        assert client.missing_blobs([BLOB]) == []
        deadline = time.monotonic() + 5
        while wire.connections_closed < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.missing_blobs([BLOB]) == []  # on a new connection, not "uncertain"
    finally:
        client.close()
    assert wire.connections == 2 and len(wire.seen) == 2


def test_close_releases_the_connections(wire: Wire):
    client = CountyClient(SyncConfig(_url(wire), CREDENTIAL))
    client.health()
    client.health()
    assert wire.connections == 1 and wire.hung_up == 0
    client.close()
    deadline = time.monotonic() + 5
    while wire.hung_up < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert wire.hung_up == 1
    client.health()  # as a closed requests.Session did: a new connection
    client.close()
    assert wire.connections == 2


@pytest.mark.skipif(not hasattr(socket.socket, "sendmsg"), reason="no scatter-gather sends here")
def test_a_scan_sent_with_its_header_arrives_whole_when_the_socket_takes_it_in_parts():
    from sync.client.direct import _send_both

    head, body = b"PUT /x HTTP/1.1\r\n\r\n", bytes(range(256)) * 4096  # 1 MiB
    sender, receiver = socket.socketpair()
    sender.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # many partial sends
    sender.settimeout(10)
    received = bytearray()

    def read() -> None:
        while len(received) < len(head) + len(body):
            chunk = receiver.recv(7000)
            if not chunk:
                return
            received.extend(chunk)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        _send_both(sender, head, body)
        reader.join(timeout=30)
    finally:
        sender.close()
        receiver.close()
    assert bytes(received) == head + body
