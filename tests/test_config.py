"""RunConfig: validated on construction (errors name the parameter), JSON and TOML round trips,
reading from files, presets as configs."""

from __future__ import annotations

import dataclasses
import json
import tomllib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mojinet.config import ConfigError, RunConfig, read_config
from mojinet.presets import PRESETS


@pytest.mark.parametrize("changes, message", [
    (dict(eta=-1), "eta must be > 0, got -1"),
    (dict(eta=0), "eta must be > 0, got 0"),
    (dict(batch_size=0), "batch_size must be >= 1, got 0"),
    (dict(momentum=1.0), "momentum must be in [0, 1), got 1"),
    (dict(nesterov=True), "Nesterov momentum needs a momentum > 0"),
    (dict(optimizer="adam", momentum=0.9), "momentum and nesterov belong to SGD"),
    (dict(optimizer="rmsprop"), "optimizer must be one of sgd, adam; got 'rmsprop'"),
    (dict(activation="softmax"), "activation must be one of sigmoid, relu, tanh"),
    (dict(activations=("relu", "softmax")), "one activation per layer after the input (3)"),
    (dict(cost="cross-entropy", output_activation="relu"), "cost: the cross-entropy cost needs"),
    (dict(cost="hinge"), "cost must be one of"),
    (dict(init="zeros"), "init must be one of normal, xavier, he"),
    (dict(hidden=(16, 0)), "hidden layer sizes must be from 1 to 10,000,000, got [16, 0]"),
    (dict(hidden=(16, 2.5)), "hidden[1] must be a whole number, got 2.5"),
    (dict(dropout=(0.0, 1.0)), "dropout (hidden) must be a dropout probability in [0, 1)"),
    (dict(dropout=(0.1,)), "dropout must be a list of 2, got [0.1]"),
    (dict(rotate=-5), "rotate must be >= 0"),
    (dict(elastic_sigma=0), "elastic_sigma must be > 0"),
    (dict(early_stopping=3), "hold out a validation split"),
    (dict(best=True), "hold out a validation split"),
    (dict(validation=100, limit=100), "validation must be < limit (100)"),
    (dict(limit=-1), "limit must be >= 0"),
    (dict(epochs=0), "epochs must be >= 1, got 0"),
    (dict(schedule="onecycle", warmup=1), "onecycle schedule has its own warm-up; set warmup 0"),
    (dict(teacher_weight=1.5), "teacher_weight must be in [0, 1], got 1.5"),
    (dict(temperature=0), "temperature must be > 0"),
    (dict(radical_lambda=1.0, hidden=()), "the component head reads the last hidden layer"),
    (dict(engine="gpu"), "engine must be one of auto, reference, blas, compiled; got 'gpu'"),
    (dict(seed=-1), "seed must be >= 0"),
    (dict(eta="fast"), "eta must be a number, got 'fast'"),
    (dict(eta=float("nan")), "eta must be a finite number"),
    (dict(best=1), "best must be true or false, got 1"),
    (dict(epochs=True), "epochs must be a whole number, got True"),
    (dict(dataset=""), "dataset must be a non-empty string"),
    (dict(dataset_options={"size": {"a": 1}}), "dataset_options.size must be a number, text"),
    (dict(dataset_options=[1]), "dataset_options must be a table of options"),
])
def test_bad_values_are_refused_naming_the_parameter(changes, message):
    with pytest.raises(ConfigError) as err:
        RunConfig(**changes)
    assert message in str(err.value)


def test_values_are_normalised_and_frozen():
    c = RunConfig(hidden=[30], eta=3, dropout=[0, 0.5], activations=None)
    assert c.hidden == (30,) and c.eta == 3.0 and isinstance(c.eta, float)
    assert c.dropout == (0.0, 0.5)
    assert c.layer_activations == ("sigmoid", "sigmoid")
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.eta = 1.0  # type: ignore[misc]
    assert c.replace(eta=0.5).eta == 0.5 and c.eta == 3.0
    with pytest.raises(ConfigError, match="eta must be > 0"):
        c.replace(eta=-2)
    assert hash(c) == hash(RunConfig(hidden=(30,), eta=3.0, dropout=(0.0, 0.5)))


def test_unknown_options_are_an_error():
    with pytest.raises(ConfigError, match="unknown option.*learning_rate.*has: activation"):
        RunConfig.from_dict({"learning_rate": 3.0})
    with pytest.raises(ConfigError, match="table of options"):
        RunConfig.from_dict([1, 2])


configs = st.builds(
    RunConfig,
    hidden=st.lists(st.integers(1, 1000), max_size=3).map(tuple),
    eta=st.floats(1e-6, 10, allow_nan=False),
    momentum=st.floats(0, 0.99),
    weight_decay=st.floats(0, 1),
    dropout=st.tuples(st.floats(0, 0.9), st.floats(0, 0.9)),
    epochs=st.integers(1, 500),
    seed=st.integers(0, 2**63),
    dataset=st.sampled_from(["mnist", "kanjivg", "folder:my scans/ä \"x\""]),
    dataset_options=st.dictionaries(st.sampled_from(["size", "chars", "style", "a b"]),
                                    st.one_of(st.integers(0, 99), st.text(max_size=5),
                                              st.lists(st.text(max_size=3), max_size=2))),
    teacher=st.one_of(st.none(), st.text(min_size=1, max_size=10)),
    out=st.one_of(st.none(), st.just("a.npz")),
    engine=st.sampled_from(["auto", "reference", "blas", "compiled"]),
)


@settings(max_examples=60, deadline=None)
@given(configs)
def test_json_and_toml_round_trip_exactly(config):
    assert RunConfig.from_json(config.to_json()) == config
    assert RunConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    text = config.to_toml()
    assert RunConfig.from_dict(tomllib.loads(text)) == config
    assert RunConfig.from_toml(str(config)) == config


def test_every_preset_round_trips_through_toml_and_json():
    for preset in PRESETS.values():
        assert RunConfig.from_toml(preset.config.to_toml()) == preset.config
        assert RunConfig.from_json(preset.config.to_json()) == preset.config


def test_read_config_from_files(tmp_path):
    config = PRESETS["nielsen"].config.replace(epochs=3)
    (tmp_path / "a.toml").write_text(config.to_toml())
    (tmp_path / "a.json").write_text(config.to_json())
    assert read_config(tmp_path / "a.toml") == config == read_config(tmp_path / "a.json")
    (tmp_path / "short.toml").write_text('preset = "nielsen"\nepochs = 3\n')
    assert read_config(tmp_path / "short.toml") == config  # the rest from the preset it names
    (tmp_path / "plain.json").write_text('{"epochs": 3}')
    assert read_config(tmp_path / "plain.json") == RunConfig(epochs=3)  # … or the chapter's
    (tmp_path / "bad.toml").write_text('eta = -1\n')
    with pytest.raises(ConfigError, match="bad.toml: eta must be > 0"):
        read_config(tmp_path / "bad.toml")
    (tmp_path / "broken.toml").write_text('eta = \n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        read_config(tmp_path / "broken.toml")
    (tmp_path / "a.yaml").write_text("eta: 1")
    with pytest.raises(ConfigError, match="ends in .json or .toml"):
        read_config(tmp_path / "a.yaml")
    with pytest.raises(FileNotFoundError, match="no such config"):
        read_config(tmp_path / "missing.toml")


def test_toml_is_readable_text():
    text = PRESETS["kanji-radical"].config.to_toml()
    assert 'dataset = "kanjivg"' in text and "hidden = [512]" in text
    assert "teacher =" not in text  # None: left out, read back as the default
    assert text.rstrip().endswith('style = ["default"]')
    assert "[dataset_options]" in text and 'chars = "grade1"' in text
