"""KanjiVG stroke data: find the SVG of a character, parse its strokes and its components.

KanjiVG (https://kanjivg.tagaini.net) is copyright Ulrich Apel and contributors and released
under the Creative Commons Attribution-Share Alike 3.0 licence. The ``kanjivg`` package on PyPI
installs its SVG files (one per character, named by code point: ``kanji/0660e.svg`` for 明) into
site-packages; mojinet reads them from there and never downloads anything.

Each file has one ``<path d="...">`` per stroke, in stroke order, inside nested ``<g>`` groups
whose ``kvg:element`` attribute names the component they draw (明 = 日 + 月) and whose
``kvg:radical`` attribute marks the radical. We parse:

* the path data (commands M/m, C/c, S/s, L/l, H/h, V/v, Q/q, T/t, Z/z) into cubic Bézier segments,
  flattened into polylines in KanjiVG's 109 × 109 coordinate box (y down);
* the components: every ``kvg:element`` of a group below the character's own group.

Non-goals: rendering (see ``handwriting``), variant glyph files (``04e14-Kaisho.svg``), arcs (A/a:
KanjiVG does not use them; we refuse them clearly).
"""

from __future__ import annotations

import functools
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

KANJIVG_DIR_ENV = "MOJINET_KANJIVG_DIR"
CREDIT = (
    "Stroke data: KanjiVG (https://kanjivg.tagaini.net), copyright Ulrich Apel and contributors, "
    "CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/)."
)
BOX = 109.0  # KanjiVG's viewBox is 0 0 109 109


class KanjiVGError(ValueError):
    """Stroke data is missing or cannot be parsed."""


@dataclass(frozen=True)
class Glyph:
    """One character from KanjiVG.

    strokes: one (n_i, 2) float64 polyline per stroke, in stroke order, (x, y) in [0, 109]
    components: the components (kvg:element of sub-groups), each once, in document order
    radicals: the components marked as radical (kvg:radical)
    groups: the component groups each stroke belongs to, by nesting depth: ``groups[d]`` is a
        (k,) int array whose entry is the stroke's group at depth d (0 = the parts the character
        is made of, e.g. 田 and 丁 in 町; 1 = their parts, 一 and 亅 in 丁; …), numbered 0, 1, …
        within the depth, or -1 where the stroke is in no group that deep. The two pieces of a
        split component (``kvg:part``, e.g. 囗 around 玉 in 国) are one group. Empty for glyphs
        without groups.
    """

    char: str
    strokes: tuple[np.ndarray, ...]
    components: tuple[str, ...]
    radicals: tuple[str, ...]
    groups: tuple[np.ndarray, ...] = field(default=(), compare=False)

    # All strokes as one array, for vectorised drawing (filled in from ``strokes``):
    # points (N, 2); stroke (N,) index of each point's stroke; t (N,) position along its stroke in
    # [0, 1] by arc length; first/last (k,) index of each stroke's first/last point in ``points``.
    points: np.ndarray = field(init=False, repr=False, compare=False)
    stroke: np.ndarray = field(init=False, repr=False, compare=False)
    t: np.ndarray = field(init=False, repr=False, compare=False)
    first: np.ndarray = field(init=False, repr=False, compare=False)
    last: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        if not self.strokes:
            raise KanjiVGError(f"{self.char!r}: a glyph needs at least one stroke")
        lengths = np.array([len(P) for P in self.strokes])  # (k,)
        last = np.cumsum(lengths) - 1  # (k,)
        ts = []
        for P in self.strokes:
            seg = np.linalg.norm(np.diff(P, axis=0), axis=1)  # (n-1,)
            arc = np.concatenate([[0.0], np.cumsum(seg)])  # (n,)
            ts.append(arc / arc[-1] if arc[-1] > 0 else np.zeros_like(arc))
        for name, value in (
            ("points", np.concatenate(self.strokes)),  # (N, 2)
            ("stroke", np.repeat(np.arange(len(lengths)), lengths)),  # (N,)
            ("t", np.concatenate(ts)),  # (N,)
            ("first", last - lengths + 1),  # (k,)
            ("last", last),  # (k,)
        ):
            object.__setattr__(self, name, value)


# ----------------------------------------------------------------------------- locating files
def kanjivg_dir() -> Path:
    """The folder with KanjiVG's SVG files: $MOJINET_KANJIVG_DIR, or the ``kanjivg`` package."""
    env = os.environ.get(KANJIVG_DIR_ENV)
    if env:
        folder = Path(env)
        if not folder.is_dir():
            raise KanjiVGError(f"${KANJIVG_DIR_ENV} = {env} is not a folder")
        return folder
    return _package_dir()


@functools.cache
def _package_dir() -> Path:
    try:
        dist = metadata.distribution("kanjivg")
    except metadata.PackageNotFoundError:
        raise KanjiVGError(
            "KanjiVG stroke data is not installed; run `pip install kanjivg` (or `pip install "
            f"'mojinet[kanji]'`), or point ${KANJIVG_DIR_ENV} at a folder of KanjiVG SVG files"
        ) from None
    folder = Path(str(dist.locate_file("kanji")))
    if not folder.is_dir():
        raise KanjiVGError(f"the kanjivg package is installed but {folder} is missing; "
                           f"reinstall it (pip install --force-reinstall kanjivg)")
    return folder


def svg_path(char: str, folder: Path | None = None) -> Path:
    if len(char) != 1:
        raise KanjiVGError(f"expected one character, got {char!r}")
    path = (folder or kanjivg_dir()) / f"{ord(char):05x}.svg"
    if not path.is_file():
        raise KanjiVGError(
            f"KanjiVG has no strokes for {char!r} (U+{ord(char):04X}); expected {path}"
        )
    return path


# ----------------------------------------------------------------------------- path data
_TOKEN = re.compile(r"([MmCcSsLlHhVvQqTtZzAa])|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)")
_ARITY = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "Z": 0}


def _tokens(d: str):
    pos = 0
    for m in _TOKEN.finditer(d):
        gap = d[pos : m.start()]
        if gap.strip(" \t\r\n,"):
            raise KanjiVGError(f"path data: cannot read {gap.strip()!r} in {d[:60]!r}")
        pos = m.end()
        yield m.group(1) or float(m.group(2))
    if d[pos:].strip(" \t\r\n,"):
        raise KanjiVGError(f"path data: cannot read {d[pos:].strip()!r} in {d[:60]!r}")


def parse_path(d: str) -> list[np.ndarray]:
    """SVG path data → cubic Bézier segments, each (4, 2) control points (absolute coordinates).

    Lines become degenerate cubics and quadratics are raised to cubics, so that one flattening
    routine serves all. Subpaths after a second M are kept as further segments (KanjiVG strokes
    have one subpath).
    """
    tokens = list(_tokens(d))
    segments: list[np.ndarray] = []
    cur = np.zeros(2)
    start = np.zeros(2)
    prev_ctrl: np.ndarray | None = None  # reflection point for S/s (cubic) or T/t (quadratic)
    prev_kind = ""
    cmd = None
    i = 0

    def cubic(p1, p2, p3):
        segments.append(np.array([cur, p1, p2, p3], dtype=np.float64))

    while i < len(tokens):
        tok = tokens[i]
        if isinstance(tok, str):
            cmd = tok
            i += 1
            if cmd in "Aa":
                raise KanjiVGError("path data: arcs (A/a) are not supported")
            if cmd in "Zz":
                if not np.allclose(cur, start):
                    cubic(cur + (start - cur) / 3, cur + 2 * (start - cur) / 3, start.copy())
                cur = start.copy()
                prev_ctrl, prev_kind = None, ""
                continue
        elif cmd is None:
            raise KanjiVGError(f"path data must start with a command: {d[:60]!r}")
        upper = cmd.upper()
        n = _ARITY[upper]
        args = tokens[i : i + n]
        if len(args) < n or any(isinstance(a, str) for a in args):
            raise KanjiVGError(f"path data: {cmd} needs {n} numbers in {d[:60]!r}")
        i += n
        v = np.array(args, dtype=np.float64)
        rel = cmd.islower()
        base = cur if rel else np.zeros(2)
        if upper == "M":
            cur = base + v
            start = cur.copy()
            cmd = "l" if rel else "L"  # further pairs are implicit line-tos
            prev_ctrl, prev_kind = None, ""
            continue
        if upper in "LHV":
            if upper == "L":
                end = base + v
            elif upper == "H":
                end = np.array([v[0] + (cur[0] if rel else 0.0), cur[1]])
            else:
                end = np.array([cur[0], v[0] + (cur[1] if rel else 0.0)])
            cubic(cur + (end - cur) / 3, cur + 2 * (end - cur) / 3, end)
            cur, prev_ctrl, prev_kind = end, None, ""
        elif upper in "CS":
            if upper == "C":
                p1, p2, p3 = base + v[0:2], base + v[2:4], base + v[4:6]
            else:  # smooth: first control point is the reflection of the previous second one
                p1 = 2 * cur - prev_ctrl if prev_kind == "C" else cur.copy()
                p2, p3 = base + v[0:2], base + v[2:4]
            cubic(p1, p2, p3)
            cur, prev_ctrl, prev_kind = p3, p2, "C"
        else:  # Q, T: quadratic q → cubic, control points cur + 2/3 (q − cur), end + 2/3 (q − end)
            if upper == "Q":
                q, end = base + v[0:2], base + v[2:4]
            else:
                q = 2 * cur - prev_ctrl if prev_kind == "Q" else cur.copy()
                end = base + v[0:2]
            cubic(cur + 2 / 3 * (q - cur), end + 2 / 3 * (q - end), end)
            cur, prev_ctrl, prev_kind = end, q, "Q"
    if not segments:
        raise KanjiVGError(f"path data draws nothing: {d[:60]!r}")
    return segments


def flatten(segments: list[np.ndarray], step: float = 2.5) -> np.ndarray:
    """Cubic segments → polyline (n, 2), about one point every ``step`` units of arc length."""
    points = [segments[0][0][None]]
    for P in segments:  # P: (4, 2)
        length = np.linalg.norm(np.diff(P, axis=0), axis=1).sum()  # control polygon ≥ arc
        k = max(1, int(np.ceil(length / step)))
        t = np.linspace(0.0, 1.0, k + 1)[1:, None]  # (k, 1)
        s = 1.0 - t
        B = s**3 * P[0] + 3 * s**2 * t * P[1] + 3 * s * t**2 * P[2] + t**3 * P[3]  # (k, 2)
        points.append(B)
    return np.concatenate(points)  # (n, 2)


# ----------------------------------------------------------------------------- SVG files
def _attr(el: ET.Element, name: str) -> str | None:
    """A kvg: attribute, whatever namespace URI the file declared for the prefix."""
    for key, value in el.attrib.items():
        if key == name or key.endswith("}" + name):
            return value
    return None


def parse_svg(text: str | bytes, char: str) -> Glyph:
    """Parse one KanjiVG SVG document for ``char``."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        raise KanjiVGError(f"{char!r}: not a readable SVG file ({e})") from None
    strokes = []
    chains: list[tuple[int, ...]] = []  # per stroke: the ids of the <g> groups around it
    for path, chain in _paths_with_groups(root):
        d = path.get("d")
        if d:
            strokes.append(flatten(parse_path(d)))
            chains.append(chain)
    if not strokes:
        raise KanjiVGError(f"{char!r}: the SVG file has no stroke paths")
    components: list[str] = []
    radicals: list[str] = []
    for g in root.iter("{http://www.w3.org/2000/svg}g"):
        element = _attr(g, "element")
        if element is None or element == char:
            continue
        if element not in components:
            components.append(element)
        if _attr(g, "radical") and element not in radicals:
            radicals.append(element)
    return Glyph(char, tuple(strokes), tuple(components), tuple(radicals), _depths(chains))


_SVG = "{http://www.w3.org/2000/svg}"


def _paths_with_groups(root: ET.Element):
    """(path element, ids of its enclosing <g> groups, outermost first), in document order.

    A group's id is its first occurrence's number; a later group with the same ``kvg:element``,
    a ``kvg:part`` attribute and the same parent gets the id of the earlier one (the two halves
    of a split component)."""
    ids: dict[tuple, int] = {}

    def walk(el: ET.Element, chain: tuple[int, ...]):
        for child in el:
            if child.tag == _SVG + "path":
                yield child, chain
            elif child.tag == _SVG + "g":
                element, part = _attr(child, "element"), _attr(child, "part")
                parent = chain[-1] if chain else -1
                key = (parent, element) if element and part else ("g", len(ids))
                gid = ids.setdefault(key, len(ids))
                yield from walk(child, (*chain, gid))

    yield from walk(root, ())


def _depths(chains: list[tuple[int, ...]]) -> tuple[np.ndarray, ...]:
    """Group chains per stroke → ``Glyph.groups``: one (k,) array per depth below the groups
    that hold every stroke (the document's and the character's own), renumbered 0, 1, …"""
    common = 0
    while all(len(c) > common for c in chains) and len({c[common] for c in chains}) == 1:
        common += 1
    depths = []
    for d in range(common, max(len(c) for c in chains)):
        raw = [c[d] if len(c) > d else -1 for c in chains]
        number = {g: i for i, g in enumerate(dict.fromkeys(g for g in raw if g >= 0))}
        depths.append(np.array([number.get(g, -1) for g in raw], dtype=np.int64))  # (k,)
    return tuple(depths)


@functools.lru_cache(maxsize=4096)
def _load_cached(char: str, folder: Path) -> Glyph:
    return parse_svg(svg_path(char, folder).read_bytes(), char)


def load_glyph(char: str) -> Glyph:
    """The KanjiVG strokes and components of one character (parsed once, then cached)."""
    return _load_cached(char, kanjivg_dir())
