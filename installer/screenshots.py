"""Render the client's main screens with demo data to PNG files (docs/screens/), offscreen or
under Xvfb: `python installer/screenshots.py [--only NAME] [--out DIR]`.

Each screen is one entry in SCREENS: a name and a function that builds the widget from the
demo data; add a workspace's screen by appending to SCREENS.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from app.ui.context import PreviewData, preview_context, preview_data  # noqa: E402

# A typical township desk screen.
SCREEN_SIZE = (1366, 768)


@dataclass(frozen=True)
class Screen:
    name: str
    build: Callable[[PreviewData], QWidget]
    full_screen: bool = True


def login_screen(data: PreviewData) -> QWidget:
    from app.services.demo import TOWNSHIP
    from app.ui.login import KEY_DESK, KEY_TOWNSHIP, KEY_USERNAME, LoginDialog

    # As on a desk that logged in before: township, desk and username remembered.
    settings = QSettings(str(data.data_dir / "login.ini"), QSettings.Format.IniFormat)
    settings.setValue(KEY_TOWNSHIP, TOWNSHIP[0])
    settings.setValue(KEY_DESK, "A1")
    settings.setValue(KEY_USERNAME, "window1")
    return LoginDialog(data.rt, settings)


def generic_main_screen(data: PreviewData) -> QWidget:
    from app.ui.main_window import MainWindow
    from app.ui.workspaces import GenericWorkspace

    window = MainWindow(preview_context(data, "window1", "A1"), workspace_factory=GenericWorkspace)
    workspace = window.workspace
    assert isinstance(workspace, GenericWorkspace)
    workspace.queue.table.selectRow(0)
    return window


SCREENS: list[Screen] = [
    Screen("login", login_screen, full_screen=False),
    Screen("main_generic", generic_main_screen),
]


def render(screen: Screen, data: PreviewData, out: Path) -> Path:
    widget = screen.build(data)
    if screen.full_screen:
        widget.resize(*SCREEN_SIZE)
    else:
        widget.adjustSize()
    widget.show()
    app = QApplication.instance()
    assert app is not None
    for _ in range(5):
        app.processEvents()
    target = out / f"{screen.name}.png"
    if not widget.grab().save(str(target)):
        raise SystemExit(f"无法写入 {target}")
    widget.close()
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="用演示数据渲染客户端主要界面的截图")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screens", help="输出目录")
    parser.add_argument("--only", action="append", help="只渲染这些界面（可重复）")
    parser.add_argument("--cases", type=int, default=300, help="演示办件数量")
    args = parser.parse_args(argv)
    from app.ui.application import make_app

    make_app(sys.argv[:1])
    args.out.mkdir(parents=True, exist_ok=True)
    chosen = [s for s in SCREENS if not args.only or s.name in args.only]
    with tempfile.TemporaryDirectory(prefix="bujianmian-screens-") as tmp:
        data = preview_data(cases=args.cases, data_dir=Path(tmp))
        try:
            for screen in chosen:
                print(render(screen, data, args.out))
        finally:
            data.rt.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
