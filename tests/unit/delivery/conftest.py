"""A real project for rollouts: breast-cancer logistic regressions on a real registry (SQLite and PostgreSQL).

``bc:1`` holds production; ``bc:2`` is a good candidate with a passing gate report against it; ``bc:3``
is a one-feature stump that fails the gate. Synthetic canary and stable traffic for the analysis.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

# the serving fixtures (a seeded registry of three real models, real uvicorn servers), shared with tests/unit/serve
from tests.unit.serve.conftest import seeded, seeded_registry, seeded_template, start_server  # noqa: F401

YAML = """\
data: {eval: eval.csv, target: target}
serve: {log: logs}
gates:
  - {metric: roc_auc, vs: production, max_drop: 0.05}
  - {metric: accuracy, min: 0.8}
delivery:
  steps: [10, 50, 100]
  pause: 0s
  analyses:
    strict: {alpha: 0.001, min_requests: 300, max_error_increase: 0.005, deadline: 5m}
"""


@dataclass
class Project:
    reg: Any
    root: Path
    settings: Any


@pytest.fixture(scope="module")
def trained() -> dict[str, Any]:
    from sklearn.datasets import load_breast_cancer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["target"])
    X, y = train.drop(columns=["target"]), train["target"]

    def logistic(c: float) -> Any:
        return make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000)).fit(X, y)

    stump = RandomForestClassifier(n_estimators=5, max_depth=1, random_state=0).fit(X[["mean symmetry"]], y)
    return {"X": X, "test": test, "a": logistic(1.0), "b": logistic(0.3), "worse": stump}


@pytest.fixture
def project(registry: Any, trained: dict[str, Any]) -> Project:
    """bc:1 on production, bc:2 gated (passing), bc:3 gated (failing)."""
    import mlgate
    from mlgate.config import load_settings
    from mlgate.gates.evaluate import gate

    root = Path.cwd()
    trained["test"].to_csv(root / "eval.csv", index=False)
    (root / "mlgate.yaml").write_text(YAML, encoding="utf-8")
    settings = load_settings(config=root / "mlgate.yaml")
    X = trained["X"]
    mlgate.log_model(trained["a"], "bc", sample_input=X.head(5), registry=registry)
    mlgate.log_model(trained["b"], "bc", sample_input=X.head(5), registry=registry)
    mlgate.log_model(trained["worse"], "bc", sample_input=X[["mean symmetry"]].head(5), registry=registry)
    registry.set_alias("bc", "production", 1)
    assert gate("bc:2", against="production", config=settings, registry=registry).passed
    assert not gate("bc:3", against="production", config=settings, registry=registry).passed
    return Project(registry, root, settings)


def traffic(rng: np.random.Generator, n: int, *, errors: float = 0.001, slow: float = 1.0, shift: float = 0.0) -> Any:
    """One side's synthetic requests: error flags, log-normal latencies around 20 ms, N(0.3, 0.1) predictions."""
    from mlgate.delivery.analysis import Arm

    return Arm(
        rng.random(n) < errors,
        np.exp(rng.normal(np.log(20.0), 0.3, n)) * slow,
        rng.normal(0.3 + 0.1 * shift, 0.1, n),
    )
