"""The county server process of the fault test: killed by PID, restarted on the same port.

`FaultCounty` is `LiveCounty` (the real `bujianmian county serve` process) that can also be
restarted as a fork of a warmed-up interpreter (sync_fault_server.py), so that a hundred
SIGKILLs fit in the suite. Either way the server is the same code, database, data folder
and port. `signal_kill` may be called from any thread (the fault proxy kills from its own);
`reap` and `restart` only from the test's thread.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from sync_fault_proxy import quiet_port
from test_crash_safety import LineReader

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sync"))

from county_live import PASSPHRASE, ROOT, START_TIMEOUT, LiveCounty, child_env

SERVER = Path(__file__).with_name("sync_fault_server.py")
__all__ = ["PASSPHRASE", "ROOT", "FaultCounty", "child_env"]


class FaultCounty(LiveCounty):
    def __init__(self, tmp_path: Path, db_url: str) -> None:
        super().__init__(tmp_path, db_url, port=quiet_port())
        self.errors = tmp_path / "county-forks.stderr"
        self.forks: subprocess.Popen[bytes] | None = None
        self.lines: LineReader | None = None
        self.ready = False
        self.pid = 0  # the running server (fresh or forked); 0 when there is none
        self.forked = False
        self.killed = threading.Event()  # set by signal_kill, cleared by each start
        self._lock = threading.Lock()

    def start(self) -> None:
        """A fresh `bujianmian county serve` interpreter."""
        super().start()
        assert self.proc is not None
        with self._lock:
            self.pid, self.forked = self.proc.pid, False
            self.killed.clear()

    def _command(self, line: str) -> str:
        assert self.forks is not None and self.forks.stdin is not None and self.lines
        self.forks.stdin.write(line.encode() + b"\n")
        self.forks.stdin.flush()
        return self.lines.next()

    def prepare_forks(self) -> None:
        """Start sync_fault_server.py (its imports take a while: start it early)."""
        if self.forks is None:
            with self.errors.open("ab") as stderr:
                self.forks = subprocess.Popen(
                    [sys.executable, str(SERVER), "--db", self.db, "--data", str(self.data),
                     "--port", str(self.port), "--log", str(self.log)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                    cwd=ROOT, env=child_env(), bufsize=0,
                )  # fmt: skip
            assert self.forks.stdout is not None
            self.lines = LineReader(self.forks.stdout, self.errors)

    def start_forked(self) -> None:
        """A server forked from sync_fault_server.py."""
        if self.lines is None:
            self.prepare_forks()
        assert self.lines is not None
        if not self.ready:
            assert self.lines.next() == "ready"
            self.ready = True
        word, _, pid = self._command("start").partition(" ")
        assert word == "started", word
        with self._lock:
            self.pid, self.forked = int(pid), True
            self.killed.clear()
        self._wait_healthy()

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/api/v1/health", timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.02)
        pytest.fail(f"county server not healthy:\n{self.log.read_text(errors='replace')[-3000:]}")

    def signal_kill(self) -> bool:
        """SIGKILL the running server now (once per life); False if it was already killed."""
        with self._lock:
            if self.killed.is_set() or not self.pid:
                return False
            # Not reaped yet (we reap in `reap`), so the PID is still this server's.
            os.kill(self.pid, signal.SIGKILL)
            self.killed.set()
            return True

    def reap(self) -> None:
        """Wait for the killed server; it must have died of the SIGKILL, not by itself."""
        assert self.killed.is_set()
        if self.forked:
            answer = self._command("reap")
            assert answer == f"reaped {self.pid} {-signal.SIGKILL}", answer
        else:
            assert self.proc is not None
            assert self.proc.wait(timeout=15) == -signal.SIGKILL
        with self._lock:
            self.pid = 0

    def restart(self, *, fresh: bool) -> None:
        if fresh:
            self.start()
        else:
            self.start_forked()

    def stop(self) -> None:
        """A clean stop (SIGTERM) of the running server, then the fork server ends."""
        if self.forked and self.pid and not self.killed.is_set():
            os.kill(self.pid, signal.SIGTERM)
            self.killed.set()
            answer = self._command("reap")
            assert answer.startswith(f"reaped {self.pid} "), answer
        elif not self.forked:
            super().stop()
        self.pid = 0
        if self.forks is not None:
            assert self.forks.stdin is not None and self.forks.stdout is not None
            self.forks.stdin.close()  # at end of input it kills and reaps a child still there
            try:
                self.forks.wait(timeout=30)
            finally:
                if self.forks.poll() is None:
                    self.forks.kill()
                    self.forks.wait()
                self.forks.stdout.close()
            self.forks = None
