"""Property-based tests of the whole API against its own published schema (schemathesis).

schemathesis reads ``/openapi.json`` from a real server (``make_server``, on loopback) and
generates requests for every operation, valid and invalid; every response must be no 5xx, a
status code the schema declares, the declared content type and headers, and a body that matches
the declared schema; schema-invalid requests must be refused with a 4xx. Bounded: a fixed number
of examples per operation, derandomised, under a minute. (The long run is in docs/web.md.)

Settings in ``schemathesis.toml`` (413, 408 and 431 count as refusals too). Not checked:
"positive data acceptance" — a schema-valid `image` string is usually not an image
file, and 422 is the right answer to it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
pytest.importorskip("fastapi")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.config import SchemathesisConfig  # noqa: E402
from schemathesis.generation.modes import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import positive_data_acceptance  # noqa: E402

from mojinet.io import Model  # noqa: E402
from mojinet.nn.network import Network  # noqa: E402
from mojinet.web.app import create_app  # noqa: E402
from served import serving  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: Requests per operation and mode (valid, invalid).
EXAMPLES = 40
#: Kanji, kana and digits, so that predictions carry dictionary entries of both kinds.
CLASSES = ("山", "川", "あ", "カ", "7")


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    net = Network([784, 10, len(CLASSES)], ["sigmoid", "softmax"], "cross-entropy",
                  init="xavier", seed=1)
    model = Model(net, CLASSES, {"image_shape": [28, 28], "user_images": {"box": 20}})
    config = SchemathesisConfig.from_path(ROOT / "schemathesis.toml")
    samples = tmp_path_factory.mktemp("samples")  # learn my hand's routes are on
    with serving(create_app(model, "schema.npz", samples=samples)) as url:
        yield schemathesis.openapi.from_url(url + "/openapi.json", config=config)


OPERATIONS = ["GET /api/model", "POST /api/predict", "POST /api/predict/strokes",
              "GET /api/weights/{layer}/{neuron}",
              "GET /api/dictionary/{char}", "POST /api/samples", "GET /api/samples",
              "POST /api/adapt", "GET /api/adapt"]
#: Operations that take no input to get wrong: only valid requests.
NO_INPUT = {"GET /api/model", "GET /api/samples", "POST /api/adapt", "GET /api/adapt"}


@pytest.mark.parametrize("label,mode", [
    (label, mode) for label in OPERATIONS for mode in GenerationMode
    if label not in NO_INPUT or mode.is_positive])
def test_api_conforms_to_its_schema(api_schema, label, mode):
    operations = {op.label: op for op in (r.ok() for r in api_schema.get_all_operations())}
    assert set(operations) == set(OPERATIONS)  # a new route gets tested here too
    operation = operations[label]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        case.call_and_validate(excluded_checks=[positive_data_acceptance], timeout=30)

    run()
