"""User images → MNIST-style inputs: polarity, cropping, the 20×20 box, centre of mass, and
refusal of files that are not images or would decompress into something enormous."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from drawn import drawn_digit
from mojinet.data.images import ImageError, center_of_mass, open_image, to_input


def _png(array: np.ndarray, mode="L") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array, mode=None).convert(mode).save(buf, "PNG")
    return buf.getvalue()


def _bar(light_on_dark: bool, shape=(120, 90)) -> np.ndarray:
    a = np.zeros(shape, np.uint8)
    a[30:90, 40:50] = 255  # a vertical stroke, 60 px tall and 10 wide, off-centre
    return a if light_on_dark else 255 - a


@pytest.mark.parametrize("light_on_dark", [True, False])
def test_polarity_crop_box_and_centre(light_on_dark):
    x = to_input(_png(_bar(light_on_dark)))
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert x.max() == pytest.approx(1.0, abs=0.02) and x.min() == 0.0
    rows, cols = np.flatnonzero(x.any(1)), np.flatnonzero(x.any(0))
    assert rows[-1] - rows[0] + 1 == 20  # the longer side fills the 20-pixel box
    assert 3 <= cols[-1] - cols[0] + 1 <= 5  # aspect ratio kept (60:10 → 20:3.3)
    cy, cx = center_of_mass(x)
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5  # mass at pixel (14, 14), as in MNIST
    # both polarities give the same input
    np.testing.assert_allclose(x, to_input(_png(_bar(not light_on_dark))), atol=1e-6)


def test_transparent_background_counts_as_paper():
    rgba = np.zeros((64, 64, 4), np.uint8)  # fully transparent …
    rgba[10:50, 30:36] = [0, 0, 0, 255]  # … with an opaque black stroke, like a browser canvas
    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, "PNG")
    x = to_input(buf.getvalue())
    assert x.sum() > 20 and x[0].sum() == 0


def test_other_sizes_for_other_models():
    x = to_input(_png(_bar(False)), size=64)
    rows = np.flatnonzero(x.any(1))
    assert x.shape == (64, 64) and rows[-1] - rows[0] + 1 == round(64 * 20 / 28)


def test_mnist_digit_drawn_on_paper_comes_back_like_mnist(mnist_small, rng):
    """A digit printed dark on a 200×200 white JPEG, off-centre, is recovered close to the
    original MNIST image (the same normalisation MNIST itself used)."""
    _, te = mnist_small
    corr = []
    for i in range(40):
        x = to_input(drawn_digit(te.images()[i], rng))
        corr.append(np.corrcoef(x.ravel(), te.X[i])[0, 1])
    assert np.median(corr) > 0.9


def test_blank_image_is_refused():
    with pytest.raises(ImageError, match="blank"):
        to_input(_png(np.full((50, 50), 255, np.uint8)))


@pytest.mark.parametrize("data", [b"", b"hello, not an image", b"\x89PNG\r\n\x1a\n" + bytes(30),
                                  b"GIF89a" + bytes(3)])
def test_non_images_get_a_clear_error(data):
    with pytest.raises(ImageError, match="not a readable image"):
        open_image(data)


def test_truncated_image_gets_a_clear_error():
    data = _png((np.arange(100 * 100) % 251).astype(np.uint8).reshape(100, 100))
    with pytest.raises(ImageError, match="not a readable image"):
        open_image(data[: len(data) // 2])


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def test_decompression_bomb_is_refused_before_decoding():
    """A tiny PNG that declares 100,000 × 100,000 pixels (10 gigapixels)."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    bomb = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(bytes(1000))) + _chunk(b"IEND", b""))
    assert len(bomb) < 200
    with pytest.raises(ImageError, match="pixel"):
        open_image(bomb)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError):
        open_image(tmp_path / "nope.png")


# ----------------------------------------------------------------------------- thin strokes
def test_runs_by_hand():
    from mojinet.data.images import _runs

    mask = np.array([[1, 1, 0, 1],
                     [0, 1, 1, 1]], bool)
    assert _runs(mask).tolist() == [[2, 2, 0, 1], [0, 3, 3, 3]]  # no run wraps to the next row


@pytest.mark.parametrize("t", [1, 3, 7])
def test_stroke_width_of_a_bar_is_its_thickness(t):
    from mojinet.data.images import stroke_width

    a = np.zeros((60, 80))
    a[20 : 20 + t, 5:75] = 1.0
    assert stroke_width(a) == t and stroke_width(a.T) == t
    assert stroke_width(np.zeros((5, 5))) == 0.0


def test_a_hairline_is_widened_and_keeps_its_ink():
    from mojinet.data.images import EVEN_PEN, THIN, even_strokes, stroke_width

    a = np.zeros((220, 220))
    a[110, 20:200] = 1.0  # a cross of 1-px lines, 180 px long: 0.6 % of its side
    a[20:200, 110] = 1.0
    b = even_strokes(a)
    assert THIN * 180 <= stroke_width(b) <= EVEN_PEN * 180 + 1
    assert (b >= a).all()  # a dilation: no ink is lost


def test_the_draw_pages_pen_is_never_thickened():
    """The page's 18 px pen on its 280 px pad is 6.4 % of any box: its drawings (big or small,
    any shape) pass ``even_strokes`` untouched, so net.js and the server agree trivially there."""
    from PIL import ImageDraw

    from mojinet.data.images import even_strokes, ink_map

    rng = np.random.default_rng(0)
    for k in range(30):
        img = Image.new("L", (280, 280), 255)
        pen = ImageDraw.Draw(img)
        reach = 260 if k % 3 else 60
        for _ in range(int(rng.integers(1, 6))):
            points = [tuple(rng.uniform(10, 10 + reach, 2)) for _ in range(int(rng.integers(2, 6)))]
            pen.line(points, fill=0, width=18, joint="curve")
        ink = ink_map(np.asarray(img, np.float64) / 255.0)
        assert even_strokes(ink) is ink, k
