"""Train the models that ship with mojinet from their recipes and record what they measure.

    python tools/build_models.py                  # every recipe in src/mojinet/models/
    python tools/build_models.py chapter hiragana # only these

For each name: the recipe ``src/mojinet/models/NAME.toml`` (a RunConfig; replace it with a better
one and rerun), trained by ``mojinet.run`` in that folder (so the recorded ``out`` is the bare file
name and ``mojinet train --config NAME`` rebuilds it anywhere), saved as ``NAME.npz``, and its test
accuracy with n and a 95 % Wilson interval written to ``index.json`` (``built: true``). The test
split is the dataset's own (MNIST's 10,000 test digits; for KanjiVG sets, other synthetic
writers); nothing is chosen on it. Prints the package folder's size at the end: the wheel carries
these files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[1] / "src" / "mojinet" / "models"


def build(name: str, index: dict) -> None:
    from mojinet import read_config, run
    from mojinet.real_eval import wilson_interval

    entry = next(e for e in index["models"] if e["name"] == name)
    config = read_config(FOLDER / entry["recipe"]).replace(out=entry["file"])
    cwd = os.getcwd()
    os.chdir(FOLDER)
    try:
        model = run(config, log=print, progress=None)
    finally:
        os.chdir(cwd)
    t = model.training
    n = int(t.get("n_test") or _test_size(config))
    correct = round(t["test_accuracy"] * n)
    lo, hi = wilson_interval(correct, n)
    entry.update(built=True, accuracy={"split": f"{config.dataset} test", "n": n,
                                       "correct": correct, "accuracy": round(correct / n, 6),
                                       "ci95": [round(lo, 6), round(hi, 6)]})
    print(f"{name}: {correct / n:.2%} ({correct:,} of {n:,}; 95% CI {lo:.2%}–{hi:.2%})")


def _test_size(config) -> int:
    from mojinet.runner import load_data

    return len(load_data(config).test)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="models to build (default: all)")
    args = ap.parse_args(argv)
    index_path = FOLDER / "index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    known = [e["name"] for e in index["models"]]
    names = args.names or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; the recipes: {', '.join(known)}")
    for name in names:
        build(name, index)
        index_path.write_text(json.dumps(index, ensure_ascii=False, indent=1) + "\n",
                              encoding="utf-8")
    size = sum(p.stat().st_size for p in FOLDER.iterdir() if p.is_file())
    print(f"{FOLDER}: {size / 1e6:.2f} MB of models, recipes and index")
    return 0


if __name__ == "__main__":
    sys.exit(main())
