"""Readings and meanings through the JSON API and `mojinet predict`: present for kanji and kana
labels (with the KANJIDIC2 credit), absent for digits."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")
from PIL import Image, ImageDraw  # noqa: E402

from mojinet.cli import main  # noqa: E402
from mojinet.data.dictionary import CREDIT, CREDIT_URL, lookup  # noqa: E402
from mojinet.io import Model, save_model  # noqa: E402
from mojinet.nn.network import Network  # noqa: E402
from mojinet.web.app import create_app  # noqa: E402
from webserver import BackgroundServer  # noqa: E402


def biased_model(classes, favourite: str, hidden: int = 8) -> Model:
    """A model whose output ignores the input and ranks ``favourite`` first, then the rest in
    order: predictions that are known whatever is drawn."""
    n = len(classes)
    net = Network([784, hidden, n], ["sigmoid", "softmax"], "cross-entropy", init="xavier",
                  seed=0)
    net.weights[-1][:] = 0  # (hidden, n)
    net.biases[-1][:] = -np.arange(n, dtype=np.float32) * 0.1  # (n,)
    net.biases[-1][classes.index(favourite)] = 5.0
    return Model(net, tuple(classes), {"image_shape": [28, 28], "user_images": {"box": 20}})


PIXELS = [0.0] * 392 + [1.0] * 392


@pytest.fixture(scope="module")
def kanji_server():
    model = biased_model(list("山川かAヴ7"), "山")
    with BackgroundServer(create_app(model, "kanji.npz")) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client


def test_predict_attaches_entries_to_kanji_and_kana_candidates(kanji_server):
    r = kanji_server.post("/api/predict", json={"pixels": PIXELS, "top": 6})
    assert r.status_code == 200
    top = r.json()["top"]
    assert [c["label"] for c in top] == list("山川かAヴ7")
    by_label = {c["label"]: c for c in top}
    yama = by_label["山"]["dictionary"]
    assert yama == lookup("山").to_dict()
    assert "サン" in yama["on"] and "やま" in yama["kun"] and "mountain" in yama["meanings"]
    assert yama["credit"] == CREDIT and yama["credit_url"] == CREDIT_URL
    assert by_label["か"]["dictionary"] == {"char": "か", "kind": "hiragana", "source": "Unicode",
                                            "romaji": "ka", "small": False}
    assert by_label["ヴ"]["dictionary"]["romaji"] == "vu"
    assert "dictionary" not in by_label["A"] and "dictionary" not in by_label["7"]


def test_model_info_says_which_classes_have_entries(kanji_server):
    info = kanji_server.get("/api/model").json()
    d = info["dictionary"]
    assert (d["entries"], d["kanji"]) == (4, 2)
    assert d["credit"] == CREDIT and d["credit_url"] == CREDIT_URL


def test_dictionary_endpoint(kanji_server):
    r = kanji_server.get("/api/dictionary/水")  # any kanji, not only the model's classes
    assert r.status_code == 200 and r.json() == lookup("水").to_dict()
    assert "water" in r.json()["meanings"]
    assert kanji_server.get("/api/dictionary/%E3%82%83").json()["small"] is True  # ゃ
    for bad in ["x", "7", "ab", "%E3%83%BC"]:  # ー: a kana sign, not a letter
        r = kanji_server.get(f"/api/dictionary/{bad}")
        assert r.status_code == 404 and "no dictionary entry" in r.json()["detail"]
    r = kanji_server.get("/api/dictionary/" + "a" * 20)
    assert r.status_code == 422 and "detail" in r.json()
    assert kanji_server.get("/api/model").status_code == 200  # still up


def test_openapi_documents_the_dictionary(kanji_server):
    schema = kanji_server.get("/openapi.json").json()
    assert "/api/dictionary/{char}" in schema["paths"]
    candidate = schema["components"]["schemas"]["Candidate"]["properties"]
    assert "dictionary" in candidate
    entry = schema["components"]["schemas"]["DictionaryEntry"]["properties"]
    assert {"on", "kun", "meanings", "romaji", "credit"} <= set(entry)


def test_digits_model_gets_no_dictionary_field():
    model = biased_model(list("0123456789"), "7")
    with BackgroundServer(create_app(model, "digits.npz")) as url:
        with httpx.Client(base_url=url, timeout=30) as client:
            r = client.post("/api/predict", json={"pixels": PIXELS, "top": 10})
            assert r.status_code == 200
            top = r.json()["top"]
            assert top[0]["label"] == "7" and len(top) == 10
            assert all(set(c) == {"label", "index", "activation", "share", "probability"}
                       for c in top)
            assert client.get("/api/model").json()["dictionary"] is None


# ----------------------------------------------------------------------------- mojinet predict
def _picture(path):
    img = Image.new("L", (120, 120), 255)
    ImageDraw.Draw(img).line([(20, 60), (100, 60)], fill=0, width=10)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    path.write_bytes(buf.getvalue())
    return str(path)


def test_cli_predict_shows_readings_for_kanji_models(tmp_path, capsys):
    model_path = tmp_path / "kanji.npz"
    save_model(biased_model(list("山川か"), "山"), model_path)
    image = _picture(tmp_path / "a.png")
    assert main(["predict", str(model_path), image]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{image}: 山 ")
    assert lines[1] == "  山: on サン、セン; kun やま; mountain"
    assert lines[2] == f"(readings and meanings: {CREDIT}, {CREDIT_URL})"
    assert main(["predict", str(model_path), image, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)[0]
    assert result["top"][0]["dictionary"] == lookup("山").to_dict()
    assert result["top"][2]["dictionary"]["romaji"] == "ka"


def test_cli_predict_kana_and_digits(tmp_path, capsys):
    image = _picture(tmp_path / "a.png")
    kana = tmp_path / "kana.npz"
    save_model(biased_model(list("かゃ"), "ゃ"), kana)
    assert main(["predict", str(kana), image]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "  ゃ: ya (small hiragana)" and len(out) == 2  # no KANJIDIC2 credit needed
    digits = tmp_path / "digits.npz"
    save_model(biased_model(list("0123456789"), "3"), digits)
    assert main(["predict", str(digits), image]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith(f"{image}: 3 ")
    assert main(["predict", str(digits), image, "--json"]) == 0
    assert all("dictionary" not in c for c in json.loads(capsys.readouterr().out)[0]["top"])
