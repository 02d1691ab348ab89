"""The built wheel alone reads a kanji with a shipped model: no checkout, no cache, no network.

The wheel is built from this checkout and installed (``--no-deps --target``) into a folder;
``mojinet predict --model kanji`` then runs from that folder in an empty working directory with
an empty ``HOME`` — inside a new network namespace (``unshare -n``) when this machine allows it.
The whole fresh install with its dependencies from the index, timed: benchmarks/fresh_install.py
(docs/models.md)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest
from PIL import Image, ImageDraw

from conftest import ROOT
from mojinet.models import SHIPPED


def _offline_prefix() -> list[str]:
    """``unshare -n`` (network namespace: only loopback) when it works here, else nothing."""
    if shutil.which("unshare") is None:
        return []
    ok = subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0
    return ["unshare", "-n"] if ok else []


def _draw(label: str, path) -> None:
    """``label`` from its KanjiVG strokes, black on a white 280 × 280 canvas, as the page sends."""
    from mojinet.data.strokes import from_kanjivg

    img = Image.new("L", (280, 280), 255)
    pen = ImageDraw.Draw(img)
    for stroke in from_kanjivg(label)[0].strokes:  # (n, 2) in the unit frame
        pen.line([(20 + 240 * x, 20 + 240 * y) for x, y in stroke], fill=0, width=12,
                 joint="curve")
    img.save(path)


@pytest.mark.slow
def test_the_wheel_alone_reads_a_kanji_offline(tmp_path):
    dist, site, work = tmp_path / "dist", tmp_path / "site", tmp_path / "work"
    work.mkdir()
    pip = [sys.executable, "-m", "pip", "-q", "--disable-pip-version-check"]
    subprocess.run(pip + ["wheel", "--no-deps", str(ROOT), "-w", str(dist)], check=True)
    wheel = next(dist.glob("mojinet-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for e in SHIPPED.values():  # every built model and every recipe is in it
        assert f"mojinet/models/{e.recipe}" in names
        assert (f"mojinet/models/{e.file}" in names) == e.built
    subprocess.run(pip + ["install", "--no-deps", "--no-index", "--target", str(site),
                          str(wheel)], check=True)
    image = work / "kin.png"
    _draw("金", image)
    env = {k: v for k, v in os.environ.items() if k not in {"MOJINET_CACHE", "VIRTUAL_ENV"}}
    env.update(PYTHONPATH=str(site), HOME=str(tmp_path / "home"))  # before the checkout's src
    run = _offline_prefix() + [sys.executable, "-c", "import sys, mojinet, mojinet.cli; "
                               "print(mojinet.__file__); sys.exit(mojinet.cli.main())",
                               "predict", "--model", "kanji", str(image), "--json"]
    done = subprocess.run(run, cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    where, answer = done.stdout.split("\n", 1)
    assert where.startswith(str(site))  # the installed wheel's mojinet, not the checkout's
    assert json.loads(answer)[0]["top"][0]["label"] == "金"
