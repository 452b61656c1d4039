"""A county case as the county window reads it: the header with the deadline colour, the
applicant and proxy with masked numbers (an audited "显示"), the materials checklist, the
attachments (fetched from the county, checked by SHA-256, previewed or opened), the package
revisions and the county's own steps."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.calendar import WorkCalendar, deadline_status
from app.domain.errors import KnownError
from app.services import catalog
from app.services.logs import scrub
from app.ui.county.inbox import TIMED
from app.ui.errors import reporting, show_error
from app.ui.tasks import run_task
from app.ui.widgets.case_panel import (
    DECISIONS,
    MATERIAL_COLUMNS,
    attachment_pane,
    detail_table,
    fill_table,
    header_frame,
    heading_label,
    people_form,
    stack_detail,
)
from app.ui.widgets.queue import STATUS_COLOURS
from sync.client.county_checks import EVENT_LABELS, REVEAL_FIELDS, masked
from sync.protocol import AttachmentRef, CountyEvent, EventKind
from sync.protocol_county import CaseDetail, CountyStatus
from sync.protocol_types import USCC

EMPTY_TEXT = "请在左侧收件箱中选择一个办件。"
PACKAGE_ACTIONS = {
    "hand_off": "乡镇移交",
    "supplement": "乡镇补正后重新提交",
    "withdraw": "乡镇撤回",
}
MIMES = {"application/pdf": "PDF", "image/jpeg": "JPEG 图片", "image/png": "PNG 图片"}
METHODS = {"mail": "邮寄", "township_pickup": "乡镇领取"}
DAY_LABELS = {
    EventKind.SIGNED: "签收日期",
    EventKind.DECIDED: "办结日期",
    EventKind.DISPATCHED: "送出日期",
    EventKind.CLOSED: "归档日期",
}
PEOPLE_ROWS = (
    ("applicant", "申请人："),
    ("id_type", "证件类型："),
    ("applicant_id", "证件号码："),
    ("applicant_phone", "联系电话："),
    ("applicant_address", "住址："),
    ("proxy", "代办人："),
    ("proxy_id", "代办人证件："),
    ("proxy_phone", "代办人电话："),
    ("authorisation", "授权委托："),
    ("form", "申请表："),
)
# A revealed number is shown until another case is shown; reveal(key) returns the full value.
Reveal = Callable[[CaseDetail, str], str]
Fetch = Callable[[AttachmentRef], Path]


def event_note(event: CountyEvent) -> str:
    """What a county step recorded, in one line (free text masked again, to be safe)."""
    data = event.data.model_dump(mode="json")
    kind = EventKind(event.kind)
    if kind is EventKind.CORRECTION:
        items = "、".join(f"{i['name']}（{i['reason']}）" for i in data["missing"])
        return scrub(f"需补正：{items}；补正期限 {data['due_date']}")
    if kind is EventKind.DECIDED:
        text = f"{DECISIONS[data['decision']]}。{data['opinion']}"
        text += f" 依据：{data['basis']}" if data.get("basis") else ""
    elif kind is EventKind.DISPATCHED:
        text = METHODS[data["method"]]
        if data["method"] == "mail":
            text += f" {data['carrier']} 运单号 {data['tracking_no']}"
    else:
        text = data.get("note") or ""
    day = f"{DAY_LABELS[kind]} {data['on']}"
    return scrub(f"{text}；{day}" if text else day)


def form_labels(item_code: str, version: str) -> dict[str, str]:
    """The application form's field labels from the desk's catalog: the case's version, else
    the active one; empty when the desk has no catalog with this item."""
    for wanted in (version, None):
        try:
            return {f.key: f.label for f in catalog.get_item(item_code, wanted).form}
        except KnownError:
            continue
    return {}


def _form_text(form_data: dict[str, Any], labels: dict[str, str]) -> str:
    lines = []
    for key, value in form_data.items():
        if isinstance(value, bool):
            value = "是" if value else "否"
        lines.append(f"{labels.get(key, key)}：{value}")
    # Free text could still hold a number: masked like everything else shown.
    return scrub("\n".join(lines) or "—")


class CountyCasePanel(QWidget):
    """Everything about one county case, read-only; the workspace puts the actions above it."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        reveal: Reveal | None = None,
        fetch: Fetch | None = None,
    ) -> None:
        super().__init__(parent)
        self.detail: CaseDetail | None = None
        self.reveal_value = reveal
        self.fetch = fetch
        self.saved: dict[str, Path] = {}
        self.empty_label, self.pages = stack_detail(self, EMPTY_TEXT, self._detail_page())

    # --- building -----------------------------------------------------------------------

    def _detail_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._header())
        self.tabs = QTabWidget()
        self.tabs.addTab(self._people_tab(), "申请信息(&1)")
        self.materials_table = detail_table(MATERIAL_COLUMNS, 0)
        self.tabs.addTab(self.materials_table, "材料(&2)")
        self.tabs.addTab(self._attachments_tab(), "附件(&3)")
        self.history_table = detail_table(("修订", "内容", "县级收到时间"), 1)
        self.tabs.addTab(self.history_table, "乡镇提交记录(&4)")
        self.events_table = detail_table(("时间", "县级环节", "说明"), 2)
        self.tabs.addTab(self.events_table, "县级办理过程(&5)")
        layout.addWidget(self.tabs, 1)
        return page

    def _header(self) -> QFrame:
        self.case_no_label = heading_label()
        self.item_label = QLabel()
        self.item_label.setWordWrap(True)
        self.town_label = QLabel()
        self.status_label = QLabel()
        self.deadline_label = QLabel()
        self.dates_label = QLabel()
        return header_frame(
            [self.case_no_label],
            [self.item_label],
            [self.town_label, self.status_label, self.deadline_label],
            [self.dates_label],
        )

    def _people_tab(self) -> QWidget:
        scroll, self.labels, self.secrets = people_form(
            PEOPLE_ROWS, REVEAL_FIELDS.keys(), self.reveal
        )
        return scroll

    def _attachments_tab(self) -> QWidget:
        pane, self.attachment_list, self.preview_label, self.open_button = attachment_pane(
            self._attachment_chosen, self.open_external, ""
        )
        return pane

    # --- showing ------------------------------------------------------------------------

    def clear(self, message: str = EMPTY_TEXT) -> None:
        self.detail = None
        self.empty_label.setText(message)
        self.pages.setCurrentIndex(0)

    def show_detail(self, detail: CaseDetail, today: date, calendar: WorkCalendar) -> None:
        same_case = self.detail is not None and self.detail.summary.case_uuid == (
            detail.summary.case_uuid
        )
        self.detail = detail
        self._show_header(detail, today, calendar)
        self._show_people(detail)
        self._show_materials(detail)
        if not same_case or self.attachment_list.count() != len(detail.package.attachments):
            self._show_attachments(detail)
        fill_table(
            self.history_table,
            [
                (str(h.revision), PACKAGE_ACTIONS[h.action], f"{h.received_at:%Y-%m-%d %H:%M}")
                for h in detail.history
            ],
        )
        fill_table(
            self.events_table,
            [
                (f"{e.at:%Y-%m-%d %H:%M}", EVENT_LABELS[EventKind(e.kind)], event_note(e))
                for e in detail.events
            ],
        )
        self.events_table.scrollToBottom()
        self.pages.setCurrentIndex(1)

    def _show_header(self, d: CaseDetail, today: date, calendar: WorkCalendar) -> None:
        s, p = d.summary, d.package
        self.case_no_label.setText(s.case_no)
        kind = "即办件" if p.kind == "immediate" else f"承诺件，{p.limit_days}个工作日"
        self.item_label.setText(f"{p.item_name}（{kind}）　事项编码 {p.item_code}")
        self.town_label.setText(f"乡镇：{s.township_name or s.township}")
        self.status_label.setText(f"县级状态：{s.status.label}")
        self.dates_label.setText(
            f"受理 {p.accepted_on.isoformat()}　移交 {p.handed_off_on.isoformat()}　"
            f"事项目录 {p.catalog_version}　第 {s.latest_revision} 版"
        )
        if s.deadline is None:
            self.deadline_label.setText("期限：即办")
            self.deadline_label.setStyleSheet("")
            return
        text, style = f"期限：{s.deadline.isoformat()}", ""
        if s.status is CountyStatus.CORRECTION:
            text += "（补正暂停计时）"
        elif s.status in TIMED:
            status = deadline_status(calendar, today, s.deadline)
            background, foreground = STATUS_COLOURS[status]
            text += f" {status.label}"
            style = f"background:{background}; color:{foreground}; padding:2px 6px;"
        self.deadline_label.setText(text)
        self.deadline_label.setStyleSheet(style)

    def _show_people(self, d: CaseDetail) -> None:
        a, p = d.package.applicant, d.package.proxy
        org = f"（法定代表人：{a.legal_rep}）" if a.kind == "org" and a.legal_rep else ""
        texts = {
            "applicant": f"{a.name}{org}",
            "id_type": a.id_type,
            "proxy": f"{p.name}（{p.relation}，{p.id_type}）",
            "authorisation": d.package.authorisation
            + ("\n已签署告知承诺书" if d.package.commitment else ""),
            "form": _form_text(
                d.package.form_data, form_labels(d.package.item_code, d.package.catalog_version)
            ),
        }
        for key, text in texts.items():
            self.labels[key].setText(text)
        can_reveal = self.reveal_value is not None
        for key, row in self.secrets.items():
            person = a if key.startswith("applicant") else p
            public = key.endswith("_id") and person.id_type == USCC
            row.set_masked(masked(d, key), can_reveal=can_reveal and not public)

    def _show_materials(self, d: CaseDetail) -> None:
        rows: list[Sequence[str]] = []
        for m in d.package.materials:
            note = m.reason
            if m.due_date:
                note = f"{note} 补交期限 {m.due_date.isoformat()}".strip()
            required = "必要" if m.required else "非必要"
            rows.append((m.name, m.form, str(m.copies), required, m.status.label, scrub(note)))
        fill_table(self.materials_table, rows)

    def _show_attachments(self, d: CaseDetail) -> None:
        self.attachment_list.clear()
        for ref in d.package.attachments:
            kind = MIMES.get(ref.mime, ref.mime)
            self.attachment_list.addItem(
                f"{ref.material or '附件'} — {kind}（{ref.size // 1024 + 1} KB）"
            )
        count = len(d.package.attachments)
        self.preview_label.setPixmap(QPixmap())
        self.preview_label.setText("选择左侧附件查看" if count else "暂无附件")
        self.open_button.setEnabled(False)
        self.tabs.setTabText(2, f"附件 {count}(&3)" if count else "附件(&3)")

    # --- actions --------------------------------------------------------------------------

    def reveal(self, key: str) -> None:
        """Show one personal number in full; the desk records who looked, and when."""
        if self.detail is None or self.reveal_value is None:
            return
        with reporting(self):
            self.secrets[key].set_revealed(self.reveal_value(self.detail, key))

    def _attachment_chosen(self, row: int) -> None:
        self.open_button.setEnabled(False)
        if self.detail is None or not 0 <= row < len(self.detail.package.attachments):
            return
        ref = self.detail.package.attachments[row]
        if self.fetch is None:
            return
        fetch = self.fetch
        self.preview_label.setPixmap(QPixmap())
        self.preview_label.setText("正在从县级服务器读取附件…")
        run_task(
            self,
            lambda: fetch(ref),
            lambda path: self._preview(ref, path),
            self._fetch_failed,
            busy_text="正在读取附件…",
        )

    def _fetch_failed(self, exc: BaseException, trace: str) -> None:
        if isinstance(exc, KnownError):
            self.preview_label.setText(f"附件未能读取：{exc.message}")
            return
        show_error(self, exc, trace)

    def _preview(self, ref: AttachmentRef, path: Path) -> None:
        self.saved[ref.sha256] = path
        current = self.attachment_list.currentRow()
        if (
            self.detail is None
            or current < 0
            or (self.detail.package.attachments[current].sha256 != ref.sha256)
        ):
            return  # another attachment (or case) was chosen meanwhile
        self.open_button.setEnabled(True)
        if ref.mime.startswith("image/"):
            pixmap = QPixmap(str(path))
            if not pixmap.isNull():
                width = max(200, self.preview_label.width() - 20)
                self.preview_label.setPixmap(
                    pixmap.scaledToWidth(width, Qt.TransformationMode.SmoothTransformation)
                )
                return
            self.preview_label.setText("图片无法显示，请用系统程序打开。")
            return
        self.preview_label.setText(
            f"PDF 文件（已校验）：\n{path.name}\n点击下方按钮用系统程序打开。"
        )

    def current_file(self) -> Path | None:
        row = self.attachment_list.currentRow()
        if self.detail is None or not 0 <= row < len(self.detail.package.attachments):
            return None
        return self.saved.get(self.detail.package.attachments[row].sha256)

    def open_external(self) -> None:
        path = self.current_file()
        if path is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
