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


def _window_main(data: PreviewData) -> QWidget:
    from app.ui.main_window import MainWindow
    from app.ui.workspaces.window import WindowWorkspace

    return MainWindow(preview_context(data, "window1", "A1"), workspace_factory=WindowWorkspace)


def window_queue_screen(data: PreviewData) -> QWidget:
    """综合窗口: the desk's queue with a received case whose materials are not complete."""
    from app.ui.workspaces.window import WindowWorkspace

    window = _window_main(data)
    workspace = window.workspace  # type: ignore[attr-defined]
    assert isinstance(workspace, WindowWorkspace)
    model = workspace.queue.model
    rows = [r for r in range(model.rowCount()) if model.line(r).row.state == "received"]
    workspace.queue.table.selectRow(rows[0] if rows else 0)
    workspace.panel.tabs.setCurrentIndex(1)  # the materials, as checked at the counter
    return window


def window_intake_screen(data: PreviewData) -> QWidget:
    """新建接件: an item found by its pinyin initials, the applicant half typed in."""
    from app.ui.workspaces.window import WindowWorkspace

    window = _window_main(data)
    workspace = window.workspace  # type: ignore[attr-defined]
    assert isinstance(workspace, WindowWorkspace)
    workspace.new_case()
    page = workspace.intake
    page.picker.search_edit.setText("zdsh")
    page.picker.refresh()
    page.picker.choose_current()
    applicant = page.applicant
    applicant.id_field.number_edit.setText("370902196203154425")
    applicant.name_edit.setText("王秀兰")
    applicant.phone_edit.setText("13938506127")
    applicant.address_edit.setText("青禾县青禾镇东王村三组")
    applicant.address_edit.setFocus()
    return window


def _immediate_case_at_station(data: PreviewData, station: str) -> None:
    """A 即办件 accepted and routed minutes ago: its applicant waits at the station's desk."""
    import random

    from app.domain.case import Action
    from app.domain.states import MaterialStatus
    from app.services import cases, catalog
    from app.services.demo import DemoBuilder

    window = preview_context(data, "window1", "A1").actor
    item = next(
        i
        for i in catalog.get_catalog().township_items()
        if i.station == station and i.promised_limit_days == 0
    )
    builder = DemoBuilder(data.rt, random.Random(7), data.rt.now())
    who = builder.person(data.rt.today())
    request = cases.IntakeRequest(
        item_code=item.code,
        applicant=who,
        materials=tuple(
            cases.MaterialInput(m.name, MaterialStatus.RECEIVED) for m in item.materials
        ),
        form_data=builder.form_data(item, who, data.rt.today()),
    )
    ref = cases.intake(data.rt, window, request)
    for action in (Action.ACCEPT, Action.ROUTE):
        ref = cases.act(data.rt, window, ref.id, action, {}, expected_version=ref.version)


def station_screen(data: PreviewData) -> QWidget:
    """站办所 劳动保障所: its queue by deadline, a 即办件 waiting on top and open."""
    from app.ui.main_window import MainWindow

    _immediate_case_at_station(data, "laodong")
    window = MainWindow(preview_context(data, "st_laodong", "S1"))
    window.workspace.queue.table.selectRow(0)
    return window


def issuance_screen(data: PreviewData) -> QWidget:
    """出件: decided cases waiting for issue; a notified one open, ready to hand out."""
    from app.ui.main_window import MainWindow

    window = MainWindow(preview_context(data, "issue1", "C1"))
    queue = window.workspace.queue
    model = queue.model
    ready = [r for r in range(model.rowCount()) if model.line(r).row.state == "ready_to_issue"]
    queue.table.selectRow(ready[0] if ready else 0)
    return window


SCREENS: list[Screen] = [
    Screen("login", login_screen, full_screen=False),
    Screen("main_generic", generic_main_screen),
    Screen("window_queue", window_queue_screen),
    Screen("window_intake", window_intake_screen),
    Screen("station", station_screen),
    Screen("issuance", issuance_screen),
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
