"""Learn my hand in a real browser: Chromium draws an X that the digit model misreads, says
"not what I wrote?", types the right digit (after one the model does not know), saves it, presses
"Learn my hand", and sees the page read the same drawing as the taught digit.

Needs ``chromium`` (apt) and ``playwright``; skipped locally without them, failed in CI.
"""

from __future__ import annotations

import pytest

from pages import ARTIFACTS, SETTLED, chromium, draw, served_page

pytestmark = pytest.mark.slow  # training a small model, Chromium and an adaptation: ~30 s

CROSS = [[(0.25, 0.2), (0.5, 0.5), (0.75, 0.8)], [(0.75, 0.2), (0.5, 0.5), (0.25, 0.8)]]


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    from mojinet.config import RunConfig
    from mojinet.runner import run

    path = tmp_path_factory.mktemp("learn-browser") / "digits.npz"
    run(RunConfig(limit=10_000, hidden=(32,), activation="relu", output_activation="softmax",
                  cost="cross-entropy", init="he", eta=0.05, momentum=0.9, batch_size=32,
                  epochs=3, out=str(path)))
    return path


def test_correct_a_drawing_and_learn_it(digits_model, tmp_path):
    from mojinet.data.strokes import read_strokes
    from mojinet.io import load_model
    from mojinet.web.learn import samples_folder

    model = load_model(digits_model)
    root = tmp_path / "samples"
    options = {"model_path": digits_model, "samples": root}
    with chromium() as browser, served_page(browser, model, "digits.npz", options) as page:
        assert page.locator("#learn").is_visible()
        assert page.locator("#wrong").is_disabled()  # nothing drawn yet
        draw(page, CROSS)
        read = page.locator("#prediction").get_attribute("data-label")
        taught = "5" if read != "5" else "3"
        page.click("#wrong")
        assert page.locator("#teach").is_visible()
        choices = page.locator("#teach-choices .choice").all_inner_texts()
        assert len(choices) == 5 and read not in choices  # the runners-up, to pick from
        # A character the model does not know is refused, with the reason.
        page.fill("#teach-input", "あ")
        page.click("#teach-save")
        page.wait_for_function("() => document.querySelector('#learn-status').textContent"
                               ".startsWith('Not saved')")
        assert "not known to this model" in page.locator("#learn-status").inner_text()
        assert not root.exists() or not list(root.rglob("*.jsonl"))
        page.fill("#teach-input", taught)
        page.click("#teach-save")
        page.wait_for_function("() => document.querySelector('#learn-status').textContent"
                               ".startsWith('Saved as')")
        assert page.locator("#teach").is_hidden()
        (sample,) = read_strokes(samples_folder(root, model.classes))
        assert sample.label == taught and len(sample.strokes) == 2 and sample.times is not None
        assert sample.times[0][0] == 0 and sample.times[1][0] > sample.times[0][-1]
        assert page.locator("#adapt").is_enabled()
        page.click("#adapt")
        page.wait_for_function(
            f"() => document.body.dataset.adapted && ({SETTLED})() "
            f"&& document.querySelector('#prediction').dataset.label === '{taught}'",
            timeout=180_000)
        assert "Adapted to your 1 sample:" in page.locator("#learn-status").inner_text()
        page.screenshot(path=str(ARTIFACTS / "learn-my-hand.png"), full_page=True)
        assert page.errors == []
