"""The case view: header with the deadline colour, the applicant with masked numbers and an
audited "显示", the materials, the attachments with a preview, and the audit timeline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.case import Action
from app.domain.errors import KnownError
from app.domain.roles import REVEAL_ROLES
from app.domain.states import CaseState, MaterialStatus
from app.services import accounts, attachments, audit, case_view, catalog, logs
from app.services.attachments import AttachmentInfo
from app.services.case_view import CaseDetail
from app.services.cases import HANDLING_MODES
from app.services.people import USCC
from app.ui.context import UiContext
from app.ui.errors import reporting
from app.ui.tasks import run_task
from app.ui.widgets.queue import STATUS_COLOURS
from forms.schema import STATIONS

EMPTY_TEXT = "请在左侧列表中选择一个办件（↑↓ 选择，回车打开）。"
EVENT_LABELS = {
    "case.intake": "接件登记",
    "case.attachment": "添加附件",
    "case.materials": "更新材料清单",
    "pii.reveal": "查看完整个人信息",
}
DETAIL_KEYS = (
    ("decision", "结果"),
    ("opinion", "意见"),
    ("reason", "理由"),
    ("basis", "依据"),
    ("items", "需补正"),
    ("due_date", "补正期限"),
    ("deferred", "容缺"),
    ("committed", "告知承诺"),
    ("received", "收到材料"),
    ("station", "站办所"),
    ("channel", "通知方式"),
    ("method", "出件方式"),
    ("carrier", "寄递单位"),
    ("tracking_no", "运单号"),
    ("rating", "好差评"),
    ("label", "内容"),
    ("material", "材料"),
)
DECISIONS = {"approved": "准予", "denied": "不予"}
APPLICANT_ROWS = (
    ("name", "申请人："),
    ("id_type", "证件类型："),
    ("applicant_id", "证件号码："),
    ("applicant_phone", "联系电话："),
    ("applicant_address", "住址："),
    ("proxy", "代办人："),
    ("proxy_id", "代办人证件："),
    ("authorisation", "授权委托："),
    ("result", "办理情况："),
    ("form", "申请表："),
)
# Fields of app.services.case_view.REVEAL_FIELDS that this view shows masked.
REVEAL_KEYS = frozenset({"applicant_id", "applicant_phone", "applicant_address", "proxy_id"})
VALUE_LABELS = {
    "decision": DECISIONS,
    "method": {"pickup": "自取", "mail": "邮寄", "township_pickup": "乡镇领取"},
    "station": STATIONS,
}


def event_label(action: str) -> str:
    """The Chinese name of an audit action on a case."""
    if action in EVENT_LABELS:
        return EVENT_LABELS[action]
    prefix, _, name = action.partition(".")
    if prefix == "case" and name in Action._value2member_map_:
        return Action(name).label
    return action


def event_note(details: dict[str, Any]) -> str:
    """A short summary of an event's details; numbers masked again, to be safe."""
    parts = []
    if details.get("from") and details.get("to"):
        parts.append(f"{_state_label(details['from'])} → {_state_label(details['to'])}")
    for key, label in DETAIL_KEYS:
        value = details.get(key)
        if value in (None, "", [], ()):
            continue
        if isinstance(value, list | tuple):
            value = "、".join(str(v) for v in value)
        elif key == "rating":
            value = f"{value}星"
        value = VALUE_LABELS.get(key, {}).get(str(value), value)
        parts.append(f"{label}：{value}")
    return logs.scrub("；".join(parts))


def _state_label(value: str) -> str:
    return CaseState(value).label if value in CaseState._value2member_map_ else value


# The materials tab of every case view, township or county.
MATERIAL_COLUMNS = ("材料名称", "形式", "份数", "必要", "状态", "说明")


def detail_table(headers: tuple[str, ...], stretch: int) -> QTableWidget:
    table = QTableWidget(0, len(headers))
    table.setHorizontalHeaderLabels(list(headers))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().setVisible(False)
    table.setWordWrap(False)
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(stretch, QHeaderView.ResizeMode.Stretch)
    return table


def fill_table(table: QTableWidget, rows: Sequence[Sequence[str]]) -> None:
    table.setRowCount(len(rows))
    for r, values in enumerate(rows):
        for c, value in enumerate(values):
            item = QTableWidgetItem(value)
            item.setToolTip(value)  # cut-off cells can be read in full
            table.setItem(r, c, item)


def stack_detail(
    owner: QWidget, empty_text: str, detail_page: QWidget
) -> tuple[QLabel, QStackedWidget]:
    """A case panel's two faces, laid out in `owner`: a hint while nothing is selected
    (page 0), else the detail page (page 1)."""
    empty_label = QLabel(empty_text)
    empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    empty_label.setWordWrap(True)
    pages = QStackedWidget()
    pages.addWidget(empty_label)
    pages.addWidget(detail_page)
    layout = QVBoxLayout(owner)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.addWidget(pages)
    return empty_label, pages


def heading_label() -> QLabel:
    """A case view's first line (the case number): bold, a little larger, selectable."""
    label = QLabel()
    font = QFont(label.font())
    font.setBold(True)
    font.setPointSizeF(font.pointSizeF() * 1.15)
    label.setFont(font)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def header_frame(*rows: Sequence[QLabel]) -> QFrame:
    """A case view's framed header: each row's labels side by side, a row of one label
    across the whole width; the last column takes the spare space."""
    frame = QFrame()
    frame.setFrameShape(QFrame.Shape.StyledPanel)
    grid = QGridLayout(frame)
    grid.setHorizontalSpacing(18)
    columns = max(len(row) for row in rows)
    for number, row in enumerate(rows):
        if len(row) == 1:
            grid.addWidget(row[0], number, 0, 1, columns)
            continue
        for column, label in enumerate(row):
            grid.addWidget(label, number, column)
    grid.setColumnStretch(columns - 1, 1)
    return frame


def people_form(
    rows: Sequence[tuple[str, str]], secret_keys: AbstractSet[str], reveal: Callable[[str], None]
) -> tuple[QScrollArea, dict[str, QLabel], dict[str, SecretRow]]:
    """A scrolling form of (key, title) rows: a SecretRow (masked, "显示" calls `reveal(key)`)
    for the keys in `secret_keys`, a selectable label for the others."""
    form = QFormLayout()
    labels: dict[str, QLabel] = {}
    secrets: dict[str, SecretRow] = {}
    for key, title in rows:
        if key in secret_keys:
            row = secrets[key] = SecretRow(key)
            row.button.clicked.connect(lambda _checked=False, k=key: reveal(k))
            form.addRow(title, row)
            continue
        label = labels[key] = QLabel()
        label.setWordWrap(True)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(title, label)
    inner = QWidget()
    inner.setLayout(form)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setWidget(inner)
    return scroll, labels, secrets


def attachment_pane(
    chosen: Callable[[int], None], open_external: Callable[[], None], prompt: str
) -> tuple[QSplitter, QListWidget, QLabel, QPushButton]:
    """The attachments list on the left, the preview and "用系统程序打开" on the right."""
    listing = QListWidget()
    listing.currentRowChanged.connect(chosen)
    preview = QLabel(prompt)
    preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
    preview.setWordWrap(True)
    open_button = QPushButton("用系统程序打开(&O)")
    open_button.setEnabled(False)
    open_button.clicked.connect(open_external)
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setWidget(preview)
    right = QWidget()
    box = QVBoxLayout(right)
    box.setContentsMargins(0, 0, 0, 0)
    box.addWidget(scroll, 1)
    box.addWidget(open_button)
    splitter = QSplitter()
    splitter.addWidget(listing)
    splitter.addWidget(right)
    splitter.setStretchFactor(1, 1)
    return splitter, listing, preview, open_button


class SecretRow(QWidget):
    """A masked personal number with a "显示" button that reveals it (audited)."""

    def __init__(self, field: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.field = field
        self.value_label = QLabel()
        self.value_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button = QPushButton("显示")
        self.button.setToolTip("显示完整号码（会记入留痕）")
        self.button.setFixedWidth(self.button.fontMetrics().horizontalAdvance("已显示") + 24)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.value_label)
        layout.addWidget(self.button)
        layout.addStretch(1)

    def set_masked(self, text: str, *, can_reveal: bool) -> None:
        self.value_label.setText(text or "—")
        self.button.setText("显示")
        self.button.setEnabled(True)
        self.button.setVisible(bool(text) and can_reveal)

    def set_revealed(self, text: str) -> None:
        self.value_label.setText(text)
        self.button.setText("已显示")
        self.button.setEnabled(False)


class CasePanel(QWidget):
    """Everything about one case, read-only; workspaces put their action buttons around it."""

    caseLoaded = Signal(object)

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.detail: CaseDetail | None = None
        self.attachment_list_data: list[AttachmentInfo] = []
        self._names: dict[str, str] | None = None
        self.empty_label, self.pages = stack_detail(self, EMPTY_TEXT, self._detail_page())

    # --- building -----------------------------------------------------------------------

    def _detail_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._header())
        self.tabs = QTabWidget()
        self.tabs.addTab(self._applicant_tab(), "申请信息(&1)")
        self.materials_table = detail_table(MATERIAL_COLUMNS, 0)
        self.tabs.addTab(self.materials_table, "材料(&2)")
        self.tabs.addTab(self._attachments_tab(), "附件(&3)")
        self.timeline_table = detail_table(("时间", "环节", "经办人", "窗口", "说明"), 4)
        self.tabs.addTab(self.timeline_table, "办理过程(&4)")
        layout.addWidget(self.tabs, 1)
        return page

    def _header(self) -> QFrame:
        self.case_no_label = heading_label()
        self.item_label = QLabel()
        self.item_label.setWordWrap(True)
        self.state_label = QLabel()
        self.deadline_label = QLabel()
        self.mode_label = QLabel()
        return header_frame(
            [self.case_no_label],
            [self.item_label],
            [self.state_label, self.deadline_label, self.mode_label],
        )

    def _applicant_tab(self) -> QWidget:
        scroll, self.labels, self.secrets = people_form(APPLICANT_ROWS, REVEAL_KEYS, self.reveal)
        return scroll

    def _attachments_tab(self) -> QWidget:
        pane, self.attachment_list, self.preview_label, self.open_button = attachment_pane(
            self._attachment_chosen, self._open_external, "选择左侧附件查看"
        )
        self._preview_bytes: tuple[AttachmentInfo, bytes] | None = None
        return pane

    # --- showing ------------------------------------------------------------------------

    def show_case(self, case_id: int) -> None:
        """Load and show a case; a Chinese message (or the crash dialog) if it cannot be."""
        with reporting(self):
            try:
                detail = case_view.get_case(self.ctx.rt, self.ctx.actor, case_id)
            except Exception as exc:
                self.clear(exc.message if isinstance(exc, KnownError) else EMPTY_TEXT)
                raise
            self._show(detail)

    def reload(self) -> None:
        """Show the current state of the case on display (after another desk changed it)."""
        if self.detail is None:
            return
        try:
            detail = case_view.get_case(self.ctx.rt, self.ctx.actor, self.detail.id)
        except KnownError as exc:
            self.clear(exc.message)
            return
        with reporting(self):
            self._show(detail)

    def clear(self, message: str = EMPTY_TEXT) -> None:
        self.detail = None
        self.empty_label.setText(message)
        self.pages.setCurrentIndex(0)

    def _show(self, detail: CaseDetail) -> None:
        self.detail = detail
        self._show_header(detail)
        self._show_people(detail)
        self._show_materials(detail)
        self._show_attachments(detail)
        self._show_timeline(detail)
        self.pages.setCurrentIndex(1)
        self.caseLoaded.emit(detail)

    def _show_header(self, d: CaseDetail) -> None:
        self.case_no_label.setText(d.case_no)
        kind = "即办件" if d.kind == "immediate" else "承诺件"
        self.item_label.setText(f"{d.item_name}（{kind}）")
        self.state_label.setText(f"状态：{d.state.label}")
        self.mode_label.setText(HANDLING_MODES.get(d.handling_mode, d.handling_mode))
        if d.deadline is None:
            self.deadline_label.setText("期限：受理后计算")
            self.deadline_label.setStyleSheet("")
            return
        text = f"期限：{d.deadline.isoformat()}" + ("（暂定）" if d.deadline_provisional else "")
        style = ""
        if d.deadline_status is not None:
            text += f" {d.deadline_status.label}"
            background, foreground = STATUS_COLOURS[d.deadline_status]
            style = f"background:{background}; color:{foreground}; padding:2px 6px;"
        self.deadline_label.setText(text)
        self.deadline_label.setStyleSheet(style)

    def _show_people(self, d: CaseDetail) -> None:
        texts = {
            "name": d.applicant_name,
            "id_type": d.applicant_id_type,
            "proxy": d.proxy_name or "无",
            "authorisation": d.authorisation or "—",
            "result": self._result_text(d),
            "form": self._form_text(d),
        }
        for key, text in texts.items():
            self.labels[key].setText(text)
        # A 统一社会信用代码 is public and shown in full already: nothing to reveal.
        masked = {
            "applicant_id": (d.applicant_id_masked, d.applicant_id_type != USCC),
            "applicant_phone": (d.applicant_phone_masked, True),
            "applicant_address": (d.applicant_address_masked, True),
            "proxy_id": (d.proxy_id_masked, True),
        }
        allowed = self.ctx.actor.role in REVEAL_ROLES
        for key, (text, revealable) in masked.items():
            self.secrets[key].set_masked(text, can_reveal=allowed and revealable)

    def _result_text(self, d: CaseDetail) -> str:
        lines = []
        if d.decision:
            lines.append(f"审批结果：{DECISIONS.get(d.decision, d.decision)}")
        if d.opinion:
            lines.append(f"意见：{d.opinion}")
        if d.correction_items:
            names = "、".join(str(i.get("name", "")) for i in d.correction_items)
            due = f"，补正期限 {d.correction_due.isoformat()}" if d.correction_due else ""
            lines.append(f"需补正：{names}{due}")
        if d.tracking_no:
            lines.append(f"邮寄运单号：{d.tracking_no}")
        return logs.scrub("\n".join(lines) or "—")

    def _form_text(self, d: CaseDetail) -> str:
        try:
            labels = {f.key: f.label for f in catalog.get_item(d.item_code, d.catalog_version).form}
        except KnownError:
            labels = {}
        lines = []
        for key, value in d.form_data.items():
            if isinstance(value, bool):
                value = "是" if value else "否"
            elif isinstance(value, list | tuple):
                value = "、".join(str(v) for v in value)
            lines.append(f"{labels.get(key, key)}：{value}")
        # The service masks whole-number fields; free text could still hold a number.
        return logs.scrub("\n".join(lines) or "—")

    def _show_materials(self, d: CaseDetail) -> None:
        rows = []
        for m in d.materials:
            status = MaterialStatus(m.status).label if m.status else ""
            note = m.reason
            if m.due_date:
                note = f"{note} 补交期限 {m.due_date.isoformat()}".strip()
            required = "必要" if m.required else "非必要"
            rows.append((m.name, m.form, str(m.copies), required, status, note))
        fill_table(self.materials_table, rows)

    def _show_attachments(self, d: CaseDetail) -> None:
        self.attachment_list_data = attachments.list_attachments(self.ctx.actor, d.id)
        self.attachment_list.clear()
        for info in self.attachment_list_data:
            title = (
                f"{info.material or '附件'} — {info.original_name}（{info.size // 1024 + 1} KB）"
            )
            QListWidgetItem(title, self.attachment_list)
        self._preview_bytes = None
        self.preview_label.setPixmap(QPixmap())
        self.preview_label.setText("选择左侧附件查看" if self.attachment_list_data else "暂无附件")
        self.open_button.setEnabled(False)
        count = len(self.attachment_list_data)
        self.tabs.setTabText(2, f"附件 {count}(&3)" if count else "附件(&3)")

    def _show_timeline(self, d: CaseDetail) -> None:
        names = self._display_names()
        rows = []
        for e in audit.events_for("case", d.uuid):
            label = event_label(e.action) + ("（未成功）" if e.outcome != "ok" else "")
            when = e.at.strftime("%Y-%m-%d %H:%M")
            who = names.get(e.account, e.account)
            rows.append((when, label, who, e.desk, event_note(e.details)))
        fill_table(self.timeline_table, rows)
        self.timeline_table.scrollToBottom()

    def _display_names(self) -> dict[str, str]:
        # Accounts change rarely; read them once per panel rather than once per event.
        if self._names is None:
            self._names = {a.username: a.display_name for a in accounts.list_accounts(self.ctx.rt)}
        return self._names

    # --- actions --------------------------------------------------------------------------

    def reveal(self, field: str) -> None:
        """Show one personal number in full; the service records who looked, and when."""
        if self.detail is None:
            return
        with reporting(self):
            value = case_view.reveal(self.ctx.rt, self.ctx.actor, self.detail.id, field)
            self.secrets[field].set_revealed(value)
            self._show_timeline(self.detail)

    def _attachment_chosen(self, row: int) -> None:
        self._preview_bytes = None
        self.open_button.setEnabled(False)
        if row < 0 or row >= len(self.attachment_list_data):
            return
        info = self.attachment_list_data[row]
        self.preview_label.setText("正在读取附件…")
        run_task(
            self,
            lambda: attachments.read_attachment(self.ctx.rt, self.ctx.actor, info.id),
            lambda data: self._preview(info, data),
            busy_text="正在读取附件…",
        )

    def _preview(self, info: AttachmentInfo, data: bytes) -> None:
        self._preview_bytes = (info, data)
        self.open_button.setEnabled(True)
        if info.mime.startswith("image/"):
            pixmap = QPixmap()
            pixmap.loadFromData(data)
            width = max(200, self.preview_label.width() - 20)
            self.preview_label.setPixmap(
                pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
            )
            return
        self.preview_label.setPixmap(QPixmap())
        self.preview_label.setText(f"PDF 文件：{info.original_name}\n点击下方按钮用系统程序打开。")

    def _open_external(self) -> None:
        if self._preview_bytes is None:
            return
        info, data = self._preview_bytes
        # A copy in the data folder (protected like the database), not in a shared temp dir.
        folder = self.ctx.rt.data_dir / "tmp"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{info.sha256[:12]}-{Path(info.original_name).name}"
        target.write_bytes(data)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(target)))
