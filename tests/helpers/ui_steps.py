"""Steps shared by the desk-workspace UI tests: show a workspace, pick a case, click."""

from __future__ import annotations

from typing import Any, TypeVar

from PySide6.QtCore import Qt

W = TypeVar("W")


def show_workspace(qtbot: Any, workspace: W) -> W:
    """On screen at a township monitor's size; its queue refreshed by the test, not a timer."""
    qtbot.addWidget(workspace)
    workspace.queue.poll_timer.stop()  # type: ignore[attr-defined]
    workspace.resize(1366, 700)  # type: ignore[attr-defined]
    workspace.show()  # type: ignore[attr-defined]
    qtbot.waitExposed(workspace)
    return workspace


def select_case(workspace: Any, case_id: int) -> None:
    """Select the case's row; the workspace then shows that case."""
    row = workspace.queue.model.row_of(case_id)
    assert row is not None
    workspace.queue.table.selectRow(row)
    assert workspace.detail is not None and workspace.detail.id == case_id


def click(qtbot: Any, widget: Any) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
