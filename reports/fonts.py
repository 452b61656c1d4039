"""Chinese fonts for documents: a 宋体/仿宋 body and a 黑体 heading face, embedded as subsets."""

from __future__ import annotations

import os
import struct
import sys
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from app.domain.errors import KnownError

FONT_DIR_ENV = "BUJIANMIAN_FONT_DIR"
SHIPPED_FONT = Path(__file__).resolve().parent / "fonts" / "wqy-zenhei.ttf"
BODY_FONT_NAME = "BjmBody"
HEADING_FONT_NAME = "BjmHeading"


@dataclass(frozen=True)
class FontCandidate:
    """A font file we know by name: file name (any case), face index in a .ttc, label."""

    file: str
    index: int
    label: str


# Preference order, most wanted first. Only TrueType outlines qualify: reportlab cannot embed
# CFF (OpenType/PostScript) fonts such as Noto CJK, which are therefore not listed.
SONG_CANDIDATES: tuple[FontCandidate, ...] = (
    FontCandidate("simsun.ttc", 0, "宋体 SimSun"),
    FontCandidate("simsun.ttf", 0, "宋体 SimSun"),
    FontCandidate("simfang.ttf", 0, "仿宋 FangSong"),
    FontCandidate("CESI_SS_GB18030.TTF", 0, "CESI宋体"),
    FontCandidate("CESI_SS_GB13000.TTF", 0, "CESI宋体"),
    FontCandidate("CESI_SS_GB2312.TTF", 0, "CESI宋体"),
    FontCandidate("CESI_FS_GB18030.TTF", 0, "CESI仿宋"),
    FontCandidate("CESI_FS_GB13000.TTF", 0, "CESI仿宋"),
    FontCandidate("CESI_FS_GB2312.TTF", 0, "CESI仿宋"),
    FontCandidate("uming.ttc", 0, "AR PL UMing CN"),
    FontCandidate("gbsn00lp.ttf", 0, "AR PL SungtiL GB"),
)
HEI_CANDIDATES: tuple[FontCandidate, ...] = (
    FontCandidate("simhei.ttf", 0, "黑体 SimHei"),
    FontCandidate("CESI_HT_GB18030.TTF", 0, "CESI黑体"),
    FontCandidate("CESI_HT_GB13000.TTF", 0, "CESI黑体"),
    FontCandidate("CESI_HT_GB2312.TTF", 0, "CESI黑体"),
    FontCandidate("wqy-zenhei.ttc", 0, "文泉驿正黑 WenQuanYi Zen Hei"),
    FontCandidate("wqy-zenhei.ttf", 0, "文泉驿正黑 WenQuanYi Zen Hei"),
    FontCandidate("wqy-microhei.ttc", 0, "文泉驿微米黑 WenQuanYi Micro Hei"),
    FontCandidate("DroidSansFallbackFull.ttf", 0, "Droid Sans Fallback"),
)
SHIPPED_LABEL = "文泉驿正黑 WenQuanYi Zen Hei（随软件分发）"


@dataclass(frozen=True)
class FontSource:
    """One face of one font file on disk."""

    path: Path
    index: int
    label: str


@dataclass(frozen=True)
class FontChoice:
    """The faces chosen for body text and for headings (possibly the same face)."""

    body: FontSource
    heading: FontSource


@dataclass(frozen=True)
class FontSet:
    """Registered reportlab font names to use in styles and canvas calls."""

    body: str
    heading: str


def font_dirs() -> tuple[Path, ...]:
    """Directories searched for fonts, in order; `BUJIANMIAN_FONT_DIR` replaces them all.

    The override may list several directories separated by os.pathsep; an empty value means
    "no system fonts at all", which tests use to prove the shipped font suffices.
    """
    override = os.environ.get(FONT_DIR_ENV)
    if override is not None:
        return tuple(Path(part) for part in override.split(os.pathsep) if part)
    home = Path.home()
    if sys.platform == "win32":
        windir = Path(os.environ.get("WINDIR", r"C:\Windows"))
        local = Path(os.environ.get("LOCALAPPDATA", str(home / "AppData" / "Local")))
        return (windir / "Fonts", local / "Microsoft" / "Windows" / "Fonts")
    if sys.platform == "darwin":
        return (home / "Library" / "Fonts", Path("/Library/Fonts"), Path("/System/Library/Fonts"))
    data_home = Path(os.environ.get("XDG_DATA_HOME", str(home / ".local" / "share")))
    return (
        data_home / "fonts",
        home / ".fonts",
        Path("/usr/local/share/fonts"),
        Path("/usr/share/fonts"),
    )


def _index_files(dirs: Iterable[Path]) -> dict[str, Path]:
    """Lower-cased file name → first path found, walking each directory in sorted order."""
    found: dict[str, Path] = {}
    for top in dirs:
        if not top.is_dir():
            continue
        for root, subdirs, files in os.walk(top):
            subdirs.sort()  # os.walk follows this list: sorting makes the walk deterministic
            for name in sorted(files):
                found.setdefault(name.lower(), Path(root) / name)
    return found


def has_truetype_outlines(path: Path, index: int) -> bool:
    """True if face `index` of the file is an sfnt with TrueType ('glyf') outlines."""
    try:
        with path.open("rb") as handle:
            head = handle.read(12)
            offset = 0
            if head[:4] == b"ttcf":
                count = struct.unpack(">I", head[8:12])[0]
                if index >= count:
                    return False
                handle.seek(12 + 4 * index)
                offset = struct.unpack(">I", handle.read(4))[0]
            elif index != 0:
                return False
            handle.seek(offset)
            version, tables = struct.unpack(">4sH", handle.read(6))
            if version not in (b"\x00\x01\x00\x00", b"true"):
                return False
            handle.seek(offset + 12)
            directory = handle.read(16 * tables)
    except (OSError, struct.error):
        return False
    tags = {directory[i : i + 4] for i in range(0, len(directory), 16)}
    return b"glyf" in tags


def _sources(candidates: Sequence[FontCandidate], files: dict[str, Path]) -> list[FontSource]:
    sources = []
    for candidate in candidates:
        path = files.get(candidate.file.lower())
        if path is not None and has_truetype_outlines(path, candidate.index):
            sources.append(FontSource(path, candidate.index, candidate.label))
    return sources


def candidate_sources(
    dirs: Iterable[Path], shipped: Path = SHIPPED_FONT
) -> tuple[list[FontSource], list[FontSource]]:
    """Usable body and heading faces in preference order, the shipped font last in both.

    Body text prefers 宋体/仿宋 and falls back to a system 黑体 before the shipped one, so a
    machine's own fonts always win over the copy we carry.
    """
    files = _index_files(dirs)
    song, hei = _sources(SONG_CANDIDATES, files), _sources(HEI_CANDIDATES, files)
    fallback = [FontSource(shipped, 0, SHIPPED_LABEL)] if has_truetype_outlines(shipped, 0) else []
    return song + hei + fallback, hei + fallback


def _load(name: str, sources: Sequence[FontSource]) -> tuple[TTFont, FontSource] | None:
    for source in sources:
        try:
            return TTFont(name, str(source.path), subfontIndex=source.index), source
        except Exception:
            # reportlab's parser fails on damaged files with whatever error it meets first
            # (TTFError, struct.error, IndexError …), and refuses fonts whose licence forbids
            # embedding; a bad font on the machine must never stop printing, so try the next.
            continue
    return None


_NO_FONT = (
    "找不到可嵌入的中文字体：随软件分发的字体文件（reports/fonts/wqy-zenhei.ttf）缺失或损坏，"
    "请重新安装本软件"
)


def _load_choice(dirs: Iterable[Path], shipped: Path) -> tuple[FontChoice, TTFont, TTFont | None]:
    body_sources, heading_sources = candidate_sources(dirs, shipped)
    body = _load(BODY_FONT_NAME, body_sources)
    if body is None:
        raise KnownError(_NO_FONT, code="font_missing")
    body_font, body_source = body
    # The heading face is the first 黑体 that loads; if that is the body face itself it is
    # reused rather than embedded twice.
    for source in heading_sources:
        if source == body_source:
            return FontChoice(body_source, body_source), body_font, None
        heading = _load(HEADING_FONT_NAME, [source])
        if heading is not None:
            return FontChoice(body_source, source), body_font, heading[0]
    return FontChoice(body_source, body_source), body_font, None


def choose_fonts(dirs: Iterable[Path] | None = None, shipped: Path = SHIPPED_FONT) -> FontChoice:
    """Which faces `register_fonts` would use for these directories (nothing is registered)."""
    choice, _, _ = _load_choice(font_dirs() if dirs is None else dirs, shipped)
    return choice


_lock = threading.Lock()
_registered: tuple[FontSet, FontChoice] | None = None


def register_fonts() -> FontSet:
    """Find and register the document fonts once per process; later calls return the same set.

    In paragraphs, <b> maps to the heading (黑体) face, the usual emphasis in Chinese forms.
    """
    global _registered
    with _lock:
        if _registered is None:
            choice, body_font, heading_font = _load_choice(font_dirs(), SHIPPED_FONT)
            pdfmetrics.registerFont(body_font)
            heading_name = BODY_FONT_NAME
            if heading_font is not None:
                pdfmetrics.registerFont(heading_font)
                heading_name = HEADING_FONT_NAME
            for family in {BODY_FONT_NAME, heading_name}:
                addMapping(family, 0, 0, family)
                addMapping(family, 0, 1, family)
                addMapping(family, 1, 0, heading_name)
                addMapping(family, 1, 1, heading_name)
            _registered = (FontSet(BODY_FONT_NAME, heading_name), choice)
        return _registered[0]


def registered_choice() -> FontChoice:
    """The files behind the registered fonts (for the self-test and the about box)."""
    register_fonts()
    assert _registered is not None
    return _registered[1]
