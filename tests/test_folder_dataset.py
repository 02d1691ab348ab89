"""A user's own images: one subfolder per class, preprocessed exactly as `predict` does."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mojinet import cli, load_dataset, load_model, to_input
from mojinet.data.images import ImageError


def draw(path, shape: str, k: int) -> None:
    """Dark ink on white paper, like a scan: a bar or a ring, slightly different each time."""
    img = Image.new("L", (60 + k, 50), 255)
    d = ImageDraw.Draw(img)
    if shape == "bar":
        d.rectangle([25, 8, 29 + k, 42], fill=0)  # width varies
    else:
        d.ellipse([12, 8, 30 + 2 * k, 42], outline=0, width=5)
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


@pytest.fixture
def scans(tmp_path):
    root = tmp_path / "scans"
    for k in range(10):
        draw(root / "一" / f"{k:02d}.png", "bar", k)
        draw(root / "〇" / f"{k:02d}.jpg", "ring", k)
    (root / "〇" / "notes.txt").write_text("not an image: ignored")
    return root


def test_folder_classes_splits_and_predict_preprocessing(scans):
    everything = load_dataset(f"folder:{scans}", "all")
    train = load_dataset(f"folder:{scans}", "train")
    test = load_dataset(f"folder:{scans}", "test")
    assert everything.classes == ("〇", "一") == train.classes == test.classes  # sorted names
    assert (len(everything), len(train), len(test)) == (20, 16, 4)
    assert np.bincount(test.y).tolist() == [2, 2]
    # Each row is exactly what predict would feed the network for that file.
    first_ring = sorted((scans / "〇").glob("*.jpg"))[0]
    np.testing.assert_array_equal(everything.X[0], to_input(first_ring, 28, 20).reshape(-1))
    # Train and test are disjoint and together are everything.
    rows = {r.tobytes() for r in everything.X}
    assert {r.tobytes() for r in train.X} | {r.tobytes() for r in test.X} == rows
    assert not {r.tobytes() for r in train.X} & {r.tobytes() for r in test.X}


def test_size_option_and_data_dir_form(scans):
    d = load_dataset("folder", "all", data_dir=scans, size=40)
    assert d.image_shape == (40, 40) and d.X.shape == (20, 1600)


def test_train_and_test_subfolders_are_used_as_given(tmp_path):
    for split, n in (("train", 3), ("test", 2)):
        for k in range(n):
            draw(tmp_path / split / "一" / f"{k}.png", "bar", k)
            draw(tmp_path / split / "〇" / f"{k}.png", "ring", k)
    assert len(load_dataset(f"folder:{tmp_path}", "train")) == 6
    assert len(load_dataset(f"folder:{tmp_path}", "test")) == 4


def test_errors_say_what_to_fix(tmp_path, scans):
    with pytest.raises(FileNotFoundError, match="no class subfolders"):
        load_dataset(f"folder:{tmp_path / 'scans' / '一'}", "all")
    with pytest.raises(FileNotFoundError, match="no such folder"):
        load_dataset(f"folder:{tmp_path / 'nowhere'}", "all")
    (scans / "一" / "broken.png").write_bytes(b"not really a png")
    with pytest.raises(ImageError, match="broken.png.*fix or remove"):
        load_dataset(f"folder:{scans}", "all")
    with pytest.raises(ValueError, match="size"):
        load_dataset(f"folder:{scans}", "all", size=3)
    with pytest.raises(ValueError, match="give the folder once"):
        load_dataset(f"folder:{scans}", "all", data_dir=scans)


def test_cli_trains_and_evaluates_on_a_folder(scans, tmp_path, capsys):
    out = tmp_path / "m.npz"
    assert cli.main(["train", "--dataset", f"folder:{scans}", "--image-size", "20", "--hidden",
                     "8", "--epochs", "2", "--batch-size", "4", "--out", str(out)]) == 0
    model = load_model(out)
    assert model.image_shape == (20, 20) and model.classes == ("〇", "一")
    assert cli.main(["evaluate", str(out), "--dataset", "folder", "--data-dir", str(scans),
                     "--split", "all"]) == 0
    assert "of 20" in capsys.readouterr().out
