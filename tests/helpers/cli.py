"""Running the `bujianmian` command as a real subprocess in tests."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "some-passphrase-123"


@dataclass
class Result:
    code: int
    out: str
    err: str


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUJIANMIAN_")}
    env["BUJIANMIAN_PASSPHRASE"] = PASSPHRASE
    # Never touch the developer's real keyring: the passphrase path is what we test.
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def cli(data: Path, *args: str, db: str | None = None, env: dict[str, str] | None = None) -> Result:
    """Run `python -m app.cli --data DATA [--db URL] ARGS` and capture its output."""
    cmd = [sys.executable, "-m", "app.cli", "--data", str(data)]
    cmd += ["--db", db] if db else []
    done = subprocess.run(
        [*cmd, *args],
        cwd=ROOT,
        env={**_env(), **(env or {})},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=600,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return Result(done.returncode, done.stdout, done.stderr)


def ok(data: Path, *args: str, db: str | None = None, env: dict[str, str] | None = None) -> str:
    result = cli(data, *args, db=db, env=env)
    assert result.code == 0, result.err
    return result.out
