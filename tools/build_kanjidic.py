"""Build src/mojinet/data/charsets/kanjidic.json.gz from KANJIDIC2 (run by hand; not packaged).

KANJIDIC2 is © the Electronic Dictionary Research and Development Group (EDRDG), used under the
Creative Commons Attribution-ShareAlike licence, version 4.0
(https://www.edrdg.org/edrdg/licence.html; the Debian package's copyright file quotes the older
V3.0 statement, which allows adaptations under later versions). The table this script writes is
an adaptation of KANJIDIC2 and is distributed under CC BY-SA 4.0 with that credit.

What it keeps, per kanji: on'yomi (katakana), kun'yomi (hiragana; "." marks where okurigana start,
"-" a prefix or suffix; a few loanword readings like 粁 キロメートル are katakana), English
meanings, school grade, stroke count, (old, four-level) JLPT level. It leaves out everything
else, in particular Jack Halpern's frequency and SKIP codes, which carry extra conditions.

Usage (Debian/Ubuntu):
    apt-get install kanjidic-xml
    python tools/build_kanjidic.py                     # reads /usr/share/edict/kanjidic2.xml.gz
    python tools/build_kanjidic.py --source PATH --out PATH [--joyo-only]

Parsing: the standard library's expat, streamed (never the whole tree in memory). The file has an
internal DTD; any entity declaration in it is refused (no "billion laughs"), and external
entities are never fetched.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import xml.parsers.expat
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = Path("/usr/share/edict/kanjidic2.xml.gz")
DEFAULT_OUT = ROOT / "src/mojinet/data/charsets/kanjidic.json.gz"
JOYO = ROOT / "src/mojinet/data/charsets/joyo.txt"

FORMAT = "mojinet-kanjidic"
FORMAT_VERSION = 1
FIELDS = ["on", "kun", "meanings", "grade", "strokes", "jlpt"]
CREDIT = ("KANJIDIC2 © Electronic Dictionary Research and Development Group (EDRDG), "
          "used under CC BY-SA 4.0")
LICENCE = "CC BY-SA 4.0"
LICENCE_URL = "https://creativecommons.org/licenses/by-sa/4.0/"
EDRDG_LICENCE_URL = "https://www.edrdg.org/edrdg/licence.html"
SOURCE_URL = "https://www.edrdg.org/wiki/index.php/KANJIDIC_Project"


class KanjidicError(ValueError):
    """The source file is not a KANJIDIC2 file this script can read."""


def _refuse_entity(name, *args):
    raise KanjidicError(f"the XML declares an entity ({name!r}); KANJIDIC2 declares none, so "
                        f"this file is not the real one (entity expansion is refused)")


def _refuse_external(*args):
    raise KanjidicError("the XML refers to an external entity; refused")


def parse(stream, chunk_size: int = 1 << 16):
    """(header dict, {kanji: entry list in FIELDS order}) from a KANJIDIC2 XML byte stream."""
    header: dict[str, str] = {}
    table: dict[str, list] = {}
    path: list[str] = []
    text: list[str] = []
    entry: dict | None = None
    reading_type: str | None = None
    meaning_english = False

    def start(tag, attrs):
        nonlocal entry, reading_type, meaning_english
        path.append(tag)
        text.clear()
        if tag == "character":
            entry = {"literal": None, "on": [], "kun": [], "meanings": [], "grade": None,
                     "strokes": None, "jlpt": None}
        elif tag == "reading":
            reading_type = attrs.get("r_type")
        elif tag == "meaning":
            meaning_english = "m_lang" not in attrs or attrs["m_lang"] == "en"

    def end(tag):
        nonlocal entry
        value = "".join(text).strip()
        text.clear()
        path.pop()
        parent = path[-1] if path else None
        if parent == "header":
            header[tag] = value
        elif entry is None:
            pass
        elif tag == "literal":
            entry["literal"] = value
        elif tag == "reading" and reading_type == "ja_on":
            entry["on"].append(value)
        elif tag == "reading" and reading_type == "ja_kun":
            entry["kun"].append(value)
        elif tag == "meaning" and parent == "rmgroup" and meaning_english:
            entry["meanings"].append(value)
        elif tag == "grade":
            entry["grade"] = int(value)
        elif tag == "stroke_count" and entry["strokes"] is None:  # the first is the accepted one
            entry["strokes"] = int(value)
        elif tag == "jlpt":
            entry["jlpt"] = int(value)
        elif tag == "character":
            literal = entry.pop("literal")
            if not literal or len(literal) != 1:
                raise KanjidicError(f"a <character> has literal {literal!r}; expected one "
                                    f"character")
            if literal in table:
                raise KanjidicError(f"{literal} appears twice")
            table[literal] = [entry[f] for f in FIELDS]
            entry = None

    def chars(data):
        text.append(data)

    p = xml.parsers.expat.ParserCreate("UTF-8")
    p.EntityDeclHandler = _refuse_entity
    p.UnparsedEntityDeclHandler = _refuse_entity
    p.ExternalEntityRefHandler = _refuse_external
    p.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    try:
        while chunk := stream.read(chunk_size):
            p.Parse(chunk, False)
        p.Parse(b"", True)
    except xml.parsers.expat.ExpatError as e:
        raise KanjidicError(f"not well-formed XML: {e}") from e
    if "database_version" not in header or not table:
        raise KanjidicError("no KANJIDIC2 <header> with <database_version>, or no <character>")
    return header, table


def build(source: Path, joyo_only: bool = False) -> dict:
    raw = source.read_bytes()
    sha256 = hashlib.sha256(raw).hexdigest()
    opener = gzip.open if raw[:2] == b"\x1f\x8b" else open
    with opener(source, "rb") as f:
        header, table = parse(f)
    joyo = JOYO.read_text("utf-8").strip()
    missing = [c for c in joyo if c not in table]
    if missing:
        raise KanjidicError(f"{len(missing)} jōyō kanji are not in {source}: {''.join(missing)}")
    if joyo_only:
        table = {c: table[c] for c in joyo}
    kanji = dict(sorted(table.items()))
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "source": {
            "name": "KANJIDIC2",
            "file": source.name,
            "sha256": sha256,
            "file_version": header.get("file_version"),
            "database_version": header["database_version"],
            "date_of_creation": header.get("date_of_creation"),
            "url": SOURCE_URL,
        },
        "credit": CREDIT,
        "licence": LICENCE,
        "licence_url": LICENCE_URL,
        "edrdg_licence_url": EDRDG_LICENCE_URL,
        "notes": ("on: on'yomi (katakana); kun: kun'yomi (hiragana, '.' marks where okurigana "
                  "start, '-' a prefix or suffix; a few loanwords in katakana); meanings: "
                  "English; grade: 1-6 kyōiku, 8 other jōyō, 9-10 jinmeiyō; strokes: stroke "
                  "count; jlpt: the old four-level JLPT "
                  "(4 easiest, 1 hardest). Built by tools/build_kanjidic.py."),
        "fields": FIELDS,
        "count": len(kanji),
        "kanji": kanji,
    }


def write(table: dict, out: Path) -> int:
    payload = json.dumps(table, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    # mtime=0 and no file name: the same source gives the same bytes.
    data = gzip.compress(payload, compresslevel=9, mtime=0)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(out)
    return len(data)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE,
                    help=f"kanjidic2.xml or .xml.gz (default {DEFAULT_SOURCE})")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default {DEFAULT_OUT}")
    ap.add_argument("--joyo-only", action="store_true", help="keep only the 2,136 jōyō kanji")
    args = ap.parse_args(argv)
    if not args.source.exists():
        print(f"{args.source} not found: apt-get install kanjidic-xml, or download "
              f"kanjidic2.xml.gz from {SOURCE_URL} and pass --source", file=sys.stderr)
        return 1
    table = build(args.source, joyo_only=args.joyo_only)
    size = write(table, args.out)
    print(f"{args.out}: {table['count']:,} kanji from {args.source.name} "
          f"(database {table['source']['database_version']}, "
          f"{table['source']['date_of_creation']}), {size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
