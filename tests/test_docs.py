"""What the docs say agrees with the code and with each other: the sign colours are the
palette's, the default model's accuracy is quoted the same way everywhere."""

from __future__ import annotations

import re

from conftest import ROOT
from mojinet.viz.palette import NAMES

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_sign_colours_in_the_docs_are_the_palettes():
    """docs/kanji.md said "(red +, blue −)" after the palette had become orange + / blue −."""
    pairs = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for plus, minus in re.findall(r"\((\w+) \+, (\w+) [−-]\)", text):
            pairs.append((path.name, plus, minus))
        assert not re.search(r"\bred\b[^.\n]{0,30}\bpositive|\bpositive[^.\n]{0,30}\bred\b", text,
                             flags=re.I), path.name
    assert pairs, "no caption names the sign colours"
    for name, plus, minus in pairs:
        assert (plus, minus) == (NAMES["positive"], NAMES["negative"]), name


def test_the_default_models_accuracy_is_quoted_alike():
    """docs/inspect.md quoted 94.94 % where the README's table said 95.89 % / 95.88 %."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    numpy_path = re.search(r"NumPy fast path \(no Numba installed\) \| ([\d.]+)%", readme)[1]
    compiled = re.search(r'"\.\[fast\]"` \| compiled kernel \| ([\d.]+)%', readme)[1]
    inspect_md = (ROOT / "docs" / "inspect.md").read_text(encoding="utf-8")
    assert f"the NumPy path gives {numpy_path}%" in inspect_md
    assert re.search(rf"~1 min, {re.escape(compiled)} %", inspect_md)
