"""The document registry: kind id → title, story builder, seal and QR flags; PDF rendering."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from reportlab.platypus import Flowable

from reports.blocks import title_block
from reports.data import (
    CaseDoc,
    CorrectionDoc,
    DecisionDoc,
    DeliveryDoc,
    DocData,
    GuideDoc,
    HandoverDoc,
    ProxyAuthDoc,
    RefusalDoc,
    head_of,
)
from reports.guide import guide_story
from reports.notices import (
    acceptance_story,
    completion_story,
    correction_story,
    receipt_story,
    refusal_story,
)
from reports.page import build_pdf
from reports.samples import sample_data
from reports.transfer import delivery_story, handover_story, proxy_authorisation_story

__all__ = ["KINDS", "DocumentKind", "build_story", "render_pdf", "sample_data"]


@dataclass(frozen=True)
class DocumentKind:
    """One kind of document: its title, the data it is printed from and how it is laid out."""

    title: str
    builder: Callable[[Any], list[Flowable]]
    needs_seal: bool
    qr: bool
    data_type: type
    subtitle: str = ""


KINDS: dict[str, DocumentKind] = {
    "receipt": DocumentKind("收件回执", receipt_story, True, True, CaseDoc),
    "acceptance": DocumentKind("受理通知书", acceptance_story, True, True, CaseDoc),
    "correction": DocumentKind(
        "补正材料通知书", correction_story, True, True, CorrectionDoc, "（一次性告知书）"
    ),
    "refusal": DocumentKind("不予受理通知书", refusal_story, True, False, RefusalDoc),
    "completion": DocumentKind(
        "办结通知书", completion_story, True, True, DecisionDoc, "（领取通知）"
    ),
    "delivery": DocumentKind(
        "结果送达回证", delivery_story, False, False, DeliveryDoc, "（发放登记）"
    ),
    "proxy_authorisation": DocumentKind(
        "帮代办委托书", proxy_authorisation_story, False, False, ProxyAuthDoc
    ),
    "handover": DocumentKind("帮代办移交单", handover_story, True, False, HandoverDoc),
    "guide": DocumentKind("一次性告知单", guide_story, False, False, GuideDoc),
}


def document_kind(kind: str) -> DocumentKind:
    try:
        return KINDS[kind]
    except KeyError:
        raise KeyError(f"没有这种文书：{kind}") from None


def _subtitle(spec: DocumentKind, data: DocData) -> str:
    if isinstance(data, GuideDoc):
        return f"（{data.item.name}）"
    return spec.subtitle


def build_story(kind: str, data: DocData) -> list[Flowable]:
    """The complete story of one document: title block, then the kind's own content."""
    spec = document_kind(kind)
    if not isinstance(data, spec.data_type):
        raise TypeError(f"{spec.title}需要 {spec.data_type.__name__}，收到 {type(data).__name__}")
    head = head_of(data)
    return title_block(spec.title, head.document_no, _subtitle(spec, data)) + spec.builder(data)


def render_pdf(
    kind: str,
    data: DocData,
    target: str | os.PathLike[str] | IO[bytes] | None = None,
    *,
    invariant: bool = False,
) -> bytes:
    """Render one document and return its PDF bytes; optionally also write them to `target`.

    A path is written atomically (temporary file in the same folder, then rename), so a
    crash never leaves half a PDF behind; a binary file object just receives the bytes.
    """
    spec = document_kind(kind)
    pdf = build_pdf(build_story(kind, data), head_of(data), spec.title, invariant=invariant)
    if target is None:
        return pdf
    if isinstance(target, str | os.PathLike):
        write_atomically(Path(target), pdf)
    else:
        target.write(pdf)
    return pdf


def write_atomically(path: Path, content: bytes) -> None:
    """Write `content` to `path` so that readers see either the old file or the whole new one."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
