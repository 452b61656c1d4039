"""Every document kind: text, embedded fonts, QR code, masking, seal, paging, byte-stable output."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from app.domain.masking import find_unmasked_ids, mask_id, mask_phone
from reports.data import (
    CaseDoc,
    CorrectionDoc,
    DecisionDoc,
    DeliveryDoc,
    GuideDoc,
    MaterialRow,
    RefusalDoc,
)
from reports.documents import KINDS, build_story, render_pdf, sample_data
from reports.fonts import FONT_DIR_ENV
from reports.samples import APPLICANT_ID, APPLICANT_PHONE, PROXY_ID, PROXY_PHONE

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = Path(__file__).parent / "golden"
GOLDEN_KINDS = ("receipt", "refusal", "handover")
REGEN = os.environ.get("BUJIANMIAN_REGEN_GOLDEN") == "1"
# Letters to the applicant address them by name; these print the (masked) ID number as well.
SHOWS_MASKED_ID = {"receipt", "acceptance", "completion", "delivery", "handover"}


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)


def _write(tmp_path: Path, pdf: bytes, name: str = "doc.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(pdf)
    return path


def _pages(path: Path) -> list[str]:
    """Text of each page, whitespace removed (pdftotext breaks lines where the layout does)."""
    text = _run("pdftotext", str(path), "-").stdout
    return [re.sub(r"\s+", "", page) for page in text.split("\f")[:-1]]


def _text(path: Path) -> str:
    return "".join(_pages(path))


def _case_of(data: object) -> CaseDoc | None:
    if isinstance(data, CaseDoc):
        return data
    return getattr(data, "case", None)


def _key_fields(kind: str) -> list[str]:
    data = sample_data(kind)
    case = _case_of(data)
    if isinstance(data, GuideDoc):
        item = data.item
        elements = [item.legal_basis, item.conditions, item.fee, item.location, item.complaint]
        rest = [*item.process, *(m.name for m in item.materials)]
        return [KINDS[kind].title, data.document_no, item.name, item.code, *elements, *rest]
    assert case is not None
    fields = [KINDS[kind].title, case.document_no, case.case_no, case.applicant.name]
    return [*fields, case.item_name, *(str(v) for v in _EXTRA_FIELDS[kind](data))]


# What each kind exists to say, beyond the case identity.
_EXTRA_FIELDS = {
    "receipt": lambda d: [d.query_code, d.clerk, d.organ.name],
    "acceptance": lambda d: ["决定予以受理", d.handler],
    "correction": lambda d: ["2026年3月17日前", *[item.name for item in d.items]],
    "refusal": lambda d: [d.reason, d.basis, d.reconsideration_organ, d.court],
    "completion": lambda d: ["准予办理", d.result_name, d.pickup_place],
    "delivery": lambda d: [d.result_name, d.method, d.issued_by, "已核验身份证件原件"],
    "proxy_authorisation": lambda d: [d.case.proxy.name, *d.powers, "2026年6月30日"],
    "handover": lambda d: [d.package_sha256, d.receiver, d.tracking_no, "合计"],
}


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("samples")
    return {
        kind: _write(folder, render_pdf(kind, sample_data(kind)), f"{kind}.pdf") for kind in KINDS
    }


def test_the_registry_lists_every_document_kind():
    assert set(KINDS) == {
        "receipt", "acceptance", "correction", "refusal", "completion", "delivery",
        "proxy_authorisation", "handover", "guide",
    }  # fmt: skip


@pytest.mark.parametrize("kind", KINDS)
def test_text_has_the_title_and_key_fields(samples, kind):
    text = _text(samples[kind])
    for field in _key_fields(kind):
        assert re.sub(r"\s+", "", field) in text, field


@pytest.mark.parametrize("kind", KINDS)
def test_every_font_is_embedded_as_a_subset(samples, kind):
    rows = _run("pdffonts", str(samples[kind])).stdout.splitlines()[2:]
    assert rows, "no fonts listed"
    for row in rows:
        name, *_, emb, sub, uni, _obj, _gen = row.split()
        assert (emb, sub, uni) == ("yes", "yes", "yes"), row
        assert re.match(r"[A-Z]{6}\+", name), row


@pytest.mark.parametrize("kind", KINDS)
def test_qr_code_decodes_to_the_progress_url_exactly_where_declared(samples, kind, tmp_path):
    _run(
        "pdftoppm",
        "-r",
        "150",
        "-png",
        "-f",
        "1",
        "-l",
        "1",
        str(samples[kind]),
        str(tmp_path / "p"),
    )
    image = next(tmp_path.glob("p*.png"))
    decoded = _run("zbarimg", "--quiet", "--raw", str(image))
    if KINDS[kind].qr:
        case = _case_of(sample_data(kind))
        assert case is not None
        assert decoded.stdout.strip() == case.progress_url
    else:
        assert decoded.stdout.strip() == ""


@pytest.mark.parametrize("kind", KINDS)
def test_seal_space_exactly_where_declared(samples, kind):
    assert ("（盖章）" in _text(samples[kind])) is KINDS[kind].needs_seal


@pytest.mark.parametrize("kind", KINDS)
def test_no_full_id_or_phone_unless_the_document_needs_it(samples, kind):
    text = _text(samples[kind])
    found = find_unmasked_ids(text)
    for number in (APPLICANT_PHONE, PROXY_PHONE):
        assert number not in text
    if kind == "proxy_authorisation":
        assert found == [APPLICANT_ID, PROXY_ID]
    else:
        assert found == []
        assert APPLICANT_ID not in text and PROXY_ID not in text
    if kind in SHOWS_MASKED_ID:
        assert mask_id(APPLICANT_ID) in text


def test_proxy_authorisation_without_full_numbers_prints_no_number(tmp_path):
    data = replace(sample_data("proxy_authorisation"), applicant_id_full=None, proxy_id_full=None)
    text = _text(_write(tmp_path, render_pdf("proxy_authorisation", data)))
    assert find_unmasked_ids(text) == []
    assert mask_phone(APPLICANT_PHONE) in text and mask_phone(PROXY_PHONE) in text


def test_mailed_delivery_shows_address_and_tracking_but_masks_the_phone(tmp_path):
    base = sample_data("delivery")
    assert isinstance(base, DeliveryDoc)
    mailed = DeliveryDoc(
        base.case, base.result_name, "邮寄", "周强",
        mailing_address="青禾县青禾镇杏花村三组12号", carrier="中国邮政EMS",
        tracking_no="1186523409871", mailed_on=date(2026, 3, 30),
    )  # fmt: skip
    text = _text(_write(tmp_path, render_pdf("delivery", mailed)))
    for shown in ("青禾县青禾镇杏花村三组12号", "1186523409871", mask_phone(APPLICANT_PHONE)):
        assert shown in text
    assert find_unmasked_ids(text) == []
    with pytest.raises(ValueError, match="运单号"):
        replace(mailed, tracking_no="")


def test_a_denial_names_where_to_appeal(tmp_path):
    approved = sample_data("completion")
    assert isinstance(approved, DecisionDoc)
    with pytest.raises(ValueError, match="行政复议"):
        replace(approved, approved=False)
    denied = replace(
        approved, approved=False, reconsideration_organ="青禾县人民政府", court="青禾县人民法院"
    )
    text = _text(_write(tmp_path, render_pdf("completion", denied)))
    assert "不予办理" in text and "六十日内向青禾县人民政府申请行政复议" in text
    assert "六个月内向青禾县人民法院提起行政诉讼" in text


def test_refusal_and_correction_carry_their_legal_notes(samples):
    refusal = _text(samples["refusal"])
    assert "六十日内" in refusal and "六个月内" in refusal and "青禾县人民法院" in refusal
    correction = _text(samples["correction"])
    assert "五个工作日内一次告知" in correction and "第三十二条" in correction
    data = sample_data("correction")
    assert isinstance(data, CorrectionDoc)
    for item in data.items:
        assert item.name in correction and item.reason in correction


def test_receipt_lists_every_material_and_the_deferred_due_date(samples):
    text = _text(samples["receipt"])
    data = sample_data("receipt")
    assert isinstance(data, CaseDoc)
    for row in data.materials:
        assert row.name in text
    assert "请于2026年3月9日前补交" in text
    assert "2026年3月30日前办结" in text and data.query_code in text


def test_wrong_data_for_a_kind_is_a_programming_error():
    with pytest.raises(TypeError, match="收件回执"):
        build_story("receipt", sample_data("refusal"))
    with pytest.raises(KeyError):
        render_pdf("nonsense", sample_data("receipt"))


def test_render_writes_the_same_bytes_it_returns(tmp_path):
    target = tmp_path / "out.pdf"
    pdf = render_pdf("receipt", sample_data("receipt"), target)
    assert target.read_bytes() == pdf and pdf.startswith(b"%PDF")
    assert [p.name for p in tmp_path.iterdir()] == ["out.pdf"]  # no temporary left behind


def test_invariant_mode_is_byte_stable_and_normal_mode_is_not_pinned():
    data = sample_data("correction")
    assert render_pdf("correction", data, invariant=True) == render_pdf(
        "correction", data, invariant=True
    )
    assert b"/CreationDate (D:20000101000000" in render_pdf("correction", data, invariant=True)
    assert b"/CreationDate (D:20000101000000" not in render_pdf("correction", data)


def _consume(text: str, pages: list[str]) -> str:
    """What is left of `text` after taking, page by page, the longest prefix found there."""
    for page in pages:
        low, high = 0, len(text)
        while low < high:  # prefixes found on a page form a range 0..k: binary search for k
            middle = (low + high + 1) // 2
            if text[:middle] in page:
                low = middle
            else:
                high = middle - 1
        text = text[low:]
    return text


def _assert_numbered(pages: list[str]) -> None:
    total = len(pages)
    for number, page in enumerate(pages, 1):
        assert f"第{number}页共{total}页" in page


def test_fifty_materials_flow_onto_more_pages_with_right_page_numbers(tmp_path):
    base = sample_data("receipt")
    assert isinstance(base, CaseDoc)
    rows = tuple(MaterialRow(f"测试材料第{n:02d}号", "原件", 1, "已收取") for n in range(1, 51))
    pages = _pages(_write(tmp_path, render_pdf("receipt", replace(base, materials=rows))))
    assert len(pages) >= 2
    _assert_numbered(pages)
    text = "".join(pages)
    assert all(row.name in text for row in rows)
    assert "（盖章）" in pages[-1]


def _long_reason(length: int) -> str:
    sentence = "申请材料中家庭成员收入情况与核对结果不一致请补充说明"
    numbered = "".join(f"{sentence}第{n:03d}处。" for n in range(1, 200))
    return numbered[:length]


def test_a_500_character_reason_is_printed_whole_across_pages(tmp_path):
    base = sample_data("correction")
    assert isinstance(base, CorrectionDoc)
    markers = [f"（第{n}项）" for n in range(1, 7)]
    reasons = [marker + _long_reason(500 - len(marker)) for marker in markers]
    assert {len(reason) for reason in reasons} == {500}
    items = tuple(
        MaterialRow(f"补正材料{n}", "原件", 1, "不符合要求", reason=reason)
        for n, reason in enumerate(reasons, 1)
    )
    pages = _pages(_write(tmp_path, render_pdf("correction", replace(base, items=items))))
    assert len(pages) >= 2
    _assert_numbered(pages)
    for reason in reasons:
        assert _consume(reason, pages) == ""
    refusal = sample_data("refusal")
    assert isinstance(refusal, RefusalDoc)
    reason = _long_reason(500)
    pdf = render_pdf("refusal", replace(refusal, reason=reason))
    pages = _pages(_write(tmp_path, pdf, "refusal.pdf"))
    _assert_numbered(pages)
    assert _consume(reason, pages) == ""


def test_a_cell_taller_than_a_page_splits_instead_of_failing(tmp_path):
    base = sample_data("correction")
    assert isinstance(base, CorrectionDoc)
    reason = _long_reason(3000)
    items = (MaterialRow("家庭收入情况声明", "原件", 1, "不符合要求", reason=reason),)
    pages = _pages(_write(tmp_path, render_pdf("correction", replace(base, items=items))))
    assert len(pages) >= 3
    _assert_numbered(pages)
    assert _consume(reason, pages) == ""


def _render_golden(folder: Path) -> None:
    """Render the golden kinds in a fresh process that sees only the shipped font."""
    empty = folder / "no-fonts"
    empty.mkdir()
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from reports.documents import render_pdf, sample_data\n"
        "for kind in sys.argv[2:]:\n"
        "    pdf = render_pdf(kind, sample_data(kind), invariant=True)\n"
        "    (Path(sys.argv[1]) / f'{kind}.pdf').write_bytes(pdf)\n"
    )
    env = {**os.environ, FONT_DIR_ENV: str(empty), "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "-c", script, str(folder), *GOLDEN_KINDS],
        cwd=ROOT, env=env, check=True, timeout=300, capture_output=True,
    )  # fmt: skip


def test_golden_files_match_byte_for_byte(tmp_path):
    """Same data, same fonts → same bytes. Regenerate with BUJIANMIAN_REGEN_GOLDEN=1."""
    _render_golden(tmp_path)
    for kind in GOLDEN_KINDS:
        fresh = (tmp_path / f"{kind}.pdf").read_bytes()
        golden = GOLDEN / f"{kind}.pdf"
        if REGEN:
            GOLDEN.mkdir(exist_ok=True)
            golden.write_bytes(fresh)
        assert golden.exists(), f"missing {golden}; run with BUJIANMIAN_REGEN_GOLDEN=1"
        assert fresh == golden.read_bytes(), f"{kind}.pdf differs from its golden file"
