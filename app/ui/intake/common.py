"""Small pieces the intake sections share: message labels, problems to fix, Enter to move on."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QLabel, QWidget


class Level(Enum):
    """How a message next to a field reads: colour says how serious it is."""

    NONE = ""
    HINT = "#5f6368"
    OK = "#1e6b2c"
    WARNING = "#8a4b00"
    ERROR = "#a3161a"


class MessageLabel(QLabel):
    """The line under a field: empty, a hint, "校验通过", a warning or an error."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.level = Level.NONE
        self.show_message("", Level.NONE)

    def show_message(self, text: str, level: Level) -> None:
        self.level = level if text else Level.NONE
        self.setText(text)
        self.setStyleSheet(f"color: {level.value};" if text and level.value else "")
        # An empty line takes no room, so a form without problems stays compact.
        self.setVisible(bool(text))


@dataclass(frozen=True)
class Problem:
    """Something the clerk must fix before the case can be saved, and where."""

    widget: QWidget
    message: str


def mark(widget: QWidget, bad: bool) -> None:
    """A red frame around an input with a problem (cleared when it is fixed)."""
    widget.setProperty("problem", bad)
    widget.setStyleSheet("border: 1px solid #c62828;" if bad else "")


def focusable(widget: QWidget) -> bool:
    return (
        widget.isVisibleTo(widget.window())
        and widget.isEnabled()
        and widget.focusPolicy() != Qt.FocusPolicy.NoFocus
    )


class EnterMovesOn(QObject):
    """Enter (or Return) in a one-line input moves to the next field, as in paper-form
    software clerks know; `advance(widget)` decides where "next" is."""

    def __init__(self, advance: Callable[[QWidget], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.advance = advance

    def watch(self, *widgets: QWidget) -> None:
        for widget in widgets:
            widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(watched, QWidget):
            return False
        assert isinstance(event, QKeyEvent)
        plain = event.modifiers() in (
            Qt.KeyboardModifier.NoModifier,
            Qt.KeyboardModifier.KeypadModifier,
        )
        if plain and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.advance(watched)
            return True
        return False


def next_in(sequence: list[QWidget], current: QWidget) -> QWidget | None:
    """The next field after `current` that can take the focus now."""
    try:
        start = sequence.index(current) + 1
    except ValueError:
        return None
    return next((w for w in sequence[start:] if focusable(w)), None)


def first_in(sequence: list[QWidget]) -> QWidget | None:
    return next((w for w in sequence if focusable(w)), None)


def chain_tab_order(widgets: list[QWidget]) -> None:
    """Tab visits the fields in the order they are read (top to bottom, left to right)."""
    for first, second in itertools.pairwise(widgets):
        QWidget.setTabOrder(first, second)
