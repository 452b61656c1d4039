"""站办所 workspace: this station's cases by deadline, the case with materials, attachments,
history and documents, and the decision — 审批准予, 审批不予, 退回补正; a 即办件 is approved
while the citizen waits (F2, Enter).

DeskWorkspace, the layout and acting machinery shared with the 出件 workspace, lives here too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.case import Action
from app.domain.errors import KnownError
from app.domain.roles import Role
from app.services import cases, catalog, intake_support
from app.services.case_view import CaseDetail
from app.ui.context import UiContext
from app.ui.dialogs.correction import CorrectionDialog
from app.ui.dialogs.decision import ActionDialog, ApproveDialog, DenyDialog, Submit
from app.ui.errors import show_error
from app.ui.widgets.actions import ActionBar
from app.ui.widgets.case_panel import CasePanel
from app.ui.widgets.documents import DocumentsBox
from app.ui.widgets.queue import COL_ITEM, QueueWidget
from app.ui.workspaces import Workspace, register
from app.ui.workspaces.case_display import CaseOnDisplay

IMMEDIATE_TAG = "即办"
IMMEDIATE_COLOURS = ("#c5221f", "#ffffff")  # (badge, text): it cannot be overlooked
IMMEDIATE_NOTE = "即办件：申请人在场等候，请当场审批（F2 准予，Enter 确认）。"
# (action, button text, shortcut, slot, tooltip)
ActionSpec = tuple[Action, str, str, Callable[[], None], str]
NOTE_STYLE = "background: #fde7e6; color: #a3161a; padding: 4px 8px; font-weight: bold;"


def immediate_item_names() -> frozenset[str]:
    """Names of the 即办件 items of the active catalog (queue rows carry the name only)."""
    items = catalog.get_catalog().items
    return frozenset(i.name for i in items if i.promised_limit_days == 0)


class ImmediateMark(QStyledItemDelegate):
    """Paints a red "即办" badge in front of the item name of a 即办件 in the queue."""

    def __init__(self, names: frozenset[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.names = names

    def is_immediate(self, index: QModelIndex | QPersistentModelIndex) -> bool:
        return str(index.data(Qt.ItemDataRole.DisplayRole) or "") in self.names

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        if not self.is_immediate(index):
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        text, opt.text = opt.text, ""
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        # The cell as usual (selection, alternating colour), but without its text.
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        area = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget)
        metrics = opt.fontMetrics
        width = metrics.horizontalAdvance(IMMEDIATE_TAG) + 10
        height = min(area.height() - 4, metrics.height() + 2)
        badge = QRect(area.left() + 2, area.center().y() - height // 2 + 1, width, height)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(IMMEDIATE_COLOURS[0]))
        painter.drawRoundedRect(badge, 3, 3)
        painter.setPen(QColor(IMMEDIATE_COLOURS[1]))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, IMMEDIATE_TAG)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(opt.palette.color(role))
        rest = area.adjusted(width + 8, 0, 0, 0)
        elided = metrics.elidedText(text, Qt.TextElideMode.ElideRight, rest.width())
        align = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
        painter.drawText(rest, align, elided)
        painter.restore()


class DeskWorkspace(CaseOnDisplay, Workspace):
    """The role's queue on the left; on the right the action buttons above the case view,
    whose tabs end with the case's documents. Subclasses add their buttons to `self.bar`.

    Every action is taken on the case as shown (its version); a stale case is reported and
    shown again; the queue is read again after every action."""

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.queue = QueueWidget(ctx)
        self.panel = CasePanel(ctx)
        self.documents = DocumentsBox(ctx)
        self.panel.tabs.addTab(self.documents, "文书(&5)")
        self.bar = ActionBar(ctx)
        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet(NOTE_STYLE)
        self.note_label.hide()
        self.dialog: ActionDialog | None = None
        right = QWidget()
        box = QVBoxLayout(right)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.bar)
        box.addWidget(self.note_label)
        box.addWidget(self.panel, 1)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.queue)
        splitter.addWidget(right)
        # The queue's item names want the width; the case view reads well from ~560 px.
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([790, 570])
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.queue.caseSelected.connect(self.show_case)
        self.queue.caseActivated.connect(self.open_case)
        self.queue.refreshed.connect(self.reload_case)
        self.panel.caseLoaded.connect(self._loaded)

    # --- showing ------------------------------------------------------------------------

    def _loaded(self, detail: CaseDetail | None) -> None:
        self.documents.show_case(detail.id if detail else None)
        allowed = self.bar.update_for(detail.id if detail else None)
        note = self.note_for(detail, allowed) if detail else ""
        self.note_label.setText(note)
        self.note_label.setVisible(bool(note))

    def note_for(self, detail: CaseDetail, allowed: frozenset[Action]) -> str:
        """A line above the case the clerk must not miss; none by default."""
        return ""

    # --- acting -------------------------------------------------------------------------

    def add_actions(self, specs: tuple[ActionSpec, ...]) -> None:
        """The action buttons (text, shortcut, tip), focused after the queue, before the case."""
        previous: QWidget = self.queue.table
        for action, text, key, slot, tip in specs:
            button = self.bar.add(action, text, key, slot)
            button.setToolTip(tip)
            self.setTabOrder(previous, button)
            previous = button
        self.bar.add_stretch()
        self.setTabOrder(previous, self.panel.tabs)

    def submitter(self, action: Action) -> Submit:
        """Take `action` on the case as it is shown now (its version, not a later one)."""
        detail = self.panel.detail
        assert detail is not None
        case_id, version = detail.id, detail.version

        def submit(data: dict[str, Any]) -> cases.CaseRef:
            return cases.act(
                self.ctx.rt, self.ctx.actor, case_id, action, data, expected_version=version
            )

        return submit

    def open_dialog(self, make: Callable[[CaseDetail], ActionDialog]) -> ActionDialog | None:
        """Open an action dialog for the case shown (window-modal, not blocking the loop)."""
        detail = self.panel.detail
        if detail is None:
            return None
        return self.present(make(detail), self.acted)

    def acted(self, _result: object = None) -> None:
        """After an action: the queue read again, and with it the case on display."""
        self.queue.refresh()

    def stale(self, exc: object) -> None:
        """Another desk changed the case first: say so, then show it as it is now."""
        if isinstance(exc, BaseException):
            show_error(self, exc)
        self.queue.refresh()


@register(Role.STATION)
class StationWorkspace(DeskWorkspace):
    """This station's queue by deadline; approve, deny or send back for more materials."""

    title = "站办所审批"

    def __init__(self, ctx: UiContext, parent: QWidget | None = None) -> None:
        super().__init__(ctx, parent)
        self.mark = ImmediateMark(immediate_item_names(), self.queue.table)
        self.queue.table.setItemDelegateForColumn(COL_ITEM, self.mark)
        self.add_actions(
            (
                (Action.APPROVE, "审批准予", "F2", self.approve, "作出准予决定并填写审批意见"),
                (Action.DENY, "审批不予", "F3", self.deny, "作出不予批准决定，须写明理由和依据"),
                (
                    Action.REQUEST_CORRECTION,
                    "退回补正",
                    "F4",
                    self.send_back,
                    "材料不齐或不符合要求：列明需补正的材料，退回综合窗口",
                ),
            )
        )

    def note_for(self, detail: CaseDetail, allowed: frozenset[Action]) -> str:
        return IMMEDIATE_NOTE if detail.kind == "immediate" and Action.APPROVE in allowed else ""

    def approve(self) -> None:
        """审批准予; a 即办件 opens with the standard opinion, so Enter decides it."""
        self.open_dialog(
            lambda d: ApproveDialog(
                d, self.submitter(Action.APPROVE), self, prefill=d.kind == "immediate"
            )
        )

    def deny(self) -> None:
        self.open_dialog(
            lambda d: DenyDialog(d, self._legal_basis(d), self.submitter(Action.DENY), self)
        )

    def _legal_basis(self, detail: CaseDetail) -> str:
        try:
            return catalog.get_item(detail.item_code, detail.catalog_version).legal_basis
        except KnownError:
            return ""  # an item gone from the catalog: the clerk types the basis

    def send_back(self) -> None:
        """退回补正: every material to bring again, with the reason, and a due date; the
        case goes back to the window, which issues the 一次性告知书."""
        self.open_dialog(self._correction_dialog)

    def _correction_dialog(self, detail: CaseDetail) -> CorrectionDialog:
        dialog = CorrectionDialog(
            detail,
            self.submitter(Action.REQUEST_CORRECTION),
            self,
            today=self.ctx.rt.today(),
            due=intake_support.default_correction_due(self.ctx.rt),
        )
        # The window's dialog; from a station it sends the case back, printing nothing.
        dialog.setWindowTitle("退回补正")
        dialog.ok_button.setText("退回综合窗口")
        return dialog
