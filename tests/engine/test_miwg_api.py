"""Every BPMN MIWG reference model (diagrams other tools wrote) either deploys or gets a clear
422 naming the file; none gets a 500 or hangs the server."""
from __future__ import annotations

import os

import pytest

from tests.engine.test_compiler import MIWG_REFUSED

MIWG = "/work/shared/conformance/miwg"
MODELS = sorted(f for f in os.listdir(MIWG) if f.endswith(".bpmn")) if os.path.isdir(MIWG) else []


def test_the_reference_models_are_there():
    assert len(MODELS) == 21 and MIWG_REFUSED < set(MODELS)


@pytest.mark.parametrize("name", MODELS)
def test_reference_model_deploys_or_is_refused_clearly(api, name):
    with open(os.path.join(MIWG, name), "rb") as fh:
        content = fh.read()
    r = api.deploy(files={name: content})
    body = r.get_json()
    if name in MIWG_REFUSED:             # the expected outcome, not the one observed
        assert r.status_code == 422, body
        assert list(body["errors"]) == [name]
        assert all(p["message"] for p in body["errors"][name])
    else:
        assert r.status_code == 201, body
        keys = [d["key"] for d in body["deployed"]]
        shown = api.get(f"/api/v1/definitions/{keys[0]}").get_json()
        assert shown["xml"] and shown["version"] == 1
