"""Font search: a fixed preference order, TrueType only, the shipped fallback, one registration."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from reportlab.pdfbase import pdfmetrics

from app.domain.errors import KnownError
from reports import fonts
from reports.fonts import (
    FONT_DIR_ENV,
    SHIPPED_FONT,
    candidate_sources,
    choose_fonts,
    font_dirs,
    has_truetype_outlines,
    register_fonts,
)

ROOT = Path(__file__).resolve().parents[3]


def _link(target: Path, path: Path) -> Path:
    """`path` becomes a copy of `target` (a symlink where the OS allows one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.symlink_to(target)
    except OSError:
        shutil.copyfile(target, path)
    return path


def _fake_sfnt(path: Path, version: bytes, tags: list[bytes]) -> Path:
    """A font header whose table directory lists `tags` (no real tables behind them)."""
    header = version + struct.pack(">HHHH", len(tags), 16, 0, 0)
    directory = b"".join(struct.pack(">4sIII", tag, 0, 0, 0) for tag in tags)
    path.write_bytes(header + directory)
    return path


def test_the_shipped_font_is_truetype_with_its_licence_beside_it():
    assert has_truetype_outlines(SHIPPED_FONT, 0)
    licence = (SHIPPED_FONT.parent / "wqy-zenhei.COPYRIGHT").read_text(encoding="utf-8")
    assert "Font embedding exception" in licence
    assert "GNU GENERAL PUBLIC LICENSE" in (SHIPPED_FONT.parent / "GPL-2.txt").read_text()


def test_no_system_fonts_means_the_shipped_font_for_body_and_heading(tmp_path):
    choice = choose_fonts([tmp_path])
    assert choice.body.path == SHIPPED_FONT
    assert choice.heading == choice.body


def test_song_body_and_hei_heading_are_preferred(tmp_path):
    _link(SHIPPED_FONT, tmp_path / "simsun.ttc")
    _link(SHIPPED_FONT, tmp_path / "simhei.ttf")
    choice = choose_fonts([tmp_path])
    assert choice.body.path.name == "simsun.ttc"
    assert choice.body.label.startswith("宋体")
    assert choice.heading.path.name == "simhei.ttf"


def test_candidates_follow_the_declared_order_not_the_directory_order(tmp_path):
    # uming.ttc sorts before simfang.ttf's directory, but FangSong is listed first.
    _link(SHIPPED_FONT, tmp_path / "a" / "uming.ttc")
    _link(SHIPPED_FONT, tmp_path / "z" / "SIMFANG.TTF")
    body, heading = candidate_sources([tmp_path])
    assert [s.path.name for s in body] == ["SIMFANG.TTF", "uming.ttc", SHIPPED_FONT.name]
    assert [s.path for s in heading] == [SHIPPED_FONT]


def test_a_system_hei_font_beats_the_shipped_copy_for_body_text(tmp_path):
    _link(SHIPPED_FONT, tmp_path / "wqy-zenhei.ttc")
    choice = choose_fonts([tmp_path])
    assert choice.body.path == tmp_path / "wqy-zenhei.ttc"
    assert choice.heading == choice.body


def test_the_first_directory_and_first_sorted_subfolder_win(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    _link(SHIPPED_FONT, first / "b" / "simhei.ttf")
    _link(SHIPPED_FONT, first / "a" / "simhei.ttf")
    _link(SHIPPED_FONT, second / "simhei.ttf")
    assert choose_fonts([first, second]).heading.path == first / "a" / "simhei.ttf"
    assert choose_fonts([second, first]).heading.path == second / "simhei.ttf"


def test_postscript_outlines_and_wrong_faces_are_rejected(tmp_path):
    cff = _fake_sfnt(tmp_path / "simsun.ttc", b"OTTO", [b"CFF ", b"cmap", b"head"])
    assert not has_truetype_outlines(cff, 0)
    tt = _fake_sfnt(tmp_path / "tt.ttf", b"\x00\x01\x00\x00", [b"cmap", b"glyf", b"head"])
    assert has_truetype_outlines(tt, 0)
    assert not has_truetype_outlines(tt, 1)  # a plain .ttf has only face 0
    collection = tmp_path / "c.ttc"
    collection.write_bytes(b"ttcf" + struct.pack(">II", 0x10000, 1) + struct.pack(">I", 16))
    collection.write_bytes(collection.read_bytes() + tt.read_bytes())
    assert has_truetype_outlines(collection, 0)
    assert not has_truetype_outlines(collection, 1)
    assert not has_truetype_outlines(tmp_path / "missing.ttf", 0)
    # The CFF "SimSun" is skipped; the next usable candidate is taken.
    _link(SHIPPED_FONT, tmp_path / "uming.ttc")
    assert choose_fonts([tmp_path]).body.path.name == "uming.ttc"


def test_a_damaged_font_is_skipped_not_fatal(tmp_path):
    (tmp_path / "simsun.ttc").write_bytes(SHIPPED_FONT.read_bytes()[:4096])
    _link(SHIPPED_FONT, tmp_path / "simfang.ttf")
    assert choose_fonts([tmp_path]).body.path.name == "simfang.ttf"


def test_without_any_font_the_error_says_what_to_do(tmp_path):
    with pytest.raises(KnownError, match="重新安装"):
        choose_fonts([tmp_path], shipped=tmp_path / "absent.ttf")


def test_font_dir_override(monkeypatch, tmp_path):
    monkeypatch.setenv(FONT_DIR_ENV, f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}")
    assert font_dirs() == (tmp_path / "a", tmp_path / "b")
    monkeypatch.setenv(FONT_DIR_ENV, "")
    assert font_dirs() == ()
    monkeypatch.delenv(FONT_DIR_ENV)
    assert font_dirs() and all(isinstance(d, Path) for d in font_dirs())


def test_registration_happens_once():
    first = register_fonts()
    assert register_fonts() is first
    registered = pdfmetrics.getRegisteredFontNames()
    assert first.body in registered and first.heading in registered
    assert fonts.registered_choice().body.path.exists()


def test_documents_work_with_no_system_font_at_all(tmp_path):
    """A fresh process that sees no font directory still embeds Chinese (the shipped font)."""
    empty = tmp_path / "no-fonts"
    empty.mkdir()
    out = tmp_path / "receipt.pdf"
    script = (
        "import sys\n"
        "from reports.documents import render_pdf, sample_data\n"
        "from reports.fonts import registered_choice\n"
        "render_pdf('receipt', sample_data('receipt'), sys.argv[1])\n"
        "print(registered_choice().body.path)\n"
    )
    env = {**os.environ, FONT_DIR_ENV: str(empty), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    assert Path(done.stdout.strip()) == SHIPPED_FONT
    listing = subprocess.run(
        ["pdffonts", str(out)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    assert listing, "the PDF lists no fonts"
    for row in listing:
        name, *_, emb, sub, _uni, _obj, _gen = row.split()
        assert "WenQuanYiZenHei" in name and emb == "yes" and sub == "yes", row
    text = subprocess.run(
        ["pdftotext", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "收件回执" in text and "王秀英" in text
