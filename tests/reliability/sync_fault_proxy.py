"""A loopback TCP proxy between a township and the county server that breaks HTTP on purpose.

It understands just enough HTTP/1.1 (a head, then a Content-Length or chunked body) to act on
whole requests. For every request the `decide` callback picks a `Fault`:

- forward it; drop the county's reply (the server has answered, the township never hears);
  cut the reply in half; deliver the request twice (a second copy on another connection, at
  the same time or after the first was answered), or deliver a request from a couple of
  hundred requests ago once more (a stale copy arriving late);
- or kill the server: part-way through the request body, right after the whole request, or
  once the server has answered (committed) and before the reply reaches the township. The
  proxy then waits until the server's end of the connection is gone and drops the reply.

The link itself can be cut: `refuse` closes the listening socket (connection refused, as a
server that is down), `black_hole` takes requests and never answers; `restore` breaks the
held connections and lets requests through again.

Every thread is bounded: at most MAX_CONNECTIONS client connections, every socket with a
timeout, and `close` closes every socket and joins every thread.
"""

from __future__ import annotations

import contextlib
import enum
import random
import socket
import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MAX_CONNECTIONS = 32
MAX_HEAD = 64 * 1024
CLIENT_IDLE = 30.0  # a keep-alive connection with no request for this long is closed
UPSTREAM_TIMEOUT = 30.0  # the county answers a request within this (or is dead)
HOLD_LIMIT = 30.0  # the longest a black-holed request is held
JOIN_TIMEOUT = 10.0
PAST_REQUESTS = 200


def quiet_port() -> int:
    """A free loopback port below the ephemeral range.

    The proxy and the county server give up their port while "down" and take it again
    later; a port from the ephemeral range could meanwhile become the source port of some
    outgoing connection and the listen would fail with "address already in use".
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(200):
        port = random.randrange(10000, min(low, 32768))
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


class Fault(enum.Enum):
    FORWARD = "forward"
    DROP_REPLY = "drop_reply"
    TRUNCATE_REPLY = "truncate_reply"
    TWICE_TOGETHER = "twice_together"
    TWICE_AFTER = "twice_after"
    TWICE_LATE = "twice_late"  # and an old request (PAST_REQUESTS ago) arrives once more
    KILL_IN_BODY = "kill_in_body"
    KILL_AFTER_REQUEST = "kill_after_request"
    KILL_AFTER_REPLY = "kill_after_reply"

    @property
    def kills(self) -> bool:
        return self.value.startswith("kill")


class Link(enum.Enum):
    UP = "up"
    REFUSE = "refuse"
    BLACK_HOLE = "black_hole"


class Closed(Exception):
    """The other end closed (or broke) the connection before a whole message arrived."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    raw: bytes  # head and body, exactly as the township sent them
    body_start: int

    @property
    def route(self) -> str:
        """`PUT /blobs`, `POST /packages`, …: the path without the API prefix and ids."""
        parts = self.path.split("?")[0].removeprefix("/api/v1").split("/")
        return f"{self.method} /{parts[1] if len(parts) > 1 else ''}"


class Reader:
    """Buffered reads of whole HTTP messages from one socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _more(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except OSError as exc:  # reset, timeout, closed under us
            raise Closed(str(exc)) from exc
        if not chunk:
            raise Closed("end of stream")
        self.buffer += chunk

    def _take(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._more()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _through(self, end: bytes) -> bytes:
        """Everything up to and including the next `end` (a line, or a whole head)."""
        while end not in self.buffer:
            if len(self.buffer) > MAX_HEAD:
                raise Closed("no end of line or head in sight")
            self._more()
        text, _, self.buffer = self.buffer.partition(end)
        return text + end

    def _line(self) -> bytes:
        return self._through(b"\r\n")

    def head(self) -> bytes:
        return self._through(b"\r\n\r\n")

    def body(self, head: bytes, *, response: bool) -> bytes:
        """The raw body after `head`: by Content-Length, chunked, or (a reply) up to the end."""
        fields = _fields(head)
        if "chunked" in fields.get("transfer-encoding", ""):
            raw = b""
            while True:
                size_line = self._line()
                raw += size_line
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while (line := self._line()) != b"\r\n":
                        raw += line
                    return raw + b"\r\n"
                raw += self._take(size + 2)
        if "content-length" in fields:
            return self._take(int(fields["content-length"]))
        if not response or _no_body(head):
            return b""
        while True:  # no length: the body runs to the end of the connection
            try:
                self._more()
            except Closed:
                data, self.buffer = self.buffer, b""
                return data

    def wait_closed(self, timeout: float) -> None:
        """Read and discard until the other end has gone (a killed server's socket closes)."""
        self.sock.settimeout(timeout)
        with contextlib.suppress(Closed):
            while True:
                self.buffer = b""
                self._more()


def _fields(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    pairs = (line.split(":", 1) for line in lines if ":" in line)
    return {name.strip().lower(): value.strip().lower() for name, value in pairs}


def _no_body(head: bytes) -> bool:
    status = head.split(b" ", 2)[1] if head.count(b" ") >= 1 else b""
    return status in (b"204", b"304") or status.startswith(b"1")


def _close_hard(sock: socket.socket) -> None:
    """Close with a reset: the peer sees the line break, not an orderly end."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    """Listens on 127.0.0.1:`port` (a free one by default) and forwards to `upstream_port`."""

    def __init__(self, upstream_port: int, decide: Callable[[Request], Fault]) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.decide = decide
        self.kill: Callable[[], None] = self._no_kill  # set by the test before any kill
        self.applied: Counter[str] = Counter()  # fault name -> times applied
        self.routes: Counter[str] = Counter()  # route -> requests seen
        self.replies: Counter[str] = Counter()  # "POST /packages 201" -> replies from the county
        self._lock = threading.Lock()
        self._link = Link.UP
        self._restored = threading.Event()
        self._restored.set()
        self._stop = threading.Event()
        self._past: deque[Request] = deque(maxlen=PAST_REQUESTS)
        self._sockets: set[socket.socket] = set()
        self._threads: set[threading.Thread] = set()
        self.port = quiet_port()
        self._listener: socket.socket | None = self._listen(self.port)
        self.url = f"http://127.0.0.1:{self.port}"
        self._acceptor = threading.Thread(target=self._accept_loop, name="fault-proxy", daemon=True)
        self._acceptor.start()

    @staticmethod
    def _no_kill() -> None:
        raise AssertionError("the proxy was asked to kill the server but has no way to")

    # -- the link ---------------------------------------------------------------------------

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        listener.settimeout(0.05)
        return listener

    @staticmethod
    def _unlisten(listener: socket.socket) -> None:
        # Shut down first: the accept thread may be inside accept() on it, which would keep
        # it listening (and the port taken) until that call returns.
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()

    @property
    def link(self) -> Link:
        return self._link

    def cut(self, how: Link) -> None:
        """Refuse connections (the listener is closed) or swallow requests, until `restore`."""
        with self._lock:
            self._link = how
            self._restored.clear()
            if how is Link.REFUSE and self._listener is not None:
                self._unlisten(self._listener)
                self._listener = None
            elif how is Link.BLACK_HOLE and self._listener is None:
                self._listener = self._listen(self.port)

    def restore(self) -> None:
        with self._lock:
            if self._listener is None:
                self._listener = self._listen(self.port)
            self._link = Link.UP
            self._restored.set()

    # -- threads ----------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                listener = self._listener
            if listener is None:
                self._stop.wait(0.02)
                continue
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                if len(self._threads) >= MAX_CONNECTIONS:
                    _close_hard(conn)
                    continue
                thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
                self._threads.add(thread)
                self._sockets.add(conn)
            thread.start()

    def _serve(self, client: socket.socket) -> None:
        client.settimeout(CLIENT_IDLE)
        reader = Reader(client)
        try:
            while not self._stop.is_set() and self._one(client, reader):
                pass
        except (Closed, OSError):  # either end went away: this connection is over
            pass
        finally:
            _close_hard(client)
            with self._lock:
                self._sockets.discard(client)
                self._threads.discard(threading.current_thread())

    def _connect(self) -> socket.socket | None:
        try:
            sock = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            return None
        sock.settimeout(UPSTREAM_TIMEOUT)
        with self._lock:
            self._sockets.add(sock)
        return sock

    def _release(self, sock: socket.socket) -> None:
        _close_hard(sock)
        with self._lock:
            self._sockets.discard(sock)

    # -- one request ------------------------------------------------------------------------

    def _one(self, client: socket.socket, reader: Reader) -> bool:
        """Handle the next request on `client`; False when the connection must end."""
        head = reader.head()
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
        raw = head + reader.body(head, response=False)
        request = Request(request_line[0], request_line[1], raw, len(head))
        if self._link is not Link.UP:
            # Down or swallowed: hold a black-holed request until the link is back, then break.
            if self._link is Link.BLACK_HOLE:
                self._restored.wait(HOLD_LIMIT)
            return False
        fault = self.decide(request)
        with self._lock:
            self.routes[request.route] += 1
            self.applied[fault.value] += 1
            stale = self._past[0] if fault is Fault.TWICE_LATE and self._past else None
            self._past.append(request)
        upstream = self._connect()
        if upstream is None:  # the server is down: the township sees the line break
            return False
        try:
            return self._apply(fault, request, client, upstream)
        finally:
            self._release(upstream)
            if stale is not None:
                self._replay(stale)

    def _apply(
        self, fault: Fault, request: Request, client: socket.socket, upstream: socket.socket
    ) -> bool:
        answer = Reader(upstream)
        if fault is Fault.KILL_IN_BODY:
            body = len(request.raw) - request.body_start
            upstream.sendall(request.raw[: request.body_start + body // 2])
            return self._kill_and_drop(answer)
        upstream.sendall(request.raw)
        if fault is Fault.KILL_AFTER_REQUEST:
            return self._kill_and_drop(answer)
        twin = self._connect() if fault is Fault.TWICE_TOGETHER else None
        if twin is not None:
            twin.sendall(request.raw)
        try:
            reply = self._reply(request, answer)
            if twin is not None:
                self._reply(request, Reader(twin))
        except Closed:
            return False  # the server died under this request
        finally:
            if twin is not None:
                self._release(twin)
        if fault is Fault.KILL_AFTER_REPLY:
            return self._kill_and_drop(answer)
        if fault is Fault.DROP_REPLY:
            return False
        if fault is Fault.TRUNCATE_REPLY:
            client.sendall(reply[: len(reply) // 2])
            return False
        client.sendall(reply)
        if fault is Fault.TWICE_AFTER:
            self._replay(request)
        return b"connection: close" not in reply.split(b"\r\n\r\n", 1)[0].lower()

    def _reply(self, request: Request, answer: Reader) -> bytes:
        head = answer.head()
        reply = head + answer.body(head, response=True)
        status = head.split(b" ", 2)[1].decode("latin-1")
        with self._lock:
            self.replies[f"{request.route} {status}"] += 1
        return reply

    def _replay(self, request: Request) -> None:
        """The same request once more on a new connection; its answer goes nowhere."""
        again = self._connect()
        if again is None:
            return
        try:
            again.sendall(request.raw)
            self._reply(request, Reader(again))
        except (Closed, OSError):
            pass
        finally:
            self._release(again)

    def _kill_and_drop(self, answer: Reader) -> bool:
        """Kill the server, wait until its end of the connection is gone, drop the reply."""
        self.kill()
        answer.wait_closed(UPSTREAM_TIMEOUT)
        return False

    def close(self) -> None:
        self._stop.set()
        self._restored.set()
        with self._lock:
            if self._listener is not None:
                self._unlisten(self._listener)
                self._listener = None
            for sock in list(self._sockets):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked reading it
                _close_hard(sock)
            threads = list(self._threads)
        self._acceptor.join(JOIN_TIMEOUT)
        for thread in threads:
            thread.join(JOIN_TIMEOUT)
        with self._lock:
            alive = [t for t in self._threads if t.is_alive()]
        assert not alive and not self._acceptor.is_alive(), "fault proxy threads did not end"
