"""One publication style for every mojinet figure, and saving figures safely.

Figures are built on ``matplotlib.figure.Figure`` directly (no pyplot, no global figure state)
and rendered with an Agg canvas (pyplot's backend is never switched), so they work on servers
without a display and in threads.
The style: sizes for a thesis or slide (6.4 in wide, 9 pt text), no top/right spines, the
Okabe–Ito colour-blind-safe palette, the project's blue–orange diverging map centred on 0 for
weights (``palette``: positive orange, negative blue, the same convention as the draw page),
ink-on-paper grey for images, and a CJK font after DejaVu Sans so kana and kanji labels are drawn
(``fonts``). PNG at 200 dpi; SVG and PDF without timestamps, so reruns give the same files.

Non-goals: interactive figures, themes.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap
from matplotlib.figure import Figure

from .._files import atomic_writer
from . import fonts, palette

# Okabe & Ito (2008), "Color Universal Design": distinguishable with any colour vision.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442",
           "#000000"]
BLUE, VERMILION, GREEN, PURPLE, ORANGE, SKY, YELLOW, BLACK = PALETTE
#: Signed values (weights): negative blue, 0 near white, positive orange (always with symmetric
#: limits); the convention of ``palette``, shared with the draw page.
WEIGHT_CMAP = LinearSegmentedColormap.from_list("mojinet-diverging", palette.DIVERGING)
IMAGE_CMAP = "gray_r"  # ink (1) black on white paper (0), as the digits were written
HEAT_CMAP = "viridis"

WIDTH = 6.4  # inches: a thesis text width or a 16:9 slide column

RC = {
    "font.size": 9,
    "axes.titlesize": 9.5,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "figure.titlesize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "lines.linewidth": 1.6,
    "image.interpolation": "nearest",
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.05,
    "pdf.fonttype": 42,  # embed TrueType fonts (journals ask for it)
    "svg.hashsalt": "mojinet",  # deterministic ids in SVG output
}

FORMATS = ("png", "svg", "pdf")


@contextlib.contextmanager
def style():
    """Apply the mojinet style while figures are built and saved."""
    with matplotlib.rc_context({**RC, "font.family": fonts.families()}):
        yield


def styled(fn):
    """Decorator: build the figure under ``style()``."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with style():
            return fn(*args, **kwargs)

    return wrapper


def new_figure(width: float = WIDTH, height: float = 3.6, **kwargs) -> Figure:
    """A Figure with an Agg canvas, not registered with pyplot (nothing leaks between calls)."""
    fig = Figure(figsize=(width, height), layout=kwargs.pop("layout", "constrained"), **kwargs)
    FigureCanvasAgg(fig)
    return fig


_METADATA = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}


def save_figure(fig: Figure, out_dir: str | Path, stem: str,
                formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Write ``fig`` as out_dir/stem.<format> for each format, atomically. Returns the paths."""
    out_dir = Path(out_dir)
    paths = []
    for fmt in formats:
        if fmt not in _METADATA:
            raise ValueError(f"unsupported figure format {fmt!r}; choose from "
                             f"{', '.join(_METADATA)}")
        path = out_dir / f"{stem}.{fmt}"
        with style(), atomic_writer(path) as f:
            fig.savefig(f, format=fmt, metadata=_METADATA[fmt])
        paths.append(path)
    return paths
