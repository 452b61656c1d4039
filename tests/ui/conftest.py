"""UI test fixtures: settings in a temp folder, a context for any account, widget text walks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, QSettings, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QComboBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QTableWidget,
    QTabWidget,
    QTextEdit,
    QWidget,
)

from app.domain.roles import Actor
from app.services.accounts import Session
from app.ui import errors
from app.ui.context import UiContext, make_settings


@pytest.fixture(autouse=True)
def _settings_in_tmp(tmp_path: Path) -> Iterator[None]:
    """QSettings (organisation 'bujianmian') write under the test's temp folder, never $HOME."""
    folder = tmp_path / "qsettings"
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    yield
    errors.set_log_path(None)
    import shiboken6

    reports = []
    for dialog in list(errors._open_dialogs):  # a failed test must not leave crash dialogs
        if shiboken6.isValid(dialog):
            reports.append(dialog.report)
            dialog.close()
    errors._open_dialogs.clear()
    assert not reports, "an unexpected error reached the crash dialog:\n" + "\n".join(reports)


@pytest.fixture
def settings() -> QSettings:
    return make_settings()


@pytest.fixture
def make_ctx(rt: object, settings: QSettings) -> Callable[[Actor], UiContext]:
    """A logged-in context for an actor (session built directly: no password needed)."""

    def build(actor: Actor) -> UiContext:
        session = Session(actor, False, 10, rt.now())  # type: ignore[attr-defined]
        return UiContext(rt, session, settings)  # type: ignore[arg-type]

    return build


def _model_texts(view: QAbstractItemView) -> list[str]:
    model = view.model()
    if model is None:
        return []
    root = QModelIndex()
    columns = model.columnCount(root)
    texts = [str(model.headerData(c, Qt.Orientation.Horizontal) or "") for c in range(columns)]
    for row in range(model.rowCount(root)):
        for column in range(columns):
            index = model.index(row, column, root)
            for role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
                value = model.data(index, role)
                if value is not None:
                    texts.append(str(value))
    return texts


def _table_widget_texts(table: QTableWidget) -> list[str]:
    texts = []
    for column in range(table.columnCount()):
        header = table.horizontalHeaderItem(column)
        texts.append(header.text() if header else "")
    for row in range(table.rowCount()):
        for column in range(table.columnCount()):
            item = table.item(row, column)
            if item is not None:
                texts.extend((item.text(), item.toolTip()))
    return texts


def widget_texts(root: QWidget) -> list[str]:
    """Every text a user could see or hover in `root` and its children."""
    texts = [root.windowTitle(), root.toolTip()]
    for widget in [root, *root.findChildren(QWidget)]:
        texts.append(widget.toolTip())
        if isinstance(widget, QLabel | QAbstractButton | QLineEdit):
            texts.append(widget.text())
        if isinstance(widget, QPlainTextEdit | QTextEdit):
            texts.append(widget.toPlainText())
        if isinstance(widget, QComboBox):
            texts.extend(widget.itemText(i) for i in range(widget.count()))
        if isinstance(widget, QTabWidget):
            texts.extend(widget.tabText(i) for i in range(widget.count()))
        if isinstance(widget, QListWidget):
            texts.extend(widget.item(i).text() for i in range(widget.count()))
        elif isinstance(widget, QTableWidget):
            texts.extend(_table_widget_texts(widget))
        elif isinstance(widget, QAbstractItemView):
            texts.extend(_model_texts(widget))
    return [t for t in texts if t]


@pytest.fixture
def texts_of() -> Callable[[QWidget], list[str]]:
    return widget_texts


@pytest.fixture(autouse=True)
def _no_viewer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Documents are produced but not opened in the system viewer during tests."""
    from app.ui.widgets import actions

    monkeypatch.setattr(actions, "OPEN_DOCUMENTS", False)


@pytest.fixture
def boxes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """QMessageBox.warning replaced by a recorder of the Chinese texts."""
    shown: list[str] = []
    monkeypatch.setattr(errors.QMessageBox, "warning", lambda _p, _t, text: shown.append(text))
    return shown


@pytest.fixture(autouse=True)
def _quiet_before_the_database_goes(request: pytest.FixtureRequest) -> Iterator[None]:
    """Set up after `rt`, so torn down before it: background tasks finish and the test's
    windows close before the database (a PostgreSQL schema) is dropped, so no timer or task
    of this test runs against a database that is gone."""
    if "rt" not in request.fixturenames:
        yield
        return
    request.getfixturevalue("rt")
    yield
    from PySide6.QtWidgets import QApplication

    from app.ui import tasks

    tasks.wait_all()
    app = QApplication.instance()
    if app is not None:
        app.processEvents()
        for widget in app.topLevelWidgets():
            widget.close()
        tasks.wait_all()
        app.processEvents()
