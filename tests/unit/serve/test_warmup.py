"""A newly loaded version predicts on its stored sample rows before traffic; a failed warm-up never refuses it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tests.unit.serve.conftest import wait_for

pytestmark = pytest.mark.filterwarnings("ignore:.*ran code stored in its artifact:RuntimeWarning")


def _serve(start_server: Any, seeded: Any, reg: Any, model: Any) -> tuple[Any, Any]:
    import mlgate

    mv = mlgate.log_model(model, "bc", sample_input=seeded.X.head(5), registry=reg)
    reg.set_alias("bc", "production", mv.number, reason="a version that records its predictions")
    running = start_server(allow_code=True)
    wait_for(lambda: running.holder.current is not None and running.holder.current.number == mv.number)
    return running, mv


def test_a_loaded_version_has_predicted_on_its_sample_rows_before_it_serves(
    start_server: Any, seeded: Any, seeded_registry: Any
) -> None:
    from tests.unit.serve.recording_model import Recording

    running, _ = _serve(start_server, seeded, seeded_registry, Recording(seeded.models[1]))
    calls = running.holder.current.model.native.calls  # no request was sent: every call is the load's
    rows = np.asarray(seeded.X.head(5), dtype=float).tolist()
    assert rows in calls  # all the stored rows at once
    for row in rows:  # and each one alone, as requests come
        assert [row] in calls


def test_a_failing_warm_up_is_logged_and_the_version_still_serves(
    start_server: Any, seeded: Any, seeded_registry: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    import httpx

    from tests.unit.serve.recording_model import Recording

    running, mv = _serve(start_server, seeded, seeded_registry, Recording(seeded.models[1], broken_proba=True))
    assert f"bc:{mv.number}: the warm-up on its stored sample rows failed (RuntimeError" in capfd.readouterr().err
    r = httpx.post(f"{running.base}/predict", json=[dict(seeded.X.iloc[0])])
    assert r.status_code == 200 and r.headers["x-mlgate-model-version"] == f"bc:{mv.number}"
