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
from app.ui.application import make_app, start_login
from app.ui.qsettings import make_settings
app = make_app(sys.argv)
dialog, opener = start_login(sys.argv[1], make_settings())
app.processEvents()
shown = time.perf_counter() - START
deadline = time.perf_counter() + 60
while dialog.rt is None and time.perf_counter() < deadline:
    app.processEvents()
    time.sleep(0.002)
print(time.perf_counter() - START)
print(shown)
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
# The peak resident set of this process alone (VmHWM): ru_maxrss would also count the bench
# process it was started from, whose high-water mark survives the exec.
try:
    with open("/proc/self/status") as status:
        peak = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(peak / 1024)
"""


def _run_lines(code: str, *args: str, env: dict[str, str]) -> list[float]:
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
    return [float(line) for line in done.stdout.strip().splitlines()]


def _run(code: str, *args: str, env: dict[str, str]) -> float:
    return _run_lines(code, *args, env=env)[-1]


def _env(data_dir: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    env["BUJIANMIAN_PASSPHRASE"] = "bench-passphrase-fictitious"
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    return env


def cold_start(data_dir: Path, quick: bool) -> list[dict[str, Any]]:
    """Process start to a shown login window the clerk can type into, median of N runs; the
    database opens behind it (its ready time is reported too)."""
    runs = 3 if quick else 9
    env = _env()
    _run_lines(CLIENT, str(data_dir), env=env)  # warm the OS file cache for both
    _run(BARE, env=env)
    samples = [_run_lines(CLIENT, str(data_dir), env=env) for _ in range(runs)]
    ready = statistics.median(s[0] for s in samples)
    shown = statistics.median(s[1] for s in samples)
    bare = statistics.median(_run(BARE, env=env) for _ in range(runs))
    return [
        figure(
            "client.cold_start_vs_bare_window",
            shown / bare,
            "ratio",
            1.5,
            login_shown_s=shown,
            bare_window_s=bare,
            database_ready_s=ready,
        )
    ]


def memory(cases: int) -> list[dict[str, Any]]:
    """Peak memory of a client showing the issuance queue over `cases` cases, scrolled 2,000
    rows (the database is built first, here, so its building is not counted)."""
    from bench.data import demo_runtime

    demo_runtime(cases).close()  # type: ignore[attr-defined]
    rss = _run(MEMORY, str(cases), env=_env())
    return [figure("client.rss_with_queue", rss, "MB", 250.0, cases=cases)]
