"""Fonts for the PDFs we print: which file covers which script, found by path at run time.

A name on a visa letter may be in any script. Noto Sans (Latin, Greek, Cyrillic, Devanagari) is
the main font; Thai, Arabic and CJK faces are fallbacks that fpdf2 switches to per character.
Before anything is drawn, every printed character is checked against the cmaps of the fonts
found: a character no font covers raises `MissingFont` naming what to install, rather than
printing a box in a letter an embassy reads.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont
from fontTools.varLib import instancer
from fpdf import FPDF

log = logging.getLogger(__name__)

#: Where static instances of the variable fonts are cached (see `_static_instance`).
FONT_CACHE_ENV = "SPINEBRIDGE_FONT_CACHE"
_DEFAULT_CACHE = Path(__file__).resolve().parents[2] / "instance" / "fonts"

#: Debian's fonts-noto-cjk; its .ttc holds JP, KR, SC, TC, HK faces (Simplified Chinese first
#: for Han, since it is the face we pick; all of them carry kana and Hangul).
CJK_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/opentype/noto-cjk"))
CJK_FACE = "Noto Sans CJK SC"


class MissingFont(Exception):
    """A printed character is covered by no font found on this machine."""


@dataclass(frozen=True)
class FontSource:
    """One face we know how to find, and what to install when it is absent."""

    family: str  #: the fpdf2 family name
    label: str  #: what it is for, in an error message
    install: str  #: how to get it, in an error message
    #: Code point ranges the face is there for: only used to name the package of a missing one.
    ranges: tuple[tuple[int, int], ...]
    locate: Callable[[bool], tuple[Path, int] | None]  #: bold? -> (file, face index) or None


def _fontpkg_file(module: str, filename: str) -> Path | None:
    try:
        package = __import__(module)
    except ImportError:
        return None
    path = Path(package.ROOT) / "files" / filename
    return path if path.is_file() else None


def _variable(module: str, filename: str) -> Callable[[bool], tuple[Path, int] | None]:
    def locate(bold: bool) -> tuple[Path, int] | None:
        path = _fontpkg_file(module, filename)
        if path is None:
            return None
        return (_static_instance(path, 700), 0) if bold else (_regular(path), 0)

    return locate


def _cjk(bold: bool) -> tuple[Path, int] | None:
    name = "NotoSansCJK-Bold.ttc" if bold else "NotoSansCJK-Regular.ttc"
    for folder in CJK_DIRS:
        path = folder / name
        if path.is_file():
            index = _face_index(path, CJK_FACE)
            if index is not None:
                return path, index
    return None


MAIN = FontSource(
    "NotoSans", "Latin, Greek, Cyrillic and Devanagari", "pip install fontpkg-noto-sans",
    ((0x0000, 0x058F), (0x0900, 0x097F), (0x1E00, 0x1FFF), (0x2000, 0x20CF)),
    _variable("fontpkg_noto_sans", "NotoSans[wdth,wght].ttf"),
)
FALLBACKS = (
    FontSource(
        "NotoSansThai", "Thai", "pip install fontpkg-noto-sans-thai", ((0x0E00, 0x0E7F),),
        _variable("fontpkg_noto_sans_thai", "NotoSansThai[wdth,wght].ttf"),
    ),
    FontSource(
        "NotoSansArabic", "Arabic", "pip install fontpkg-noto-sans-arabic",
        ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF),
         (0xFE70, 0xFEFF)),
        _variable("fontpkg_noto_sans_arabic", "NotoSansArabic[wdth,wght].ttf"),
    ),
    FontSource(
        "NotoSansCJK", "Chinese, Japanese and Korean",
        "the Debian package fonts-noto-cjk (apt-get install fonts-noto-cjk)",
        ((0x1100, 0x11FF), (0x2E80, 0x2FDF), (0x3000, 0x9FFF), (0xA960, 0xA97F),
         (0xAC00, 0xD7FF), (0xF900, 0xFAFF), (0xFF00, 0xFFEF), (0x20000, 0x3FFFF)),
        _cjk,
    ),
)


@lru_cache(maxsize=8)
def _face_index(path: Path, face_name: str) -> int | None:
    collection = TTCollection(str(path), lazy=True)
    for index, face in enumerate(collection.fonts):
        if face["name"].getDebugName(4) == face_name:
            return index
    return None


@lru_cache(maxsize=32)
def _cmap(path: Path, index: int) -> frozenset[int]:
    return frozenset(TTFont(str(path), fontNumber=index, lazy=True).getBestCmap())


@lru_cache(maxsize=8)
def _regular(path: Path) -> Path:
    """The variable file itself when its default instance is the regular weight at normal width:
    fpdf2 and HarfBuzz then both read the default outlines and advances, and it costs nothing."""
    axes = {a.axisTag: a.defaultValue for a in TTFont(str(path), lazy=True)["fvar"].axes}
    if axes.get("wght", 400) == 400 and axes.get("wdth", 100) == 100:
        return path
    return _static_instance(path, 400)


_instance_lock = threading.Lock()


def _cache_dir() -> Path:
    wanted = os.environ.get(FONT_CACHE_ENV)
    for folder in ([Path(wanted)] if wanted else [_DEFAULT_CACHE]) + [
        Path(tempfile.gettempdir()) / "spinebridge-fonts"
    ]:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return folder
        except OSError:
            continue
    raise MissingFont("no writable folder for the font cache; set " + FONT_CACHE_ENV)


def _static_instance(path: Path, weight: int) -> Path:
    """A static TrueType instance of a variable font, made once and cached on disk.

    Not fpdf2's own `add_font(variations=...)`: it re-instances on every document (seconds per
    face) and HarfBuzz still shapes with the default instance's advances, so bold text set
    with shaping on comes out cramped.
    """
    stat = path.stat()
    key = hashlib.sha1(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    target = _cache_dir() / f"{path.name.split('[')[0]}-wght{weight}-{key}.ttf"
    if target.is_file():
        return target
    with _instance_lock:
        if target.is_file():
            return target
        log.info("Making a static instance of %s at weight %d (once)", path.name, weight)
        font = TTFont(str(path))
        axes = {a.axisTag: a.defaultValue for a in font["fvar"].axes}
        axes["wght"] = weight
        instancer.instantiateVariableFont(font, axes, inplace=True, static=True)
        # Another process may be writing the same file: write aside, then rename atomically.
        fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
        os.close(fd)
        try:
            font.save(tmp)
            os.chmod(tmp, 0o644)  # mkstemp makes it private; web and worker may differ in user
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return target


def _ignorable(char: str) -> bool:
    # Line breaks, tabs and format controls (ZWJ, ZWNJ, bidi marks) are never drawn as glyphs.
    return unicodedata.category(char) in ("Cc", "Cf") or 0xFE00 <= ord(char) <= 0xFE0F


def _describe(char: str) -> str:
    return f"{char!r} (U+{ord(char):04X} {unicodedata.name(char, 'unnamed character')})"


def install_fonts(pdf: FPDF, texts: Iterable[str], bold_main: bool = True) -> None:
    """Add the main font (regular, and bold if asked) and every fallback face the texts need,
    set the fallbacks, or raise `MissingFont` for a character nothing here can draw."""
    main_regular = MAIN.locate(False)
    if main_regular is None:
        raise MissingFont(f"the main font (Noto Sans) is not installed: {MAIN.install}")
    pdf.add_font(MAIN.family, "", main_regular[0])
    if bold_main:
        main_bold = MAIN.locate(True)
        if main_bold is not None:
            pdf.add_font(MAIN.family, "B", main_bold[0])
    covered = set(_cmap(*main_regular))

    found = {src.family: src.locate(False) for src in FALLBACKS}
    needed: list[str] = []
    for text in texts:
        for char in text:
            code = ord(char)
            if code in covered or _ignorable(char):
                continue
            for src in FALLBACKS:
                where = found[src.family]
                if where is not None and code in _cmap(*where):
                    if src.family not in needed:
                        needed.append(src.family)
                        covered |= _cmap(*where)
                    break
            else:
                raise MissingFont(_missing_message(char, text, found))
    for src in FALLBACKS:  # in priority order, which is also fpdf2's fallback order
        if src.family in needed:
            path, index = found[src.family]
            pdf.add_font(src.family, "", path, collection_font_number=index)
    # Bold runs (headings) fall back to the regular script faces: exact_match=False.
    pdf.set_fallback_fonts([f for f in (s.family for s in FALLBACKS) if f in needed],
                           exact_match=False)


def _missing_message(char: str, text: str, found: dict[str, tuple[Path, int] | None]) -> str:
    for src in (MAIN, *FALLBACKS):
        if found.get(src.family) is None and any(lo <= ord(char) <= hi for lo, hi in src.ranges):
            return (f"No font for {_describe(char)} in {text!r}: the {src.label} font is missing;"
                    f" install {src.install}")
    loaded = ", ".join([MAIN.family] + [f for f, where in found.items() if where is not None])
    return (f"No font for {_describe(char)} in {text!r}: none of the fonts SpineBridge prints"
            f" with covers it ({loaded})")


def prepare_fonts() -> None:
    """Make the cached static instances now (a deploy step), not during the first letter."""
    for src in (MAIN, *FALLBACKS):
        src.locate(False)
    MAIN.locate(True)
