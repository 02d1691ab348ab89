"""Regenerate src/mojinet/data/charsets/*.txt (run by hand; not part of the package).

Kanji lists come from the ``kanji-lists`` package (MIT, Daniel Lemm), which transcribes the
official lists: 学年別漢字配当表 (MEXT, 2017 notice, in force from 2020: 1,026 kyōiku kanji) and
常用漢字表 (Cabinet notice, 2010: 2,136 jōyō kanji). Kana are the 46 modern gojūon characters.
Usage: pip install kanji-lists==0.2.0 && python tools/make_charsets.py
"""

from pathlib import Path

from kanji_lists import JOYO, KYOIKU

OUT = Path(__file__).resolve().parents[1] / "src/mojinet/data/charsets"

HIRAGANA = ("あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよ"
            "らりるれろわをん")
KATAKANA = ("アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨ"
            "ラリルレロワヲン")


def write(name: str, chars) -> None:
    chars = sorted(set(chars)) if not isinstance(chars, str) else list(chars)
    (OUT / f"{name}.txt").write_text("".join(chars) + "\n", encoding="utf-8")
    print(name, len(chars))


assert len(HIRAGANA) == len(KATAKANA) == 46
write("hiragana", HIRAGANA)
write("katakana", KATAKANA)
grades = [KYOIKU.REIWA2.GRADE1, KYOIKU.REIWA2.GRADE2, KYOIKU.REIWA2.GRADE3,
          KYOIKU.REIWA2.GRADE4, KYOIKU.REIWA2.GRADE5, KYOIKU.REIWA2.GRADE6]
for g, chars in enumerate(grades, start=1):
    write(f"grade{g}", chars)
assert sum(map(len, grades)) == len(set().union(*grades)) == 1026
assert set().union(*grades) <= JOYO.HEISEI22
write("joyo", JOYO.HEISEI22)
