"""Real handwriting next to the synthetic writer's, drawn by the same code: PNG sheets and a few
measured differences (stroke counts against KanjiVG, ink-box aspect, slant, points a stroke).

    python benchmarks/real_vs_synthetic.py ../shared/data/handwriting --out notes/real-vs-synthetic

Each sheet has one row per character: real samples (drawn as written with the default pen, at
the size a model sees, and the same pen and normalisation as the synthetic writer), a gap, then
synthetic samples of the same character (default style, seed 3); NAME-64px.png shows the first
five rows at 64 × 64. The data stay in ../shared:
the sheets are for looking, not for shipping (see the sets' licences in docs/kanji.md).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from mojinet.data.handwriting import render
from mojinet.data.kanji import synthetic_dataset
from mojinet.data.kanjivg import KanjiVGError, load_glyph
from mojinet.data.strokes import read_strokes
from mojinet.data.strokeset import render_samples

SETS = {  # sheet name → (file under the handwriting folder, characters to show)
    "tegaki-hiragana": ("tegaki/writer1-hiragana.charcol.gz", "ゆられわねあすむきさ"),
    "tegaki-katakana": ("tegaki/writer1-katakana.charcol.gz", "アカサタナハマヤラワ"),
    "tegaki-lab": ("tegaki/tegaki-lab-japanese.tar.gz", "一北反安感業歯漢練駅"),
    "cnn_chinese_hw": ("cnn_chinese_hw/supplemental_data.json.gz", "気手出力山正十大小文"),
    "tomoe": ("tomoe_debian/handwriting-ja.xml.gz", "あゆ右学見町森議観曜"),
}


def sheet(rows: list[tuple[np.ndarray, np.ndarray]], size: int, scale: int) -> Image.Image:
    """rows of (real images (r, s, s), synthetic images (q, s, s)) → one white sheet."""
    n_real = max(len(r) for r, _ in rows)
    n_syn = max(len(q) for _, q in rows)
    width = (n_real + 1 + n_syn) * size
    out = np.zeros((len(rows) * size, width), dtype=np.float32)
    for i, (real, syn) in enumerate(rows):
        for j, a in enumerate(real):
            out[i * size:(i + 1) * size, j * size:(j + 1) * size] = a
        for j, a in enumerate(syn):
            x = (n_real + 1 + j) * size
            out[i * size:(i + 1) * size, x:x + size] = a
    out[:, n_real * size:(n_real + 1) * size] = 0.15  # the gap between real and synthetic
    img = Image.fromarray(np.rint(255 - out * 255).astype(np.uint8))
    return img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)


def slant(a: np.ndarray) -> float:
    """Image-moment slant: x shift per unit of y (second central moments, μ11 / μ02)."""
    r, c = np.indices(a.shape)
    w = a / a.sum()
    dy, dx = r - (r * w).sum(), c - (c * w).sum()
    return float(-(w * dx * dy).sum() / (w * dy * dy).sum())  # > 0: top leans right


def measure(samples, size: int) -> dict:
    """Real samples against KanjiVG's glyph of the same character: how often the stroke count
    differs (joined or split strokes), the ink box's aspect, the slant (real minus the clean
    glyph's, drawn alike), points a stroke."""
    known = []
    for s in samples:
        try:
            known.append((s, load_glyph(s.label)))
        except KanjiVGError:
            continue
    d = np.array([len(s.strokes) - len(g.strokes) for s, g in known])
    aspect = [np.ptp(P[:, 0]) / max(np.ptp(P[:, 1]), 1e-9)
              for P in (np.concatenate(s.strokes) for s, _ in known)]
    kvg_aspect = [np.ptp(g.points[:, 0]) / max(np.ptp(g.points[:, 1]), 1e-9) for _, g in known]
    real = render_samples([s for s, _ in known], size).astype(np.float64) / 255
    clean = [render(g, size, np.random.default_rng(0), "clean") for _, g in known]
    tilt = [slant(a) - slant(b) for a, b in zip(real, clean) if a.sum() > 0]
    return {"n": len(d), "fewer strokes than KanjiVG": round(float((d < 0).mean()), 3),
            "more strokes": round(float((d > 0).mean()), 3),
            "median w/h real": round(float(np.median(aspect)), 3),
            "median w/h KanjiVG": round(float(np.median(kvg_aspect)), 3),
            "median slant real - KanjiVG": round(float(np.median(tilt)), 3),
            "slant IQR": round(float(np.subtract(*np.percentile(tilt, [75, 25]))), 3),
            "points a stroke": round(float(np.mean([len(P) for s, _ in known
                                                    for P in s.strokes])), 1)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path, help="the handwriting folder (../shared/data/handwriting)")
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--size", type=int, default=32, help="the model's input size")
    p.add_argument("--scale", type=int, default=3, help="sheet pixels per image pixel")
    p.add_argument("--per-row", type=int, default=6, help="samples a side")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, (file, chars) in SETS.items():
        samples = read_strokes(args.folder / file)
        by_label = defaultdict(list)
        for s in samples:
            by_label[s.label].append(s)
        shown = [c for c in chars if c in by_label]
        syn = synthetic_dataset(shown, args.per_row, args.size, 3, "default", cache=False)
        syn_images = syn.images().reshape(args.per_row, len(shown), args.size, args.size)
        rows = [(render_samples(by_label[c][:args.per_row], args.size) / 255.0,
                 syn_images[:, k]) for k, c in enumerate(shown)]
        path = args.out / f"{name}.png"
        sheet(rows, args.size, args.scale).save(path)
        big = sheet([(render_samples(by_label[c][:args.per_row], 64) / 255.0,
                      synthetic_dataset(c, args.per_row, 64, 3, "default",
                                        cache=False).images()) for c in shown[:5]], 64, 2)
        big.save(args.out / f"{name}-64px.png")
        print(f"{name}: {path} ({''.join(shown)}); {measure(samples, args.size)}")


if __name__ == "__main__":
    main()
