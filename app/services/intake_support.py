"""Helpers for the window's intake: items this desk uses most, live identity checks, attachment
checks before anything is saved, and intake with its attachments in one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, cast

import peewee as pw

from app.domain.errors import ValidationError
from app.domain.roles import Actor
from app.domain.states import MaterialStatus
from app.services import attachments, cases
from app.services.case_view import CaseDetail
from app.services.catalog import get_catalog, initials, search_items
from app.services.people import MIN_OVERRIDE_REASON, RESIDENT_ID, USCC
from app.store import db as dbmod
from app.store.models import CaseRecord
from forms.schema import Item
from forms.validators import ID_TYPES, CheckResult, check_other_id, check_resident_id, check_uscc

if TYPE_CHECKING:
    from app.services.runtime import Runtime

USAGE_DAYS = 90
RECENT_COUNT = 5
FREQUENT_COUNT = 8
# Once is chance; an item the desk took at least this often in the period is "常用".
FREQUENT_MIN_USES = 2
CORRECTION_DUE_WORKING_DAYS = 10
TAG_RECENT = "最近"
TAG_FREQUENT = "常用"

# Bases a window commonly cites for 不予受理; the item's own 设定依据 is offered as well.
COMMON_REFUSAL_BASES: tuple[str, ...] = (
    "《中华人民共和国行政许可法》第三十二条第一款第（一）项：申请事项依法不需要取得行政许可",
    "《中华人民共和国行政许可法》第三十二条第一款第（二）项：申请事项依法不属于本机关职权范围",
    "申请人不符合本事项办事指南规定的受理条件",
    "申请人逾期未按补正材料通知书补正材料",
)


@dataclass(frozen=True)
class ItemChoice:
    """One line of the item picker: the item, why it is near the top, and how often used."""

    item: Item
    tag: str  # TAG_RECENT, TAG_FREQUENT or ""
    uses: int


@dataclass(frozen=True)
class DeskUsage:
    """Which items this desk received lately: most recent first, and counts per item."""

    recent: tuple[str, ...]
    counts: dict[str, int]


def desk_usage(rt: Runtime, actor: Actor, *, days: int = USAGE_DAYS) -> DeskUsage:
    """Cases received at the actor's desk (township + desk) in the last `days` days."""
    since = rt.now() - timedelta(days=days)
    where = (
        (CaseRecord.township == actor.township)
        & (CaseRecord.desk == actor.desk)
        & (CaseRecord.received_at >= since)
    )
    uses = pw.fn.COUNT(CaseRecord.id).alias("uses")
    last = pw.fn.MAX(CaseRecord.received_at).alias("last")
    query = (
        CaseRecord.select(CaseRecord.item_code, uses, last)
        .where(where)
        .group_by(CaseRecord.item_code)
        .tuples()
    )
    # MAX() of a timestamp comes back as text on SQLite: compare the ISO texts.
    raw = cast(Iterable[tuple[Any, Any, Any]], query)
    rows = [(str(code), int(n), str(when)) for code, n, when in raw]
    counts = {code: n for code, n, _last in rows}
    by_time = sorted(rows, key=lambda r: (r[2], r[0]), reverse=True)
    return DeskUsage(tuple(r[0] for r in by_time[:RECENT_COUNT]), counts)


def suggested_items(rt: Runtime, actor: Actor, text: str = "") -> list[ItemChoice]:
    """The picker's list: with an empty box, this desk's recent items, then its frequent
    ones, then the catalog; with a text, the matches (name, code, pinyin initials), the
    ones this desk uses most first."""
    usage = desk_usage(rt, actor)
    catalog = get_catalog()
    frequent = [
        code
        for code, n in sorted(usage.counts.items(), key=lambda kv: (-kv[1], kv[0]))
        if n >= FREQUENT_MIN_USES and code not in usage.recent
    ][:FREQUENT_COUNT]
    tags = {code: TAG_FREQUENT for code in frequent}
    tags.update({code: TAG_RECENT for code in usage.recent})

    def choice(item: Item) -> ItemChoice:
        return ItemChoice(item, tags.get(item.code, ""), usage.counts.get(item.code, 0))

    if text.strip():
        found = search_items(text, limit=len(catalog.items))
        # Keywords by their initials too: "db" finds 最低生活保障申请 through 低保.
        needle = text.strip().lower()
        found += [
            item
            for item in catalog.items
            if item not in found and any(needle in initials(k) for k in item.keywords)
        ]
        order = {item.code: n for n, item in enumerate(found)}
        found.sort(
            key=lambda i: (_match_rank(i, needle), -usage.counts.get(i.code, 0), order[i.code])
        )
        return [choice(item) for item in found]
    first = [catalog.item(c) for c in (*usage.recent, *frequent) if catalog.has_item(c)]
    seen = {item.code for item in first}
    return [choice(item) for item in (*first, *(i for i in catalog.items if i.code not in seen))]


def _match_rank(item: Item, needle: str) -> int:
    """How well `needle` names the item: its name or initials first, then its keywords;
    a match at the start beats one inside."""
    name, short = item.name.lower(), initials(item.name)
    if name.startswith(needle) or short.startswith(needle):
        return 0
    if needle in name or needle in short or needle in item.code.lower():
        return 1
    if any(k.startswith(needle) or initials(k).startswith(needle) for k in item.keywords):
        return 2
    return 3


@dataclass(frozen=True)
class IdentityStatus:
    """A number as typed, checked: ok, a checksum warning (overridable), or an error."""

    value: str
    message: str = ""
    needs_reason: bool = False  # a checksum failure: may go on with a reason
    overridden: bool = False  # … and the reason is long enough

    @property
    def acceptable(self) -> bool:
        return not self.message or self.overridden


def id_type_choices() -> list[tuple[str, str]]:
    """(stored value, Chinese label) of every ID type a person may show."""
    return [(RESIDENT_ID, RESIDENT_ID), *ID_TYPES.items()]


def identity_status(id_type: str, raw: str, override_reason: str = "") -> IdentityStatus:
    """The same rules as people.check_identity, with the warning/error distinction the form
    needs to show (a checksum failure is a warning that a reason can override)."""
    result: CheckResult
    if id_type == RESIDENT_ID:
        result = check_resident_id(raw)
    elif id_type == USCC:
        result = check_uscc(raw)
    else:
        result = check_other_id(id_type, raw)
    if result.ok:
        return IdentityStatus(result.value)
    overridden = result.overridable and len(override_reason.strip()) >= MIN_OVERRIDE_REASON
    return IdentityStatus(result.value, result.message, result.overridable, overridden)


@dataclass(frozen=True)
class PendingFile:
    """An attachment chosen before the case exists: its bytes and the material it shows."""

    name: str
    data: bytes
    material: str = ""


def check_attachment(name: str, data: bytes) -> str:
    """The file's MIME type, or a ValidationError in Chinese naming the file."""
    if not data:
        raise ValidationError(f"附件「{name}」是空文件", field="file")
    if len(data) > attachments.MAX_BYTES:
        raise ValidationError(f"附件「{name}」超过20MB", field="file")
    try:
        return attachments.sniff_mime(data)
    except ValidationError:
        raise ValidationError(f"附件「{name}」不是 PDF、JPEG 或 PNG 文件", field="file") from None


def submit_intake(
    rt: Runtime, actor: Actor, req: cases.IntakeRequest, files: Sequence[PendingFile] = ()
) -> cases.CaseRef:
    """接件 with its attachments: every file is checked first, then the case and its
    attachments are written in one transaction, so a failure leaves nothing behind."""
    for pending in files:
        check_attachment(pending.name, pending.data)
    with dbmod.write_transaction():
        ref = cases.intake(rt, actor, req)
        for pending in files:
            attachments.add_attachment(
                rt,
                actor,
                ref.id,
                pending.data,
                original_name=pending.name,
                material=pending.material,
            )
    return ref


def default_correction_due(rt: Runtime, working_days: int = CORRECTION_DUE_WORKING_DAYS) -> date:
    """The usual 补正期限: `working_days` working days from today."""
    return rt.calendar.add_working_days(rt.today(), working_days).day


@dataclass(frozen=True)
class GapLine:
    """A checklist line as the correction and supplement dialogs offer it."""

    name: str
    status: MaterialStatus
    required: bool
    reason: str
    gap: bool  # required and missing or defective: must be on the 一次性告知书


_GAPS = (MaterialStatus.MISSING, MaterialStatus.DEFECTIVE)
_DEFAULT_REASONS = {
    MaterialStatus.MISSING: "未提交该材料",
    MaterialStatus.DEFECTIVE: "材料不符合要求",
}


def gap_lines(detail: CaseDetail) -> list[GapLine]:
    """Every material of the case; the gaps (required, missing or defective) come with a
    suggested reason so the dialog can pre-select them all (一次性告知: every gap at once)."""
    lines = []
    for m in detail.materials:
        status = MaterialStatus(m.status)
        reason = m.reason or _DEFAULT_REASONS.get(status, "")
        gap = m.required and status in _GAPS
        lines.append(GapLine(m.name, status, m.required, reason if gap else m.reason, gap))
    return lines


def supplement_lines(detail: CaseDetail) -> list[str]:
    """What the applicant was asked to bring: the notice's items, then other open gaps."""
    names = [str(i.get("name", "")) for i in detail.correction_items if i.get("name")]
    for m in detail.materials:
        if m.required and MaterialStatus(m.status) in _GAPS and m.name not in names:
            names.append(m.name)
    return names


def refusal_bases(item: Item | None) -> list[str]:
    """Bases to choose from for 不予受理: the item's own 设定依据 first, then common ones."""
    bases = list(COMMON_REFUSAL_BASES)
    if item is not None and item.legal_basis.strip():
        bases.insert(0, f"本事项设定依据：{item.legal_basis.strip()}")
    return bases


def authorisation_text(item: Item, handling_mode: str) -> str:
    """The usual authorisation line for 帮代办 / 上门代办 (the clerk may edit it)."""
    if handling_mode == "door":
        return f"申请人委托上门代办「{item.name}」，已当面核实申请人意愿并签署委托书"
    return f"申请人委托帮代办「{item.name}」，已签署帮代办委托书"
