"""``mlgate quickstart``: a small real project, run through the whole registry loop in under a minute.

It writes a project (a pipeline prepare → train → evaluate over scikit-learn's bundled
breast-cancer set, a params file, ``mlgate.yaml`` with stages and gates), commits it to git when git
is available so lineage has a commit, then: run the pipeline (v1) → run it again (all cached) →
validate the data → gate v1 (first model) and promote → drift of a new batch → v2 → gate against v1
and promote → v3, trained on labels with a hidden fault on one slice → the gate blocks it, naming the
slice → roll back → load ``@production`` and predict → summary.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import EnvironmentProblem, UsageError

if TYPE_CHECKING:
    from mlgate import AliasEvent, GateResult, ModelVersion, Registry, Settings
    from mlgate.data.drift import DriftReport
    from mlgate.data.validate import ValidationReport

# What the loop tells its caller: say(kind, text[, command]); kind is "step" or "out".
Say = Callable[..., object]

PREPARE_PY = '''\
"""Split scikit-learn's bundled breast-cancer data into data/train.csv and data/test.csv (params: prepare)."""

import numpy as np
import yaml
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

params = yaml.safe_load(open("params.yaml"))["prepare"]
frame = load_breast_cancer(as_frame=True).frame
train, test = train_test_split(
    frame, test_size=params["test_size"], random_state=params["seed"], stratify=frame["target"]
)
train = train.reset_index(drop=True)
fault = params.get("label_fault")
if fault:  # simulates a faulty labelling batch: some malignant (0) rows of one slice marked benign (1)
    rows = np.flatnonzero(((train[fault["column"]] >= fault["above"]) & (train["target"] == 0)).to_numpy())
    flip = np.random.default_rng(0).choice(rows, size=int(len(rows) * fault["fraction"]), replace=False)
    train.loc[flip, "target"] = 1
train.to_csv("data/train.csv", index=False)
test.to_csv("data/test.csv", index=False)
'''

TRAIN_PY = '''\
"""Fit the classifier on data/train.csv, save it to model/ and register it with its lineage (params: train)."""

import json
import os
from pathlib import Path

import pandas as pd
import skops.io as sio
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlgate

# `mlgate run --smoke` hands the params with the smoke: overrides applied in MLGATE_PARAMS_FILE
params = yaml.safe_load(open(os.environ.get("MLGATE_PARAMS_FILE", "params.yaml")))["train"]
train = pd.read_csv("data/train.csv")
X, y = train.drop(columns=["target"]), train["target"]
model = make_pipeline(StandardScaler(), LogisticRegression(C=params["C"], max_iter=params["max_iter"]))
model.fit(X, y)
Path("model").mkdir(exist_ok=True)
sio.dump(model, "model/model.skops")
Path("metrics.json").write_text(json.dumps({"train_accuracy": float(model.score(X, y))}))
# lineage: data and params digests, the git commit, and the pipeline run id (MLGATE_RUN_ID)
mv = mlgate.log_model(model, "breast-cancer", sample_input=X.head(5), data=["data/train.csv"], params="params.yaml")
Path("registered.json").write_text(json.dumps({"ref": mv.ref, "semver": mv.semver, "digest": mv.digest}))
print(f"registered {mv.ref} {mv.semver} {mv.digest}")
'''

EVALUATE_PY = '''\
"""Score model/model.skops on data/test.csv and write eval.json."""

import json
from pathlib import Path

import pandas as pd
import skops.io as sio
from sklearn.metrics import accuracy_score, roc_auc_score

path = "model/model.skops"
model = sio.load(path, trusted=sio.get_untrusted_types(file=path))  # our own file, written by train.py
test = pd.read_csv("data/test.csv")
X, y = test.drop(columns=["target"]), test["target"]
scores = {
    "accuracy": float(accuracy_score(y, model.predict(X))),
    "roc_auc": float(roc_auc_score(y, model.predict_proba(X)[:, 1])),
}
Path("eval.json").write_text(json.dumps(scores))
'''

CONFIG = """\
project: quickstart
registry: sqlite:///.mlgate/registry.db
artifacts: .mlgate/artifacts
model: {name: breast-cancer, flavor: sklearn}
data: {train: data/train.csv, eval: data/test.csv, target: target, positive: 0}  # 0: malignant
stages:
  prepare: {cmd: python prepare.py, deps: [prepare.py], params: [prepare], outs: [data/train.csv, data/test.csv]}
  train:
    cmd: python train.py
    deps: [train.py, data/train.csv]
    params: [train]
    outs: [model/, registered.json]
    metrics: [metrics.json]
  evaluate: {cmd: python evaluate.py, deps: [evaluate.py, model/, data/test.csv], metrics: [eval.json]}
gates:
  - {metric: roc_auc, min: 0.95}
  - {metric: accuracy, vs: production, max_drop: 0.05}
  - {metric: recall, vs: production, slices: [mean texture, mean radius, mean smoothness], max_drop: 0.05, min_rows: 30}
  - {metric: recall, vs: production, slice: '"mean texture" >= 23', max_drop: 0.05, min_rows: 20, name: rough tumours}
  - {latency_p99_ms: 50}
"""

LABEL_FAULT = {"column": "mean texture", "above": 23.0, "fraction": 0.15}


@dataclass
class QuickstartResult:
    """What the quickstart did, for the summary and for tests."""

    root: Path
    versions: list[ModelVersion] = field(default_factory=list)
    events: list[AliasEvent] = field(default_factory=list)
    production: ModelVersion | None = None
    accuracy: float = 0.0
    validation: ValidationReport | None = None
    drift: DriftReport | None = None
    gates: list[GateResult] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    serving: dict[str, Any] | None = None


def shifted_batch(root: Path) -> Path:
    """A new batch whose size features read 30% high, as after a scanner recalibration."""
    import pandas as pd

    batch = pd.read_csv(root / "data" / "test.csv").drop(columns=["target"])
    for col in ("mean radius", "mean perimeter", "mean area", "worst radius", "worst perimeter", "worst area"):
        batch[col] = batch[col] * 1.3
    path = root / "data" / "batch-shifted.csv"
    batch.to_csv(path, index=False)
    return path


def write_project(root: Path, *, C: float) -> None:
    """Write the project files: the stage scripts, params, config."""
    (root / "data").mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("prepare.py", PREPARE_PY),
        ("train.py", TRAIN_PY),
        ("evaluate.py", EVALUATE_PY),
        ("mlgate.yaml", CONFIG),
    ):
        (root / name).write_text(text, encoding="utf-8")
    outputs = ["data/train.csv", "data/test.csv", "model/", "metrics.json", "eval.json", "registered.json"]
    (root / ".gitignore").write_text("\n".join([".mlgate/", "reports/", *outputs]) + "\n", encoding="utf-8")
    set_params(root, C)


def set_params(root: Path, C: float, label_fault: dict[str, Any] | None = None) -> None:
    """Write params.yaml: the split, an optional simulated label fault, and the regularisation ``C``."""
    import yaml

    params = {
        "prepare": {"test_size": 0.3, "seed": 0, "label_fault": label_fault},
        "train": {"C": C, "max_iter": 2000},
        "smoke": {"train": {"max_iter": 100}},
    }
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False), encoding="utf-8")


def _git(root: Path, *args: str) -> bool:
    try:
        subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return True


def commit(root: Path, message: str) -> bool:
    """Commit everything in the project (lineage then records a clean commit); False without git."""
    env_args = ["-c", "user.name=mlgate quickstart", "-c", "user.email=quickstart@mlgate.invalid"]
    return _git(root, "add", "-A") and _git(root, *env_args, "commit", "-q", "-m", message)


def pipeline(root: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run ``mlgate run`` in the project as a user would; its JSON result."""
    import json

    cmd = [sys.executable, "-m", "mlgate", "run", "--json"]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=600, env=env)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-12:])
        raise EnvironmentProblem(f"mlgate run failed in {root} (exit {proc.returncode}):\n{tail}")
    return json.loads(proc.stdout)


def _stages(run: dict[str, Any]) -> str:
    """``prepare cached, train ran (1.2 s) …`` for the summary."""
    parts = []
    for st in run["stages"]:
        how = st["outcome"]
        if how == "ran":
            how += f" ({st['duration_s']:.1f} s)"
        parts.append(f"{st['name']} {how}")
    return ", ".join(parts)


def _registered(root: Path) -> str:
    import json

    reg = json.loads((root / "registered.json").read_text(encoding="utf-8"))
    return f"registered {reg['ref']} {reg['semver']} {reg['digest'][:19]}…"


def _gate_and_promote(
    root: Path,
    reg: Registry,
    settings: Settings,
    result: QuickstartResult,
    say: Say,
    number: int,
    reason: str,
    *,
    serving: bool = False,
) -> None:
    """Gate v``number`` against production; promote it when it passes (the gate report travels with the move).

    With ``serving``, a server follows production while the promotion happens (when the serve extra is there).
    """
    from mlgate.gates.evaluate import gate
    from mlgate.promotion import promote
    from mlgate.report import write

    ref = f"breast-cancer:{number}"
    res = gate(ref, config=settings, registry=reg)
    result.gates.append(res)
    paths = write(res.report, root / "reports" / f"v{number}")
    s = res.report["summary"]
    counts = f"{s['passed']} passed, {s['failed'] + s['errors']} failed, {s['skipped']} skipped"
    if s.get("undecided"):
        counts += f", {s['undecided']} undecided ({s.get('undecided_blocking', 0)} blocking)"
    if res.passed:

        def move() -> None:
            event = promote(ref, "production", settings=settings, registry=reg, reason=reason)
            before = f"v{event.from_number}" if event.from_number else "nothing"
            say(
                "step",
                f"gate v{number} against production ({counts}) → passed; promoted: production {before} → v{number}",
                f"mlgate gate {ref} && mlgate promote {ref} --to production",
            )

        if serving and _serve_extra():
            from mlgate.serve.demo import serve_demo

            result.serving = serve_demo(root, settings, reg, say, move)
        else:
            move()
            if serving:
                say(
                    "out",
                    "install the serve extra (pip install 'mlgate[serve]') to watch a server follow this promotion",
                )
    else:
        say("step", f"gate v{number} against production ({counts}) → BLOCKED; production stays as it is",
            f"mlgate gate {ref}")  # fmt: skip
        for c in res.checks:
            if c.blocking:
                say("out", f"✘ {c.name}: {c.message}")
            elif c.kind == "change" and c.status == "pass":
                say(
                    "out",
                    f"✔ {c.name}: overall {c.metric} {c.delta:+.4f}, within the allowed drop — the aggregate hides it",
                )
    say("out", f"report: {paths['md'].relative_to(root)} (+ {paths['html'].name} and plots)")


def _serve_extra() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("starlette", "uvicorn", "httpx", "orjson"))


def run(directory: str | Path | None = None, *, say: Say = print) -> QuickstartResult:
    """Build the project in ``directory`` (a new temporary folder by default) and run the loop."""
    import os

    from mlgate.config import load_settings
    from mlgate.models import load_model
    from mlgate.registry.store import Registry

    root = Path(directory).resolve() if directory else Path(tempfile.mkdtemp(prefix="mlgate-quickstart-"))
    if root.exists() and any(root.iterdir()):
        raise UsageError(f"{root} is not empty; quickstart needs a new or empty folder")
    root.mkdir(parents=True, exist_ok=True)
    say("step", f"project in {root}")
    write_project(root, C=0.05)
    result = QuickstartResult(root)
    has_git = _git(root, "init", "-q") and commit(root, "quickstart project")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLGATE_")}
    env["MLGATE_ACTOR"] = os.environ.get("MLGATE_ACTOR", "quickstart")
    # stage commands say `python`: the interpreter running mlgate, as in an activated virtual environment
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])

    run1 = pipeline(root, env)
    say("step", f"run the pipeline: {_stages(run1)}", "mlgate run")
    say("out", _registered(root))
    if has_git:
        commit(root, "pipeline lock")
    run2 = pipeline(root, env)
    result.runs = [run1, run2]
    ran = sum(st["outcome"] == "ran" for st in run2["stages"])
    say("step", f"run it again: {_stages(run2)} — {ran} commands ran, everything came from the cache", "mlgate run")

    from mlgate.data.schema import infer_schema
    from mlgate.data.validate import validate

    schema = infer_schema(root / "data" / "train.csv", slack=0.1, target="target")
    schema.save(root / "mlgate.schema.yaml")
    report = validate(root / "data" / "test.csv", schema)
    result.validation = report
    say(
        "step",
        f"infer a schema from data/train.csv and validate data/test.csv against it: "
        f"{len(report.checks)} checks, "
        + (
            "all passed (the inferred bounds leave room for a clean new sample of the same data)"
            if report.ok
            else f"{len(report.violations)} violation(s): "
            + ", ".join(
                f"{v.column or 'table'} {v.rule}" + (f" ({v.rows} rows)" if v.rows else "")
                for v in report.violations[:3]
            )
            + (" …" if len(report.violations) > 3 else "")
        ),
        "mlgate data schema infer data/train.csv -o mlgate.schema.yaml --slack 0.1 --target target && "
        "mlgate data validate data/test.csv",
    )

    settings = load_settings(config=root / "mlgate.yaml")
    reg = Registry(settings=settings)
    _gate_and_promote(root, reg, settings, result, say, 1, "first release")

    from mlgate.data.drift import drift
    from mlgate.reference import model_profile

    batch = shifted_batch(root)
    # the model reference, as the command takes it: its training profile cut to the model's inputs (no label)
    result.drift = drift(model_profile("breast-cancer@production", registry=reg), batch)
    top = ", ".join(f"{c.column} ({c.statistic:.2f})" for c in result.drift.columns if c.drifted)
    say(
        "step",
        f"drift of a new batch against the training profile stored with breast-cancer@production: "
        f"{sum(c.drifted for c in result.drift.columns)} of {len(result.drift.columns)} columns drifted "
        f"[{top}]; dataset drift: {'yes' if result.drift.dataset_drift else 'no'}",
        "mlgate data drift breast-cancer@production data/batch-shifted.csv",
    )

    set_params(root, 1.0)
    if has_git:
        commit(root, "stronger model: C=1.0")
    run3 = pipeline(root, env)
    say("step", f"set train.C=1.0 in params.yaml and run the pipeline: {_stages(run3)}", "mlgate run")
    say("out", _registered(root))
    _gate_and_promote(root, reg, settings, result, say, 2, "better on every gate", serving=True)

    set_params(root, 1.0, label_fault=LABEL_FAULT)
    if has_git:
        commit(root, "new labels from the annotation vendor")
    run4 = pipeline(root, env)
    result.runs += [run3, run4]
    say(
        "step",
        "a new labelling batch arrives that, unknown to anyone, marks 15% of the malignant rough-texture tumours "
        f"benign (simulated by prepare.label_fault); the pipeline retrains: {_stages(run4)}",
        "mlgate run",
    )
    say("out", _registered(root))
    _gate_and_promote(root, reg, settings, result, say, 3, "new labels")

    reg.rollback("breast-cancer", "production", reason="quickstart: practise a rollback")
    say("step", "roll production back to v1", "mlgate rollback breast-cancer")

    import pandas as pd

    test = pd.read_csv(root / "data" / "test.csv")
    model = load_model("breast-cancer@production", registry=reg)
    predictions = model.predict(test.drop(columns=["target"]))
    result.accuracy = float((predictions == test["target"].to_numpy()).mean())
    say(
        "step",
        f"load breast-cancer@production ({model.metadata.ref}, digest verified) and predict "
        f"{len(test)} held-out rows: accuracy {result.accuracy:.3f}",
    )
    result.versions = reg.versions("breast-cancer")
    result.events = reg.history("breast-cancer")
    result.production = model.metadata
    reg.close()
    return result
