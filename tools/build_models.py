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

Models read real handwriting too: for those with held-out real writers (``REAL``, in
``../shared/data/handwriting`` beside the checkout, never trained on), ``mojinet real-eval MODEL
--per-class 50 --real SET`` scores each set and its held-out top-1 with n and a Wilson interval
goes into ``index.json`` as ``real`` (``--real-only``: measure built models without training).

``--trained``: the model was trained elsewhere (``cd FOLDER && mojinet train --config NAME --out
NAME.npz``, e.g. a long run in the background, resumable with ``--resume``) and copied to
``NAME.npz``: record its test accuracy (and real writers) without training; its recorded run must
be the recipe.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[1] / "src" / "mojinet" / "models"
HW = Path(__file__).resolve().parents[2] / "shared" / "data" / "handwriting"
# Held-out real writers (docs/kanji.md, "Closing the gap": independent of tomoe_data and of every
# choice made); katakana has none (tegaki writer1-katakana was the development set).
REAL = {
    "hiragana": {"tegaki writer1-hiragana": "tegaki/writer1-hiragana.charcol.gz"},
    "kanji-grade1": {"cnn_chinese_hw": "cnn_chinese_hw/supplemental_data.json.gz",
                     "tegaki-lab eval sitting": "tegaki/tegaki-lab-japanese.tar.gz,session=eval"},
    "kanji-kyoiku": {"cnn_chinese_hw": "cnn_chinese_hw/supplemental_data.json.gz",
                     "tegaki-lab eval sitting": "tegaki/tegaki-lab-japanese.tar.gz,session=eval"},
}
# Fresh synthetic writers a class drawn beside the real ones (kyōiku: 1,026 classes, 20 each).
PER_CLASS = {"kanji-kyoiku": 20}


def build(name: str, index: dict) -> None:
    from mojinet import read_config, run

    entry = next(e for e in index["models"] if e["name"] == name)
    config = read_config(FOLDER / entry["recipe"]).replace(out=entry["file"])
    cwd = os.getcwd()
    os.chdir(FOLDER)
    try:
        model = run(config, log=print, progress=None)
    finally:
        os.chdir(cwd)
    record(name, entry, config, model)


def record_trained(name: str, index: dict) -> None:
    """A model trained elsewhere and copied to NAME.npz: check it is its recipe, record it."""
    from mojinet import RunConfig, load_model, read_config

    entry = next(e for e in index["models"] if e["name"] == name)
    config = read_config(FOLDER / entry["recipe"])
    model = load_model(FOLDER / entry["file"])
    if model.state:
        raise SystemExit(f"{name}: {entry['file']} is an unfinished run (it carries the "
                         f"optimizer's state); let it finish (mojinet train --resume)")
    if RunConfig.from_dict(model.training["config"]) != config:
        raise SystemExit(f"{name}: {entry['file']} was not trained by its recipe "
                         f"{entry['recipe']} (cd {FOLDER} && mojinet train --config {name} "
                         f"--out {entry['file']})")
    record(name, entry, config, model)


def record(name: str, entry: dict, config, model) -> None:
    from mojinet.real_eval import wilson_interval

    t = model.training
    n = int(t.get("n_test") or _test_size(config))
    correct = round(t["test_accuracy"] * n)
    lo, hi = wilson_interval(correct, n)
    chars = dict(config.dataset_options).get("chars")  # the kanjivg dataset's characters
    split = f"{config.dataset}-{chars} test" if config.dataset == "kanjivg" and chars else \
        f"{config.dataset} test"
    entry.update(built=True, accuracy={"split": split, "n": n,
                                       "correct": correct, "accuracy": round(correct / n, 6),
                                       "ci95": [round(lo, 6), round(hi, 6)]})
    print(f"{name}: {correct / n:.2%} ({correct:,} of {n:,}; 95% CI {lo:.2%}–{hi:.2%})")


def measure_real(name: str, index: dict) -> None:
    """The built model's held-out top-1 on each of its real sets (``REAL``) into its entry."""
    entry = next(e for e in index["models"] if e["name"] == name)
    if name not in REAL:
        return
    if not HW.is_dir():
        print(f"{name}: {HW} is not here; the real writers are not measured (index unchanged)")
        return
    records = []
    for label, spec in REAL[name].items():
        per_class = str(PER_CLASS.get(name, 50))
        command = [sys.executable, "-m", "mojinet", "real-eval", str(FOLDER / entry["file"]),
                   "--per-class", per_class, "--real", str(HW / spec), "--json"]
        held = json.loads(subprocess.run(command, check=True, capture_output=True,
                                         text=True).stdout)["real"]["all_held_out"]
        if held is None:
            raise SystemExit(f"{name}: no held-out writer in {spec} (trained on?)")
        correct = round(held["top1"] * held["n"])
        lo, hi = held["top1_ci"]
        records.append({"set": label, "file": spec, "n": held["n"], "correct": correct,
                        "accuracy": round(correct / held["n"], 6),
                        "ci95": [round(lo, 6), round(hi, 6)],
                        "command": f"mojinet real-eval {name} --per-class {per_class} --real "
                                   f"../shared/data/handwriting/{spec}"})
        print(f"{name} on {label}: {correct / held['n']:.2%} ({correct:,} of {held['n']:,}; "
              f"95% CI {lo:.2%}–{hi:.2%})")
    entry["real"] = records


def _test_size(config) -> int:
    from mojinet.runner import load_data

    return len(load_data(config).test)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="models to build (default: all)")
    ap.add_argument("--real-only", action="store_true",
                    help="do not train: only measure the built models on their real writers")
    ap.add_argument("--trained", action="store_true",
                    help="do not train: record NAME.npz trained elsewhere by its recipe")
    args = ap.parse_args(argv)
    index_path = FOLDER / "index.json"
    index = json.loads(index_path.read_text(encoding="utf-8"))
    known = [e["name"] for e in index["models"]]
    names = args.names or known
    unknown = sorted(set(names) - set(known))
    if unknown:
        ap.error(f"unknown model(s) {', '.join(unknown)}; the recipes: {', '.join(known)}")
    for name in names:
        if args.trained:
            record_trained(name, index)
        elif not args.real_only:
            build(name, index)
        measure_real(name, index)
        # Only this entry changes: reread the rest, so that builds in parallel keep each other's.
        latest = json.loads(index_path.read_text(encoding="utf-8"))
        entry = next(e for e in index["models"] if e["name"] == name)
        latest["models"] = [entry if e["name"] == name else e for e in latest["models"]]
        index_path.write_text(json.dumps(latest, ensure_ascii=False, indent=1) + "\n",
                              encoding="utf-8")
    size = sum(p.stat().st_size for p in FOLDER.iterdir() if p.is_file())
    print(f"{FOLDER}: {size / 1e6:.2f} MB of models, recipes and index")
    return 0


if __name__ == "__main__":
    sys.exit(main())
