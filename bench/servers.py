"""Servers for the sync benchmarks: the county server, the baseline's HTTP sink and a fresh
PostgreSQL schema. Every process is a real one on 127.0.0.1 and a free port, stopped by its PID.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from bench.data import PASSPHRASE

ROOT = Path(__file__).resolve().parents[1]
PG_ENV = "BUJIANMIAN_BENCH_PG_URL"
PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"
START_TIMEOUT = 60.0

# A minimal HTTP/1.1 keep-alive server: reads each body and answers {}. The baseline's sink.
SINK = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as uvicorn (asyncio) does: no 40 ms delayed-ACK stalls

    def answer(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_PUT = do_POST = answer

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUJIANMIAN_")}
    env.update(
        BUJIANMIAN_PASSPHRASE=PASSPHRASE,
        PYTHONPATH=str(ROOT),
        PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
    )
    return env


def _answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


@contextmanager
def _process(command: list[str], health: str, log: Path) -> Iterator[None]:
    """A server process, up once `health` answers 200; SIGTERM (then SIGKILL) by its PID."""
    with open(log, "ab") as sink:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=_child_env(), stdout=sink, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(health):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"服务未能启动：\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)
        yield
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)


@contextmanager
def county_server(db_url: str, tmp: Path, workers: int = 1) -> Iterator[str]:
    """`bujianmian county serve` on a free loopback port; its base URL."""
    url = f"http://127.0.0.1:{_free_port()}"
    command = [sys.executable, "-m", "app.cli", "county", "serve", "--db", db_url,
               "--host", "127.0.0.1", "--port", url.rsplit(":", 1)[1],
               "--data", str(tmp / "county-data"), "--workers", str(workers)]  # fmt: skip
    with _process(command, f"{url}/api/v1/health", tmp / "county.log"):
        yield url


@contextmanager
def sink_server(tmp: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{_free_port()}"
    command = [sys.executable, "-c", SINK, url.rsplit(":", 1)[1]]
    with _process(command, url, tmp / "sink.log"):
        yield url


def register_townships(db_url: str, townships: list[tuple[str, str]]) -> list[str]:
    """Register townships at the county (the real auth code); their credentials."""
    from sync.server import auth, store

    db = store.open_database(db_url)
    try:
        return [auth.add_township(db, code, name) for code, name in townships]
    finally:
        db.close()


@contextmanager
def pg_schema(base: str) -> Iterator[str]:
    """A fresh PostgreSQL schema (its URL), dropped afterwards."""
    from app.store.db import make_database

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_database(base)
    admin.connect()
    admin.execute_sql(f'CREATE SCHEMA "{schema}"')  # type: ignore[no-untyped-call]
    try:
        sep = "&" if "?" in base else "?"
        yield f"{base}{sep}options={quote(f'-c search_path={schema}')}"
    finally:
        admin.execute_sql(f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[no-untyped-call]
        admin.close()
