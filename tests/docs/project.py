"""The fresh project a documented Python example runs in, and the names the examples take for granted.

Every example gets a new project (``mlgate init``) holding scikit-learn's bundled breast-cancer data as
``data/train.csv``, ``data/train.parquet``, ``data/test.csv`` and ``data/test.parquet`` (target column
``target``), a ``params.yaml``, a ``data:`` and ``gates:`` section, and a fitted model. The names an example may
use without defining them: ``model``, ``X``, ``y``, ``X_test``, ``y_test``, ``frame``, ``sample``, ``when``,
``mlgate``, ``pd``, ``np``, ``pytest``, ``check_model``. A setup named above the block adds registry state:

``registered``  ``fraud:1`` held by ``production`` and ``candidate``; ``mv`` is that version.
``versions=N``  ``fraud:1`` … ``fraud:N`` of the same model, ``production`` on ``fraud:N-1`` (N ≥ 2).
``report``      ``fraud:1`` on ``production``, ``fraud:2`` gated against it; ``result`` and ``report``
                are that gate's result and JSON report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

TARGET = "target"


def build(root: Path) -> dict[str, Any]:
    """Write the project under ``root`` and return the namespace an example starts from."""
    import numpy as np
    import pandas as pd
    import pytest
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import mlgate
    from mlgate.project import init_project
    from mlgate.testing import check_model

    init_project(root)
    (root / "data").mkdir(exist_ok=True)
    full = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(full, test_size=0.3, random_state=0, stratify=full[TARGET])
    train, test = train.reset_index(drop=True), test.reset_index(drop=True)
    for name, part in (("train", train), ("test", test)):
        part.to_csv(root / "data" / f"{name}.csv", index=False)
        part.to_parquet(root / "data" / f"{name}.parquet", index=False)
    (root / "params.yaml").write_text("train: {C: 1.0, max_iter: 500}\n", encoding="utf-8")
    config = root / "mlgate.yaml"
    raw = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    raw["data"] = {"train": "data/train.csv", "eval": "data/test.parquet", "target": TARGET}
    raw["gates"] = [{"metric": "accuracy", "min": 0.8}]
    config.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")

    X, y = train.drop(columns=[TARGET]), train[TARGET]
    X_test, y_test = test.drop(columns=[TARGET]), test[TARGET]
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    return {
        "__name__": "__docs_example__",
        "mlgate": mlgate,
        "np": np,
        "pd": pd,
        "pytest": pytest,
        "check_model": check_model,
        "model": model,
        "X": X,
        "y": y,
        "X_test": X_test,
        "y_test": y_test,
        "frame": X_test.head(20),
        "sample": X_test.head(500),
        "when": dt.datetime.now(dt.UTC),
    }


def _log(ns: dict[str, Any]) -> Any:
    return ns["mlgate"].log_model(ns["model"], "fraud", sample_input=ns["X"].head(5), data=["data/train.csv"])


def _registered(ns: dict[str, Any], _arg: str | None) -> None:
    mv = _log(ns)
    reg = ns["mlgate"].Registry()
    reg.set_alias("fraud", "production", mv.number, reason="docs example setup")
    reg.set_alias("fraud", "candidate", mv.number, reason="docs example setup")
    ns["mv"] = mv


def _versions(ns: dict[str, Any], arg: str | None) -> None:
    count = int(arg or 2)
    for _ in range(count):
        mv = _log(ns)
    ns["mlgate"].Registry().set_alias("fraud", "production", count - 1, reason="docs example setup")
    ns["mv"] = mv


def _report(ns: dict[str, Any], _arg: str | None) -> None:
    _versions(ns, "2")
    ns["result"] = ns["mlgate"].gate("fraud:2", against="production")
    ns["report"] = ns["result"].report


SETUPS: dict[str, Callable[[dict[str, Any], str | None], None]] = {
    "registered": _registered,
    "versions": _versions,
    "report": _report,
}


def apply_setup(ns: dict[str, Any], setup: str) -> None:
    """Run one named setup (``name`` or ``name=arg``) on the project in the current folder."""
    name, _, arg = setup.partition("=")
    if name not in SETUPS:
        raise ValueError(f"unknown mlgate-docs setup {name!r}; known: {', '.join(SETUPS)}")
    SETUPS[name](ns, arg or None)
