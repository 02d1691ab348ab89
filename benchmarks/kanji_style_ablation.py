"""Which part of the synthetic writer makes kanji models read fonts? Named ablation styles.

Registers styles that switch on one ingredient at a time on top of ``plain`` (generator version
1's writer), then runs a mojinet command with them, e.g.

    python benchmarks/kanji_style_ablation.py train-radical --charset grade1 --lam 0 \\
        --style components --eval-styles --out grade1-components.npz
    python benchmarks/kanji_fonts.py grade1-components.npz

Styles: ``components`` (per-component variation of ``varied``), ``pen`` (``varied``'s pen: width
0.7–3.2 px, broad nib, taper), ``components+pen``, ``components+pen+square`` and ``varied``
(all of it, with the crowding cap), plus the product's own (``default``, ``plain``, ``varied``).
Results: docs/kanji.md, "Writing styles the generator never made".
"""

from __future__ import annotations

import sys

from mojinet.data.handwriting import STYLES

PLAIN, VARIED = STYLES["plain"], STYLES["varied"]
COMPONENTS = {k: getattr(VARIED, k) for k in ("component_scale_sd", "component_shift_sd",
                                                "component_shear_sd", "component_angle_sd")}
PEN = {k: getattr(VARIED, k) for k in ("pen_width", "nib", "taper")}
ABLATIONS = {
    "components": PLAIN.with_(**COMPONENTS),
    "pen": PLAIN.with_(**PEN),
    "components+pen": PLAIN.with_(**COMPONENTS, **PEN),
    "components+pen+square": PLAIN.with_(**COMPONENTS, **PEN, square=VARIED.square),
}


def main(argv=None) -> int:
    STYLES.update(ABLATIONS)  # before the parser is built: --style choices come from STYLES
    from mojinet.cli import main as cli

    return cli(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
