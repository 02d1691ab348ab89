"""Real pen strokes as data: one ``Sample`` type for every source, and strict readers.

A sample is one character written once: its label, its strokes in writing order (each an
``(n, 2)`` array of (x, y) points, with optional times), who wrote it and where it came from.
Every reader maps its source's coordinates into **one frame**: x to the right, y down, the
source's writing box scaled so that its longer side is 1 (tegaki's 1000 × 1000 box → [0, 1]²).
``render.py`` draws samples of any source with the synthetic writer's pen, and
``Sample.to_glyph`` hands them to the writer's distortions in KanjiVG's 109-unit box.

Formats (any file may also be gzip-compressed, ``NAME.gz``):

=========================  ====================================================  =============
format                     files                                                 box
=========================  ====================================================  =============
tegaki character XML       ``<character>`` (tegaki-lab's ``<writer>/s1/N.xml``)   ``<width>``,
tegaki collection          ``.charcol``: ``<character-collection><set>…``         ``<height>``
                                                                                 or 1000
Tomoe XML dictionary       ``<dictionary><character>…`` (handwriting-ja.xml)      1000
Tomoe tdic                 ``.tdic`` text (tomoe_data)                            300
code-point JSON lines      ``[code point, [[[x, y], …], …]]`` (cnn_chinese_hw)    1000
mojinet JSON lines         one object per line, see ``JSONL_FIELDS`` below        its ``box``
tar archives               ``.tar``, ``.tar.gz``, ``.tgz`` of the above (tegaki-lab)
=========================  ====================================================  =============

The **mojinet JSON-lines format** (``.jsonl``; what the draw page writes for "learn my hand"):
one JSON object per line, ::

    {"label": "あ", "strokes": [[[12, 30, 0], [40, 31, 16], …], …], "box": [280, 280],
     "writer": "anna", "source": "mojinet draw page", "time": "2026-12-01T21:40:00Z"}

``label`` (the character) and ``strokes`` (strokes in writing order; points ``[x, y]`` or
``[x, y, t]`` with t in milliseconds since the character's first point, all points alike) are
required; ``box`` is the writing area ``[width, height]`` in the units of x and y, whose origin
is (0, 0) (default: the points' bounding square); ``writer`` (default: the file's name),
``source`` (default "mojinet"), ``time`` (when it was written, ISO 8601) and ``format``
(``"mojinet-strokes/1"``) are optional. Other keys are refused, so that a typo is not lost.

Safety: files are read whole but never more than ``MAX_BYTES`` (also after decompression);
XML goes through expat with every entity declaration refused and no external entity or DTD
fetched; archives are read in memory (nothing is extracted to disk), regular files only; every
coordinate must be finite. Errors are ``StrokeFormatError`` naming the file (and archive
member, line) and what is wrong.

Non-goals: writing any format but our own; pressure and tilt (tegaki may record them; ignored).
"""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
import xml.parsers.expat
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from .._files import atomic_writer
from .kanjivg import BOX, Glyph

MAX_BYTES = 256 << 20  # one file (or archive member), after decompression
MAX_ARCHIVE_BYTES = 2 << 30  # the members of one archive together
MAX_LINE = 4 << 20  # one JSON line
MAX_STROKES = 200  # per character
MAX_POINTS = 100_000  # per character
MAX_COORD = 1e7  # |x|, |y| in the source's units
MAX_LABEL = 16  # characters in a label

FORMAT = "mojinet-strokes/1"
JSONL_FIELDS = ("label", "strokes", "box", "writer", "source", "time", "format")
SUFFIXES = {".xml": "xml", ".charcol": "xml", ".tdic": "tdic", ".json": "jsonl",
            ".jsonl": "jsonl", ".ndjson": "jsonl"}
ARCHIVES = (".tar", ".tar.gz", ".tgz")

# Who made the published sets a source name stands for, and under which licence (docs/kanji.md,
# "Real handwriting"). A user's own file in one of these formats gets the format's source name;
# give ``source=`` to the readers (or "source" in JSON lines) to say otherwise.
CREDITS = {
    "tegaki": "tegaki handwriting samples (tegaki project, github.com/tegaki/tegaki), LGPL-2.1",
    "tegaki-lab": "tegaki-lab samples (tegaki project, github.com/tegaki/tegaki), GPL-2.0+",
    "tomoe": "Tomoe handwriting dictionary (Debian tegaki-zinnia-japanese), LGPL-2.1+",
    "tomoe_data": "tomoe_data by Hiroyuki Komatsu, available at "
                  "https://github.com/hiroyuki-komatsu/tomoe_data/ (Apache-2.0 or CC BY 4.0)",
    "cnn_chinese_hw": "cnn_chinese_hw supplemental data (github.com/mcyph/cnn_chinese_hw), "
                      "LGPL-2.1",
    "kanjivg": "KanjiVG (https://kanjivg.tagaini.net), Ulrich Apel and contributors, "
               "CC BY-SA 3.0",
}


class StrokeFormatError(ValueError):
    """A strokes file cannot be read: its name, and what is wrong with it."""


@dataclass(frozen=True, eq=False)
class Sample:
    """One character written once.

    label: the character (a short string: kana and kanji are one character)
    strokes: one (n_i, 2) float64 array of (x, y) per stroke, in writing order, in the frame:
        x right, y down, the writing box scaled to a longer side of 1
    writer, session: who wrote it, and in which sitting (tegaki-lab: "train/s2"), if known
    source: the collection or format (a key of ``CREDITS``, or the JSON line's own)
    origin: the file (and archive member, line) it was read from
    times: None, or one (n_i,) float64 array per stroke: milliseconds since the first point
    box: (width, height) of the writing box in the frame (1 along the longer side)
    groups: component groups per stroke by depth, as ``kanjivg.Glyph.groups`` (KanjiVG only;
        empty when the source does not know the components)
    time: when it was written (ISO 8601), if the source says
    """

    label: str
    strokes: tuple[np.ndarray, ...]
    writer: str = ""
    source: str = ""
    origin: str = ""
    session: str = ""
    times: tuple[np.ndarray, ...] | None = None
    box: tuple[float, float] = (1.0, 1.0)
    groups: tuple[np.ndarray, ...] = field(default=())
    time: str = ""

    def __post_init__(self):
        where = f"{self.origin}: " if self.origin else ""
        label = self.label
        if (not isinstance(label, str) or not label or len(label) > MAX_LABEL
                or not label.isprintable() or any(c.isspace() for c in label)):
            raise StrokeFormatError(f"{where}label {label!r} must be 1 to {MAX_LABEL} printable "
                                    f"characters without spaces")
        if not 1 <= len(self.strokes) <= MAX_STROKES:
            raise StrokeFormatError(f"{where}{label}: {len(self.strokes)} strokes; a character "
                                    f"needs 1 to {MAX_STROKES}")
        for i, P in enumerate(self.strokes):
            if not (isinstance(P, np.ndarray) and P.ndim == 2 and P.shape[1] == 2
                    and len(P) >= 1 and P.dtype == np.float64):
                raise StrokeFormatError(f"{where}{label}: stroke {i + 1} must be a float64 "
                                        f"array of shape (n >= 1, 2), got "
                                        f"{getattr(P, 'shape', type(P).__name__)}")
            if not np.isfinite(P).all():
                raise StrokeFormatError(f"{where}{label}: stroke {i + 1} has a NaN or infinite "
                                        f"coordinate")
        if sum(len(P) for P in self.strokes) > MAX_POINTS:
            raise StrokeFormatError(f"{where}{label}: more than {MAX_POINTS:,} points")
        if self.times is not None and [len(t) for t in self.times] != [len(P) for P in
                                                                       self.strokes]:
            raise StrokeFormatError(f"{where}{label}: times do not match the strokes' points")

    @property
    def n_points(self) -> int:
        return sum(len(P) for P in self.strokes)

    def to_glyph(self) -> Glyph:
        """The strokes in KanjiVG's 109-unit box (the frame × 109), for the synthetic writer's
        distortions (``handwriting.jitter_strokes``); components only where ``groups`` has
        them."""
        return Glyph(self.label, tuple(P * BOX for P in self.strokes), (), (), self.groups)

    def to_json(self) -> dict:
        """This sample as a mojinet JSON-lines object (the frame's coordinates, box included)."""
        if self.times is None:
            points = [P.tolist() for P in self.strokes]
        else:
            points = [np.column_stack([P, t]).tolist() for P, t in zip(self.strokes, self.times)]
        out = {"label": self.label, "strokes": points, "box": list(self.box),
               "writer": self.writer, "source": self.source or "mojinet", "format": FORMAT}
        return out | ({"time": self.time} if self.time else {})


def make_sample(label, strokes: list, box: tuple[float, float], origin: str, *, writer="",
                source="", session="", times: list | None = None, time: str = "") -> Sample:
    """A ``Sample`` from strokes in a source's own units: each stroke an (n, 2) array-like, the
    writing box (width, height) with its origin at (0, 0); scaled into the frame."""
    w, h = (float(v) for v in box)
    if not (np.isfinite([w, h]).all() and w > 0 and h > 0):
        raise StrokeFormatError(f"{origin}: the writing box must be positive, got {box}")
    scale = 1.0 / max(w, h)
    arrays = []
    for i, P in enumerate(strokes):
        P = np.asarray(P, dtype=np.float64)
        if P.ndim != 2 or P.shape[1] != 2 or len(P) == 0:
            raise StrokeFormatError(f"{origin}: {label}: stroke {i + 1} needs (x, y) points, "
                                    f"got shape {P.shape}")
        if not (np.isfinite(P).all() and np.abs(P).max() <= MAX_COORD):
            raise StrokeFormatError(f"{origin}: {label}: stroke {i + 1} has a coordinate that "
                                    f"is not a finite number within ±{MAX_COORD:g}")
        arrays.append(P * scale)
    stamps = None if times is None else tuple(np.asarray(t, dtype=np.float64) for t in times)
    return Sample(label, tuple(arrays), writer, source, origin, session, stamps,
                  (w * scale, h * scale), time=time)


def from_glyph(glyph: Glyph) -> Sample:
    """A KanjiVG glyph as a ``Sample`` (writer and source "kanjivg", components kept)."""
    return Sample(glyph.char, tuple(P / BOX for P in glyph.strokes), "kanjivg", "kanjivg",
                  f"kanjivg:{glyph.char}", groups=glyph.groups)


# ----------------------------------------------------------------------------- bytes and text
def _limited(raw: bytes, origin: str, gz: bool) -> bytes:
    """The file's bytes, gunzipped if ``gz``, refusing more than MAX_BYTES."""
    if not gz:
        if len(raw) > MAX_BYTES:
            raise StrokeFormatError(f"{origin}: {len(raw):,} bytes is over the "
                                    f"{MAX_BYTES:,}-byte limit for one strokes file")
        return raw
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) as f:
            data = f.read(MAX_BYTES + 1)
    except (OSError, EOFError, zlib.error) as e:
        raise StrokeFormatError(f"{origin}: not a readable gzip file ({e})") from None
    if len(data) > MAX_BYTES:
        raise StrokeFormatError(f"{origin}: decompresses to more than {MAX_BYTES:,} bytes; "
                                f"refused (split the file)")
    return data


def _text(data: bytes, origin: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise StrokeFormatError(f"{origin}: not UTF-8 text (byte {e.start}); save it as "
                                f"UTF-8") from None


def _stem(name: str) -> str:
    """'writer1-hiragana.charcol.gz' → 'writer1-hiragana'."""
    base = PurePosixPath(name).name
    if base.endswith(".gz"):
        base = base[:-3]
    return base.rsplit(".", 1)[0] if "." in base else base


# ----------------------------------------------------------------------------- XML (tegaki, Tomoe)
XML_ROOTS = {"character": "tegaki", "character-collection": "tegaki", "dictionary": "tomoe"}
XML_BOX = 1000.0  # tegaki's and Tomoe's writing box when a file does not give one
_XML_PARENTS = {"utf8": "character", "width": "character", "height": "character",
                "strokes": "character", "stroke": "strokes", "point": "stroke"}


class _XMLCharacters:
    """expat handlers that collect ``<character>`` elements wherever they are (the root, a
    ``<set>`` of a collection, a ``<dictionary>``). Elements we do not know are looked
    through for characters outside ``<character>`` (a collection's ``<set>``), skipped with their
    content directly inside it (Tomoe's ``<readings>``), and an error anywhere else (inside
    ``<strokes>``, ``<stroke>``, ``<point>``)."""

    def __init__(self, origin: str, writer: str, source: str | None, session: str):
        self.origin, self.writer, self.source, self.session = origin, writer, source, session
        self.samples: list[Sample] = []
        self.path: list[str] = []
        self.char: dict | None = None
        self.text: list[str] | None = None
        self.skipping = 0  # depth inside an element we skip

    def fail(self, parser, message: str):
        raise StrokeFormatError(f"{self.origin}, line {parser.CurrentLineNumber}: {message}")

    def start(self, parser, tag: str, attrs: dict):
        parent = self.path[-1] if self.path else None
        self.path.append(tag)
        if tag == "character" and self.char is not None:
            self.fail(parser, "<character> inside <character>")
        if self.skipping or (parent == "character" and tag not in _XML_PARENTS):
            self.skipping += 1
            return
        if parent is None:
            if tag not in XML_ROOTS:
                self.fail(parser, f"<{tag}> is not a tegaki or Tomoe strokes file (expected "
                                  f"<{'>, <'.join(XML_ROOTS)}>)")
            self.source = self.source or XML_ROOTS[tag]
        if tag == "character":
            self.char = {"label": None, "width": None, "height": None, "strokes": [],
                         "times": [], "line": parser.CurrentLineNumber}
        elif self.char is not None:
            self._start_inside(parser, tag, parent, attrs)

    def _start_inside(self, parser, tag: str, parent: str | None, attrs: dict):
        if _XML_PARENTS.get(tag) != parent:
            self.fail(parser, f"unexpected <{tag}> inside <{parent}>")
        if tag in ("utf8", "width", "height"):
            self.text = []
        elif tag == "stroke":
            self.char["strokes"].append([])
            self.char["times"].append([])
        elif tag == "point":
            try:
                x, y = float(attrs["x"]), float(attrs["y"])
                t = float(attrs["timestamp"]) if "timestamp" in attrs else None
            except (KeyError, ValueError):
                self.fail(parser, f"<point> needs numbers x and y (and optionally timestamp), "
                                  f"got {attrs}")
            self.char["strokes"][-1].append((x, y))
            self.char["times"][-1].append(t)

    def chars(self, parser, data: str):
        if self.text is not None:
            self.text.append(data)
            if sum(map(len, self.text)) > 64:
                self.fail(parser, f"<{self.path[-1]}> is longer than 64 characters")

    def end(self, parser, tag: str):
        self.path.pop()
        if self.skipping:
            self.skipping -= 1
        elif self.text is not None and tag in ("utf8", "width", "height"):
            self.char["label" if tag == "utf8" else tag] = "".join(self.text).strip()
            self.text = None
        elif tag == "character":
            self.samples.append(self._sample(parser, self.char))
            self.char = None

    def _sample(self, parser, c: dict) -> Sample:
        origin = f"{self.origin}, line {c['line']}"
        if not c["label"]:
            self.fail(parser, "a <character> without <utf8> (its label)")
        if not c["strokes"] or not all(c["strokes"]):
            self.fail(parser, f"{c['label']}: a character needs strokes, each with points")
        try:
            box = (float(c["width"] or XML_BOX), float(c["height"] or XML_BOX))
        except ValueError:
            self.fail(parser, f"<width>/<height> must be numbers, got {c['width']!r}, "
                              f"{c['height']!r}")
        stamps = c["times"]
        timed = all(t is not None for ts in stamps for t in ts)
        return make_sample(c["label"], c["strokes"], box, origin, writer=self.writer,
                           source=self.source, session=self.session,
                           times=stamps if timed else None)


def _refuse_entity(name, *args):
    raise StrokeFormatError(f"the XML declares an entity ({name!r}); strokes files need none, "
                            f"and entity expansion is refused")


def _refuse_external(*args):
    raise StrokeFormatError("the XML refers to an external entity; refused")


def read_xml(data: bytes, origin: str, writer: str = "", source: str | None = None,
             session: str = "") -> list[Sample]:
    """Samples from tegaki character XML, a tegaki ``.charcol`` or a Tomoe XML dictionary."""
    h = _XMLCharacters(origin, writer, source, session)
    p = xml.parsers.expat.ParserCreate("UTF-8")
    p.EntityDeclHandler = _refuse_entity
    p.UnparsedEntityDeclHandler = _refuse_entity
    p.ExternalEntityRefHandler = _refuse_external
    p.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.StartElementHandler = lambda tag, attrs: h.start(p, tag, attrs)
    p.EndElementHandler = lambda tag: h.end(p, tag)
    p.CharacterDataHandler = lambda text: h.chars(p, text)
    try:
        p.Parse(data, True)
    except xml.parsers.expat.ExpatError as e:
        raise StrokeFormatError(f"{origin}: not well-formed XML ({e})") from None
    except StrokeFormatError as e:
        if str(e).startswith(origin):
            raise
        raise StrokeFormatError(f"{origin}: {e}") from None
    return h.samples


# ----------------------------------------------------------------------------- Tomoe tdic
TDIC_BOX = 300.0  # tomoe_data's grid (its coordinates are those of the 1000-unit XML × 0.3)
_TDIC_COUNT = re.compile(r":(\d+)")
_TDIC_STROKE = re.compile(r"(\d+)((?:\s*\(\s*-?\d+(?:\.\d+)?\s+-?\d+(?:\.\d+)?\s*\))*)\s*")
_TDIC_POINT = re.compile(r"\(\s*(-?\d+(?:\.\d+)?)\s+(-?\d+(?:\.\d+)?)\s*\)")


def read_tdic(text: str, origin: str, writer: str = "", source: str = "tomoe_data",
              ) -> list[Sample]:
    """Samples from Tomoe's tdic text: blocks of ``CHAR``, ``:STROKES``, then one line per
    stroke ``N (x1 y1) … (xN yN)``, separated by blank lines."""
    lines = text.splitlines()
    samples, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        label, start = lines[i].strip(), i + 1
        count = _TDIC_COUNT.fullmatch(lines[i + 1].strip()) if i + 1 < len(lines) else None
        if count is None:
            raise StrokeFormatError(f"{origin}, line {i + 2}: expected ':<number of strokes>' "
                                    f"after the character {label!r}")
        k = int(count.group(1))
        if not 1 <= k <= MAX_STROKES or i + 2 + k > len(lines):
            raise StrokeFormatError(f"{origin}, line {i + 2}: {label}: {k} strokes announced, "
                                    f"{max(0, len(lines) - i - 2)} lines follow")
        strokes = [_tdic_stroke(lines[i + 2 + j], f"{origin}, line {i + 3 + j}")
                   for j in range(k)]
        samples.append(make_sample(label, strokes, (TDIC_BOX, TDIC_BOX),
                                   f"{origin}, line {start}", writer=writer, source=source))
        i += 2 + k
    return samples


def _tdic_stroke(line: str, where: str) -> list[tuple[float, float]]:
    m = _TDIC_STROKE.fullmatch(line.strip())
    if m is None:
        raise StrokeFormatError(f"{where}: expected 'N (x y) (x y) …', got {line[:60]!r}")
    points = [(float(x), float(y)) for x, y in _TDIC_POINT.findall(m.group(2))]
    if len(points) != int(m.group(1)) or not points:
        raise StrokeFormatError(f"{where}: {m.group(1)} points announced, {len(points)} given")
    return points


# ----------------------------------------------------------------------------- JSON lines
CODEPOINT_BOX = 1000.0  # cnn_chinese_hw's points lie within 0–1000 (80–830 in its data)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number strokes may use")


def read_jsonl(text: str, origin: str, writer: str = "", source: str | None = None,
               ) -> list[Sample]:
    """Samples from JSON lines: ``[code point, strokes]`` (cnn_chinese_hw) or mojinet objects
    (see the module's docstring); blank lines are skipped."""
    samples = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{origin}, line {number}"
        if len(line) > MAX_LINE:
            raise StrokeFormatError(f"{where}: longer than {MAX_LINE:,} characters")
        try:
            value = json.loads(line, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as e:
            raise StrokeFormatError(f"{where}: not a JSON value ({e})") from None
        if isinstance(value, list):
            samples.append(_codepoint_sample(value, where, writer, source or "cnn_chinese_hw"))
        elif isinstance(value, dict):
            samples.append(_mojinet_sample(value, where, writer, source))
        else:
            raise StrokeFormatError(f"{where}: expected [code point, strokes] or an object "
                                    f"with label and strokes, got {type(value).__name__}")
    return samples


def _points(strokes, where: str, width: tuple[int, ...]) -> list[np.ndarray]:
    """JSON strokes → (n, w) float64 arrays, refusing anything but numbers (no booleans)."""
    if not isinstance(strokes, list) or not strokes:
        raise StrokeFormatError(f"{where}: strokes must be a non-empty list of strokes")
    arrays = []
    for i, stroke in enumerate(strokes):
        ok = (isinstance(stroke, list) and stroke
              and all(isinstance(p, list) and len(p) in width for p in stroke)
              and len({len(p) for p in stroke}) == 1
              and all(type(v) in (int, float) for p in stroke for v in p))
        if not ok:
            raise StrokeFormatError(f"{where}: stroke {i + 1} must be a non-empty list of "
                                    f"points, each [x, y]" + (", or each [x, y, t]"
                                                              if 3 in width else ""))
        arrays.append(np.array(stroke, dtype=np.float64))
    return arrays


def _codepoint_sample(value: list, where: str, writer: str, source: str) -> Sample:
    if len(value) != 2 or type(value[0]) is not int or not 0 < value[0] <= 0x10FFFF:
        raise StrokeFormatError(f"{where}: expected [code point, strokes], got "
                                f"{json.dumps(value)[:60]}")
    strokes = _points(value[1], where, (2,))
    return make_sample(chr(value[0]), strokes, (CODEPOINT_BOX, CODEPOINT_BOX), where,
                       writer=writer, source=source)


def _mojinet_sample(value: dict, where: str, writer: str, source: str | None) -> Sample:
    unknown = set(value) - set(JSONL_FIELDS)
    if unknown or "label" not in value or "strokes" not in value:
        raise StrokeFormatError(f"{where}: a mojinet strokes line needs label and strokes and "
                                f"may have {', '.join(JSONL_FIELDS[2:])}; got "
                                f"{', '.join(sorted(value))}")
    if value.get("format", FORMAT) != FORMAT:
        raise StrokeFormatError(f"{where}: format {value['format']!r} is not {FORMAT!r}")
    for key in ("label", "writer", "source", "time"):
        if key in value and not isinstance(value[key], str):
            raise StrokeFormatError(f"{where}: {key} must be a string")
    arrays = _points(value["strokes"], where, (2, 3))
    timed = arrays[0].shape[1] == 3
    if any(P.shape[1] != arrays[0].shape[1] for P in arrays):
        raise StrokeFormatError(f"{where}: either every point has a time t or none has")
    box = value.get("box")
    if box is None:
        box = (max(float(P[:, :2].max()) for P in arrays),) * 2  # the points' bounding square
    elif not (isinstance(box, list) and len(box) == 2
              and all(type(v) in (int, float) for v in box)):
        raise StrokeFormatError(f"{where}: box must be [width, height], got {box!r}")
    return make_sample(value["label"], [P[:, :2] for P in arrays], tuple(box), where,
                       writer=value.get("writer", writer),
                       source=value.get("source", source or "mojinet"),
                       times=[P[:, 2] for P in arrays] if timed else None,
                       time=value.get("time", ""))


def to_jsonl(samples: Iterable[Sample]) -> str:
    """Samples as mojinet JSON lines (one object per line, UTF-8 labels kept)."""
    return "".join(json.dumps(s.to_json(), ensure_ascii=False) + "\n" for s in samples)


def write_jsonl(samples: Iterable[Sample], path) -> Path:
    """Write samples to a mojinet JSON-lines file, atomically (``.gz``: compressed)."""
    path = Path(path)
    payload = to_jsonl(samples).encode("utf-8")
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    with atomic_writer(path) as f:
        f.write(payload)
    return path


# ----------------------------------------------------------------------------- files, folders
def strokes_format(name: str) -> str | None:
    """'xml', 'tdic', 'jsonl' or 'tar' by the file name (``.gz`` allowed), or None."""
    lower = name.lower()
    if lower.endswith(ARCHIVES):
        return "tar"
    if lower.endswith(".gz"):
        lower = lower[:-3]
    return SUFFIXES.get(PurePosixPath(lower).suffix)


def _writer_session(parts: tuple[str, ...], fallback: str) -> tuple[str, str]:
    """Writer and session from a file's path in tegaki-lab's ``[split/]WRITER/sN/FILE``
    layout (session "split/sN"), else (``fallback``, "")."""
    if len(parts) >= 3 and re.fullmatch(r"s\d+", parts[-2]):
        session = "/".join((*parts[-4:-3], parts[-2]))
        return parts[-3], session
    return fallback, ""


def parse_strokes(data: bytes, name: str, origin: str, writer: str = "",
                  source: str | None = None, session: str = "") -> list[Sample]:
    """Samples from a file's bytes, its format chosen by ``name`` (see ``strokes_format``)."""
    fmt = strokes_format(name)
    if fmt is None or fmt == "tar":
        raise StrokeFormatError(f"{origin}: not a strokes file by its name (expected "
                                f"{', '.join(SUFFIXES)} or an archive {', '.join(ARCHIVES)}; "
                                f"each may end in .gz)")
    data = _limited(data, origin, name.lower().endswith(".gz"))
    writer = writer or _stem(name)
    if fmt == "xml":
        return read_xml(data, origin, writer, source, session)
    text = _text(data, origin)
    if fmt == "tdic":
        return read_tdic(text, origin, writer, source or "tomoe_data")
    return read_jsonl(text, origin, writer, source)


def read_tar(path, source: str | None = None) -> list[Sample]:
    """Samples from every strokes file in a tar archive (read in memory, regular files only;
    others — README, COPYING — are skipped). tegaki-lab's layout gives writer and session."""
    path = Path(path)
    samples, total = [], 0
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                where = f"{path}:{member.name}"
                parts = PurePosixPath(member.name).parts
                if member.isdir():
                    continue
                if not member.isfile() or member.name.startswith("/") or ".." in parts:
                    raise StrokeFormatError(f"{where}: only regular files with relative names "
                                            f"are read from an archive; refused")
                fmt = strokes_format(member.name)
                if fmt is None:
                    continue
                if fmt == "tar":
                    raise StrokeFormatError(f"{where}: an archive inside an archive; unpack it")
                total += member.size
                if member.size > MAX_BYTES or total > MAX_ARCHIVE_BYTES:
                    raise StrokeFormatError(f"{where}: over the size limit ({MAX_BYTES:,} bytes "
                                            f"a file, {MAX_ARCHIVE_BYTES:,} an archive)")
                data = tar.extractfile(member).read(MAX_BYTES + 1)
                writer, session = _writer_session(parts, _stem(path.name))
                samples += parse_strokes(data, member.name, where, writer,
                                         source or "tegaki-lab", session)
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise StrokeFormatError(f"{path}: not a readable tar archive ({e})") from None
    return samples


def read_file(path, writer: str = "", source: str | None = None, session: str = "",
              ) -> list[Sample]:
    """Samples from one strokes file or archive (see the module's table of formats)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such strokes file")
    if strokes_format(path.name) == "tar":
        return read_tar(path, source)
    if path.stat().st_size > MAX_BYTES:
        raise StrokeFormatError(f"{path}: {path.stat().st_size:,} bytes is over the "
                                f"{MAX_BYTES:,}-byte limit for one strokes file")
    return parse_strokes(path.read_bytes(), path.name, str(path), writer, source, session)


PACKAGED_PREFIX = "mojinet:"
PACKAGED = ("tomoe_data",)  # strokes shipped in mojinet/data/real/ (licences allow it)


def resolve_strokes_path(path) -> Path:
    """``path`` as a ``Path``; ``"mojinet:NAME"`` names strokes that ship with mojinet (``NAME``
    one of ``PACKAGED``, e.g. ``mojinet:tomoe_data``), so that a recipe works anywhere."""
    text = str(path)
    if not text.startswith(PACKAGED_PREFIX):
        return Path(path)
    name = text[len(PACKAGED_PREFIX):].strip("/")
    if name not in PACKAGED:
        raise FileNotFoundError(f"{text}: mojinet ships no strokes of that name; choose "
                                f"{', '.join(PACKAGED_PREFIX + n for n in PACKAGED)}, or give "
                                f"a file or folder path")
    return Path(__file__).resolve().parent / "real" / name


def read_strokes(path, writer: str = "", source: str | None = None) -> list[Sample]:
    """Samples from a strokes file, an archive, or a folder holding them (searched recursively
    in sorted order; files of other kinds are skipped; tegaki-lab's ``WRITER/sN/`` folders give
    writer and session). ``"mojinet:tomoe_data"``: the strokes that ship with mojinet
    (``resolve_strokes_path``)."""
    path = resolve_strokes_path(path)
    if not path.is_dir():
        return read_file(path, writer, source)
    files = [p for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".")
             and strokes_format(p.name) is not None]
    if not files:
        raise FileNotFoundError(f"{path}: no strokes files ({', '.join(SUFFIXES)}, archives "
                                f"{', '.join(ARCHIVES)}; .gz allowed) in this folder")
    samples = []
    for p in files:
        w, session = _writer_session(p.relative_to(path).parts, writer)
        samples += read_file(p, w, source, session)
    return samples


def from_kanjivg(chars: str) -> list[Sample]:
    """KanjiVG's strokes of each character, as samples (needs the ``kanjivg`` package)."""
    from .kanjivg import load_glyph

    return [from_glyph(load_glyph(c)) for c in chars]
