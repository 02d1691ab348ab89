"""The dataset registry: names → loaders + metadata + credit, extensible by register_dataset."""

from __future__ import annotations

import json

import numpy as np
import pytest

from mojinet import Dataset, cli, load_dataset
from mojinet.data import registry
from mojinet.data.registry import available_datasets, register_dataset

BUILT_IN = {"mnist", "kmnist", "k49", "kkanji", "fashion-mnist", "emnist-digits",
            "emnist-letters", "etl8b", "etl9b", "folder"}


@pytest.fixture
def scratch_registry(monkeypatch):
    available_datasets()  # load the built-ins first
    monkeypatch.setattr(registry, "DATASETS", dict(registry.DATASETS))
    return registry.DATASETS


def tiny_loader(split, data_dir=None, side=4):
    X = np.full((3, side * side), 0.5, np.float32)
    return Dataset(X, np.array([0, 1, 0]), ("a", "b"), (side, side), f"tiny-{split}")


def test_every_built_in_dataset_is_registered_with_credit():
    specs = available_datasets()
    assert BUILT_IN <= set(specs)
    for spec in specs.values():
        assert spec.credit.strip() and spec.description
    assert "doi:10.20676/00000341" in specs["kmnist"].credit
    assert "CODH" in specs["kmnist"].credit and "NIJL" in specs["kmnist"].credit
    assert "CC BY-SA 4.0" in specs["kmnist"].credit
    assert "Zalando" in specs["fashion-mnist"].credit and "MIT" in specs["fashion-mnist"].credit
    assert "Cohen" in specs["emnist-letters"].credit and "NIST" in specs["emnist-letters"].credit
    assert "AIST" in specs["etl9b"].credit


def test_every_download_has_a_checksum_and_a_mirror():
    for spec in available_datasets().values():
        for f in spec.files:
            assert f.urls and all(u.startswith(("https://", "http://")) for u in f.urls)
            assert len(f.digest) == {"md5": 32, "sha256": 64}[f.algorithm]


def test_register_dataset_makes_a_name_loadable_and_a_cli_choice(scratch_registry):
    spec = register_dataset("tiny", tiny_loader, credit="made up for a test",
                            description="three tiny images")
    assert spec.options == ("side",)
    d = load_dataset("tiny", "test", side=2)
    assert d.name == "tiny-test" and d.image_shape == (2, 2)
    assert cli.build_parser().parse_args(["train", "--dataset", "tiny"]).dataset == "tiny"


def test_register_dataset_validates(scratch_registry):
    with pytest.raises(ValueError, match="already registered"):
        register_dataset("mnist", tiny_loader, credit="x")
    with pytest.raises(ValueError, match="credit"):
        register_dataset("tiny", tiny_loader, credit=" ")
    with pytest.raises(ValueError, match="lower case"):
        register_dataset("Tiny:1", tiny_loader, credit="x")
    with pytest.raises(TypeError, match="unknown metadata"):
        register_dataset("tiny", tiny_loader, credit="x", colour="red")
    register_dataset("bad", lambda split, data_dir=None: "not a dataset", credit="x")
    with pytest.raises(TypeError, match="not a Dataset"):
        load_dataset("bad", "train")


def test_unknown_names_splits_and_options_are_clear():
    with pytest.raises(ValueError, match="unknown dataset 'kmnits'.*kmnist"):
        load_dataset("kmnits", "train")
    with pytest.raises(ValueError, match="no split 'validation'"):
        load_dataset("mnist", "validation")
    with pytest.raises(TypeError, match="takes no option"):
        load_dataset("mnist", "train", size=64)
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["train", "--dataset", "kmnits"])


def test_mnist_is_still_bundled_and_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("MOJINET_OFFLINE", "1")
    monkeypatch.setenv("MOJINET_CACHE", str(tmp_path))
    monkeypatch.delenv("MOJINET_DATA_DIR", raising=False)
    d = load_dataset("mnist", "test")
    assert len(d) == 10_000 and d.classes == tuple("0123456789")
    assert not any(tmp_path.iterdir())


def test_datasets_command_lists_names_sources_credit_and_cache_state(capsys, monkeypatch,
                                                                     tmp_path):
    monkeypatch.setenv("MOJINET_CACHE", str(tmp_path))
    assert cli.main(["datasets"]) == 0
    out = capsys.readouterr().out
    for name in BUILT_IN:
        assert f"\n{name}: " in out
    assert "doi:10.20676/00000341" in out and str(tmp_path) in out
    assert cli.main(["datasets", "kmnist"]) == 0
    out = capsys.readouterr().out
    assert "https://codh.rois.ac.jp/kmnist/dataset/kmnist/t10k-images-idx3-ubyte.gz" in out
    assert "not cached" in out
    # Put the download's files in the cache: the listing says so.
    from mojinet.data.catalog import KMNIST_FILES

    (tmp_path / "kmnist").mkdir()
    for split in KMNIST_FILES.values():
        for f in (split[0].images, split[0].labels):
            (tmp_path / "kmnist" / f.name).write_bytes(b"\0" * f.size)
    assert cli.main(["datasets", "--json"]) == 0
    info = {d["name"]: d for d in json.loads(capsys.readouterr().out)}
    assert info["kmnist"]["state"] == "cached" and info["mnist"]["state"] == "bundled"
    assert info["kkanji"]["image_shape"] == [64, 64]


def test_a_dataset_module_missing_its_dependency_is_reported_not_fatal(monkeypatch, tmp_path):
    """A plugin module whose optional package is not installed must not break MNIST."""
    (tmp_path / "needs_missing_pkg.py").write_text("import mojinet_no_such_package\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "DATASET_MODULES",
                        (*registry.DATASET_MODULES, "needs_missing_pkg", "no_such_module"))
    monkeypatch.setattr(registry, "_plugins_loaded", False)
    monkeypatch.setattr(registry, "PLUGIN_ERRORS", {})
    assert "mnist" in available_datasets()
    assert list(registry.PLUGIN_ERRORS) == ["needs_missing_pkg"]
    with pytest.raises(ValueError, match="mojinet_no_such_package"):
        load_dataset("no-such-dataset", "train")
