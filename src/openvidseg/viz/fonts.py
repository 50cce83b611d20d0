"""Fonts for the text drawn on overlays and charts, chosen per text so that its letters are drawn, not the
missing-glyph box ("caf□", "□" for 猫).

For each text, the first font that has a glyph for every letter, from:
1. a font the user gave (`--font PATH`);
2. Noto Sans (Latin, Greek, Cyrillic, Vietnamese), shipped by the `fontpkg-noto-sans` package (SIL Open
   Font License), so the common case looks the same on every machine;
3. the system's fonts that cover the missing letters, found through fontconfig (`fc-match`) where it is
   installed, else among a few well-known font files of macOS and Windows;
4. Pillow's built-in font.
A text no font covers is drawn with the font that covers most of it; `missing_glyphs` tells which letters
show as boxes, so callers can say which font to install or pass.
"""
from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from PIL import ImageFont

from openvidseg.errors import InputError

Font = ImageFont.ImageFont | ImageFont.FreeTypeFont
NOT_A_CHARACTER = "\U0010FFFF"  # never mapped by a font: renders as the font's missing-glyph box (.notdef)
KNOWN_FONTS = (  # tried when fontconfig is absent (macOS, Windows)
    "/System/Library/Fonts/Supplemental/Arial Unicode.ttf", "/Library/Fonts/Arial Unicode.ttf",
    "/System/Library/Fonts/PingFang.ttc", "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/System/Library/Fonts/AppleSDGothicNeo.ttc", "C:/Windows/Fonts/arialuni.ttf", "C:/Windows/Fonts/msyh.ttc",
    "C:/Windows/Fonts/YuGothM.ttc", "C:/Windows/Fonts/malgun.ttf", "C:/Windows/Fonts/segoeui.ttf",
)
SYSTEM_CANDIDATES = 40  # fonts fontconfig suggests that are checked, best match first


def default_font(size: int) -> Font:
    """The font for text of unknown content (numbers, labels in English): Noto Sans, else Pillow's own."""
    path = bundled_font()
    return _load(str(path), size) if path else _builtin(size)


def check_font(path: str | Path) -> Path:
    """A user's font file, checked to load (`InputError` naming the fix otherwise)."""
    font = Path(path).expanduser()
    try:
        ImageFont.truetype(str(font), 12)
    except OSError as err:
        raise InputError(f"cannot use font {font}: {err} (pass a TrueType/OpenType file: .ttf, .otf or .ttc)") from None
    return font


class FontChooser:
    """Fonts at one pixel `size` for texts in any script (see the module docstring); `user_font` first."""

    def __init__(self, size: int, user_font: str | Path | None = None):
        self.size = size
        self.user_font = str(check_font(user_font)) if user_font is not None else None

    def font_for(self, text: str) -> Font:
        """The first font of the search order that draws every letter of `text` (or the one that draws most)."""
        return _choose(text, self.size, self.user_font)

    def missing_glyphs(self, text: str) -> str:
        """The letters of `text` that even the chosen font draws as the missing-glyph box ('' = none)."""
        return _missing(self.font_for(text), text)


def missing_glyphs(font: Font, text: str) -> str:
    """The letters of `text` (whitespace aside) that `font` has no glyph for: each renders exactly as the
    font's missing-glyph box."""
    return _missing(font, text)


@lru_cache(maxsize=4096)
def _choose(text: str, size: int, user_font: str | None) -> Font:
    best: Font | None = None
    best_missing = text

    def first_covering(paths) -> bool:
        nonlocal best, best_missing
        for path in paths:
            try:
                font = _load(path, size)
            except OSError:  # a broken system font file: skip it
                continue
            missing = _missing(font, text)
            if best is None or len(missing) < len(best_missing):
                best, best_missing = font, missing
            if not missing:
                return True
        return False

    primary = [p for p in (user_font, bundled_font()) if p]
    if first_covering(primary) or first_covering([p for p in system_fonts(best_missing) if p not in primary]):
        return best
    return best if best is not None else _builtin(size)


def _missing(font: Font, text: str) -> str:
    if not isinstance(font, ImageFont.FreeTypeFont):
        return "".join(dict.fromkeys(c for c in text if not c.isspace() and not c.isascii()))
    box = _bitmap(font, NOT_A_CHARACTER)
    return "".join(dict.fromkeys(c for c in text if not c.isspace() and _bitmap(font, c) == box))


def _bitmap(font: ImageFont.FreeTypeFont, char: str) -> tuple:
    mask = font.getmask(char)
    return mask.size, bytes(mask)


@lru_cache(maxsize=1)
def bundled_font() -> str | None:
    """Noto Sans from the fontpkg-noto-sans package (a dependency), or None where it is not installed."""
    try:
        import fontpkg

        return str(fontpkg.path("Noto Sans"))
    except Exception:  # not installed, or another version's layout: the other fonts still serve
        return None


@lru_cache(maxsize=256)
def system_fonts(letters: str) -> tuple[str, ...]:
    """Font files of this system that may cover `letters`, best first: fontconfig's sorted matches for a
    sans-serif font with these characters, else the known macOS/Windows fonts that exist."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return tuple(p for p in KNOWN_FONTS if Path(p).is_file())
    charset = " ".join(f"{ord(c):x}" for c in dict.fromkeys(letters) if not c.isspace())
    try:
        done = subprocess.run([fc_match, "-s", "--format", "%{file}\n", f"sans-serif:charset={charset}"],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return ()
    files = [line for line in done.stdout.splitlines() if line.lower().endswith((".ttf", ".otf", ".ttc"))]
    return tuple(dict.fromkeys(files))[:SYSTEM_CANDIDATES]


@lru_cache(maxsize=64)
def _load(path: str, size: int) -> Font:
    return ImageFont.truetype(path, size)


def _builtin(size: int) -> Font:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def uncovered_names(names: Sequence[str], user_font: str | Path | None = None, size: int = 20) -> list[tuple[str, str]]:
    """(name, letters drawn as boxes) for each name no available font fully covers."""
    chooser = FontChooser(size, user_font)
    return [(name, missing) for name in names if (missing := chooser.missing_glyphs(name))]
