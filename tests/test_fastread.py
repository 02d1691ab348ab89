"""data/fastread.py: a clean canvas read fast gives exactly the reference's Reading, and every
picture that is not provably clean (ruled paper, gradients, shadows, grain, transparency) is
refused, so the reference reads it."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mojinet.data import fastread, images, paper
from mojinet.data.decode import open_image
from nothing import NOTHING
from photos import CONDITIONS, photo, place


def canvas(rng: np.random.Generator, size: int = 280, pen: int = 18, mode: str = "RGBA",
           strokes: int | None = None) -> Image.Image:
    """The draw page's canvas: white, black round-capped strokes, anti-aliased (drawn 4× and
    shrunk, as a browser's canvas blends its edges)."""
    big = Image.new(mode, (4 * size, 4 * size), "white")
    d = ImageDraw.Draw(big)
    for _ in range(strokes or int(rng.integers(1, 5))):
        pts = [tuple(rng.uniform(0.1, 0.9, 2) * 4 * size) for _ in range(rng.integers(2, 7))]
        d.line(pts, fill="black", width=4 * pen, joint="curve")
        for p in (pts[0], pts[-1]):
            d.ellipse([p[0] - 2 * pen, p[1] - 2 * pen, p[0] + 2 * pen, p[1] + 2 * pen], "black")
    return big.resize((size, size), Image.Resampling.LANCZOS)


def png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def reference(img: Image.Image, size: int = 28) -> images.Reading:
    return images.read_image(img, size=size)


def assert_same(fast: images.Reading, ref: images.Reading) -> None:
    assert fast.paper == ref.paper == "clean"
    assert fast.contrast == ref.contrast
    assert fast.ink.dtype == ref.ink.dtype and np.array_equal(fast.ink, ref.ink)
    assert fast.x.dtype == ref.x.dtype and np.array_equal(fast.x, ref.x)


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "L"])
def test_page_canvases_read_exactly_as_the_reference(mode):
    """n = 120 canvases per mode (1–4 strokes of 2–6 points, pens 6–40 px), through PNG as the
    page sends them. Every one the reference reads as clean takes the fast path and gives the
    same arrays; the others (dense scribbles the reference takes for a photo: their ink covers
    a whole paper window) are refused."""
    rng = np.random.default_rng(18)
    taken = 0
    for _ in range(120):
        img = open_image(png(canvas(rng, pen=int(rng.integers(6, 41)), mode=mode)))
        fast, ref = fastread.read_clean(img), reference(img)
        assert (fast is not None) == (ref.paper == "clean")
        if fast is not None:
            assert_same(fast, ref)
            taken += 1
    assert taken >= 100


def test_the_page_pen_always_takes_the_fast_path():
    """n = 100 drawings with the page's 18 px pen, 1–3 strokes: all read fast, all equal."""
    rng = np.random.default_rng(180)
    for _ in range(100):
        img = open_image(png(canvas(rng, pen=18, strokes=int(rng.integers(1, 4)))))
        fast = fastread.read_clean(img)
        assert fast is not None
        assert_same(fast, reference(img))


def test_other_sizes_and_boxes_read_exactly_as_the_reference():
    rng = np.random.default_rng(7)
    for side, size, box in [(200, 28, None), (512, 32, 24), (300, 64, None), (150, 28, 20)]:
        img = open_image(png(canvas(rng, size=side, pen=max(4, side // 16))))
        fast = fastread.read_clean(img, size=size, box=box)
        assert fast is not None
        assert_same(fast, images.read_image(img, size=size, box=box))


def test_opaque_compositing_over_white_changes_nothing():
    """The fast path skips compositing an opaque RGBA picture over white: every byte value of
    every channel, at alpha 255, is left as it is."""
    v = np.arange(256, dtype=np.uint8)
    r, g = np.meshgrid(v, v, indexing="ij")  # (256, 256) every pair of red and green
    b = np.roll(v, 7)[:, None].repeat(256, axis=1)  # (256, 256) every blue in each column
    rgba = np.stack([r, g, b, np.full((256, 256), 255, np.uint8)], axis=-1)  # (256, 256, 4)
    img = Image.fromarray(rgba, "RGBA")
    white = Image.new("RGBA", img.size, (255, 255, 255, 255))
    assert np.array_equal(np.asarray(Image.alpha_composite(white, img)), rgba)
    grey = images.to_grey(img)
    assert np.array_equal(fastread.grey_bytes(img) / 255.0, grey)


def test_the_ink_peak_from_a_histogram_equals_numpys_percentile():
    """n = 400 pages (sizes giving every kind of interpolation weight, inks from sparse to
    dense, pale to black) and other quantiles: equal to np.percentile of the whole ink map."""
    rng = np.random.default_rng(12)
    for i in range(400):
        h, w = (int(v) for v in rng.integers(20, 300, 2))
        page = np.full((h, w), 255, dtype=np.uint8)
        bh, bw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
        dark = rng.random() ** 3
        box = rng.integers(0, 256, (bh, bw)).astype(np.uint8)
        box[rng.random((bh, bw)) > dark] = 255
        page[:bh, :bw] = box
        q = 99.9 if i % 4 else float(rng.uniform(0, 100))
        want = float(np.percentile(1.0 - page / 255.0, q))
        assert fastread.ink_peak(box, h * w, q) == want, (h, w, q)


def test_the_white_window_check_is_exact():
    """white_everywhere against a brute-force search over every window."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        white = rng.random((int(rng.integers(5, 30)), int(rng.integers(5, 30)))) < 0.05
        side = int(rng.integers(1, 6))
        h, w = white.shape
        brute = all(white[i:i + side, j:j + side].any()
                    for i in range(h - side + 1) for j in range(w - side + 1))
        assert fastread.white_everywhere(white, side) == brute


def refused(img: Image.Image) -> bool:
    return fastread.read_clean(img) is None


def test_ruled_and_squared_paper_go_to_the_reference():
    rng = np.random.default_rng(5)
    for squared in (False, True):
        img = canvas(rng, mode="L")
        a = np.asarray(img).copy()
        a[20::30] = 90  # rules across the whole width, every 30 rows
        if squared:
            a[:, 20::30] = 90
        ruled = Image.fromarray(a)
        assert refused(ruled)
        assert images.read_image(ruled).paper == "ruled"


def test_gradients_shadows_and_photos_go_to_the_reference():
    rng = np.random.default_rng(6)
    img = np.asarray(canvas(rng, mode="L"), dtype=np.float64)
    gradient = np.linspace(1.0, 0.8, img.shape[1])[None, :]
    assert refused(Image.fromarray((img * gradient).astype(np.uint8)))
    shadow = img.copy()
    shadow[:, :100] *= 0.7
    assert refused(Image.fromarray(shadow.astype(np.uint8)))
    ink = np.zeros((28, 28))
    ink[5:23, 12:16] = 1.0
    for light in CONDITIONS.values():
        assert refused(open_image(photo(place(ink, rng), rng, light)))


def test_grain_noise_and_nothing_go_to_the_reference():
    rng = np.random.default_rng(8)
    for make in NOTHING.values():
        assert refused(open_image(make(rng)))
    grain = np.asarray(canvas(rng, mode="L")).astype(np.int16)
    grain = np.clip(grain - rng.integers(0, 3, grain.shape), 0, 255).astype(np.uint8)
    assert refused(Image.fromarray(grain))


def test_transparency_a_dark_page_and_blots_go_to_the_reference():
    rng = np.random.default_rng(9)
    clear = np.asarray(canvas(rng)).copy()
    clear[..., 3] = 254
    assert refused(Image.fromarray(clear, "RGBA"))
    dark = 255 - np.asarray(canvas(rng, mode="L"))  # white ink on black
    assert refused(Image.fromarray(dark))
    blot = np.asarray(canvas(rng, mode="L")).copy()
    blot[60:200, 60:200] = 0  # wider than half the paper window: the level is not proven flat
    assert refused(Image.fromarray(blot))
    assert images.read_image(Image.fromarray(blot)).paper in ("clean", "photo")
    assert refused(Image.new("L", (280, 280), 255))  # blank: the reference says so
    big = canvas(rng, size=paper.WORK_SIDE + 20, pen=30)
    assert refused(big)  # the paper level is estimated on a shrunk copy
