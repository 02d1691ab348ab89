"""Readings and meanings: the bundled KANJIDIC2 table, kana romaji, damaged files, the builder.

Facts checked by hand come from any kanji dictionary (山: on サン, kun やま, "mountain", 3 strokes,
grade 1). The table is also checked against two independent sources: our MEXT grade lists, and,
where Debian's ``kanjidic-xml`` is installed, the KANJIDIC2 XML itself (rebuilt and compared).
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import io
import json
import re
import tomllib
from fnmatch import fnmatch
from importlib import resources
from pathlib import Path

import pytest

from mojinet.data import dictionary
from mojinet.data.dictionary import CREDIT, DictionaryError, KanjiTable, lookup, lookup_all
from mojinet.data.kanji import charset

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = resources.files("mojinet.data") / "charsets" / dictionary.TABLE_FILE
XML = Path("/usr/share/edict/kanjidic2.xml.gz")


def _builder():
    path = ROOT / "tools/build_kanjidic.py"
    spec = importlib.util.spec_from_file_location("build_kanjidic", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bundled_json() -> dict:
    return json.loads(gzip.decompress(BUNDLED.read_bytes()))


# ----------------------------------------------------------------------------- kanji
@pytest.mark.parametrize("char, on, kun, meaning, strokes, grade", [
    ("山", "サン", "やま", "mountain", 3, 1),
    ("川", "セン", "かわ", "river", 3, 1),
    ("日", "ニチ", "ひ", "sun", 4, 1),
    ("水", "スイ", "みず", "water", 4, 1),
    ("木", "モク", "き", "tree", 4, 1),
    ("学", "ガク", "まな.ぶ", "study", 8, 1),
    ("語", "ゴ", "かた.る", "language", 14, 2),
])
def test_known_kanji(char, on, kun, meaning, strokes, grade):
    e = lookup(char)
    assert e.kind == "kanji" and e.char == char and e.source == "KANJIDIC2"
    assert on in e.on and kun in e.kun and meaning in e.meanings
    assert e.strokes == strokes and e.grade == grade
    assert e.grade_name == f"kyōiku, grade {grade}"
    assert e.summary().startswith(f"on {'、'.join(e.on)}; kun ")
    d = e.to_dict()
    assert d["on"] == list(e.on) and d["meanings"] == list(e.meanings)
    assert d["credit"] == CREDIT == "KANJIDIC2 © EDRDG, CC BY-SA 4.0"
    assert "romaji" not in d


def test_every_kyoiku_grade_agrees_with_the_mext_lists():
    """Two independent sources: KANJIDIC2's grade field and our MEXT lists (charsets/)."""
    for g in range(1, 7):
        chars = charset(f"grade{g}")
        wrong = {c: lookup(c).grade for c in chars if lookup(c).grade != g}
        assert not wrong, (g, wrong)


def test_joyo_kanji_all_have_entries_and_match_kanjidic_jouyou():
    joyo = set(charset("joyo"))
    assert len(joyo) == 2136 and all(lookup(c) is not None for c in joyo)
    table = dictionary.kanji_table()
    graded = {c for c in joyo | {"𠮟", "頰"} if c in table and 1 <= (table.get(c).grade or 0) <= 8}
    assert len(graded) == 2136
    # Our list writes two kanji in their common substitute forms; KANJIDIC2 grades the official
    # 2010 forms. Everything else agrees.
    assert joyo ^ graded == {"叱", "頬", "𠮟", "頰"}


def test_readings_are_kana_and_fields_are_sane():
    katakana = re.compile(r"^-?[\u30a0-\u30ff]+-?$")
    hiragana = re.compile(r"^-?[\u3040-\u309f\u30fc]+(\.[\u3040-\u309f]+)?-?$")  # ー: 碼 やーど
    table = dictionary.kanji_table()
    assert len(table) == table.header["count"] == 13108
    loanwords = []  # kun readings in katakana: units and elements (粁 キロメートル), 志 シリング
    for char in table:
        e = table.get(char)
        assert all(katakana.match(r) for r in e.on), (char, e.on)
        assert all(hiragana.match(r) or katakana.match(r) for r in e.kun), (char, e.kun)
        loanwords += [r for r in e.kun if not hiragana.match(r)]
        assert e.strokes is None or 1 <= e.strokes <= 84
        assert e.jlpt in (None, 1, 2, 3, 4) and e.grade in (None, 1, 2, 3, 4, 5, 6, 8, 9, 10)
    assert "キロメートル" in loanwords and len(loanwords) < 100
    for char in charset("joyo"):
        e = table.get(char)
        assert (e.on or e.kun) and e.meanings and 1 <= e.strokes <= 30, char


def test_header_records_source_and_credit(bundled_json):
    header = {k: v for k, v in bundled_json.items() if k != "kanji"}
    src = header["source"]
    assert src["name"] == "KANJIDIC2" and src["file"] == "kanjidic2.xml.gz"
    assert src["database_version"] == "2022-235" and src["date_of_creation"] == "2022-08-23"
    assert re.fullmatch(r"[0-9a-f]{64}", src["sha256"])
    assert "EDRDG" in header["credit"] and header["licence"] == "CC BY-SA 4.0"
    assert header["edrdg_licence_url"] == dictionary.CREDIT_URL
    assert header["count"] == len(bundled_json["kanji"])
    assert len(BUNDLED.read_bytes()) < 1_000_000  # the whole of KANJIDIC2 stays small


def test_table_is_shipped_as_package_data():
    """pyproject's package-data must name the table, or wheels would ship without it."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["mojinet.data"]
    assert any(fnmatch(f"charsets/{dictionary.TABLE_FILE}", p) for p in patterns)
    assert "src/mojinet/data/charsets/README.md" in config["project"]["license-files"]
    readme = (ROOT / "src/mojinet/data/charsets/README.md").read_text("utf-8")
    assert "KANJIDIC2" in readme and "CC BY-SA 4.0" in readme and "EDRDG" in readme


# ----------------------------------------------------------------------------- kana
@pytest.mark.parametrize("char, kind, romaji, small", [
    ("か", "hiragana", "ka", False), ("が", "hiragana", "ga", False),
    ("ゃ", "hiragana", "ya", True), ("っ", "hiragana", "tsu", True),
    ("し", "hiragana", "shi", False), ("ち", "hiragana", "chi", False),
    ("つ", "hiragana", "tsu", False), ("ふ", "hiragana", "fu", False),
    ("じ", "hiragana", "ji", False), ("ぢ", "hiragana", "ji", False),
    ("づ", "hiragana", "zu", False), ("ん", "hiragana", "n", False),
    ("を", "hiragana", "wo", False), ("ぱ", "hiragana", "pa", False),
    ("ヴ", "katakana", "vu", False), ("ッ", "katakana", "tsu", True),
    ("ア", "katakana", "a", False), ("ァ", "katakana", "a", True),
    ("ｶ", "katakana", "ka", False),  # half-width
    ("ㇰ", "katakana", "ku", True),  # katakana phonetic extensions
    ("か\u3099", "hiragana", "ga", False),  # か + combining voiced mark: が in NFC
])
def test_kana_romaji(char, kind, romaji, small):
    e = lookup(char)
    assert (e.kind, e.romaji, e.small) == (kind, romaji, small)
    assert e.meanings == () and e.on == () and e.source == "Unicode"
    assert e.to_dict() == {"char": e.char, "kind": kind, "source": "Unicode",
                           "romaji": romaji, "small": small}


def test_gojuon_romaji_are_distinct_and_the_same_for_both_scripts():
    hira = [lookup(c).romaji for c in charset("hiragana")]
    kata = [lookup(c).romaji for c in charset("katakana")]
    assert hira == kata and len(set(hira)) == 46
    assert hira[:5] == ["a", "i", "u", "e", "o"] and hira[-1] == "n"


@pytest.mark.parametrize("label", ["7", "0", "A", "z", "", " ", "きゃ", "山山", "ー", "々",
                                   "。", "\u3099", "é", None, 7])
def test_other_labels_have_no_entry(label):
    assert lookup(label) is None


def test_lookup_all_keeps_only_labels_with_entries():
    found = lookup_all(["山", "A", "か", "7", "川"])
    assert list(found) == ["山", "か", "川"]
    assert lookup_all([str(d) for d in range(10)]) == {}


def test_digits_never_read_the_table(monkeypatch):
    """A digits model must not pay for (or fail on) the kanji table."""
    def boom():
        raise AssertionError("the kanji table was read for a digit")
    monkeypatch.setattr(dictionary, "kanji_table", boom)
    assert lookup_all("0123456789abcXYZ") == {}
    assert lookup("か").romaji == "ka"


# ----------------------------------------------------------------------------- damaged files
def _write(path: Path, table: dict) -> Path:
    path.write_bytes(gzip.compress(json.dumps(table, ensure_ascii=False).encode()))
    return path


def _small_table(bundled_json, chars="山川") -> dict:
    table = {k: v for k, v in bundled_json.items() if k != "kanji"}
    table["kanji"] = {c: bundled_json["kanji"][c] for c in chars}
    table["count"] = len(chars)
    return table


def test_a_valid_copy_loads(tmp_path, bundled_json):
    t = KanjiTable.load(_write(tmp_path / "ok.json.gz", _small_table(bundled_json)))
    assert len(t) == 2 and t.get("山").meanings == ("mountain",) and t.get("水") is None


def _damage(kind, tmp_path, bundled_json) -> Path:
    good = gzip.compress(json.dumps(_small_table(bundled_json)).encode())
    p = tmp_path / f"{kind}.json.gz"
    if kind == "truncated":
        p.write_bytes(good[: len(good) // 2])
    elif kind == "bitflip":
        raw = bytearray(good)
        raw[len(raw) // 2] ^= 0x10
        p.write_bytes(bytes(raw))
    elif kind == "not-gzip":
        p.write_bytes(b"hello, not gzip at all")
    elif kind == "not-json":
        p.write_bytes(gzip.compress(b"{\"format\": \"mojinet-kanjidic\", "))
    elif kind == "wrong-format":
        _write(p, _small_table(bundled_json) | {"format": "something-else"})
    elif kind == "future-version":
        _write(p, _small_table(bundled_json) | {"version": 99})
    elif kind == "count":
        _write(p, _small_table(bundled_json) | {"count": 3})
    elif kind == "bad-entry":
        t = _small_table(bundled_json)
        t["kanji"]["山"] = [["サン"], "やま", ["mountain"], 1, 3, 4]  # kun is not a list
        _write(p, t)
    elif kind == "bad-number":
        t = _small_table(bundled_json)
        t["kanji"]["山"] = [["サン"], ["やま"], ["mountain"], 1, "3", 4]
        _write(p, t)
    elif kind == "no-credit":
        _write(p, _small_table(bundled_json) | {"credit": "someone"})
    elif kind == "list":
        _write(p, [1, 2, 3])
    return p


@pytest.mark.parametrize("kind", ["truncated", "bitflip", "not-gzip", "not-json", "wrong-format",
                                  "future-version", "count", "bad-entry", "bad-number",
                                  "no-credit", "list", "missing"])
def test_damaged_table_gives_a_clear_error(kind, tmp_path, bundled_json):
    path = _damage(kind, tmp_path, bundled_json)
    with pytest.raises(DictionaryError) as err:
        KanjiTable.load(path)
    message = str(err.value)
    assert str(path) in message
    assert "pip install --force-reinstall mojinet" in message
    assert "tools/build_kanjidic.py" in message


def test_damaged_bundled_table_fails_lookup_clearly(monkeypatch):
    monkeypatch.setattr(dictionary, "TABLE_FILE", "no-such-table.json.gz")
    dictionary.kanji_table.cache_clear()
    try:
        with pytest.raises(DictionaryError, match="mojinet/data/charsets/no-such-table.json.gz "
                                                  "cannot be read .the file is missing"):
            lookup("山")
        assert lookup("か").romaji == "ka"  # kana need no table
    finally:
        monkeypatch.undo()
        dictionary.kanji_table.cache_clear()
    assert lookup("山").kun == ("やま",)


# ----------------------------------------------------------------------------- the builder
SAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE kanjidic2 [
<!ELEMENT kanjidic2 (header,character*)>
<!-- a comment in the DTD, as in the real file -->
]>
<kanjidic2>
<header><file_version>4</file_version><database_version>2099-001</database_version>
<date_of_creation>2099-01-01</date_of_creation></header>
<character><literal>山</literal>
<misc><grade>1</grade><stroke_count>3</stroke_count><stroke_count>4</stroke_count>
<freq>131</freq><jlpt>4</jlpt></misc>
<reading_meaning><rmgroup>
<reading r_type="pinyin">shan1</reading><reading r_type="ja_on">サン</reading>
<reading r_type="ja_on">セン</reading><reading r_type="ja_kun">やま</reading>
<meaning>mountain</meaning><meaning m_lang="fr">montagne</meaning>
</rmgroup><nanori>たか</nanori></reading_meaning></character>
<character><literal>丂</literal><misc><stroke_count>2</stroke_count></misc></character>
</kanjidic2>
"""


def test_builder_parses_the_fields_it_keeps():
    header, table = _builder().parse(io.BytesIO(SAMPLE.encode()), chunk_size=50)
    assert header["database_version"] == "2099-001" and header["file_version"] == "4"
    assert table == {"山": [["サン", "セン"], ["やま"], ["mountain"], 1, 3, 4],
                     "丂": [[], [], [], None, 2, None]}


@pytest.mark.parametrize("doctype", [
    '<!DOCTYPE kanjidic2 [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>',
    '<!DOCTYPE kanjidic2 [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
    '<!DOCTYPE kanjidic2 [<!ENTITY % p "x">]>',
])
def test_builder_refuses_entity_declarations(doctype):
    b = _builder()
    xml = SAMPLE.replace(SAMPLE[SAMPLE.index("<!DOCTYPE"):SAMPLE.index("]>") + 2], doctype)
    with pytest.raises(b.KanjidicError, match="entity"):
        b.parse(io.BytesIO(xml.encode()))


def test_builder_refuses_broken_xml():
    b = _builder()
    with pytest.raises(b.KanjidicError, match="not well-formed"):
        b.parse(io.BytesIO(SAMPLE[:400].encode()))
    with pytest.raises(b.KanjidicError, match="database_version"):
        b.parse(io.BytesIO(b"<kanjidic2></kanjidic2>"))


def test_builder_output_is_reproducible_and_loads(tmp_path, bundled_json):
    b = _builder()
    table = _small_table(bundled_json)
    b.write(table, tmp_path / "a.json.gz")
    b.write(table, tmp_path / "b.json.gz")
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()
    assert KanjiTable.load(tmp_path / "a.json.gz").get("川").kun == ("かわ",)


@pytest.mark.skipif(not XML.exists(), reason="Debian's kanjidic-xml is not installed")
def test_bundled_table_is_exactly_what_the_builder_makes_from_kanjidic2(tmp_path, bundled_json):
    """Rebuild from the real XML (apt-get install kanjidic-xml) and compare byte for byte."""
    b = _builder()
    assert hashlib.sha256(XML.read_bytes()).hexdigest() == bundled_json["source"]["sha256"]
    out = tmp_path / "kanjidic.json.gz"
    b.write(b.build(XML), out)
    assert out.read_bytes() == BUNDLED.read_bytes()
