"""Kept-alive connections straight to the county server (no proxy between): HTTP/1.1 written
and read here, on plain or TLS sockets.

The outbox sends four requests for every handoff. Through urllib3's pool manager each cost
the township about 0.15 ms more CPU than on http.client; on http.client, writing the header
line by line and parsing the answer's header with the email package cost another 0.25 ms of
CPU per handoff (four exchanges), a sixth of the township's CPU in a push. Requests go out
byte for byte as http.client wrote them (and urllib3, which writes with http.client, before
it; a small body in the same write as the header); answers are read by http.client's rules
(status line, 100 Continue, length, chunks, until the close, keep-alive, its limits) and
header values as urllib3 gave them, and failures are told apart as before. Connections
through a proxy keep urllib3's path.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import socket
import ssl
import threading

import urllib3
from urllib3.util import create_urllib3_context
from urllib3.util.wait import wait_for_read

from sync.client.transport import DEFAULT_PORTS, Answer

Origin = tuple[str, str, int]  # scheme, host, port

_MAX_LINE = 65536  # http.client's limits on a line and on the header count
_MAX_HEADERS = 100
_RECV = 65536
# A body up to this size goes out in the same write as the header: one segment, one wake-up
# of the server, instead of two. A larger one (a scan) is not copied for that: it goes with
# the header in one scatter-gather call where the socket has one (not on Windows, not TLS).
_JOIN_BODY = 65536
_SCATTER = hasattr(socket.socket, "sendmsg")
_BODY_METHODS = frozenset({"PATCH", "POST", "PUT"})  # http.client sends Content-Length: 0
# http.client's checks of what it writes (header injection, control characters).
_LEGAL_NAME = re.compile(rb"[^:\s][^:\r\n]*").fullmatch
_ILLEGAL_VALUE = re.compile(rb"\n(?![ \t])|\r(?![ \t\n])").search
_BAD_TARGET = re.compile("[\x00-\x20\x7f]").search
_BAD_METHOD = re.compile("[\x00-\x1f]").search
# A header line as the email parser takes one (else the header ends there).
_FIELD = re.compile("[\041-\071\073-\176]*:").match
_FOLD = re.compile(r"(?:(?<![ \t])[ \t]+)?\r\n[ \t]+")


class Failed(Exception):
    """An exchange that failed: `sent` whether the request may have reached the server,
    `tls` whether the secure channel (certificate, handshake) was what failed."""

    def __init__(self, cause: BaseException, *, sent: bool, tls: bool) -> None:
        super().__init__(str(cause))
        self.sent = sent
        self.tls = tls


class _Head:
    """An answer's status line and header, as http.client reads them."""

    __slots__ = ("chunked", "headers", "length", "status", "will_close")

    def __init__(self, status: int, version: int, fields: list[tuple[str, str]], method: str):
        self.status = status
        self.headers = urllib3.HTTPHeaderDict(fields)
        first = {name.lower(): value for name, value in reversed(fields)}  # as .get() reads
        self.chunked = first.get("transfer-encoding", "").lower() == "chunked"
        self.will_close = _closes(version, first)
        length: int | None = None
        declared = first.get("content-length")
        if declared and not self.chunked:
            try:
                length = int(declared)
            except ValueError:
                length = None
            if length is not None and length < 0:
                length = None
        if status in (204, 304) or 100 <= status < 200 or method == "HEAD":
            length = 0
        if not self.will_close and not self.chunked and length is None:
            self.will_close = True
        self.length = length


def _closes(version: int, first: dict[str, str]) -> bool:
    """Whether the server closes the connection after this answer (http.client's rule)."""
    connection = first.get("connection", "")
    if version == 11:
        return "close" in connection.lower()
    if first.get("keep-alive"):
        return False
    if "keep-alive" in connection.lower():
        return False
    proxy = first.get("proxy-connection")
    return not (proxy and "keep-alive" in proxy.lower())


class _Connection:
    """One HTTP/1.1 connection and what has been read from it and not yet used."""

    __slots__ = ("_buffer", "host", "sock")

    def __init__(self, sock: socket.socket, host: bytes) -> None:
        self.sock = sock
        self.host = host  # the Host header's value
        self._buffer = bytearray()

    def close(self) -> None:
        self.sock.close()

    def exchange(
        self, method: str, target: str, body: bytes | None, headers: dict[str, str]
    ) -> tuple[_Head, bytes]:
        head = _request_head(method, target, body, headers, self.host)
        if not body:
            self.sock.sendall(head)
        elif len(body) <= _JOIN_BODY:
            self.sock.sendall(head + body)
        elif _SCATTER and not isinstance(self.sock, ssl.SSLSocket):
            _send_both(self.sock, head, body)
        else:
            self.sock.sendall(head)
            self.sock.sendall(body)
        answer = self._read_head(method)
        return answer, self._read_body(answer)

    @property
    def clean(self) -> bool:
        """Nothing read beyond the last answer (else the connection is not reused)."""
        return not self._buffer

    def _fill(self) -> bool:
        data = self.sock.recv(_RECV)
        self._buffer += data
        return bool(data)

    def _take(self, count: int) -> bytes:
        data = bytes(self._buffer[:count])
        del self._buffer[:count]
        return data

    def _line(self) -> bytes:
        """The next line with its end, as BufferedReader.readline(65537) gives it (b"" when
        the server has closed)."""
        while True:
            end = self._buffer.find(b"\n", 0, _MAX_LINE + 1)
            if end >= 0:
                return self._take(end + 1)
            if len(self._buffer) > _MAX_LINE or not self._fill():
                return self._take(_MAX_LINE + 1)

    def _exactly(self, count: int) -> bytes:
        while len(self._buffer) < count:
            if not self._fill():
                raise http.client.IncompleteRead(bytes(self._buffer), count - len(self._buffer))
        return self._take(count)

    def _read_head(self, method: str) -> _Head:
        while True:
            version, status = self._status()
            fields = self._fields()
            if status != 100:
                return _Head(status, version, fields, method)

    def _status(self) -> tuple[int, int]:
        raw = self._line()
        if len(raw) > _MAX_LINE:
            raise http.client.LineTooLong("status line")
        line = str(raw, "iso-8859-1")
        if not line:
            raise http.client.RemoteDisconnected("Remote end closed connection without response")
        parts = line.split(None, 2)
        version = parts[0] if len(parts) >= 2 else ""
        if not version.startswith("HTTP/"):
            raise http.client.BadStatusLine(line)
        try:
            status = int(parts[1])
        except ValueError:
            raise http.client.BadStatusLine(line) from None
        if not 100 <= status <= 999:
            raise http.client.BadStatusLine(line)
        if version in ("HTTP/1.0", "HTTP/0.9"):
            return 10, status
        if version.startswith("HTTP/1."):
            return 11, status
        raise http.client.UnknownProtocol(version)

    def _fields(self) -> list[tuple[str, str]]:
        """The header's fields in order, as http.client's email parser reads them: a folded
        line continues the field before it (its line end kept), and the first line that is
        neither ends the fields (the lines after it up to the blank one are read, unused)."""
        lines: list[str] = []
        count = 0
        while True:
            raw = self._line()
            if len(raw) > _MAX_LINE:
                raise http.client.LineTooLong("header line")
            count += 1
            if count > _MAX_HEADERS:
                raise http.client.HTTPException(f"got more than {_MAX_HEADERS} headers")
            if raw in (b"\r\n", b"\n", b""):
                break
            lines.append(str(raw, "iso-8859-1"))
        fields: list[list[str]] = []
        for line in lines:
            if line[0] in " \t":
                if fields:
                    fields[-1].append(line)
                continue
            if not _FIELD(line):
                break
            name, _, value = line.partition(":")
            fields.append([name, value.lstrip(" \t")])
        return [(name, _unfolded("".join(parts).rstrip("\r\n"))) for name, *parts in fields]

    def _read_body(self, head: _Head) -> bytes:
        if head.chunked:
            return self._chunks()
        if head.length is not None:
            return self._exactly(head.length)
        while self._fill():  # until the server closes
            pass
        return self._take(len(self._buffer))

    def _chunks(self) -> bytes:
        parts: list[bytes] = []
        while True:
            line = self._line()
            if len(line) > _MAX_LINE:
                raise http.client.LineTooLong("chunk size")
            try:
                size = int(line.split(b";", 1)[0], 16)
            except ValueError:
                raise http.client.IncompleteRead(b"".join(parts)) from None
            if size == 0:
                while (trailer := self._line()) not in (b"\r\n", b"\n", b""):
                    if len(trailer) > _MAX_LINE:
                        raise http.client.LineTooLong("trailer line")
                return b"".join(parts)
            parts.append(self._exactly(size))
            self._exactly(2)  # the CRLF after the chunk


def _send_both(sock: socket.socket, head: bytes, body: bytes) -> None:
    """`head` then `body` in as few system calls as the socket takes them, not copied."""
    views = [memoryview(head), memoryview(body)]
    while views:
        sent = sock.sendmsg(views)
        while views and sent >= len(views[0]):
            sent -= len(views[0])
            views.pop(0)
        if views and sent:
            views[0] = views[0][sent:]


def _unfolded(value: str) -> str:
    """A folded value on one line, as urllib3 (under requests) gave it: each line break
    with the blanks around it becomes one space."""
    return _FOLD.sub(" ", value) if "\r\n" in value else value


def _request_head(
    method: str, target: str, body: bytes | None, headers: dict[str, str], host: bytes
) -> bytes:
    """The request line and header exactly as http.client's request() writes them."""
    if _BAD_METHOD(method):
        raise ValueError(f"method can't contain control characters. {method!r}")
    if _BAD_TARGET(target):
        raise http.client.InvalidURL(f"URL can't contain control characters. {target!r}")
    names = {name.lower() for name in headers}
    lines = [f"{method} {target} HTTP/1.1".encode("ascii")]
    if "host" not in names:
        lines.append(b"Host: " + host)
    if "accept-encoding" not in names:
        lines.append(b"Accept-Encoding: identity")
    if "content-length" not in names and "transfer-encoding" not in names:
        if body is not None:
            lines.append(b"Content-Length: " + str(len(body)).encode("ascii"))
        elif method.upper() in _BODY_METHODS:
            lines.append(b"Content-Length: 0")
    for name, value in headers.items():
        raw_name, raw_value = name.encode("ascii"), value.encode("latin-1")
        if not _LEGAL_NAME(raw_name):
            raise ValueError(f"Invalid header name {raw_name!r}")
        if _ILLEGAL_VALUE(raw_value):
            raise ValueError(f"Invalid header value {raw_value!r}")
        lines.append(raw_name + b": " + raw_value)
    lines.append(b"\r\n")
    return b"\r\n".join(lines)


def _host_header(scheme: str, host: str, port: int) -> bytes:
    """The Host header http.client writes: the port only when not the scheme's default, an
    IPv6 address in brackets, a non-ASCII name in IDNA."""
    try:
        name = host.encode("ascii")
    except UnicodeEncodeError:
        name = host.encode("idna")
    if ":" in host:
        name = b"[" + name + b"]"
    if port == DEFAULT_PORTS[scheme]:
        return name
    return name + b":" + str(port).encode("ascii")


class DirectPool:
    """Up to `size` idle connections per origin, shared by the threads that send; a kept
    connection the server has closed meanwhile is dropped before it is used, as urllib3
    does."""

    def __init__(self, *, size: int, connect_timeout: float, read_timeout: float, ca: str) -> None:
        self._size = size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._ca = ca
        self._tls: ssl.SSLContext | None = None
        self._lock = threading.Lock()
        self._idle: dict[Origin, list[_Connection]] = {}

    def close(self) -> None:
        """Close the idle connections (a later request opens new ones)."""
        with self._lock:
            idle = [conn for conns in self._idle.values() for conn in conns]
            self._idle.clear()
        for conn in idle:
            conn.close()

    def send(
        self,
        origin: Origin,
        method: str,
        target: str,
        body: bytes | None,
        headers: dict[str, str],
        url: str,
    ) -> Answer:
        """One exchange, the answer read in full; Failed says how it failed."""
        conn = self._kept(origin) or self._connect(origin)
        try:
            head, content = conn.exchange(method, target, body, headers)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise Failed(exc, sent=True, tls=isinstance(exc, ssl.SSLError)) from exc
        except BaseException:
            conn.close()
            raise
        if head.will_close or not conn.clean:
            conn.close()
        else:
            self._keep(origin, conn)
        if head.headers.get("Content-Encoding", "identity").lower() != "identity":
            content = _decoded(head.status, head.headers, content)
        return Answer(head.status, head.headers, content, url)

    def _kept(self, origin: Origin) -> _Connection | None:
        while True:
            with self._lock:
                conns = self._idle.get(origin)
                conn = conns.pop() if conns else None
            if conn is None:
                return None
            # Readable while idle: the server hung up (or sent what nobody asked for).
            if not wait_for_read(conn.sock, timeout=0.0):
                return conn
            conn.close()

    def _keep(self, origin: Origin, conn: _Connection) -> None:
        with self._lock:
            conns = self._idle.setdefault(origin, [])
            if len(conns) < self._size:
                conns.append(conn)
                return
        conn.close()

    def _connect(self, origin: Origin) -> _Connection:
        """A new connection (TCP_NODELAY; TLS checked against the CA, with the host's name
        sent and checked, as http.client's HTTPSConnection connects)."""
        scheme, host, port = origin
        sock: socket.socket | None = None
        try:
            sock = socket.create_connection((host, port), self._connect_timeout)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                sock = self._tls_context().wrap_socket(sock, server_hostname=host)
        except OSError as exc:
            if sock is not None:
                sock.close()
            raise Failed(exc, sent=False, tls=isinstance(exc, ssl.SSLError)) from exc
        sock.settimeout(self._read_timeout)
        return _Connection(sock, _host_header(scheme, host, port))

    def _tls_context(self) -> ssl.SSLContext:
        """urllib3's context, certificates required and the host name checked against `ca`
        (a bundle file or a folder of certificates), made at the first secure connection."""
        with self._lock:
            if self._tls is None:
                context = create_urllib3_context(cert_reqs=ssl.CERT_REQUIRED)
                if os.path.isdir(self._ca):
                    context.load_verify_locations(capath=self._ca)
                else:
                    context.load_verify_locations(cafile=self._ca)
                self._tls = context
            return self._tls


def _decoded(status: int, headers: urllib3.HTTPHeaderDict, raw: bytes) -> bytes:
    """A compressed body decoded as urllib3 decodes it (gzip, deflate, and what else it
    can); rare on this path, so urllib3's own response does it."""
    response = urllib3.HTTPResponse(
        body=io.BytesIO(raw), headers=headers, status=status, preload_content=True
    )
    return response.data
