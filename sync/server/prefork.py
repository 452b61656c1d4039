"""Several serving processes on one listening socket (`county serve --workers N`).

One Python process serves requests on one core at a time. The parent opens the database
(migrations), unlocks the personal-data key, clears spool files left by a crash and binds the
socket; then it forks N workers that inherit all of that and accept connections from the one
socket, each with its own connection pool. The parent only supervises: a worker that dies is
replaced (its unfinished uploads are deleted first: their spool files carry its PID), and
SIGTERM or SIGINT stops every worker. Workers die with the parent (PR_SET_PDEATHSIG), so a
killed parent never leaves one holding the port.

Linux only (fork, prctl); elsewhere the server runs in one process.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("bujianmian.county")

MAX_WORKERS = 16
# A worker that dies within this time of its start is not replaced at once, so a broken
# set-up does not fork in a tight loop.
RESTART_PAUSE_SECONDS = 1.0
# Workers still running this long after SIGTERM are killed.
STOP_SECONDS = 30.0
_PR_SET_PDEATHSIG = 1


def supported() -> bool:
    return sys.platform.startswith("linux")


def bind(host: str, port: int) -> socket.socket:
    """The listening socket every worker accepts from (IPv4 or IPv6 by the address)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class Supervisor:
    """Forks `count` workers running `run_worker()` and keeps that many alive until stopped."""

    def __init__(
        self,
        count: int,
        run_worker: Callable[[], None],
        *,
        on_worker_exit: Callable[[int], None] = lambda pid: None,
    ) -> None:
        if not 1 <= count <= MAX_WORKERS:
            raise ValueError(f"workers must be 1..{MAX_WORKERS}")
        self.count = count
        self.run_worker = run_worker
        self.on_worker_exit = on_worker_exit
        self.children: dict[int, float] = {}  # pid -> start time
        self.stopping = False
        self._kill_at = 0.0

    def _fork(self) -> None:
        parent = os.getpid()
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                _die_with_parent()
                if os.getppid() != parent:  # the parent died before prctl took effect
                    os._exit(0)
                self.run_worker()
            except BaseException:  # a worker never returns into the parent's code
                log.exception("县级服务工作进程异常退出")
                code = 1
            finally:
                os._exit(code)
        self.children[pid] = time.monotonic()

    def _signal_all(self, signum: int) -> None:
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signum)

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        if not self.stopping:
            self.stopping = True
            self._kill_at = time.monotonic() + STOP_SECONDS
        self._signal_all(signal.SIGTERM)

    def _reap(self) -> tuple[int, int]:
        """The next worker that ended (pid, status); (0, 0) if none yet while stopping."""
        if not self.stopping:
            return os.wait()
        pid, status = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            if time.monotonic() > self._kill_at:
                self._signal_all(signal.SIGKILL)
            time.sleep(0.05)
        return pid, status

    def run(self) -> None:
        """Start the workers and supervise them until SIGTERM/SIGINT; then wait for them."""
        previous = {s: signal.signal(s, self._stop) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            for _ in range(self.count):
                self._fork()
            while self.children:
                try:
                    pid, status = self._reap()
                except ChildProcessError:
                    break
                started = self.children.pop(pid, None)
                if started is None:
                    continue
                self.on_worker_exit(pid)
                if self.stopping:
                    continue
                log.warning("县级服务工作进程 %s 已退出（状态 %s），正在重新启动", pid, status)
                if time.monotonic() - started < RESTART_PAUSE_SECONDS:
                    time.sleep(RESTART_PAUSE_SECONDS)
                if not self.stopping:
                    self._fork()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
