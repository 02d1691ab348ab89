"""Named training recipes for ``mojinet train --preset NAME``: their sources, what they reach.

A preset is a named ``RunConfig`` (config.py). On the command line it supplies the defaults of the
``train`` options, and any option given still wins (``--preset record --epochs 5`` is the record
recipe, shortened); in Python, ``PRESETS["record"].config.replace(epochs=5)``. The accuracies in
docs/results.md are MNIST test accuracies (10,000 images) after training on the 60,000 training
images only, produced by the command given there on the 2-core machine it names.

Non-goals: hyperparameter search. Every preset is a fixed recipe someone can rerun.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import RunConfig


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    source: str
    config: RunConfig
    needs_teacher: bool = False  # distillation: the run needs a teacher model (--teacher MODEL)


# The chapter's recipe: RunConfig's own defaults.
BASE = RunConfig()


def _preset(name: str, summary: str, source: str, needs_teacher: bool = False,
            **options) -> Preset:
    return Preset(name, summary, source, BASE.replace(preset=name, **options), needs_teacher)


# The affine distortions of best-cpu and record: small rotations, stretches and shifts.
_AFFINE = dict(rotate=10.0, scale=0.1, shift=2.0)

PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        _preset(
            "chapter",
            "the chapter's 784-16-16-10 sigmoid network with the quadratic cost (the default)",
            "3Blue1Brown, 'But what is a neural network?' (2017); training settings chosen for "
            "this project: Xavier initialisation, η = 3.0 with a cosine schedule, L2 3e-5",
        ),
        _preset(
            "chapter-tuned",
            "the same 784-16-16-10 shape, trained better: tanh hidden layers, softmax output, "
            "cross-entropy, Nesterov momentum, cosine schedule, small shifts of the images",
            "this project (issue 4); 3Blue1Brown says 'about 98%' is possible for this shape",
            activation="tanh", output_activation="softmax", cost="cross-entropy",
            batch_size=32, eta=0.05, momentum=0.9, nesterov=True, warmup=1,
            weight_decay=1e-4, shift=1.0, rotate=5.0, scale=0.05, epochs=60,
        ),
        _preset(
            "chapter-distilled",
            "784-16-16-10 again, ReLU hidden layers, learning from a trained teacher's answers "
            "(distillation) as well as the labels, with mild distortions, 150 epochs; "
            "needs --teacher MODEL, e.g. the best-cpu model",
            "Hinton, Vinyals & Dean 2015, 'Distilling the knowledge in a neural network'",
            needs_teacher=True,
            activation="relu", init="he", output_activation="softmax", cost="cross-entropy",
            batch_size=32, eta=0.05, momentum=0.9, nesterov=True, warmup=1,
            weight_decay=1e-4, shift=1.0, rotate=5.0, scale=0.05, epochs=150,
            teacher_weight=0.7, temperature=2.0,
        ),
        _preset(
            "nielsen",
            "Nielsen's first network: 784-30-10 sigmoid, quadratic cost, η = 3.0, batch 10",
            "Nielsen, Neural Networks and Deep Learning, ch. 1 (network.py): 30 epochs, "
            "N(0, 1) initialisation, constant η, about 95% reported",
            hidden=(30,), init="normal", schedule="constant", weight_decay=0.0, epochs=30,
        ),
        _preset(
            "nielsen2",
            "Nielsen's improved network: 784-100-10, cross-entropy, L2 regularisation",
            "Nielsen, ch. 3 (network2.py): 100 hidden neurons, cross-entropy, λ = 5.0 over "
            "n = 50,000 (weight decay λ/n = 1e-4), η = 0.1, batch 10, 60 epochs, 98.04% reported",
            hidden=(100,), cost="cross-entropy", schedule="constant", eta=0.1,
            weight_decay=1e-4, epochs=60,
        ),
        _preset(
            "best-cpu",
            "784-800-800-10 ReLU, softmax, Nesterov momentum, cosine schedule, affine distortions; "
            "the best found for about 15 minutes of one contended CPU core",
            "this project; cf. Simard et al. 2003 (800 hidden units: 98.4% plain, 98.9% with "
            "affine distortions)",
            hidden=(800, 800), activation="relu", output_activation="softmax",
            cost="cross-entropy", init="he", batch_size=100, eta=0.05, momentum=0.9,
            nesterov=True, warmup=1, weight_decay=1e-4, epochs=16, **_AFFINE,
        ),
        _preset(
            "fast-98",
            "98% on MNIST in 3 epochs: 784-800-10 ReLU, softmax, momentum (the compiled "
            "engine, both cores), a one-cycle schedule per step up to η = 0.4, no distortions",
            "this project (issue 18, benchmarks/time_to_accuracy.py --validation): chosen on "
            "10,000 held-out training images: 98.01% there after epoch 3 of 3 (η 0.3: 97.99%, "
            "0.5: 97.85%; 4 epochs at 0.4: 98.12% after epoch 4; the earlier per-epoch cosine, "
            "η 0.1, 8 epochs: 98.0% first after epoch 6); Smith & Topin 2018 (one-cycle)",
            hidden=(800,), activation="relu", output_activation="softmax", cost="cross-entropy",
            init="he", batch_size=128, eta=0.4, momentum=0.9, weight_decay=0.0, epochs=3,
            schedule="onecycle",
        ),
        _preset(
            "fast-99",
            "aiming at 99% on MNIST in a minute: fast-98's 784-800-10 with the affine "
            "distortions of best-cpu, a one-cycle schedule up to η = 0.2 over 20 epochs (a run "
            "checked each epoch stops at the target)",
            "this project (issue 18, benchmarks/time_to_accuracy.py --validation): on 10,000 "
            "held-out training images, 99.01% after epoch 16 of 20 (2026-12-03; 12 epochs: "
            "98.96% on those libraries and the day before's, 12 epochs with elastic distortions "
            "98.42%, 16 with dropout 0.2 98.98%, 20 at η 0.3 98.90%, 784-1200-10: 98.86%, "
            "784-800-100-10: 98.92%, milder distortions: 98.75%, L2 1e-4: 98.89%, η 0.1: "
            "98.77%); cf. Simard et al. 2003 (784-800-10 with affine distortions: 98.9%)",
            hidden=(800,), activation="relu", output_activation="softmax", cost="cross-entropy",
            init="he", batch_size=128, eta=0.2, momentum=0.9, weight_decay=0.0, epochs=20,
            schedule="onecycle", **_AFFINE,
        ),
        _preset(
            "record",
            "the most accurate pure MLP trained here: 784-800-800-10 ReLU with affine and "
            "elastic distortions",
            "Simard, Steinkraus & Platt 2003 (elastic distortions, 800-unit MLP: 99.3%); "
            "Ciresan et al. 2010 (deep MLPs on distorted MNIST: 99.65%)",
            hidden=(800, 800), activation="relu", output_activation="softmax",
            cost="cross-entropy", init="he", batch_size=100, eta=0.05, momentum=0.9,
            nesterov=True, warmup=1, weight_decay=1e-4, epochs=50, elastic_alpha=34.0,
            elastic_sigma=4.0, **_AFFINE,
        ),
        _preset(
            "kanji",
            "for Japanese characters (kana and kanji): one hidden layer of 512 ReLU, "
            "softmax, cross-entropy, momentum SGD, 15 epochs; the default of the KanjiVG, "
            "Kuzushiji and ETL datasets",
            "this project (docs/kanji.md): the kanji-radical recipe without the component head",
            dataset="kanjivg-grade1", hidden=(512,), activation="relu",
            output_activation="softmax", cost="cross-entropy", init="he", batch_size=64,
            eta=0.05, momentum=0.9, weight_decay=1e-4, epochs=15,
        ),
        _preset(
            "kanji-radical",
            "the 80 grade-1 kanji (synthetic KanjiVG handwriting, 32×32) with a second output "
            "head that names each character's components (radicals); `mojinet train-radical`",
            "this project (issue 7, docs/kanji.md): do hidden neurons come to stand for radicals?",
            dataset="kanjivg", dataset_options=dict(chars="grade1", per_class=500,
                                                    test_per_class=100, size=32,
                                                    style=["default"]),
            hidden=(512,), activation="relu", output_activation="softmax", cost="cross-entropy",
            init="he", batch_size=64, eta=0.05, momentum=0.9, weight_decay=1e-4, epochs=15,
            radical_lambda=1.0, radical_min_kanji=2, out="mojinet-radical.npz",
        ),
    )
}

DEFAULT = "chapter"

# Datasets whose default recipe is not the chapter's: with many classes its 16-16 sigmoid network
# stays at chance (1.25% on the 80 grade-1 kanji). Matched on the name before any ":".
DATASET_PRESETS = {"kanjivg": "kanji", "kkanji": "kanji", "k49": "kanji", "etl8b": "kanji",
                   "etl9b": "kanji", "strokes": "kanji"}


def dataset_preset(dataset: str) -> str:
    """The preset ``mojinet train --dataset DATASET`` starts from when none is given."""
    key = dataset.split(":", 1)[0]
    return DATASET_PRESETS.get(key.split("-", 1)[0] if key.startswith("kanjivg") else key,
                               DEFAULT)


def default_out(dataset: str) -> str:
    """The model file a run on ``dataset`` is saved to when no other is given:
    mojinet-mnist.npz, mojinet-kanjivg-grade1.npz, mojinet-folder.npz (folder:PATH)."""
    return f"mojinet-{dataset.split(':', 1)[0]}.npz"


def get_preset(name: str) -> Preset:
    """The preset called ``name``; the error lists the valid names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}"
        ) from None
