"""Attachments before the case exists: files chosen, dropped, or arriving in the 高拍仪's output
folder (watched), each tied to a material, with a preview. They are saved with the case."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.errors import ValidationError
from app.services.intake_support import PendingFile, check_attachment
from app.ui.context import UiContext
from app.ui.intake.common import Level, MessageLabel

SCAN_SUFFIXES = frozenset({".pdf", ".jpg", ".jpeg", ".png"})
SCAN_FOLDER_KEY = "window/scan_folder"
NO_MATERIAL = "（不对应具体材料）"
FILE_FILTER = "扫描件 (*.pdf *.jpg *.jpeg *.png)"
PATH_ROLE = int(Qt.ItemDataRole.UserRole) + 1


def _size_text(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MB" if size >= 1024 * 1024 else f"{size // 1024 + 1} KB"


class AttachmentsBox(QWidget):
    """The files to save with the case, the new scans, and a preview of the selected file."""

    changed = Signal()

    def __init__(
        self,
        ctx: UiContext,
        material_names: Callable[[], list[str]],
        current_material: Callable[[], str],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.material_names = material_names
        self.current_material = current_material
        self.pending: list[PendingFile] = []
        self.scan_folder: Path | None = None
        self._known_scans: set[str] = set()
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(lambda _path: self.rescan())
        self.message = MessageLabel()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        left = QVBoxLayout()
        left.addWidget(self._pending_box(), 3)
        left.addWidget(self._scans_box(), 2)
        left.addWidget(self.message)
        layout.addLayout(left, 3)
        layout.addWidget(self._preview_box(), 2)
        folder = str(ctx.settings.value(SCAN_FOLDER_KEY, "") or "")
        if folder and Path(folder).is_dir():
            self.set_scan_folder(Path(folder), remember=False)
        else:
            self._show_folder()

    # --- building -----------------------------------------------------------------------

    def _pending_box(self) -> QGroupBox:
        box = QGroupBox("随件保存的附件（可把文件拖到本页）")
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["文件", "对应材料", "大小"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.currentCellChanged.connect(lambda row, *_: self._preview_pending(row))
        self.add_button = QPushButton("添加文件(&F)…")
        self.add_button.clicked.connect(self.choose_files)
        self.remove_button = QPushButton("移除所选(&R)")
        self.remove_button.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        column = QVBoxLayout(box)
        column.addWidget(self.table, 1)
        column.addLayout(buttons)
        return box

    def _scans_box(self) -> QGroupBox:
        box = QGroupBox("新扫描件（高拍仪）")
        self.folder_label = QLabel()
        self.folder_label.setWordWrap(True)
        self.folder_button = QPushButton("选择文件夹(&G)…")
        self.folder_button.clicked.connect(self.choose_scan_folder)
        self.scans_list = QListWidget()
        self.scans_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.scans_list.currentItemChanged.connect(lambda item, _old: self._preview_scan(item))
        self.scans_list.itemDoubleClicked.connect(lambda _item: self.attach_selected_scans())
        self.attach_button = QPushButton("附加到所选材料(&J)")
        self.attach_button.setToolTip("把选中的扫描件附加到材料清单中当前选中的材料")
        self.attach_button.clicked.connect(self.attach_selected_scans)
        top = QHBoxLayout()
        top.addWidget(self.folder_label, 1)
        top.addWidget(self.folder_button)
        column = QVBoxLayout(box)
        column.addLayout(top)
        column.addWidget(self.scans_list, 1)
        column.addWidget(self.attach_button, 0, Qt.AlignmentFlag.AlignRight)
        return box

    def _preview_box(self) -> QGroupBox:
        box = QGroupBox("预览")
        self.preview = QLabel("选择一个附件或扫描件查看")
        self.preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.preview.setWordWrap(True)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.preview)
        QVBoxLayout(box).addWidget(scroll)
        return box

    def fields(self) -> list[QWidget]:
        return [
            self.table,
            self.add_button,
            self.remove_button,
            self.folder_button,
            self.scans_list,
            self.attach_button,
        ]

    # --- files --------------------------------------------------------------------------

    def choose_files(self) -> None:
        paths, _filter = QFileDialog.getOpenFileNames(self, "选择附件", "", FILE_FILTER)
        self.add_files([Path(p) for p in paths], self.current_material())

    def add_files(self, paths: Iterable[Path], material: str = "") -> int:
        """Read and check each file now, so a bad one is reported before anything is saved."""
        added, problems = 0, []
        for path in paths:
            try:
                data = path.read_bytes()
                check_attachment(path.name, data)
            except ValidationError as exc:
                problems.append(exc.message)
                continue
            except OSError:
                problems.append(f"无法读取文件「{path.name}」")
                continue
            self.pending.append(PendingFile(path.name, data, material))
            added += 1
        self._show_pending()
        if problems:
            self.message.show_message("；".join(problems), Level.ERROR)
        elif added:
            self.message.show_message(f"已添加 {added} 个附件，登记接件时一并保存。", Level.OK)
        return added

    def remove_selected(self) -> None:
        row = self.table.currentRow()
        if 0 <= row < len(self.pending):
            self.files()  # keep the materials chosen in the other rows
            del self.pending[row]
            self._show_pending()

    def files(self) -> list[PendingFile]:
        """The pending files with the material chosen in each row."""
        for row, pending in enumerate(self.pending):
            combo = self.table.cellWidget(row, 1)
            if isinstance(combo, QComboBox):
                material = str(combo.currentData() or "")
                self.pending[row] = PendingFile(pending.name, pending.data, material)
        return list(self.pending)

    def materials_changed(self) -> None:
        """The item changed: materials of the old item no longer apply."""
        names = set(self.material_names())
        self.pending = [
            p if p.material in names else PendingFile(p.name, p.data, "") for p in self.files()
        ]
        self._show_pending()

    def _show_pending(self) -> None:
        names = self.material_names()
        self.table.setRowCount(len(self.pending))
        for row, pending in enumerate(self.pending):
            self.table.setItem(row, 0, QTableWidgetItem(pending.name))
            combo = QComboBox()
            combo.addItem(NO_MATERIAL, "")
            for name in names:
                combo.addItem(name, name)
            combo.setCurrentIndex(max(0, combo.findData(pending.material)))
            self.table.setCellWidget(row, 1, combo)
            self.table.setItem(row, 2, QTableWidgetItem(_size_text(len(pending.data))))
        self.remove_button.setEnabled(bool(self.pending))
        if self.pending:
            self.table.selectRow(len(self.pending) - 1)
        self.changed.emit()

    def clear(self) -> None:
        self.pending = []
        self._show_pending()
        self.message.show_message("", Level.NONE)
        self.preview.setPixmap(QPixmap())
        self.preview.setText("选择一个附件或扫描件查看")

    # --- scan folder --------------------------------------------------------------------

    def choose_scan_folder(self) -> None:
        start = str(self.scan_folder or "")
        folder = QFileDialog.getExistingDirectory(self, "选择高拍仪保存扫描件的文件夹", start)
        if folder:
            self.set_scan_folder(Path(folder))

    def set_scan_folder(self, folder: Path, *, remember: bool = True) -> None:
        """Watch `folder`; files already there are old scans and are not offered again."""
        if self.watcher.directories():
            self.watcher.removePaths(self.watcher.directories())
        self.scan_folder = folder
        self._known_scans = {str(p) for p in self._scan_files()}
        self.scans_list.clear()
        self.watcher.addPath(str(folder))
        if remember:
            self.ctx.settings.setValue(SCAN_FOLDER_KEY, str(folder))
        self._show_folder()

    def _show_folder(self) -> None:
        if self.scan_folder is None:
            self.folder_label.setText(
                "尚未设置高拍仪文件夹：设置一次，以后新扫描件会自动出现在这里。"
            )
        else:
            self.folder_label.setText(f"监视文件夹：{self.scan_folder}")
            self.folder_label.setToolTip(str(self.scan_folder))
        self.attach_button.setEnabled(self.scans_list.count() > 0)

    def _scan_files(self) -> list[Path]:
        if self.scan_folder is None or not self.scan_folder.is_dir():
            return []
        found = self.scan_folder.iterdir()
        return sorted(p for p in found if p.is_file() and p.suffix.lower() in SCAN_SUFFIXES)

    def rescan(self) -> None:
        """New files in the watched folder join the list of new scans (newest last)."""
        for path in self._scan_files():
            if str(path) in self._known_scans:
                continue
            self._known_scans.add(str(path))
            entry = QListWidgetItem(path.name, self.scans_list)
            entry.setData(PATH_ROLE, str(path))
            self.scans_list.setCurrentItem(entry)
        self._show_folder()

    def attach_selected_scans(self) -> None:
        chosen = self.scans_list.selectedItems() or (
            [self.scans_list.currentItem()] if self.scans_list.currentItem() else []
        )
        paths = [Path(str(item.data(PATH_ROLE))) for item in chosen]
        if not paths:
            return
        self.add_files(paths, self.current_material())
        for item in chosen:
            self.scans_list.takeItem(self.scans_list.row(item))
        self._show_folder()

    # --- preview ------------------------------------------------------------------------

    def _preview_pending(self, row: int) -> None:
        if 0 <= row < len(self.pending):
            self._preview(self.pending[row].name, self.pending[row].data)

    def _preview_scan(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        path = Path(str(item.data(PATH_ROLE)))
        try:
            data = path.read_bytes()
        except OSError:
            self.preview.setText(f"无法读取「{path.name}」")
            return
        self._preview(path.name, data)

    def _preview(self, name: str, data: bytes) -> None:
        pixmap = QPixmap()
        if not name.lower().endswith(".pdf") and pixmap.loadFromData(data):
            width = max(160, self.preview.width() - 20)
            self.preview.setPixmap(
                pixmap.scaledToWidth(
                    min(width, pixmap.width() * 4), Qt.TransformationMode.SmoothTransformation
                )
            )
            return
        self.preview.setPixmap(QPixmap())
        size = _size_text(len(data))
        self.preview.setText(f"PDF 文件：{name}（{size}）\n保存后可在办件的附件页打开。")
