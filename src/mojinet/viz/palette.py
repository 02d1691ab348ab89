"""The one colour convention for signed numbers, shared by every figure and the draw page.

**Positive = orange, negative = blue**, for weights, for what one neuron adds to the next one's
weighted input (w·a), and for any other signed quantity. Blue against orange stays two distinct
colours (and two distinct lightnesses) under every common colour-vision deficiency — protan and
deutan vision keep the blue–yellow axis, tritan vision still sees a dark blue against a light
orange — unlike red against green. The hues are ColorBrewer's (RdBu's blue, PuOr's orange).

Figures draw on white: a diverging map from ``NEGATIVE`` through ``ZERO`` (near white) to
``POSITIVE`` (``viz.style.WEIGHT_CMAP``). The page draws on a dark background, where the same two
hues are used in their light shades (``*_ON_DARK``), mixed from the background towards them as
the magnitude grows. ``css()`` writes these as CSS custom properties for the page
(``/static/palette.css``), so the page and the figures cannot drift apart.

No matplotlib here: the web app and the static export read this module without it.
"""

from __future__ import annotations

NEGATIVE = "#2166AC"  # blue
POSITIVE = "#B35806"  # orange
ZERO = "#F7F7F7"
NEGATIVE_LIGHT = "#92C5DE"
POSITIVE_LIGHT = "#FDB863"
NEGATIVE_ON_DARK = NEGATIVE_LIGHT
POSITIVE_ON_DARK = POSITIVE_LIGHT
NAMES = {"positive": "orange", "negative": "blue"}

#: The figures' diverging map, from the most negative value to the most positive.
DIVERGING = (NEGATIVE, NEGATIVE_LIGHT, ZERO, POSITIVE_LIGHT, POSITIVE)

#: The page's custom properties (name → value).
CSS_VARIABLES = {
    "--positive": POSITIVE_ON_DARK,
    "--negative": NEGATIVE_ON_DARK,
    "--positive-strong": POSITIVE,
    "--negative-strong": NEGATIVE,
    "--positive-name": f'"{NAMES["positive"]}"',
    "--negative-name": f'"{NAMES["negative"]}"',
}


def css() -> str:
    """The palette as a CSS rule of custom properties on ``:root``."""
    lines = "".join(f"  {name}: {value};\n" for name, value in CSS_VARIABLES.items())
    return ("/* mojinet's sign colours (generated from mojinet/viz/palette.py): positive = "
            f"{NAMES['positive']}, negative = {NAMES['negative']}. */\n:root {{\n{lines}}}\n")


def rgb(hex_colour: str) -> tuple[int, int, int]:
    """``"#B35806"`` → (179, 88, 6)."""
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
