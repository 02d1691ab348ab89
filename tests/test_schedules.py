"""Learning-rate schedules: values worked by hand, warm-up, and clear errors."""

from __future__ import annotations

import math

import pytest

from mojinet.nn.schedules import make_schedule


def test_constant():
    eta = make_schedule("constant", 0.5, 10)
    assert [eta(e) for e in range(3)] == [0.5, 0.5, 0.5]


def test_cosine_by_hand():
    eta = make_schedule("cosine", 2.0, 4)
    # 2·½(1 + cos(πe/4)) for e = 0, 1, 2, 3
    assert [eta(e) for e in range(4)] == pytest.approx(
        [2.0, 1 + math.cos(math.pi / 4), 1.0, 1 + math.cos(3 * math.pi / 4)]
    )


def test_step_halves_every_k_epochs_and_takes_gamma():
    eta = make_schedule("step", 1.0, 30, step=10)
    assert [eta(e) for e in (0, 9, 10, 19, 20)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    eta = make_schedule("step", 1.0, 30, step=2, gamma=0.1)
    assert [eta(e) for e in range(5)] == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01])


def test_warmup_then_cosine_over_the_remaining_epochs():
    eta = make_schedule("cosine", 0.3, 6, warmup=2)
    values = [eta(e) for e in range(6)]
    # warm-up: 0.3·1/3, 0.3·2/3; then cosine over 4 epochs starting at η₀
    assert values[:2] == pytest.approx([0.1, 0.2])
    assert values[2:] == pytest.approx([0.3 * 0.5 * (1 + math.cos(math.pi * e / 4))
                                        for e in range(4)])


def test_warmup_with_constant_reaches_eta0():
    eta = make_schedule("constant", 1.0, 5, warmup=3)
    assert [eta(e) for e in range(5)] == pytest.approx([0.25, 0.5, 0.75, 1.0, 1.0])
    assert make_schedule("cosine", 1.0, 5, warmup=1)(0) == 0.5


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="linear"), "choose one of: constant, cosine, step, onecycle"),
    (dict(name="onecycle", warmup=1), "its own warm-up"),
    (dict(step=0), "step >= 1"), (dict(gamma=0.0), "gamma"), (dict(gamma=1.5), "gamma"),
    (dict(warmup=-1), "warmup"),
])
def test_bad_settings(kwargs, message):
    args = dict(name="step", eta0=1.0, epochs=10)
    args.update(kwargs)
    name, eta0, epochs = args.pop("name"), args.pop("eta0"), args.pop("epochs")
    with pytest.raises(ValueError, match=message):
        make_schedule(name, eta0, epochs, **args)


def test_onecycle_by_hand():
    eta = make_schedule("onecycle", 1.0, 10)  # rise over 3 epochs, cosine over 7
    assert eta.per_step
    assert eta(0.0) == pytest.approx(0.1)
    assert eta(1.5) == pytest.approx(0.1 + 0.9 * 0.5)  # half-way up
    assert eta(3.0) == pytest.approx(1.0)  # the top
    assert eta(6.5) == pytest.approx(0.5)  # half-way down the cosine
    assert eta(10.0) == pytest.approx(0.0, abs=1e-12)
    assert eta(2.9) < eta(3.0) and eta(3.1) < eta(3.0)
    assert not getattr(make_schedule("cosine", 1.0, 10), "per_step", False)
