"""The depth/size table of docs/sweeps.md from a sweep's trials.csv (run by hand; not packaged).

For every (hidden layers × neurons) network in the sweep: the best validation accuracy over the
other searched values (e.g. η), the η it had, its training time and its parameters.

Usage: python tools/sweep_depth_table.py runs/depth-chapter/trials.csv
"""

from __future__ import annotations

import csv
import sys


def main(path: str) -> None:
    with open(path, newline="", encoding="utf-8") as f:
        done = [r for r in csv.DictReader(f) if r["state"] == "COMPLETE"]
    best: dict[str, dict] = {}
    for r in done:
        key = r["hidden_layers"]
        if key not in best or float(r["val_accuracy"]) > float(best[key]["val_accuracy"]):
            best[key] = r

    def order(key: str):
        sizes = [int(s) for s in key.split("-")]
        return len(sizes), sizes[0]

    print("| hidden layers | validation accuracy | η | seconds | parameters |")
    print("|---|---|---|---|---|")
    for key in sorted(best, key=order):
        r = best[key]
        print(f"| {key} | {float(r['val_accuracy']):.2%} | {float(r['eta']):g} | "
              f"{float(r['seconds']):.1f} | {int(r['parameters']):,} |")


if __name__ == "__main__":
    main(sys.argv[1])
