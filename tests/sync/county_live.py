"""The county server as a real process on 127.0.0.1 (SQLite or a PostgreSQL schema).

`LiveCounty` registers townships and staff through the real command line, starts
`bujianmian county serve` on a free loopback port and stops (or kills) it by its PID;
stop() and start() keep the port and the database, so a restarted server is the same server.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from county_helpers import TOWNSHIP, bearer

from sync.server.service import LISTENING

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
PASSPHRASE = "e2e-county-passphrase"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process: no BUJIANMIAN_* leaks in, no real keyring."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUJIANMIAN_")}
    env.update(
        BUJIANMIAN_PASSPHRASE=PASSPHRASE,
        PYTHONPATH=str(ROOT),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
        **extra,
    )
    return env


def cli(*args: str) -> str:
    """`bujianmian …` in its own process; the secret is the last line printed."""
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (a clean shutdown), SIGKILL if it does not go within 15 s."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


def wait_until_healthy(
    proc: subprocess.Popen[bytes], url: str, log: Path, *, log_offset: int = 0
) -> None:
    """Until our process says it listens on the port and the health route answers.

    The listening line in this start's part of the log makes sure the answer comes from
    this process, not from some other server that took the port first."""
    listening = f"{LISTENING} {url}（".encode()
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"county server exited:\n{log.read_text(errors='replace')}")
        try:
            if (
                listening in log.read_bytes()[log_offset:]
                and requests.get(f"{url}/api/v1/health", timeout=2).status_code == 200
                and proc.poll() is None
            ):
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    pytest.fail(f"county server not healthy:\n{log.read_text(errors='replace')}")


class LiveCounty:
    """The county server process; `township` and `staff` are the issued secrets."""

    def __init__(
        self, tmp_path: Path, db_url: str | None = None, *, port: int = 0, workers: int = 1
    ) -> None:
        self.workers = workers
        self.db = db_url or f"sqlite:///{tmp_path / 'county.sqlite3'}"
        self.data = tmp_path / "county-data"
        self.log = tmp_path / "county.log"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.township = self.add_township(TOWNSHIP, "青禾镇")
        self.staff = cli("county", "staff", "add", "county1", "县窗口甲", "--db", self.db)
        self.proc: subprocess.Popen[bytes] | None = None

    def add_township(self, code: str, name: str) -> str:
        return cli("county", "township", "add", code, name, "--db", self.db)

    def start(self) -> None:
        command = [sys.executable, "-m", "app.cli", "county", "serve", "--db", self.db,
                   "--host", "127.0.0.1", "--port", str(self.port),
                   "--data", str(self.data), "--workers", str(self.workers)]  # fmt: skip
        offset = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as sink:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=child_env(), stdout=sink, stderr=subprocess.STDOUT
            )
        try:
            wait_until_healthy(self.proc, self.url, self.log, log_offset=offset)
        except BaseException:  # pytest.fail included: never leave the process running
            self.kill()
            raise

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)

    def kill(self) -> None:
        """SIGKILL now: no shutdown code runs, as in a power cut."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)

    def staff_get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(
            f"{self.url}/api/v1{path}", params=params, headers=bearer(self.staff), timeout=10
        )

    def event(self, case_uuid: str, kind: str, data: dict[str, Any]) -> None:
        body = {"case_uuid": case_uuid, "kind": kind, "data": data}
        answer = requests.post(
            f"{self.url}/api/v1/events", json=body, headers=bearer(self.staff), timeout=10
        )
        assert answer.status_code == 201, answer.text

    def package_posts(self) -> int:
        return self.log.read_text(errors="replace").count("POST /api/v1/packages HTTP/1.1")
