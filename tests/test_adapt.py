"""Learn my hand (``mojinet.adapt``): fine-tuning on a user's strokes mixed with replayed samples.

A small kana model is trained on synthetic writers; a "user" writes two of its characters in a
hand the model cannot read (KanjiVG's strokes turned a quarter round). Fine-tuning with the
mix must teach the model that hand and keep the other classes; the same fine-tune without
replay (and pushed harder) forgets them, which shows the check can fail.
"""

from __future__ import annotations

import numpy as np
import pytest

from mojinet.adapt import (
    ADAPT_DEFAULTS,
    DEFAULT_REPEAT,
    MAX_REPEAT,
    MIN_REPLAY,
    adapt_config,
    adaptation_data,
    finetune_base,
    replay_sets,
    user_repeat,
    user_samples,
)
from mojinet.cli import main, parse_args
from mojinet.cli.train import base_config, config_from_args
from mojinet.config import ConfigError, RunConfig
from mojinet.data.strokes import Sample, from_kanjivg, read_strokes, write_jsonl
from mojinet.io import load_model
from mojinet.nn.train import evaluate
from mojinet.runner import run

CHARS = "あいうえおか"
TAUGHT = "うか"  # the user's odd hand: these two, turned a quarter round
SIZE = 16


@pytest.fixture(scope="module")
def kana_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("adapt") / "kana.npz"
    config = RunConfig(dataset="kanjivg", dataset_options=dict(chars=CHARS, per_class=80,
                                                               test_per_class=20, size=SIZE),
                       hidden=(48,), activation="relu", output_activation="softmax",
                       cost="cross-entropy", init="he", batch_size=32, eta=0.05, momentum=0.9,
                       weight_decay=1e-4, epochs=8, out=str(out))
    run(config)
    return out


def turned(sample: Sample, k: int) -> Sample:
    """The sample turned a quarter round (x, y) → (1 − y, x), jittered a little per copy k."""
    rng = np.random.default_rng(k)
    strokes = tuple(np.column_stack([1 - P[:, 1], P[:, 0]]) + rng.normal(0, 0.01, 2)
                    for P in sample.strokes)
    return Sample(sample.label, strokes, writer="me", source="mojinet draw page")


@pytest.fixture(scope="module")
def hand(tmp_path_factory):
    """A folder of the user's samples: 3 of each taught character (strokes as JSON lines)."""
    folder = tmp_path_factory.mktemp("hand")
    samples = [turned(s, k) for s in from_kanjivg(TAUGHT) for k in range(3)]
    write_jsonl(samples, folder / "mine.jsonl")
    return folder


def other_class_accuracy(model_path, check) -> float:
    """Accuracy on the held-out synthetic writers of the classes not taught."""
    model = load_model(model_path)
    keep = np.isin(check.y, [model.classes.index(c) for c in CHARS if c not in TAUGHT])
    return evaluate(model.network, check.X[keep], check.y[keep])[1]


def test_finetune_learns_the_hand_and_keeps_the_rest(kana_model, hand, tmp_path):
    start = load_model(kana_model)
    config = finetune_base(kana_model).replace(dataset=f"strokes:{hand}", dataset_options={})
    mine = user_samples(config, start, plain=True)
    check = replay_sets(start, 0, 20)[1]  # the model's test writers (seed 1)
    before_mine = evaluate(start.network, mine.X, mine.y)[1]
    before_rest = other_class_accuracy(kana_model, check)
    assert before_mine <= 0.5 and before_rest >= 0.85  # the hand is new; the rest is known

    out = tmp_path / "mine.npz"
    assert main(["train", "--finetune", str(kana_model), "--dataset", f"strokes:{hand}",
                 "--out", str(out)]) == 0
    tuned = load_model(out)
    recorded = tuned.training["config"]
    assert recorded["finetune"] == str(kana_model) and recorded["eta"] == ADAPT_DEFAULTS["eta"]
    assert recorded["epochs"] == ADAPT_DEFAULTS["epochs"] and tuned.classes == start.classes
    assert evaluate(tuned.network, mine.X, mine.y)[1] == 1.0
    assert other_class_accuracy(out, check) >= before_rest - 0.05

    # Without replay, and pushed as hard, the other classes are forgotten.
    forgot = tmp_path / "forgot.npz"
    assert main(["train", "--finetune", str(kana_model), "--dataset", f"strokes:{hand}",
                 "--replay", "0", "--epochs", "30", "--eta", "0.05", "--out",
                 str(forgot)]) == 0
    assert other_class_accuracy(forgot, check) < before_rest - 0.3


def test_the_mix_is_class_balanced_and_half_the_users_where_taught(kana_model, hand):
    config = finetune_base(kana_model).replace(dataset=f"strokes:{hand}", dataset_options={})
    train_set, check = adaptation_data(config)
    start = load_model(kana_model)
    counts = np.bincount(train_set.y, minlength=len(CHARS))
    # 1500 in all for 6 classes: 250 a class, every class alike (no prior shift).
    per_class = -(-MIN_REPLAY // len(CHARS))
    assert counts.tolist() == [per_class] * len(CHARS)
    # In a taught class about half are the user's 3 samples drawn ceil(125 / 3) = 42 times.
    n_user = 6 * user_repeat(np.array([3, 3]), per_class)
    assert n_user == 6 * 42 and len(train_set) == per_class * len(CHARS)
    assert len(check) == 5 * len(CHARS) and check.classes == start.classes
    # The user's draws come first and differ from one another (pen and distortions).
    user_rows = train_set.X[:n_user]
    assert set(train_set.y[:n_user].tolist()) == {start.classes.index(c) for c in TAUGHT}
    assert len(np.unique(user_rows.round(3), axis=0)) == n_user


def test_user_repeat_bounds():
    assert user_repeat(np.array([1, 0]), 0) == DEFAULT_REPEAT  # no replay
    assert user_repeat(np.array([1, 0]), 10_000) == MAX_REPEAT
    assert user_repeat(np.array([4, 4, 0]), 30) == 4  # half of 30 is 15 = 4 draws of 4 (16)
    assert user_repeat(np.array([200, 0]), 30) == 1


def test_the_command_line_runs_what_the_page_runs(kana_model, hand, tmp_path):
    out = str(tmp_path / "mine.npz")
    args = parse_args(["train", "--finetune", str(kana_model), "--dataset", f"strokes:{hand}",
                       "--out", out])
    assert config_from_args(args) == adapt_config(kana_model, hand, out=out)


def test_finetune_defaults_on_the_command_line(kana_model, hand):
    base = base_config(["--finetune", str(kana_model), "--dataset", f"strokes:{hand}"])
    assert base.hidden == (48,) and base.activation == "relu" and base.epochs == 4
    assert base.finetune == str(kana_model) and base.dataset == f"strokes:{hand}"
    # Not learning a hand: the chapter's defaults, as before.
    assert base_config(["--finetune", str(kana_model)]).hidden == (16, 16)


def test_refusals(kana_model, hand, tmp_path):
    with pytest.raises(ConfigError, match="give finetune MODEL"):
        adaptation_data(RunConfig(dataset=f"strokes:{hand}", replay=5))
    with pytest.raises(ConfigError, match="replay must be >= 0"):
        RunConfig(replay=-1)
    other = tmp_path / "other.jsonl"
    write_jsonl([turned(s, 0) for s in from_kanjivg("日")], other)
    config = finetune_base(kana_model).replace(dataset=f"strokes:{other}", dataset_options={})
    with pytest.raises(ValueError, match="none of the 1 samples|no samples"):
        adaptation_data(config)
    assert read_strokes(hand)[0].label in TAUGHT


def test_mnist_models_replay_mnist(tmp_path):
    path = tmp_path / "digits.npz"
    run(RunConfig(limit=2000, epochs=1, out=str(path)))
    model = load_model(path)
    replay, check = replay_sets(model, 7, 3)
    assert replay.classes == model.classes and check.classes == model.classes
    assert np.bincount(replay.y).tolist() == [7] * 10 and np.bincount(check.y).tolist() == [3] * 10
