"""The desktop client: cold start to a usable login window against a bare PySide6 window,
and memory after opening a queue over the benchmark database."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.common import figure

ROOT = Path(__file__).resolve().parents[1]

BARE = """
import time, sys
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
window = QMainWindow()
window.show()
app.processEvents()
print(time.perf_counter() - START)
"""

CLIENT = """
import time, sys
from pathlib import Path
from app.ui.application import make_app, open_database
from app.ui.context import make_settings
from app.ui.login import LoginDialog
app = make_app(sys.argv)
rt = open_database(Path(sys.argv[1]))
dialog = LoginDialog(rt, make_settings())
dialog.show()
app.processEvents()
print(time.perf_counter() - START)
"""

MEMORY = """
import sys, resource
from pathlib import Path
from app.ui.application import make_app
from app.services import accounts
from app.store.models import AccountRecord
from app.ui.context import UiContext, make_settings
from bench.data import demo_runtime
app = make_app(sys.argv)
rt = demo_runtime(int(sys.argv[1]))
actor = accounts.actor_of(AccountRecord.get(AccountRecord.username == "issue1"), "C1")
session = accounts.Session(actor, False, 30, rt.now())
from app.ui.main_window import MainWindow
window = MainWindow(UiContext(rt, session, make_settings()))
window.resize(1366, 768)
window.show()
app.processEvents()
queue = window.workspace.queue
for _ in range(20):  # scroll through 2,000 rows: pages are fetched on demand
    queue.model.fetchMore()
    app.processEvents()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def _run(code: str, *args: str, env: dict[str, str]) -> float:
    prelude = "import time\nSTART = time.perf_counter()\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + code, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return float(done.stdout.strip().splitlines()[-1])


def _env(data_dir: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    env["BUJIANMIAN_PASSPHRASE"] = "bench-passphrase-fictitious"
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return env


def cold_start(data_dir: Path, quick: bool) -> list[dict[str, Any]]:
    """Process start to a shown login window (imports, database open, dialog), median of N."""
    runs = 3 if quick else 7
    env = _env()
    _run(CLIENT, str(data_dir), env=env)  # warm the OS file cache for both
    _run(BARE, env=env)
    client = statistics.median(_run(CLIENT, str(data_dir), env=env) for _ in range(runs))
    bare = statistics.median(_run(BARE, env=env) for _ in range(runs))
    return [
        figure(
            "client.cold_start_vs_bare_window",
            client / bare,
            "ratio",
            1.5,
            client_s=client,
            bare_s=bare,
        )
    ]


def memory(cases: int) -> list[dict[str, Any]]:
    rss = _run(MEMORY, str(cases), env=_env())
    return [figure("client.rss_with_queue", rss, "MB", 250.0, cases=cases)]
