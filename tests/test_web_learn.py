"""Learn my hand over real HTTP: save a corrected drawing, adapt, and read it right afterwards.

The round trip: a drawing the model misreads is saved with another label (POST /api/samples);
the files on disk are a mojinet JSON line that ``data/strokes.py`` reads back and a PNG; the
adaptation (POST /api/adapt, in the background) fine-tunes the model, saves it beside the
samples, keeps the old file, and swaps it in: the server's answer for the same drawing becomes
the taught character. Then hostile requests to the new routes: every one a 4xx with a message,
nothing written outside the samples folder, the server up.
"""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
from PIL import Image, ImageDraw  # noqa: E402

from mojinet.adapt import adapt_config  # noqa: E402
from mojinet.config import RunConfig, read_config  # noqa: E402
from mojinet.data.strokes import read_strokes  # noqa: E402
from mojinet.io import load_model  # noqa: E402
from mojinet.runner import run  # noqa: E402
from mojinet.web.app import create_app  # noqa: E402
from mojinet.web.learn import samples_folder  # noqa: E402
from webserver import BackgroundServer  # noqa: E402

PAD = 280
PEN = 18  # the page's pen on its 280×280 pad
#: An X: two strokes corner to corner, [x, y, t] in pad pixels and milliseconds.
CROSS = [[[70.0, 60.0, 0], [140.0, 140.0, 90], [210.0, 220.0, 180]],
         [[210.0, 60.0, 400], [140.0, 140.0, 490], [70.0, 220.0, 580]]]


def pad_png(strokes, pen=PEN) -> str:
    """The pad's picture of ``strokes`` as the page sends it: a PNG data URL."""
    img = Image.new("RGBA", (PAD, PAD), (255, 255, 255, 255))
    d = ImageDraw.Draw(img)
    for s in strokes:
        d.line([(p[0], p[1]) for p in s], fill=(0, 0, 0, 255), width=pen, joint="curve")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


@pytest.fixture(scope="module")
def digits_model(tmp_path_factory):
    """784-32-10 trained on 10,000 MNIST images through ``run`` (so it records its data)."""
    path = tmp_path_factory.mktemp("learn") / "digits.npz"
    run(RunConfig(limit=10_000, hidden=(32,), activation="relu", output_activation="softmax",
                  cost="cross-entropy", init="he", eta=0.05, momentum=0.9, batch_size=32,
                  epochs=3, out=str(path)))
    return path


def predict(client, image) -> str:
    r = client.post("/api/predict", json={"image": image, "top": 3})
    assert r.status_code == 200, r.text
    return r.json()["top"][0]["label"]


def wait_for(client, timeout=180.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get("/api/adapt").json()
        if job["state"] != "running" or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def test_save_adapt_and_read_it_right(digits_model, tmp_path):
    model = load_model(digits_model)
    root = tmp_path / "samples"
    image = pad_png(CROSS)
    original = digits_model.read_bytes()
    app = create_app(model, "digits.npz", model_path=digits_model, samples=root)
    with BackgroundServer(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        info = client.get("/api/model").json()["learn"]
        folder = samples_folder(root, model.classes)
        assert info == {"enabled": True, "folder": str(folder)}
        read = predict(client, image)
        taught = "5" if read != "5" else "3"
        assert client.post("/api/adapt").status_code == 409  # no samples yet

        r = client.post("/api/samples", json={"label": taught, "strokes": CROSS,
                                              "box": [PAD, PAD], "image": image})
        assert r.status_code == 200, r.text
        saved = r.json()
        assert saved["label"] == taught and saved["count"] == saved["total"] == 1
        assert saved["folder"] == str(folder)
        # On disk: one JSON line data/strokes.py reads, one PNG of the drawing.
        assert sorted(p.suffix for p in folder.iterdir()) == [".jsonl", ".png"]
        (sample,) = read_strokes(folder)
        assert sample.label == taught and len(sample.strokes) == 2 and sample.box == (1.0, 1.0)
        assert np.allclose(sample.strokes[0][0], [70 / PAD, 60 / PAD])
        assert [t.tolist() for t in sample.times] == [[0, 90, 180], [400, 490, 580]]
        with Image.open(folder / f"{saved['name']}.png") as png:
            assert png.format == "PNG" and png.size == (PAD, PAD)
            assert np.asarray(png.convert("L")).min() == 0  # the ink is there
        assert client.get("/api/samples").json() == {"folder": str(folder), "total": 1,
                                                     "counts": {taught: 1}}

        weights = client.get("/api/weights/1/0").json()["weights"]
        r = client.post("/api/adapt")
        assert r.status_code == 202 and r.json()["state"] == "running"
        job = wait_for(client)
        assert job["state"] == "done", job["message"]
        assert job["samples"] == 1 and job["after"]["your_samples"] == 1.0
        assert job["before"]["your_samples"] == 0.0
        assert job["after"]["held_out"] >= job["before"]["held_out"] - 0.1
        # The new model is on disk beside the samples; the old file is untouched.
        adapted = folder / "models" / job["model"]
        assert load_model(adapted).classes == model.classes
        # The run `mojinet train --finetune MODEL --dataset strokes:DIR --out NEW` makes.
        assert read_config(adapted) == adapt_config(digits_model, folder, out=adapted)
        assert digits_model.read_bytes() == original
        assert client.get("/api/weights/1/0").json()["weights"] != weights
        assert predict(client, image) == taught
        # A second adaptation starts from the adapted model.
        assert client.post("/api/adapt").status_code == 202
        job = wait_for(client)
        assert job["state"] == "done" and job["model"] != adapted.name
        assert json.loads(json.dumps(load_model(folder / "models" / job["model"]).training[
            "config"]))["finetune"] == str(adapted)


# ----------------------------------------------------------------------------- hostile input
@pytest.fixture(scope="module")
def hostile(digits_model, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    app = create_app(load_model(digits_model), "digits.npz", model_path=digits_model,
                     samples=root, max_body=200_000)
    with BackgroundServer(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        client.root = root
        yield client


def sample(**changes) -> dict:
    return {"label": "4", "strokes": CROSS, "box": [PAD, PAD], "image": pad_png(CROSS)} | changes


def big_png() -> str:
    buf = io.BytesIO()
    Image.new("L", (1200, 1000), 255).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def jpeg() -> str:
    buf = io.BytesIO()
    Image.new("RGB", (50, 50), "white").save(buf, "JPEG")
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


HOSTILE = [
    (sample(label="あ"), 422, "not known to this model"),
    (sample(label="12"), 422, "give one character"),
    (sample(label="../../etc/passwd"), 422, "give one character"),
    (sample(label=""), 422, "label"),
    (sample(label=4), 422, "label"),
    (sample(strokes=[]), 422, "strokes"),
    (sample(strokes=[[]]), 422, "strokes"),
    (sample(strokes=[[[1.0, 2.0]]] * 201), 422, "strokes"),
    (sample(strokes=[[[1.0, 2.0]] * 10_001] * 2), 413, "limit"),  # over the body limit
    (sample(strokes=[[[1, 2]] * 20_001]), 422, "strokes"),
    (sample(strokes=[[[1, 2]] * 7_000] * 3), 422, "21,000 points"),
    (sample(strokes=[[[1.0, 2.0], [3.0, 4.0, 5.0]]]), 422, "every point"),
    (sample(strokes=[[[1.0]]]), 422, "strokes"),
    (sample(strokes=[[["1", "2"]]]), 422, "strokes"),
    (sample(strokes=[[[1e9, 2.0]]]), 422, "strokes"),
    (sample(box=[0, 280]), 422, "box"),
    (sample(box=[280]), 422, "box"),
    (sample(image="data:image/png;base64,AAAA"), 422, "not a readable PNG"),
    (sample(image=jpeg()), 422, "must be a PNG"),
    (sample(image=big_png()), 422, "1,000,000-pixel limit"),
    (sample(image="<script>"), 422, "image"),
    (sample(extra=1), 422, "extra"),
    ({"label": "4"}, 422, "strokes"),
]


@pytest.mark.parametrize("body,status,words", HOSTILE)
def test_hostile_samples_are_refused(hostile, body, status, words):
    r = hostile.post("/api/samples", json=body)
    assert r.status_code == status and words.lower() in r.json()["detail"].lower(), r.text
    assert not list(Path(hostile.root).rglob("*.jsonl"))  # nothing saved


def test_nan_and_non_json_bodies(hostile):
    text = json.dumps(sample()).replace("70.0", "NaN", 1)
    r = hostile.post("/api/samples", content=text, headers={"content-type": "application/json"})
    assert r.status_code in (400, 422) and r.json()["detail"]
    r = hostile.post("/api/samples", content="label=4", headers={"content-type": "text/plain"})
    assert r.status_code == 415
    assert hostile.get("/api/model").status_code == 200


def test_saving_is_rate_limited_and_names_are_the_servers(digits_model, tmp_path):
    root = tmp_path / "samples"
    app = create_app(load_model(digits_model), "digits.npz", model_path=digits_model,
                     samples=root)
    with BackgroundServer(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        codes = [client.post("/api/samples", json=sample()) for _ in range(30)]
    ok = [r for r in codes if r.status_code == 200]
    limited = [r for r in codes if r.status_code == 429]
    assert len(ok) >= 20 and limited and len(ok) + len(limited) == 30
    assert int(limited[0].headers["retry-after"]) >= 1 and "try again" in limited[0].json()[
        "detail"]
    files = sorted(p.name for p in root.rglob("*") if p.is_file())
    assert len(files) == 2 * len(ok)
    assert all(p.parent.parent == root for p in root.rglob("*.jsonl"))
    assert len(read_strokes(root)) == len(ok)


def test_learning_off_answers_404(digits_model):
    app = create_app(load_model(digits_model), "digits.npz")
    with BackgroundServer(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/api/model").json()["learn"] == {"enabled": False, "folder": None}
        for method, path in [("GET", "/api/samples"), ("POST", "/api/adapt"),
                             ("GET", "/api/adapt")]:
            r = client.request(method, path)
            assert r.status_code == 404 and "--samples" in r.json()["detail"]
        r = client.post("/api/samples", json=sample())
        assert r.status_code == 404


def test_a_damaged_file_in_the_folder_is_named_not_a_crash(digits_model, tmp_path):
    model = load_model(digits_model)
    folder = samples_folder(tmp_path, model.classes)
    folder.mkdir(parents=True)
    (folder / "edited.jsonl").write_text('{"label": "4", "strokes": "oops"}\n')
    app = create_app(model, "digits.npz", model_path=digits_model, samples=tmp_path)
    with BackgroundServer(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        for r in (client.get("/api/samples"), client.post("/api/adapt"),
                  client.post("/api/samples", json=sample())):
            assert r.status_code == 409 and "move it out" in r.json()["detail"], r.text
        assert client.get("/api/model").status_code == 200
    assert (folder / "edited.jsonl").exists()  # never deleted: the user's data
