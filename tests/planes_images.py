"""Test images and models for the direction planes' exports (test_export_planes.py: ONNX,
test_web_planes.py: net.js in Chromium), each checked against ``mojinet.data.directions``."""

from __future__ import annotations

import numpy as np

from mojinet import SGD, Model, Network, train
from mojinet.data.directions import InputFeatures


def bar(size: int, degrees: float, half_width: float = 1.2, length: float = 0.35) -> np.ndarray:
    """(size·size,) an anti-aliased bar through the centre at ``degrees`` (counter-clockwise
    from the x axis, y up, as the planes count): ink = how far inside the bar each pixel is."""
    r, c = np.mgrid[0:size, 0:size].astype(np.float64)
    x, y = c - (size - 1) / 2, (size - 1) / 2 - r  # y up
    d = np.radians(degrees)
    along = x * np.cos(d) + y * np.sin(d)
    across = np.abs(-x * np.sin(d) + y * np.cos(d))
    inside = np.clip(half_width + 0.5 - across, 0, 1) * np.clip(length * size + 0.5
                                                                 - np.abs(along), 0, 1)
    return inside.astype(np.float32).ravel()


def images(size: int, seed: int = 0) -> np.ndarray:
    """(n, size·size) float32 test images: random grey, random 0/1, bars at 0° to 165° every
    15° (exactly horizontal, vertical and diagonal among them: gx = 0, gy = 0, |gx| = |gy|),
    hard 0/1 bars, a lone dot, a full image, and an all-zero one."""
    rng = np.random.default_rng(seed)
    grey = rng.random((8, size * size), dtype=np.float32)
    binary = (rng.random((8, size * size)) > 0.6).astype(np.float32)
    bars = np.stack([bar(size, a) for a in range(0, 180, 15)])
    hard = (bars > 0.5).astype(np.float32)
    dot = np.zeros(size * size, np.float32)
    dot[(size // 2) * size + size // 2] = 1
    ones, zeros = np.ones(size * size, np.float32), np.zeros(size * size, np.float32)
    return np.concatenate([grey, binary, bars, hard, np.stack([dot, ones, zeros])])


def planes_model(size: int, pool: int, hidden=(12,), activations=("relu", "softmax"),
                 seed: int = 0) -> Model:
    """An untrained pixels+directions model on size × size images (random weights)."""
    features = InputFeatures("pixels+directions", (size, size), pool)
    net = Network([features.n_inputs, *hidden, 5], list(activations),
                  "cross-entropy" if activations[-1] == "softmax" else "quadratic", seed=seed)
    return Model(net, tuple("abcde"), {"image_shape": [size, size],
                                       "user_images": {"box": round(size * 20 / 28)},
                                       "features": features.record()})


def trained_kanji_planes(chars: str = "山川日月木水火土金", size: int = 32, pool: int = 4):
    """A pixels+directions model trained on synthetic KanjiVG drawings of ``chars`` (24 each,
    8 epochs: a few seconds); returns (model, the drawings' Dataset)."""
    from mojinet.data import kanji

    data = kanji.synthetic_dataset(chars, 24, size, seed=0)  # (24·len(chars), size·size)
    features = InputFeatures("pixels+directions", (size, size), pool)
    net = Network([features.n_inputs, 48, len(chars)], ["relu", "softmax"], "cross-entropy",
                  init="he", seed=0)
    train(net, features(data.X), data.y, optimizer=SGD(0.1), epochs=8, batch_size=20,
          rng=np.random.default_rng(0))
    model = Model(net, data.classes, {"image_shape": [size, size],
                                      "user_images": {"box": round(size * 20 / 28)},
                                      "features": features.record()}, {"test_accuracy": 0.9})
    return model, data
