"""``mlgate quickstart``: a small real project, run through the whole registry loop in under a minute.

It writes a project (data from scikit-learn's bundled breast-cancer set, a params file, a training
script, ``mlgate.yaml`` with gates), commits it to git when git is available so lineage has a commit,
then: validate the data → train and register v1 → gate (first model) and promote → drift of a new
batch → v2 → gate against v1 and promote → v3, trained on labels with a hidden fault on one slice →
gate blocks it, naming the slice → roll back → load ``@production`` and predict → summary.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.errors import EnvironmentProblem, UsageError

TRAIN_PY = '''\
"""Train a breast-cancer classifier and register it with mlgate (run: python train.py)."""

import pandas as pd
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mlgate

params = yaml.safe_load(open("params.yaml"))["train"]
train = pd.read_csv("data/train.csv")
X, y = train.drop(columns=["target"]), train["target"]
model = make_pipeline(StandardScaler(), LogisticRegression(C=params["C"], max_iter=params["max_iter"]))
model.fit(X, y)
mv = mlgate.log_model(
    model,
    "breast-cancer",
    sample_input=X.head(5),
    data=["data/train.csv"],
    params="params.yaml",
    tags={"trainer": "train.py"},
)
print(f"registered {mv.ref} {mv.semver} {mv.digest}")
'''

CONFIG = """\
project: quickstart
registry: sqlite:///.mlgate/registry.db
artifacts: .mlgate/artifacts
model: {name: breast-cancer, flavor: sklearn}
data: {train: data/train.csv, eval: data/test.csv, target: target, positive: 0}  # 0: malignant
gates:
  - {metric: roc_auc, min: 0.95}
  - {metric: accuracy, vs: production, max_drop: 0.05}
  - {metric: recall, vs: production, slices: [mean texture, mean radius, mean smoothness], max_drop: 0.05, min_rows: 30}
  - {metric: recall, vs: production, slice: '"mean texture" >= 23', max_drop: 0.05, min_rows: 20, name: rough tumours}
  - {latency_p99_ms: 50}
"""


@dataclass
class QuickstartResult:
    """What the quickstart did, for the summary and for tests."""

    root: Path
    versions: list[Any] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    production: Any = None
    accuracy: float = 0.0
    validation: Any = None
    drift: Any = None
    gates: list[Any] = field(default_factory=list)


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
    """Write the project files: data, params, training script, config."""
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    frame = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["target"])
    (root / "data").mkdir(parents=True, exist_ok=True)
    train.to_csv(root / "data" / "train.csv", index=False)
    test.to_csv(root / "data" / "test.csv", index=False)
    (root / "train.py").write_text(TRAIN_PY, encoding="utf-8")
    (root / "mlgate.yaml").write_text(CONFIG, encoding="utf-8")
    (root / ".gitignore").write_text(".mlgate/\n", encoding="utf-8")
    set_params(root, C)


def relabel(root: Path, *, column: str = "mean texture", above: float = 23.0, fraction: float = 0.15) -> int:
    """Flip a share of the malignant labels on one slice of data/train.csv, as a faulty labelling batch would."""
    import numpy as np
    import pandas as pd

    path = root / "data" / "train.csv"
    train = pd.read_csv(path)
    idx = np.flatnonzero(((train[column] >= above) & (train["target"] == 0)).to_numpy())
    flip = np.random.default_rng(0).choice(idx, size=int(len(idx) * fraction), replace=False)
    train.loc[flip, "target"] = 1
    train.to_csv(path, index=False)
    return len(flip)


def set_params(root: Path, C: float) -> None:
    """Write params.yaml with the regularisation strength ``C``."""
    (root / "params.yaml").write_text(f"train:\n  C: {C}\n  max_iter: 2000\n", encoding="utf-8")


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


def train(root: Path, env: dict[str, str] | None = None) -> str:
    """Run the project's train.py as a user would, returning what it printed."""
    proc = subprocess.run([sys.executable, "train.py"], cwd=root, capture_output=True, text=True, timeout=300, env=env)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise EnvironmentProblem(f"train.py failed in {root} (exit {proc.returncode}):\n{tail}")
    return proc.stdout.strip()


def _gate_and_promote(
    root: Path, reg: Any, settings: Any, result: QuickstartResult, say: Any, number: int, reason: str
) -> None:
    """Gate v``number`` against production; promote it when it passes (the gate report travels with the move)."""
    from mlgate.gates.evaluate import gate
    from mlgate.promotion import promote
    from mlgate.report import write

    ref = f"breast-cancer:{number}"
    res = gate(ref, config=settings, registry=reg)
    result.gates.append(res)
    paths = write(res.report, root / "reports" / f"v{number}")
    s = res.report["summary"]
    counts = f"{s['passed']} passed, {s['failed'] + s['errors']} failed, {s['skipped']} skipped"
    if res.passed:
        event = promote(ref, "production", settings=settings, registry=reg, reason=reason)
        before = f"v{event.from_number}" if event.from_number else "nothing"
        say(
            "step",
            f"gate v{number} against production ({counts}) → passed; promoted: production {before} → v{number}",
            f"mlgate gate {ref} && mlgate promote {ref} --to production",
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


def run(directory: str | Path | None = None, *, say: Any = print) -> QuickstartResult:
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

    from mlgate.data.schema import infer_schema
    from mlgate.data.validate import validate

    schema = infer_schema(root / "data" / "train.csv", slack=0.1, target="target")
    schema.save(root / "mlgate.schema.yaml")
    report = validate(root / "data" / "test.csv", schema)
    result.validation = report
    say(
        "step",
        f"infer a schema from data/train.csv and validate data/test.csv against it: "
        f"{len(report.checks)} checks, {len(report.violations)} violation(s)"
        + (
            " — held-out rows outside the training ranges: "
            + ", ".join(
                f"{v.column or 'table'} {v.rule}" + (f" ({v.rows} rows)" if v.rows else "")
                for v in report.violations[:3]
            )
            + (" …" if len(report.violations) > 3 else "")
            if report.violations
            else ""
        ),
        "mlgate data schema infer data/train.csv -o mlgate.schema.yaml --slack 0.1 --target target && "
        "mlgate data validate data/test.csv",
    )

    say("step", "train v1 (C=0.05) and register it with lineage", "python train.py")
    say("out", train(root, env))
    settings = load_settings(config=root / "mlgate.yaml")
    reg = Registry(settings=settings)
    _gate_and_promote(root, reg, settings, result, say, 1, "first release")

    from mlgate.data.drift import drift
    from mlgate.models import training_profile

    batch = shifted_batch(root)
    result.drift = drift(training_profile("breast-cancer@production", registry=reg), batch)
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
    say("step", "train v2 (C=1.0) and register it", "python train.py")
    say("out", train(root, env))
    _gate_and_promote(root, reg, settings, result, say, 2, "better on every gate")

    flipped = relabel(root)
    if has_git:
        commit(root, "new labels from the annotation vendor")
    say(
        "step",
        f"train v3 on a new labelling batch that, unknown to anyone, marked {flipped} malignant rough-texture "
        "tumours as benign",
        "python train.py",
    )
    say("out", train(root, env))
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
