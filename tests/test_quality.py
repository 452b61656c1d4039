"""Quality gates, each in a subprocess: ruff, formatting, strict mypy, import contracts, Qt-free.

Subprocesses keep these checks honest: pytest-qt imports Qt into the test process, so a
Qt-free check made in-process would prove nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# The packages pyproject's strict mypy override covers.
TYPED = ["app/domain", "app/store", "app/services", "app/security", "forms"]
# Everything outside app.ui must import without Qt.
QT_FREE_PACKAGES = ["app.domain", "app.store", "app.services", "app.security", "forms",
                    "reports", "sync"]  # fmt: skip


def _tool(name: str) -> str:
    """The tool installed next to this interpreter, else one on PATH."""
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed in the test environment")
    return found


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("QT_QPA_PLATFORM", None)
    return subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )


def _assert_clean(result: subprocess.CompletedProcess[str]) -> None:
    report = (result.stdout + "\n" + result.stderr).strip()
    assert result.returncode == 0, f"{' '.join(result.args)} failed:\n{report[-6000:]}"


def test_ruff_check():
    _assert_clean(_run(_tool("ruff"), "check", "--output-format", "concise", "."))


def test_ruff_format():
    _assert_clean(_run(_tool("ruff"), "format", "--check", "--output-format", "concise", "."))


def test_mypy_strict_packages():
    _assert_clean(_run(_tool("mypy"), *TYPED))


def test_import_contracts():
    _assert_clean(_run(_tool("lint-imports")))


QT_CHECK = textwrap.dedent(
    """
    qt = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6"))
    assert not qt, "Qt imported outside app.ui: " + ", ".join(qt)
    print("qt-free", len(sys.modules))
    """
)
ENTRY_POINTS = textwrap.dedent(
    """
    import sys

    import app.services.runtime, app.cli, forms, reports, sync
    app.cli.build_parser()  # imports every subcommand module
    """
)
EVERY_MODULE = textwrap.dedent(
    """
    import importlib, pkgutil, sys

    for name in {packages!r}:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, name + "."):
            importlib.import_module(info.name)
    """
)


def _assert_qt_free(script: str) -> None:
    result = _run(sys.executable, "-c", script + QT_CHECK)
    _assert_clean(result)
    assert result.stdout.startswith("qt-free")


def test_entry_points_never_import_qt():
    _assert_qt_free(ENTRY_POINTS)


def test_every_module_outside_ui_imports_without_qt():
    _assert_qt_free(EVERY_MODULE.format(packages=QT_FREE_PACKAGES))


def test_qt_free_check_would_notice_qt():
    """The check above is not vacuous: importing PySide6 does show up in sys.modules."""
    pytest.importorskip("PySide6", reason="PySide6 not installed; nothing to contrast with")
    script = "import sys, PySide6; assert 'PySide6' in sys.modules"
    _assert_clean(_run(sys.executable, "-c", script))
