"""A font for kana and kanji in figures, found by its file, with a clear fallback.

matplotlib draws text in DejaVu Sans, which has no Japanese characters, so every kana or kanji
label came out as an empty box even with a CJK font installed: matplotlib only falls back to
fonts named in ``font.family``. ``cjk_font()`` finds one: the file named by ``$MOJINET_CJK_FONT``
if set, else the first installed font whose character map holds 木, あ and ア (Noto Sans CJK JP
from Debian's ``fonts-noto-cjk`` is preferred: sans-serif, Japanese glyph forms). ``families()``
is DejaVu Sans followed by that font, so Latin text looks as before and kana/kanji fall back to
it. Without one, ``warn_if_missing(labels)`` says once what to install.

Non-goals: choosing fonts for other scripts, shipping a font.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass

from matplotlib import font_manager, ft2font

ENV = "MOJINET_CJK_FONT"
PROBE = "木あア"  # a kanji, a hiragana and a katakana the font must have
BASE_FAMILY = "DejaVu Sans"
log = logging.getLogger("mojinet.viz")


@dataclass(frozen=True)
class FontFile:
    family: str
    path: str


def _has_glyphs(path: str) -> bool:
    try:
        charmap = ft2font.FT2Font(path).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False
    return all(ord(c) in charmap for c in PROBE)


def _rank(entry) -> tuple:
    """Prefer sans-serif, regular weight, Japanese forms (lower is better)."""
    name, fname = entry.name, os.path.basename(entry.fname)
    return ("Sans" not in name, entry.weight not in ("normal", 400, "regular"),
            "JP" not in name, fname)


def _from_file(path: str) -> FontFile | None:
    if not os.path.isfile(path) or not _has_glyphs(path):
        return None
    font_manager.fontManager.addfont(path)
    return FontFile(ft2font.FT2Font(path).family_name, path)


@functools.cache
def cjk_font() -> FontFile | None:
    """The font used for kana and kanji, or None if no installed font has them."""
    chosen = os.environ.get(ENV)
    if chosen:
        found = _from_file(chosen)
        if found is None:
            log.warning("%s=%s is not a font file with kana and kanji; looking for an "
                        "installed one instead", ENV, chosen)
        else:
            return found
    for entry in sorted(font_manager.fontManager.ttflist, key=_rank):
        if "CJK" in entry.name or "JP" in entry.name or "Gothic" in entry.name:
            if _has_glyphs(entry.fname):
                return FontFile(entry.name, entry.fname)
    return None


def families() -> list[str]:
    """``font.family`` for the figures: DejaVu Sans, then the CJK font if there is one."""
    font = cjk_font()
    return [BASE_FAMILY] + ([font.family] if font else [])


def is_cjk(text: str) -> bool:
    """Whether ``text`` holds a character from the CJK blocks (kana, kanji, full-width forms)."""
    return any(0x2E80 <= ord(c) <= 0x9FFF or 0xF900 <= ord(c) <= 0xFFEF for c in str(text))


@functools.cache
def _warn_once() -> None:
    log.warning("no font with kana and kanji found: Japanese labels in the figures will be empty "
                "boxes. Install one (Debian/Ubuntu: apt-get install fonts-noto-cjk) or set %s "
                "to a font file (.ttf, .otf, .ttc)", ENV)


def warn_if_missing(labels) -> bool:
    """Warn (once) if some label needs a CJK font and there is none; True if all can be drawn."""
    if cjk_font() is None and any(is_cjk(label) for label in labels):
        _warn_once()
        return False
    return True
