"""Kept-alive connections straight to the county server (no proxy between), on http.client.

The outbox sends four requests for every handoff. Through urllib3's pool manager each cost
the township about 0.15 ms more CPU than the same exchange on http.client (its URL parsing,
pool keys, timeout and retry objects and response wrapper), a quarter of the client's CPU
per push. The requests go out byte for byte as urllib3 sent them (http.client writes them
for both), and failures are told apart as urllib3 told them apart; connections through a
proxy keep urllib3's path.
"""

from __future__ import annotations

import http.client
import io
import os
import ssl
import threading

import urllib3
from urllib3.util import create_urllib3_context
from urllib3.util.wait import wait_for_read

from sync.client.transport import Answer

Origin = tuple[str, str, int]  # scheme, host, port


class Failed(Exception):
    """An exchange that failed: `sent` whether the request may have reached the server,
    `tls` whether the secure channel (certificate, handshake) was what failed."""

    def __init__(self, cause: BaseException, *, sent: bool, tls: bool) -> None:
        super().__init__(str(cause))
        self.sent = sent
        self.tls = tls


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
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}

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
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            raise Failed(exc, sent=True, tls=isinstance(exc, ssl.SSLError)) from exc
        answer_headers = urllib3.HTTPHeaderDict(response.getheaders())
        if response.will_close:
            conn.close()
        else:
            self._keep(origin, conn)
        if answer_headers.get("Content-Encoding", "identity").lower() != "identity":
            content = _decoded(response.status, answer_headers, content)
        return Answer(response.status, answer_headers, content, url)

    def _kept(self, origin: Origin) -> http.client.HTTPConnection | None:
        while True:
            with self._lock:
                conns = self._idle.get(origin)
                conn = conns.pop() if conns else None
            if conn is None:
                return None
            # Readable while idle: the server hung up (or sent what nobody asked for).
            if conn.sock is not None and not wait_for_read(conn.sock, timeout=0.0):
                return conn
            conn.close()

    def _keep(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            conns = self._idle.setdefault(origin, [])
            if len(conns) < self._size:
                conns.append(conn)
                return
        conn.close()

    def _connect(self, origin: Origin) -> http.client.HTTPConnection:
        scheme, host, port = origin
        conn: http.client.HTTPConnection
        try:
            if scheme == "https":
                conn = http.client.HTTPSConnection(
                    host, port, timeout=self._connect_timeout, context=self._tls_context()
                )
            else:
                conn = http.client.HTTPConnection(host, port, timeout=self._connect_timeout)
            conn.connect()
        except OSError as exc:
            raise Failed(exc, sent=False, tls=isinstance(exc, ssl.SSLError)) from exc
        assert conn.sock is not None
        conn.sock.settimeout(self._read_timeout)
        return conn

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
