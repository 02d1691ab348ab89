"""Real pen strokes as data (data/strokes.py): the real files in ../shared/data/handwriting
(skipped when absent) and small hostile files made here."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections import Counter

import numpy as np
import pytest

from conftest import SHARED_DATA
from mojinet.data import strokes as st
from mojinet.data.strokes import (
    Sample,
    StrokeFormatError,
    from_glyph,
    make_sample,
    read_jsonl,
    read_strokes,
    read_tdic,
    read_xml,
    write_jsonl,
)

HW = SHARED_DATA / "handwriting"
needs_hw = pytest.mark.skipif(not HW.is_dir(), reason=f"{HW} is not here")


# ----------------------------------------------------------------------------- the real files
@pytest.fixture(scope="module")
def real():
    if not HW.is_dir():
        pytest.skip(f"{HW} is not here")
    files = {"hiragana": "tegaki/writer1-hiragana.charcol.gz",
             "katakana": "tegaki/writer1-katakana.charcol.gz",
             "lab": "tegaki/tegaki-lab-japanese.tar.gz",
             "cnn": "cnn_chinese_hw/supplemental_data.json.gz",
             "tdic": "tomoe_data/all.tdic", "tomoe": "tomoe_debian/handwriting-ja.xml.gz"}
    return {k: read_strokes(HW / f) for k, f in files.items()}


@needs_hw
def test_counts_match_the_readme(real):
    """The numbers of ../shared/data/handwriting/README.md."""
    assert (len(real["hiragana"]), len(real["katakana"])) == (74, 73)
    assert len(real["lab"]) == 500 and len({s.label for s in real["lab"]}) == 50
    assert len(real["cnn"]) == 1400 and len({s.label for s in real["cnn"]}) == 258
    assert len({s.label for s in real["tdic"]}) == 3012
    assert len(real["tomoe"]) == 6646 and len({s.label for s in real["tomoe"]}) == 6421


@needs_hw
def test_sources_writers_and_sessions(real):
    assert {s.source for s in real["hiragana"]} == {"tegaki"}
    assert {s.source for s in real["tomoe"]} == {"tomoe"}
    assert {s.source for s in real["tdic"]} == {"tomoe_data"}
    assert {s.source for s in real["cnn"]} == {"cnn_chinese_hw"}
    lab = Counter((s.writer, s.session) for s in real["lab"])
    writers = {"japanese-native1", "japanese-learner1"}
    sessions = {"train/s1", "train/s2", "train/s3", "train/s4", "eval/s1"}
    assert set(lab) == {(w, x) for w in writers for x in sessions}
    assert set(lab.values()) == {50}  # 50 kanji in each sitting
    assert all(s.origin.startswith(str(HW / "tegaki/tegaki-lab-japanese.tar.gz") + ":")
               for s in real["lab"])


@needs_hw
def test_times_where_the_source_records_them(real):
    a = next(s for s in real["hiragana"] if s.label == "あ")
    assert a.times is not None and a.times[0][0] == 0.0
    assert all(np.all(np.diff(t) >= 0) for t in a.times)  # milliseconds, never backwards
    assert all(s.times is None for s in real["tomoe"][:50])


@needs_hw
def test_point_density_of_each_source(real):
    """Tomoe keeps 2-3 key points a stroke, cnn_chinese_hw ~13, tegaki 46-79 (README)."""
    def per_stroke(samples):
        return np.mean([len(P) for s in samples for P in s.strokes])

    assert 2 <= per_stroke(real["tomoe"]) <= 3.5
    assert 2 <= per_stroke(real["tdic"]) <= 3.5
    assert 10 <= per_stroke(real["cnn"]) <= 16
    assert 40 <= per_stroke(real["lab"]) <= 80


@needs_hw
@pytest.mark.parametrize("key, label", [("lab", "三"), ("cnn", "三"), ("tdic", "三"),
                                        ("tomoe", "三"), ("hiragana", "こ"), ("katakana", "ニ")])
def test_orientation_of_every_format(real, key, label):
    """In the frame y points down and x right: 三's and こ's strokes come top to bottom, each
    written left to right, all within the unit box."""
    for s in (s for s in real[key] if s.label == label):
        ys = [P[:, 1].mean() for P in s.strokes]
        assert ys == sorted(ys), (s.origin, ys)
        assert all(P[-1, 0] > P[0, 0] for P in s.strokes[:1])  # the first stroke goes right
        points = np.concatenate(s.strokes)
        assert points.min() >= -0.02 and points.max() <= 1.05


@needs_hw
def test_tomoe_xml_and_tdic_are_the_same_strokes(real):
    """The README: 2,994 characters of the Debian XML are tomoe_data's strokes (300 → 1000)."""
    xml = {s.label: s for s in real["tomoe"]}
    a, b = xml["あ"], next(s for s in real["tdic"] if s.label == "あ")
    assert len(a.strokes) == len(b.strokes)
    for P, Q in zip(a.strokes, b.strokes):
        assert np.abs(P - Q).max() < 0.005


# ----------------------------------------------------------------------------- XML
CHARCOL = b"""<?xml version="1.0" encoding="UTF-8"?>
<character-collection>
<set name="a"><character><utf8>\xe3\x81\x82</utf8><width>500</width><height>250</height>
<strokes><stroke><point x="0" y="0" timestamp="0"/><point x="500" y="250" timestamp="20"/>
</stroke></strokes></character></set>
<set name="b"></set>
</character-collection>"""


def test_charcol_box_and_frame():
    (s,) = read_xml(CHARCOL, "x.charcol", writer="w")
    assert (s.label, s.writer, s.source, s.box) == ("あ", "w", "tegaki", (1.0, 0.5))
    assert s.strokes[0].tolist() == [[0.0, 0.0], [1.0, 0.5]]
    assert s.times[0].tolist() == [0.0, 20.0]


def test_tomoe_dictionary_with_external_dtd_and_character_references():
    """Tomoe's file names an external DTD (never fetched) and writes labels as &#x…; and may
    carry readings beside the strokes (skipped)."""
    doc = b"""<?xml version="1.0" standalone="no"?>
<!DOCTYPE dictionary SYSTEM "http://example.invalid/dict.dtd">
<dictionary name="t"><character><utf8>&#x5C71;</utf8><readings><reading>yama</reading>
</readings><strokes><stroke><point x="1" y="2"/><point x="3" y="4"/></stroke></strokes>
</character></dictionary>"""
    (s,) = read_xml(doc, "t.xml")
    assert (s.label, s.source) == ("山", "tomoe")
    assert np.allclose(s.strokes[0], [[0.001, 0.002], [0.003, 0.004]])  # 1000-unit box


LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<character><utf8>&lol2;</utf8><strokes><stroke><point x="1" y="1"/></stroke></strokes>
</character>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE character [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<character><utf8>&e;</utf8><strokes><stroke><point x="1" y="1"/></stroke></strokes></character>"""
PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE character [<!ENTITY % p SYSTEM "http://example.invalid/x.dtd"> %p;]>
<character><utf8>a</utf8><strokes><stroke><point x="1" y="1"/></stroke></strokes></character>"""


@pytest.mark.parametrize("doc", [LAUGHS, EXTERNAL, PARAMETER], ids=["laughs", "external",
                                                                   "parameter"])
def test_entity_tricks_are_refused(doc):
    with pytest.raises(StrokeFormatError, match=r"evil\.xml.*entity"):
        read_xml(doc, "evil.xml")


def _char(inner: str) -> bytes:
    return f"<character><utf8>a</utf8><strokes>{inner}</strokes></character>".encode()


@pytest.mark.parametrize("doc, message", [
    (b"<svg/>", "not a tegaki or Tomoe strokes file"),
    (b"<character><utf8>a</utf8>", "not well-formed"),
    (_char('<stroke><point x="1"/></stroke>'), r"line 1: <point> needs numbers"),
    (_char('<stroke><point x="a" y="1"/></stroke>'), "needs numbers"),
    (_char('<stroke><point x="nan" y="1"/></stroke>'), "not a finite number"),
    (_char('<stroke><point x="1e300" y="1"/></stroke>'), "not a finite number"),
    (_char('<stroke><b/></stroke>'), "unexpected <b> inside <stroke>"),
    (_char(""), "needs strokes"),
    (_char("<stroke></stroke>"), "needs strokes, each with points"),
    (b"<character><strokes><stroke><point x='1' y='1'/></stroke></strokes></character>",
     "without <utf8>"),
    (b"<character><utf8>a b</utf8><strokes><stroke><point x='1' y='1'/></stroke></strokes>"
     b"</character>", "without spaces"),
    (b"<character><utf8>" + b"x" * 80 + b"</utf8></character>", "longer than 64"),
    (b"<character><utf8>a</utf8><width>wide</width><strokes><stroke><point x='1' y='1'/>"
     b"</stroke></strokes></character>", "must be numbers"),
    (b"<dictionary><character><character/></character></dictionary>", "inside <character>"),
])
def test_bad_xml_names_the_file_and_the_problem(doc, message):
    with pytest.raises(StrokeFormatError, match=message) as e:
        read_xml(doc, "bad.xml")
    assert str(e.value).startswith("bad.xml")


def test_too_many_strokes_or_points_are_refused():
    many = "".join('<stroke><point x="1" y="1"/></stroke>' for _ in range(st.MAX_STROKES + 1))
    with pytest.raises(StrokeFormatError, match="strokes; a character needs"):
        read_xml(_char(many), "many.xml")
    with pytest.raises(StrokeFormatError, match="more than"):
        make_sample("a", [np.zeros((st.MAX_POINTS + 1, 2))], (1, 1), "dense")


# ----------------------------------------------------------------------------- tdic
TDIC = "あ\n:2\n2 (0 0) (300 0) \n3 (0 10) (10 20) (30 300)\n\nい\n:1\n1 (5 5)\n"


def test_tdic():
    a, i = read_tdic(TDIC, "x.tdic", writer="komatsu")
    assert (a.label, i.label, a.source, a.writer) == ("あ", "い", "tomoe_data", "komatsu")
    assert a.strokes[0].tolist() == [[0.0, 0.0], [1.0, 0.0]]
    assert "line 1" in a.origin and "line 6" in i.origin


@pytest.mark.parametrize("text, message", [
    ("あ\n2\n", r"line 2: expected ':<number of strokes>'"),
    ("あ\n:3\n1 (0 0)\n", "3 strokes announced, 1 lines follow"),
    ("あ\n:1\n2 (0 0)\n", r"line 3: 2 points announced, 1 given"),
    ("あ\n:1\n1 (0, 0)\n", r"line 3: expected 'N \(x y\)"),
    ("あ\n:0\n", "0 strokes announced"),
])
def test_bad_tdic(text, message):
    with pytest.raises(StrokeFormatError, match=message):
        read_tdic(text, "bad.tdic")


# ----------------------------------------------------------------------------- JSON lines
def test_codepoint_json_lines():
    text = "[23665, [[[100, 200], [300, 200]], [[150, 100], [150, 500]]]]\n\n[19968, [[[0, 0]]]]\n"
    a, b = read_jsonl(text, "cnn.json", writer="w")
    assert (a.label, b.label, a.source, a.writer) == ("山", "一", "cnn_chinese_hw", "w")
    assert a.strokes[1].tolist() == [[0.15, 0.1], [0.15, 0.5]]
    assert "line 3" in b.origin


def test_mojinet_json_lines_round_trip(tmp_path):
    line = {"label": "あ", "strokes": [[[10, 20, 0], [30, 40, 16]], [[50, 60, 100]]],
            "box": [200, 100], "writer": "anna", "source": "mojinet draw page",
            "time": "2026-12-01T21:40:00Z", "format": "mojinet-strokes/1"}
    (s,) = read_jsonl(json.dumps(line), "mine.jsonl")
    assert (s.writer, s.source, s.time, s.box) == ("anna", "mojinet draw page",
                                                   "2026-12-01T21:40:00Z", (1.0, 0.5))
    assert s.strokes[0].tolist() == [[0.05, 0.1], [0.15, 0.2]]
    assert s.times[0].tolist() == [0.0, 16.0]
    for name in ("out.jsonl", "out.jsonl.gz"):
        path = write_jsonl([s, s], tmp_path / name)
        back = read_strokes(path)
        assert len(back) == 2
        for b in back:
            assert (b.label, b.writer, b.source, b.time, b.box) == (s.label, s.writer, s.source,
                                                                    s.time, s.box)
            assert all(np.array_equal(P, Q) for P, Q in zip(b.strokes, s.strokes))
            assert all(np.array_equal(P, Q) for P, Q in zip(b.times, s.times))


def test_mojinet_json_defaults():
    (s,) = read_jsonl('{"label": "い", "strokes": [[[0, 0], [50, 100]]]}', "d/me.jsonl",
                      writer="me")
    assert (s.writer, s.source, s.box, s.times) == ("me", "mojinet", (1.0, 1.0), None)
    assert s.strokes[0].tolist() == [[0.0, 0.0], [0.5, 1.0]]  # the points' bounding square


@pytest.mark.parametrize("line, message", [
    ("[1, 2", "not a JSON value"),
    ('{"label": "a", "strokes": [[[NaN, 0]]]}', "NaN is not a number"),
    ('{"label": "a", "strokes": [[[Infinity, 0]]]}', "Infinity is not a number"),
    ('{"label": "a", "strokes": [[[true, 0]]]}', "stroke 1 must be"),
    ('{"label": "a", "strokes": [[["1", 0]]]}', "stroke 1 must be"),
    ('{"label": "a", "strokes": [[[1, 0], [1, 0, 5]]]}', "stroke 1 must be"),
    ('{"label": "a", "strokes": [[[1, 0]], [[1, 0, 5]]]}', "either every point has a time"),
    ('{"label": "a", "strokes": []}', "non-empty list of strokes"),
    ('{"label": "a", "stroke": [[[1, 0]]]}', "needs label and strokes"),
    ('{"label": "a", "strokes": [[[1, 0]]], "colour": "red"}', "needs label and strokes"),
    ('{"label": "a", "strokes": [[[1, 0]]], "format": "mojinet-strokes/9"}', "is not"),
    ('{"label": 7, "strokes": [[[1, 0]]]}', "label must be a string"),
    ('{"label": "a", "strokes": [[[1, 0]]], "box": [0, 10]}', "box must be positive"),
    ('{"label": "a", "strokes": [[[1, 0]]], "box": "big"}', r"box must be \[width, height\]"),
    ('"just text"', "got str"),
    ("[1114112, [[[1, 1]]]]", r"expected \[code point, strokes\]"),
    ("[65, [[[1, 1, 1]]]]", "stroke 1 must be"),
    ("[" * 100_000 + "]" * 100_000, "not a JSON value"),
])
def test_bad_json_lines(line, message):
    with pytest.raises(StrokeFormatError, match=message) as e:
        read_jsonl("\n" + line + "\n", "bad.jsonl")
    assert str(e.value).startswith("bad.jsonl, line 2")


# ----------------------------------------------------------------------------- files
def _tar(path, members: dict, links: dict | None = None):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)


def test_tar_in_the_tegaki_lab_layout(tmp_path):
    one = _char('<stroke><point x="1" y="1"/></stroke>')
    _tar(tmp_path / "lab.tar.gz", {"train/ann/s1/97.xml": one, "eval/ann/s1/97.xml.gz":
                                   gzip.compress(one), "README": b"not strokes",
                                   "bob/x.tdic": b"b\n:1\n1 (1 1)\n"})
    samples = read_strokes(tmp_path / "lab.tar.gz")
    got = sorted((s.writer, s.session, s.source) for s in samples)
    assert got == [("ann", "eval/s1", "tegaki-lab"), ("ann", "train/s1", "tegaki-lab"),
                   ("lab", "", "tegaki-lab")]


@pytest.mark.parametrize("members, links, message", [
    ({}, {"train/a/s1/x.xml": "/etc/passwd"}, "only regular files"),
    ({"../up.xml": b""}, None, "only regular files"),
    ({"inner.tar": b""}, None, "an archive inside an archive"),
])
def test_hostile_tar_members_are_refused(tmp_path, members, links, message):
    _tar(tmp_path / "evil.tgz", members, links)
    with pytest.raises(StrokeFormatError, match=message) as e:
        read_strokes(tmp_path / "evil.tgz")
    assert str(e.value).startswith(str(tmp_path / "evil.tgz"))


def test_not_a_tar_or_gzip(tmp_path):
    (tmp_path / "x.tar.gz").write_bytes(b"garbage")
    with pytest.raises(StrokeFormatError, match="not a readable tar archive"):
        read_strokes(tmp_path / "x.tar.gz")
    (tmp_path / "x.xml.gz").write_bytes(b"garbage")
    with pytest.raises(StrokeFormatError, match="not a readable gzip file"):
        read_strokes(tmp_path / "x.xml.gz")
    (tmp_path / "x.tdic").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(StrokeFormatError, match="not UTF-8"):
        read_strokes(tmp_path / "x.tdic")


def test_size_limits_hold_after_decompression(tmp_path, monkeypatch):
    monkeypatch.setattr(st, "MAX_BYTES", 1000)
    (tmp_path / "bomb.jsonl.gz").write_bytes(gzip.compress(b" " * 100_000))
    with pytest.raises(StrokeFormatError, match="decompresses to more than 1,000 bytes"):
        read_strokes(tmp_path / "bomb.jsonl.gz")
    (tmp_path / "big.jsonl").write_bytes(b" " * 2000)
    with pytest.raises(StrokeFormatError, match="over the 1,000-byte limit"):
        read_strokes(tmp_path / "big.jsonl")
    _tar(tmp_path / "big.tar", {"a/s1/x.xml": b" " * 2000})
    with pytest.raises(StrokeFormatError, match="over the size limit"):
        read_strokes(tmp_path / "big.tar")


def test_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="no strokes files"):
        read_strokes(tmp_path)
    with pytest.raises(FileNotFoundError, match="no such strokes file"):
        read_strokes(tmp_path / "missing.jsonl")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(StrokeFormatError, match="not a strokes file by its name"):
        read_strokes(tmp_path / "notes.txt")
    (tmp_path / "ann" / "s2").mkdir(parents=True)
    (tmp_path / "ann" / "s2" / "97.xml").write_bytes(_char('<stroke><point x="1" y="1"/>'
                                                           '</stroke>'))
    (tmp_path / "mine.jsonl").write_text('{"label": "b", "strokes": [[[1, 1]]]}\n')
    got = sorted((s.label, s.writer, s.session) for s in read_strokes(tmp_path))
    assert got == [("a", "ann", "s2"), ("b", "mine", "")]


def test_samples_validate_themselves():
    ok = np.zeros((2, 2))
    with pytest.raises(StrokeFormatError, match="float64 array"):
        Sample("a", (ok.astype(np.float32),))
    with pytest.raises(StrokeFormatError, match="NaN or infinite"):
        Sample("a", (np.array([[np.nan, 0.0]]),))
    with pytest.raises(StrokeFormatError, match="times do not match"):
        Sample("a", (ok,), times=(np.zeros(3),))
    with pytest.raises(StrokeFormatError, match="label"):
        Sample("", (ok,))


def test_kanjivg_glyphs_become_samples():
    from mojinet.data.kanjivg import load_glyph

    g = load_glyph("町")
    s = from_glyph(g)
    assert (s.label, s.writer, s.source, len(s.strokes)) == ("町", "kanjivg", "kanjivg", 7)
    assert s.groups[0].tolist() == g.groups[0].tolist()
    back = s.to_glyph()
    assert all(np.allclose(P, Q) for P, Q in zip(back.strokes, g.strokes))


# ----------------------------------------------------------------------------- packaged strokes
def test_tomoe_data_ships_with_mojinet_and_is_named_without_a_path():
    folder = st.resolve_strokes_path("mojinet:tomoe_data")
    assert {"LICENSE", "README.md", "hiragana.tdic.gz", "all.tdic.gz"} <= {
        p.name for p in folder.iterdir()}
    assert "tomoe_data by Hiroyuki Komatsu" in (folder / "README.md").read_text(encoding="utf-8")
    assert "CC BY 4.0" in (folder / "LICENSE").read_text(encoding="utf-8")
    samples = read_strokes("mojinet:tomoe_data")
    assert {s.source for s in samples} == {"tomoe_data"}
    assert {s.writer for s in samples} == {"all", "hiragana"}  # the files' stems, as unpacked
    assert len({s.label for s in samples}) == 3012 and "あ" in {s.label for s in samples}
    assert st.resolve_strokes_path("some/folder") == st.Path("some/folder")  # paths as given
    with pytest.raises(FileNotFoundError, match="mojinet:tomoe_data"):
        read_strokes("mojinet:no-such-set")


@needs_hw
def test_the_packaged_tomoe_data_is_the_published_one():
    """The same samples as ../shared/data/handwriting/tomoe_data (only gzipped)."""
    def key(samples):
        return [(s.label, s.writer, s.source, [P.tolist() for P in s.strokes]) for s in samples]

    assert key(read_strokes("mojinet:tomoe_data")) == key(read_strokes(HW / "tomoe_data"))


def test_the_wheel_carries_tomoe_data():
    import tomllib

    from conftest import ROOT

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert "real/tomoe_data/*" in data["package-data"]["mojinet.data"]
