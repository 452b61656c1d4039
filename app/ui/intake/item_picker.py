"""Finding the item fast: part of its name, its code or its pinyin initials (生育登记 → sydj);
with an empty box, the items this desk took lately and most often come first."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeyEvent
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.services import intake_support
from app.services.intake_support import ItemChoice
from app.ui.context import UiContext
from app.ui.errors import reporting
from forms.schema import STATIONS, Item

CODE_ROLE = int(Qt.ItemDataRole.UserRole) + 1
TAG_COLOURS = {intake_support.TAG_RECENT: "#1a5fb4", intake_support.TAG_FREQUENT: "#1e6b2c"}
_NAVIGATION = (Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_PageDown, Qt.Key.Key_PageUp)


def station_short(item: Item) -> str:
    """计生（卫生计生办） → 计生; county items say who at the county decides."""
    if item.level == "county":
        return f"县级帮代办·{item.county_department}" if item.county_department else "县级帮代办"
    return STATIONS.get(item.station or "", "").split("（")[0]


def kind_text(item: Item) -> str:
    """即办件, or 承诺件 with its promised time."""
    if item.kind == "immediate":
        return item.kind_label
    return f"{item.kind_label}（{item.promised_label}）"


def choice_text(choice: ItemChoice) -> str:
    item = choice.item
    tag = f"［{choice.tag}］" if choice.tag else ""
    used = f" · 近90天 {choice.uses} 件" if choice.uses else ""
    detail = f"{station_short(item)} · {kind_text(item)}{used}"
    return f"{tag}{item.name}\n{detail}"


class ItemPicker(QWidget):
    """A search box over a list; Up/Down in the box move in the list, Enter takes the item."""

    itemChosen = Signal(object)  # forms.schema.Item

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.choices: list[ItemChoice] = []
        self.chosen: Item | None = None
        self.search_edit = QLineEdit()
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.setPlaceholderText("事项名称、编码或拼音首字母，如 sydj")
        label = QLabel("查找事项(&I)：")
        label.setBuddy(self.search_edit)
        self.list = QListWidget()
        self.list.setAlternatingRowColors(True)
        self.list.setWordWrap(True)
        self.count_label = QLabel()
        self.count_label.setStyleSheet("color: #5f6368;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(label)
        layout.addWidget(self.search_edit)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.count_label)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(120)
        self._debounce.timeout.connect(self.refresh)
        self.search_edit.textChanged.connect(lambda _t: self._debounce.start())
        self.search_edit.returnPressed.connect(self.choose_current)
        self.search_edit.installEventFilter(self)
        self.list.itemActivated.connect(lambda _item: self.choose_current())
        self.list.itemDoubleClicked.connect(lambda _item: self.choose_current())
        self.refresh()

    def refresh(self) -> None:
        """Run the search now (the box waits a moment after each key otherwise)."""
        self._debounce.stop()
        with reporting(self):
            self.choices = intake_support.suggested_items(
                self.ctx.rt, self.ctx.actor, self.search_edit.text()
            )
        self.list.clear()
        for choice in self.choices:
            entry = QListWidgetItem(choice_text(choice), self.list)
            entry.setData(CODE_ROLE, choice.item.code)
            entry.setToolTip(self._tooltip(choice.item))
            if choice.tag:
                entry.setForeground(QColor(TAG_COLOURS[choice.tag]))
        if self.choices:
            self.list.setCurrentRow(0)
        text = self.search_edit.text().strip()
        self.count_label.setText(
            f"找到 {len(self.choices)} 个事项" if text else "最近、常用事项在前；↑↓选择，回车确定"
        )

    def _tooltip(self, item: Item) -> str:
        return "\n".join(
            (
                f"{item.name}（{item.code}）",
                f"事项类型：{item.item_type}；{item.level_label}",
                f"承诺时限：{item.promised_label}；法定时限：{item.legal_limit_days}个工作日",
                f"受理条件：{item.conditions}",
            )
        )

    def current_item(self) -> Item | None:
        row = self.list.currentRow()
        return self.choices[row].item if 0 <= row < len(self.choices) else None

    def choose_current(self) -> None:
        if self._debounce.isActive():
            self.refresh()
        item = self.current_item()
        if item is not None:
            self.chosen = item
            self.itemChosen.emit(item)

    def choose_code(self, code: str) -> None:
        """Pick an item by its code (reopening a draft, previews)."""
        for row, choice in enumerate(self.choices):
            if choice.item.code == code:
                self.list.setCurrentRow(row)
                self.choose_current()
                return

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search_edit and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            if event.key() in _NAVIGATION:
                if self._debounce.isActive():
                    self.refresh()
                # The list moves while the clerk keeps typing in the box.
                copy = QKeyEvent(QEvent.Type.KeyPress, event.key(), event.modifiers())
                QCoreApplication.sendEvent(self.list, copy)
                return True
        return False
