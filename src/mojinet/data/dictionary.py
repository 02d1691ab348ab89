"""Readings and meanings of the characters a kana or kanji model reads.

``lookup(char) -> Entry | None``:

* a kanji → its on'yomi (katakana), kun'yomi (hiragana; "." marks where okurigana start, "-" a
  prefix or suffix; a few loanword readings such as 粁 キロメートル are katakana), English
  meanings, school grade, stroke count and (old, four-level) JLPT level, from the bundled
  table ``charsets/kanjidic.json.gz``: all 13,108 kanji of KANJIDIC2 (jōyō, jinmeiyō and the
  rest of JIS X 0208/0212/0213);
* a kana (hiragana, katakana, half-width katakana, small kana) → its romaji (Hepburn, from the
  character's Unicode name: "HIRAGANA LETTER SI" → "shi"; を → "wo", ぢ → "ji", づ → "zu"), with
  ``small`` set for ゃ, ッ …; no meanings;
* anything else (digits, Latin letters, punctuation, strings longer than one character) → None.

Strings longer than one character are NFC-normalised first, so か + a combining voiced mark
(U+3099) reads as が.
The table is read (and checked: gzip CRC, JSON, format, every entry's shape) on the first kanji
lookup; a damaged file raises ``DictionaryError`` saying how to repair it.

Source and licence: the kanji data is an adaptation of **KANJIDIC2** (database version 2022-235,
2022-08-23, from Debian's ``kanjidic-xml`` 2022.08.23), © the Electronic Dictionary Research and
Development Group (EDRDG), used under the Creative Commons Attribution-ShareAlike 4.0 licence
(https://www.edrdg.org/edrdg/licence.html, https://creativecommons.org/licenses/by-sa/4.0/).
The table is distributed under the same licence. EDRDG asks that every screen showing its data
carries the acknowledgement: use ``CREDIT`` and ``CREDIT_URL`` (the draw page does).
``tools/build_kanjidic.py`` rebuilds the table from ``kanjidic2.xml.gz``.

Non-goals: words (JMdict), readings of kana combinations (きゃ is two characters), pitch accent,
any language but English for meanings.
"""

from __future__ import annotations

import functools
import gzip
import json
import unicodedata
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

FORMAT = "mojinet-kanjidic"
FORMAT_VERSION = 1
FIELDS = ("on", "kun", "meanings", "grade", "strokes", "jlpt")
TABLE_FILE = "kanjidic.json.gz"  # in mojinet/data/charsets/

#: The acknowledgement EDRDG asks for on every screen that shows its data, and where it links.
CREDIT = "KANJIDIC2 © EDRDG, CC BY-SA 4.0"
CREDIT_URL = "https://www.edrdg.org/edrdg/licence.html"
SOURCE_URL = "https://www.edrdg.org/wiki/index.php/KANJIDIC_Project"

#: KANJIDIC2's grade field: 1–6 kyōiku (taught in that school year), 8 the rest of the jōyō,
#: 9 jinmeiyō (for names), 10 a jinmeiyō variant of a jōyō kanji.
GRADE_NAMES = {**{g: f"kyōiku, grade {g}" for g in range(1, 7)},
               8: "jōyō (secondary school)", 9: "jinmeiyō (names)",
               10: "jinmeiyō (variant of a jōyō kanji)"}

# Unicode names spell kana in Kunrei-shiki (SI, TI, TU, HU, ZI, DI, DU); romaji here is Hepburn.
_HEPBURN = {"SI": "shi", "ZI": "ji", "TI": "chi", "TU": "tsu", "DI": "ji", "DU": "zu", "HU": "fu"}
_KANA_PREFIXES = (("HIRAGANA LETTER ", "hiragana"), ("KATAKANA LETTER ", "katakana"),
                  ("HALFWIDTH KATAKANA LETTER ", "katakana"))


class DictionaryError(ValueError):
    """The bundled kanji table is missing or damaged; the message says how to repair it."""


@dataclass(frozen=True)
class Entry:
    """What mojinet knows about one character.

    ``kind``: "kanji", "hiragana" or "katakana". Kanji have ``on``/``kun``/``meanings`` (tuples,
    possibly empty) and ``grade``/``strokes``/``jlpt`` (None when KANJIDIC2 gives none); kana have
    ``romaji`` and ``small``. ``source`` names where the data comes from ("KANJIDIC2" for kanji,
    "Unicode" for kana: their romaji come from the characters' Unicode names).
    """

    char: str
    kind: str
    on: tuple[str, ...] = ()
    kun: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()
    grade: int | None = None
    strokes: int | None = None
    jlpt: int | None = None
    romaji: str | None = None
    small: bool = False
    source: str = ""

    @property
    def grade_name(self) -> str | None:
        return GRADE_NAMES.get(self.grade) if self.grade is not None else None

    def summary(self) -> str:
        """One line for a terminal: "on サン、セン; kun やま; mountain" or "ka (hiragana)"."""
        if self.kind != "kanji":
            return f"{self.romaji} ({'small ' if self.small else ''}{self.kind})"
        parts = [f"on {'、'.join(self.on)}" if self.on else "",
                 f"kun {'、'.join(self.kun)}" if self.kun else "", "; ".join(self.meanings)]
        return "; ".join(p for p in parts if p) or "no readings or meanings in KANJIDIC2"

    def to_dict(self) -> dict:
        """JSON-ready; kanji entries carry the credit that must be shown with them."""
        d = {"char": self.char, "kind": self.kind, "source": self.source}
        if self.kind == "kanji":
            d.update(on=list(self.on), kun=list(self.kun), meanings=list(self.meanings),
                     grade=self.grade, grade_name=self.grade_name, strokes=self.strokes,
                     jlpt=self.jlpt, credit=CREDIT, credit_url=CREDIT_URL)
        else:
            d.update(romaji=self.romaji, small=self.small)
        return d


# ----------------------------------------------------------------------------- kana
def kana_entry(char: str) -> Entry | None:
    """A single kana → its Entry (romaji from the Unicode name), anything else → None."""
    name = unicodedata.name(char, "")
    matched = [(prefix, kind) for prefix, kind in _KANA_PREFIXES if name.startswith(prefix)]
    if not matched:
        return None
    prefix, kind = matched[0]
    syllable = name.removeprefix(prefix)
    small = syllable.startswith("SMALL ")
    syllable = syllable.removeprefix("SMALL ").removeprefix("ARCHAIC ")
    if not (syllable.isascii() and syllable.isalpha()):  # e.g. KATAKANA LETTER MINNAN TONE-2
        return None
    romaji = _HEPBURN.get(syllable, syllable.lower())
    return Entry(char, kind, romaji=romaji, small=small, source="Unicode")


# ----------------------------------------------------------------------------- kanji table
class KanjiTable:
    """The bundled KANJIDIC2 extract: ``header`` (source, credit, licence) and kanji → Entry."""

    def __init__(self, header: dict, rows: dict[str, list]):
        self.header = header
        self._rows = rows

    def __len__(self) -> int:
        return len(self._rows)

    def __contains__(self, char: str) -> bool:
        return char in self._rows

    def __iter__(self):
        """The kanji, in code point order."""
        return iter(self._rows)

    def get(self, char: str) -> Entry | None:
        row = self._rows.get(char)
        if row is None:
            return None
        on, kun, meanings, grade, strokes, jlpt = row
        return Entry(char, "kanji", on=tuple(on), kun=tuple(kun), meanings=tuple(meanings),
                     grade=grade, strokes=strokes, jlpt=jlpt, source="KANJIDIC2")

    @classmethod
    def load(cls, path: str | Path | None = None) -> KanjiTable:
        """Read and check the table (the bundled one by default)."""
        where = path if path is not None else f"mojinet/data/charsets/{TABLE_FILE}"
        try:
            if path is None:
                raw = (resources.files("mojinet.data") / "charsets" / TABLE_FILE).read_bytes()
            else:
                raw = Path(path).read_bytes()
            table = json.loads(gzip.decompress(raw).decode("utf-8"))
        except FileNotFoundError as e:
            raise DictionaryError(_damaged(where, "the file is missing")) from e
        except (OSError, EOFError, zlib.error) as e:  # gzip: bad header, CRC, truncation
            raise DictionaryError(_damaged(where, f"not a complete gzip file: {e}")) from e
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise DictionaryError(_damaged(where, f"not valid JSON: {e}")) from e
        try:
            _check(table)
        except (AssertionError, KeyError, TypeError, ValueError) as e:
            raise DictionaryError(_damaged(where, str(e) or "unexpected structure")) from e
        rows = table.pop("kanji")
        return cls(table, rows)


def _damaged(where, why: str) -> str:
    return (f"the kanji dictionary {where} cannot be read ({why}). Reinstall mojinet "
            f"(pip install --force-reinstall mojinet) or rebuild the table with "
            f"tools/build_kanjidic.py from KANJIDIC2 (apt-get install kanjidic-xml).")


def _check(table) -> None:
    """Raise (AssertionError/KeyError/TypeError/ValueError) unless ``table`` is a valid table."""
    if not isinstance(table, dict):
        raise ValueError("the top level is not a JSON object")
    if table.get("format") != FORMAT:
        raise ValueError(f"format is {table.get('format')!r}, expected {FORMAT!r}")
    if table.get("version") != FORMAT_VERSION:
        raise ValueError(f"format version {table.get('version')!r}; this mojinet reads "
                         f"version {FORMAT_VERSION}")
    if tuple(table["fields"]) != FIELDS:
        raise ValueError(f"fields are {table['fields']}, expected {list(FIELDS)}")
    source = table["source"]
    if source.get("name") != "KANJIDIC2" or "EDRDG" not in table.get("credit", ""):
        raise ValueError("the header does not name KANJIDIC2 and credit EDRDG")
    rows = table["kanji"]
    if not isinstance(rows, dict) or len(rows) != table["count"]:
        raise ValueError(f"{len(rows)} entries where the header says {table['count']}")
    for char, row in rows.items():
        if len(char) != 1 or not isinstance(row, list) or len(row) != len(FIELDS):
            raise ValueError(f"entry {char!r} is malformed")
        on, kun, meanings, grade, strokes, jlpt = row
        texts_ok = all(isinstance(group, list) and all(isinstance(s, str) and s for s in group)
                       for group in (on, kun, meanings))
        numbers_ok = all(v is None or (type(v) is int and v > 0) for v in (grade, strokes, jlpt))
        if not (texts_ok and numbers_ok):
            raise ValueError(f"entry {char!r} is malformed: {row!r}")


@functools.cache
def kanji_table() -> KanjiTable:
    """The bundled table, read and checked once per process."""
    return KanjiTable.load()


# ----------------------------------------------------------------------------- lookup
def lookup(char: str) -> Entry | None:
    """The Entry of one character (kanji or kana), or None (digits, Latin, several chars …)."""
    if not isinstance(char, str):
        return None
    if len(char) != 1:  # a kana + combining voiced mark (U+3099) is one character in NFC
        char = unicodedata.normalize("NFC", char)  # (not applied to single characters: NFC
        if len(char) != 1:  # would turn CJK compatibility ideographs into other kanji)
            return None
    if unicodedata.name(char, "").startswith("CJK "):  # the table holds only CJK ideographs
        return kanji_table().get(char)
    return kana_entry(char)


def lookup_all(chars) -> dict[str, Entry]:
    """{label: Entry} for the labels that have one (e.g. a model's classes)."""
    found = {}
    for c in chars:
        entry = lookup(c)
        if entry is not None:
            found[c] = entry
    return found
