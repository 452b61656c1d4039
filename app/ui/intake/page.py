"""新建接件: the item on the left; applicant and 代办人, application form, materials checklist
and attachments on the right. Nothing is saved until everything is valid, then all at once."""

from __future__ import annotations

from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QDragEnterEvent, QDropEvent, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.domain.errors import KnownError
from app.services import intake_support
from app.services.cases import CaseRef, IntakeRequest
from app.ui.context import UiContext
from app.ui.errors import show_error
from app.ui.intake.attachments import AttachmentsBox
from app.ui.intake.common import (
    EnterMovesOn,
    Level,
    MessageLabel,
    Problem,
    chain_tab_order,
    first_in,
    next_in,
)
from app.ui.intake.form_fields import FormFieldsWidget
from app.ui.intake.item_picker import ItemPicker, kind_text, station_short
from app.ui.intake.materials import MaterialsTable
from app.ui.intake.people import ApplicantForm
from app.ui.intake.proxy import ProxyForm
from app.ui.tasks import run_task
from forms.schema import Item

TAB_PEOPLE, TAB_FORM, TAB_MATERIALS, TAB_FILES = range(4)
TAB_TITLES = ("申请人与代办人(&1)", "申请表(&2)", "材料清单(&3)", "附件(&4)")
PROBLEM_TAB_COLOUR = QColor("#a3161a")
# Service error fields → the section that holds them.
PEOPLE_FIELDS = frozenset(
    {"name", "id_number", "phone", "kind", "proxy", "proxy_name", "relation", "proxy_id_number"}
    | {"proxy_phone", "authorisation", "handling_mode"}
)


class IntakePage(QWidget):
    """The new-case page; `submitted(CaseRef)` after a successful intake, `leave()` when the
    clerk goes back to the list (the draft is kept until it is saved or cleared)."""

    submitted = Signal(object)
    leave = Signal()

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.item: Item | None = None
        self.busy = False
        self.picker = ItemPicker(ctx)
        self.applicant = ApplicantForm(ctx)
        self.proxy = ProxyForm()
        self.form = FormFieldsWidget(self._applicant_values)
        self.materials = MaterialsTable(ctx.rt.today())
        self.attachments = AttachmentsBox(
            ctx, self.materials.material_names, self.materials.current_material
        )
        self.tabs = self._tabs()
        self.error_label = MessageLabel()
        self.enter = EnterMovesOn(self.advance, self)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self._left_column(), 0)
        right = QVBoxLayout()
        right.addWidget(self.tabs, 1)
        right.addWidget(self.error_label)
        right.addLayout(self._buttons())
        layout.addLayout(right, 1)
        self.picker.itemChosen.connect(self.set_item)
        self.applicant.changed.connect(self.form.applicant_changed)
        self.materials.changed.connect(self._materials_changed)
        self.attachments.changed.connect(lambda: self._retitle(self.tabs, set()))
        self._shortcuts()
        self.setAcceptDrops(True)
        self._chain()

    # --- building -----------------------------------------------------------------------

    def _left_column(self) -> QWidget:
        column = QWidget()
        column.setFixedWidth(max(300, self.fontMetrics().horizontalAdvance("字") * 22))
        title = QLabel("新建接件")
        font = QFont(title.font())
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        title.setFont(font)
        self.item_info = QLabel("尚未选择事项")
        self.item_info.setWordWrap(True)
        self.item_info.setFrameShape(QFrame.Shape.StyledPanel)
        self.item_info.setMargin(6)
        self.item_info.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box = QVBoxLayout(column)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(title)
        box.addWidget(self.picker, 1)
        box.addWidget(self.item_info)
        return column

    def _tabs(self) -> QTabWidget:
        tabs = QTabWidget()
        people = QWidget()
        row = QHBoxLayout(people)
        row.addWidget(self.applicant, 1)
        row.addWidget(self.proxy, 1)
        for page in (people, self.form, self.materials, self.attachments):
            tabs.addTab(page, "")
        self._retitle(tabs, set())
        return tabs

    def _buttons(self) -> QHBoxLayout:
        self.back_button = QPushButton("返回办件列表（Esc）")
        self.back_button.setToolTip("已填写的内容会保留，按 Ctrl+N 回到这里继续")
        self.back_button.clicked.connect(self.leave)
        self.clear_button = QPushButton("清空重填")
        self.clear_button.clicked.connect(self.ask_clear)
        self.submit_button = QPushButton("登记接件（Ctrl+S）")
        self.submit_button.setDefault(False)
        self.submit_button.setAutoDefault(False)
        font = QFont(self.submit_button.font())
        font.setBold(True)
        self.submit_button.setFont(font)
        self.submit_button.clicked.connect(self.submit)
        self.materials_status = MessageLabel()
        self.materials_status.setWordWrap(False)
        row = QHBoxLayout()
        row.addWidget(self.back_button)
        row.addWidget(self.clear_button)
        row.addStretch(1)
        row.addWidget(self.materials_status)
        row.addSpacing(12)
        row.addWidget(self.submit_button)
        return row

    def _shortcuts(self) -> None:
        context = Qt.ShortcutContext.WidgetWithChildrenShortcut
        for keys, slot in (
            ("Ctrl+S", self.submit),
            ("Ctrl+Return", self.submit),
            ("Esc", self.leave.emit),
        ):
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(context)
            shortcut.activated.connect(slot)

    def _retitle(self, tabs: QTabWidget, bad: set[int]) -> None:
        count = len(self.attachments.pending)
        for index, title in enumerate(TAB_TITLES):
            text = title
            if index == TAB_FILES and count:
                text = f"附件 {count}(&4)"
            tabs.setTabText(index, text + (" ！" if index in bad else ""))
            colour = PROBLEM_TAB_COLOUR if index in bad else QColor()
            tabs.tabBar().setTabTextColor(index, colour)

    def _sequences(self) -> list[list[QWidget]]:
        """The fields of each tab in reading order: Enter and Tab follow these."""
        return [
            [*self.applicant.fields(), *self.proxy.fields()],
            self.form.fields(),
            self.materials.fields(),
            self.attachments.fields(),
        ]

    def _chain(self) -> None:
        fields = [w for sequence in self._sequences() for w in sequence]
        chain_tab_order(
            [
                self.picker.search_edit,
                self.picker.list,
                *fields,
                self.submit_button,
                self.back_button,
                self.clear_button,
            ]
        )
        # Enter in the item box takes the item; in the fields it moves on.
        for widget in fields:
            if isinstance(widget, QLineEdit | QComboBox | QAbstractSpinBox):
                self.enter.watch(widget)

    # --- the item -----------------------------------------------------------------------

    def set_item(self, item: Item) -> None:
        """Build the form and the checklist of the chosen item; the applicant stays."""
        self.item = item
        self.item_info.setText(
            f"<b>{escape(item.name)}</b><br>{item.code}<br>{escape(station_short(item))} · "
            f"{kind_text(item)}<br><span style='color:#5f6368'>受理条件："
            f"{escape(item.conditions)}</span>"
        )
        self.proxy.set_item(item)
        self.form.set_item(item)
        self.materials.set_item(item)
        self.attachments.materials_changed()
        self._chain()
        self._retitle(self.tabs, set())
        self.error_label.show_message("", Level.NONE)
        self.tabs.setCurrentIndex(TAB_PEOPLE)
        self.applicant.id_field.number_edit.setFocus()

    def _materials_changed(self) -> None:
        """The checklist at a glance next to 登记接件, whichever tab is open."""
        if self.materials.item is None:
            self.materials_status.show_message("", Level.NONE)
            return
        gaps = self.materials.gaps()
        if gaps:
            text = f"材料：必要材料未齐 {len(gaps)} 项（登记后可一次性告知）"
            self.materials_status.show_message(text, Level.WARNING)
        else:
            self.materials_status.show_message("材料：必要材料已齐全", Level.OK)

    def _applicant_values(self) -> tuple[str, dict[str, str]]:
        status = self.applicant.id_field.status()
        person = self.applicant.person_input()
        values = {
            "name": person.name,
            "id_number": status.value if status.acceptable else "",
            "phone": person.phone,
            "address": person.address,
        }
        return person.kind, values

    # --- moving around ------------------------------------------------------------------

    def advance(self, widget: QWidget) -> None:
        """Enter: the next field of this tab, else the first of the next tab, else 登记."""
        sequences = self._sequences()
        for index, sequence in enumerate(sequences):
            if widget not in sequence:
                continue
            following = next_in(sequence, widget)
            if following is not None:
                following.setFocus(Qt.FocusReason.TabFocusReason)
                return
            for later in range(index + 1, len(sequences)):
                self.tabs.setCurrentIndex(later)
                first = first_in(sequences[later])
                if first is not None:
                    first.setFocus(Qt.FocusReason.TabFocusReason)
                    return
            break
        self.submit_button.setFocus(Qt.FocusReason.TabFocusReason)

    def focus_start(self) -> None:
        """Where a new case starts: the item search, or the applicant once an item is chosen."""
        if self.item is None:
            self.picker.search_edit.setFocus()
            self.picker.search_edit.selectAll()
        else:
            self.tabs.setCurrentIndex(TAB_PEOPLE)
            self.applicant.id_field.number_edit.setFocus()

    # --- saving -------------------------------------------------------------------------

    def problems(self) -> list[Problem]:
        """Everything to fix, all at once (each is also shown next to its field)."""
        found: list[Problem] = []
        if self.item is None:
            found.append(Problem(self.picker.search_edit, "请先选择事项"))
        found += self.applicant.problems() + self.proxy.problems()
        found += self.form.problems() + self.materials.problems()
        return found

    def request(self) -> IntakeRequest:
        assert self.item is not None
        return IntakeRequest(
            item_code=self.item.code,
            applicant=self.applicant.person_input(),
            materials=self.materials.inputs(),
            form_data=self.form.values(),
            proxy=self.proxy.proxy_input(),
            authorisation=self.proxy.authorisation(),
            handling_mode=self.proxy.handling_mode,
            commitment=self.materials.commitment(),
        )

    def submit(self) -> None:
        if self.busy or not self.isVisible():
            return
        problems = self.problems()
        if problems:
            self._show_problems(problems)
            return
        rt, actor = self.ctx.rt, self.ctx.actor
        req, files = self.request(), self.attachments.files()
        self.busy = True
        self.submit_button.setEnabled(False)
        self.error_label.show_message("正在登记…", Level.HINT)
        run_task(
            self,
            lambda: intake_support.submit_intake(rt, actor, req, files),
            self._saved,
            self._failed,
            busy_text="正在登记接件…",
        )

    def _tab_of(self, widget: QWidget) -> int:
        for index in range(self.tabs.count()):
            page = self.tabs.widget(index)
            if page is not None and (page is widget or page.isAncestorOf(widget)):
                return index
        return -1

    def _show_problems(self, problems: list[Problem]) -> None:
        lines = "；".join(f"{n}. {p.message}" for n, p in enumerate(problems, start=1))
        self.error_label.show_message(f"请先修改以下 {len(problems)} 处：{lines}", Level.ERROR)
        bad = {self._tab_of(p.widget) for p in problems}
        self._retitle(self.tabs, bad)
        first = problems[0].widget
        tab = self._tab_of(first)
        if tab >= 0:
            self.tabs.setCurrentIndex(tab)
        first.setFocus(Qt.FocusReason.OtherFocusReason)

    def _saved(self, ref: CaseRef) -> None:
        self.busy = False
        self.submit_button.setEnabled(True)
        self.reset()
        self.submitted.emit(ref)

    def _failed(self, exc: BaseException, trace: str) -> None:
        self.busy = False
        self.submit_button.setEnabled(True)
        if not isinstance(exc, KnownError):
            self.error_label.show_message("登记未完成，未保存任何内容。", Level.ERROR)
            show_error(self, exc, trace)
            return
        field = getattr(exc, "field", None) or ""
        target = self._widget_for_field(field, exc.message)
        self.error_label.show_message(f"未保存：{exc.message}", Level.ERROR)
        if target is not None:
            self._retitle(self.tabs, {self._tab_of(target)})
            self.tabs.setCurrentIndex(max(0, self._tab_of(target)))
            target.setFocus()

    def _widget_for_field(self, field: str, message: str) -> QWidget | None:
        if field in PEOPLE_FIELDS:
            proxy = field.startswith("proxy") or field in ("relation", "authorisation")
            section = self.proxy if proxy else self.applicant
            return section.id_field.number_edit if "id_number" in field else section
        if field == "materials":
            return self.materials.table
        if field == "file":
            return self.attachments.table
        return self.form.show_error(field, message)

    def reset(self) -> None:
        """A blank page for the next applicant (the scan folder stays watched)."""
        self.item = None
        self.picker.search_edit.clear()
        self.picker.refresh()
        self.item_info.setText("尚未选择事项")
        self.applicant.clear()
        self.proxy.set_item(None)
        self.proxy.clear()
        self.form.set_item(None)
        self.materials.set_item(None)
        self.attachments.clear()
        self.error_label.show_message("", Level.NONE)
        self._retitle(self.tabs, set())
        self.tabs.setCurrentIndex(TAB_PEOPLE)
        self._chain()

    def has_draft(self) -> bool:
        person = self.applicant.person_input()
        return bool(self.item or person.name or person.id_number or self.attachments.pending)

    def ask_clear(self) -> None:
        if self.has_draft():
            answer = QMessageBox.question(self, "清空重填", "清空本页已填写的全部内容？")
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.reset()
        self.focus_start()

    # --- drag and drop ------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if not paths:
            return
        event.acceptProposedAction()
        self.attachments.add_files(paths, self.materials.current_material())
        self.tabs.setCurrentIndex(TAB_FILES)
