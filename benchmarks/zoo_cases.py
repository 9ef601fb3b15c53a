"""The gate zoo's cases: data sets, benign retrains and seeded regressions, each with the verdict it should get.

Used by ``benchmarks/gate_zoo.py`` (every case, a table and the rates) and by
``tests/unit/gates/test_gate_zoo.py`` (the ``quick`` cases).

Data sets (``DATASETS``):

* ``digits`` (real): scikit-learn's bundled handwritten digits, multiclass, half held out (899 rows);
  the 64 pixel columns hold 17 values each (0–16, stored as floats): low-cardinality numeric columns.
* ``churn-500``, ``churn-2k``, ``churn-100k`` (synthetic, :func:`churn`): a churn-like binary table with
  two text columns (``region``, ``plan``), a low-cardinality float column (``seats``, 1–5), an integer
  (``age``), two skewed numbers and six normal signals; the champion and every candidate train on 6,000
  rows drawn with seed 1, each evaluation set is drawn with its own seed.
* ``housing-5k`` (synthetic, :func:`housing`): a regression table, all numeric: an integer district
  code (0–7), a low-cardinality float (``floors``, 1–3), area, age, four normal signals; 6,000 training
  rows, 5,000 evaluation rows.

The champion of each set is a 90% sample of its training rows, seed 0. A benign candidate is another
90% sample, another seed, other regularisation or a slightly larger model. A regression carries the
reason class a gate should give (the classes of ``mlgate.gates.types.REASONS``) and, for slice faults,
the column the named slice should be cut on.

The gate configuration is one per task (``CONFIG``): the task's default change gates, one automatic
slice gate on the same metric; for classification the defaults include a Brier change gate (0.01), the
aggregate figure over-confidence moves, which blocks as ``calibration worse``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

TARGET = "target"
TRAIN_ROWS = 6_000
CALIBRATION_METRICS = ("log_loss", "brier", "ece")
# the reason classes in the order a report leads with them (as mlgate.gates.types.REASONS)
REASON_ORDER = (
    "input mismatch", "non-finite output", "constant output", "lost class", "slice drop",
    "calibration worse", "aggregate drop", "latency", "size", "environment", "check error",
)  # fmt: skip

# (metric, max_drop, relative): the change gates of the zoo's configuration, which the naive gate reuses
CHANGE_GATES = {
    "binary": [("roc_auc", 0.01, False), ("accuracy", 0.01, False), ("brier", 0.01, False)],
    "multiclass": [("accuracy", 0.01, False), ("brier", 0.01, False)],
    "regression": [("rmse", 0.05, True)],
}
SLICE_GATE = {
    "binary": "{metric: accuracy, vs: production, slices: auto, max_drop: 0.05, min_rows: 50}",
    "multiclass": "{metric: accuracy, vs: production, slices: auto, max_drop: 0.05, min_rows: 50}",
    "regression": "{metric: rmse, vs: production, slices: auto, max_drop: 10%, min_rows: 50}",
}
CONFIG = """\
registry: sqlite:///{root}/registry.db
artifacts: {root}/artifacts
data: {{eval: {eval}, target: {target}}}
trust: {{run_code: {{models: [zoo]}}}}  # the zoo's own models: pyfunc faults, skops-stored pipelines
gates:
{gates}
"""


def config_text(task: str) -> str:
    """The ``gates:`` entries of the zoo's configuration for a task."""
    lines = []
    for metric, drop, relative in CHANGE_GATES[task]:
        lines.append(f"  - {{metric: {metric}, vs: production, max_drop: {f'{drop:.0%}' if relative else drop}}}")
    lines.append(f"  - {SLICE_GATE[task]}")
    return "\n".join(lines)


# -- data ------------------------------------------------------------------------------------------------


@dataclass
class Data:
    """One data set of the zoo: training and evaluation frames (target column ``target``)."""

    name: str
    task: str
    source: str  # "real" or "synthetic"
    train: Any
    eval: Any
    champion: Callable[[int], Any]  # seed → an unfitted estimator of the champion's family
    categorical: tuple[str, ...] = ()

    @property
    def features(self) -> list[str]:
        return [c for c in self.train.columns if c != TARGET]


REGIONS = {"north": (0.35, 0.0), "south": (0.25, 0.3), "east": (0.2, -0.2), "west": (0.15, 0.1), "islands": (0.05, 0.6)}
PLANS = {"basic": (0.5, 0.4), "plus": (0.3, 0.0), "pro": (0.15, -0.3), "enterprise": (0.05, -0.8)}


def churn(rows: int, seed: int) -> Any:
    """A churn-like table (about 38% ones): region, plan (text), seats (1.0–5.0), age, income, tenure, x0–x5."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    effect = np.zeros(rows)
    for name, levels in (("region", REGIONS), ("plan", PLANS)):
        share, shift = (np.array(v) for v in zip(*levels.values(), strict=True))
        index = rng.choice(len(levels), size=rows, p=share)
        cols[name] = np.array(list(levels))[index]
        effect += shift[index]
    seats = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], size=rows, p=[0.3, 0.25, 0.2, 0.15, 0.1])
    age = rng.integers(18, 90, size=rows)
    income = np.round(rng.lognormal(10.6, 0.5, size=rows), 2)
    tenure = np.round(rng.exponential(24.0, size=rows), 1)
    x = rng.normal(size=(rows, 6))
    logit = (
        1.2 * x[:, 0] - 0.8 * x[:, 1] + 0.6 * x[:, 2] * x[:, 3] + 0.6 * np.sin(2 * x[:, 4]) + 0.3 * x[:, 5]
        + effect - 0.25 * (seats - 2) + 0.02 * (age - 50) - 0.5 * np.log(income / 40_000) - 0.02 * tenure - 0.3
    )  # fmt: skip
    frame = pd.DataFrame({**cols, "seats": seats, "age": age, "income": income, "tenure": tenure})
    for j in range(x.shape[1]):
        frame[f"x{j}"] = x[:, j]
    frame[TARGET] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    return frame


def housing(rows: int, seed: int) -> Any:
    """A price-like regression table, all numeric: district (0–7), floors (1.0–3.0), area, age, x0–x3."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    district = rng.choice(8, size=rows, p=[0.2, 0.15, 0.15, 0.12, 0.12, 0.1, 0.1, 0.06])
    floors = rng.choice([1.0, 2.0, 3.0], size=rows, p=[0.5, 0.35, 0.15])
    area = np.round(rng.gamma(4.0, 30.0, size=rows), 1)
    age = rng.integers(0, 80, size=rows)
    x = rng.normal(size=(rows, 4))
    level = np.array([300, 220, 180, 260, 150, 200, 340, 120], dtype=float)[district]
    price = (
        level + 1.6 * area + 25 * floors - 0.8 * age + 30 * x[:, 0] + 20 * np.sin(2 * x[:, 1])
        + 15 * x[:, 2] * x[:, 3] + rng.normal(0, 40, size=rows)
    )  # fmt: skip
    frame = pd.DataFrame({"district": district, "floors": floors, "area": area, "age": age})
    for j in range(x.shape[1]):
        frame[f"x{j}"] = x[:, j]
    frame[TARGET] = price
    return frame


def _churn_model(seed: int, **params: Any) -> Any:
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OrdinalEncoder

    return make_pipeline(
        make_column_transformer((OrdinalEncoder(), ["region", "plan"]), remainder="passthrough"),
        HistGradientBoostingClassifier(categorical_features=[0, 1], random_state=seed, **params),
    )


def _housing_model(seed: int, **params: Any) -> Any:
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(random_state=seed, **params)


def _digits_model(seed: int, **params: Any) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(**{"n_estimators": 200, "random_state": seed, **params})


def load(name: str) -> Data:
    """One of ``DATASETS``, built from scratch (seeded: the same rows every time)."""
    if name == "digits":
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        frame = load_digits(as_frame=True).frame
        train, test = train_test_split(frame, test_size=0.5, random_state=0, stratify=frame[TARGET])
        return Data(
            name, "multiclass", "real", train.reset_index(drop=True), test.reset_index(drop=True), _digits_model
        )
    if name.startswith("churn-"):
        rows = {"churn-500": 500, "churn-2k": 2_000, "churn-100k": 100_000}[name]
        seed = {"churn-500": 2, "churn-2k": 3, "churn-100k": 4}[name]
        return Data(
            name, "binary", "synthetic", churn(TRAIN_ROWS, 1), churn(rows, seed), _churn_model, ("region", "plan")
        )
    if name == "housing-5k":
        return Data(name, "regression", "synthetic", housing(TRAIN_ROWS, 1), housing(5_000, 2), _housing_model)
    raise KeyError(name)


DATASETS = ("digits", "churn-500", "churn-2k", "churn-100k", "housing-5k")


# -- building candidates -----------------------------------------------------------------------------------


def sample(data: Data, seed: int, share: float = 0.9) -> Any:
    """A ``share`` sample of the training rows, drawn with ``seed``."""
    rows = np.random.default_rng(seed).choice(len(data.train), int(share * len(data.train)), replace=False)
    return data.train.iloc[np.sort(rows)].reset_index(drop=True)


def fit(data: Data, seed: int, train: Any = None, **params: Any) -> Any:
    """The champion's family fitted on ``train`` (default: the 90% sample of ``seed``)."""
    train = sample(data, seed) if train is None else train
    return data.champion(seed, **params).fit(train[data.features], train[TARGET])


def champion(data: Data) -> Any:
    return fit(data, 0)


def _mask(frame: Any, column: str, value: Any) -> np.ndarray:
    return np.asarray(frame[column] == value)


def label_fault(data: Data, column: str, value: Any, share: float, seed: int = 5) -> Any:
    """A candidate trained on rows whose targets were mis-joined where ``column == value`` (``share`` of them).

    Classification: a binary target is flipped, a multiclass one moved to the next class (a join off by
    one key). Regression: the target of another training row, at random.
    """
    train = sample(data, seed)
    rng = np.random.default_rng(seed)
    rows = np.flatnonzero(_mask(train, column, value))
    hit = rng.choice(rows, int(share * len(rows)), replace=False)
    y = train[TARGET].to_numpy().copy()
    if data.task == "binary":
        y[hit] = 1 - y[hit]
    elif data.task == "multiclass":
        y[hit] = (y[hit] + 1) % 10
    else:
        y[hit] = rng.choice(y, len(hit))
    train = train.assign(**{TARGET: y})
    return fit(data, seed, train)


def faulty(data: Data, fault: str, **config: Any) -> Any:
    """The champion's family retrained (seed 5) and wrapped with a serving fault (``benchmarks/zoo_models.py``)."""
    from benchmarks.zoo_models import FaultyClassifier, FaultyRegressor

    inner = fit(data, 5)
    if fault == "constant":
        y = data.train[TARGET]
        config["constant"] = (
            float(y.mean()) if data.task == "regression" else y.value_counts(normalize=True).sort_index().tolist()
        )
    wrapper = FaultyRegressor if data.task == "regression" else FaultyClassifier
    return wrapper(inner, fault, **config)


def by_position(data: Data, order: list[str]) -> tuple[Any, Any]:
    """A model trained on a NumPy array whose columns are in ``order``: it reads its input by position."""
    train = sample(data, 5)
    X = train[order].to_numpy()
    return data.champion(5).fit(X, train[TARGET]), X[:5]


def label_shift(data: Data) -> Any:
    """Binary: positives under-sampled to a third in training. Regression: targets recorded 15% too high."""
    train = sample(data, 5)
    if data.task == "binary":
        rng = np.random.default_rng(5)
        positives = np.flatnonzero(train[TARGET].to_numpy() == 1)
        drop = rng.choice(positives, int(len(positives) * 2 / 3), replace=False)
        train = train.drop(index=drop).reset_index(drop=True)
    else:
        train = train.assign(**{TARGET: train[TARGET] * 1.15})
    return fit(data, 5, train)


@dataclass
class Case:
    """One candidate against its data set's champion, and what a gate should say about it."""

    id: str
    data: str  # a name in DATASETS
    what: str
    build: Callable[[Data], Any]  # → model, or (model, sample_input)
    expect: str | None = None  # reason class for a regression; None for a benign retrain
    column: str | None = None  # the column a slice fault's named slice should be cut on
    quick: bool = False  # part of --quick and of the fast test

    @property
    def benign(self) -> bool:
        return self.expect is None


def _benign(data: str, tag: str, what: str, quick: bool = False, seed: int = 1, **params: Any) -> Case:
    return Case(f"{data}/{tag}", data, what, lambda d: fit(d, seed, **params), quick=quick)


def _cases() -> list[Case]:
    cases: list[Case] = []
    # benign retrains: another 90% sample with another seed, regularisation, a slightly larger model
    for data, quick_seeds in (("digits", ()), ("churn-500", ()), ("churn-2k", (1, 3)), ("housing-5k", ())):
        for seed in (1, 2, 3, 4):
            cases.append(_benign(data, f"seed-{seed}", f"another 90% sample, seed {seed}", seed in quick_seeds, seed))
    cases.append(_benign("churn-100k", "seed-1", "another 90% sample, seed 1", seed=1))
    cases.append(_benign("churn-100k", "seed-2", "another 90% sample, seed 2", seed=2))
    cases += [
        _benign("digits", "max-features", "regularised: max_features 0.2", seed=6, max_features=0.2),
        _benign("digits", "bigger", "slightly better: 400 trees", seed=7, n_estimators=400),
        _benign("churn-2k", "l2", "regularised: l2_regularization 1.0", True, seed=6, l2_regularization=1.0),
        _benign("churn-2k", "leaf-40", "regularised: min_samples_leaf 40", seed=7, min_samples_leaf=40),
        _benign("churn-2k", "slower", "slightly better: learning rate 0.05, 200 rounds", seed=8,
                learning_rate=0.05, max_iter=200),
        _benign("churn-100k", "l2", "regularised: l2_regularization 1.0", seed=6, l2_regularization=1.0),
        _benign("housing-5k", "l2", "regularised: l2_regularization 1.0", seed=6, l2_regularization=1.0),
        _benign("housing-5k", "leaf-40", "regularised: min_samples_leaf 40", seed=7, min_samples_leaf=40),
        _benign("housing-5k", "slower", "slightly better: learning rate 0.05, 200 rounds", seed=8,
                learning_rate=0.05, max_iter=200),
    ]  # fmt: skip

    def reg(data: str, tag: str, what: str, build: Callable[[Data], Any], expect: str, column: str | None = None,
            quick: bool = False) -> None:  # fmt: skip
        cases.append(Case(f"{data}/{tag}", data, what, build, expect, column, quick))

    # binary, 2,000 rows
    reg("churn-2k", "labels-plan", "targets flipped for 70% of training rows with plan = pro",
        lambda d: label_fault(d, "plan", "pro", 0.7), "slice drop", "plan", quick=True)  # fmt: skip
    reg("churn-2k", "labels-seats", "targets flipped for 70% of training rows with seats = 4 (a float column)",
        lambda d: label_fault(d, "seats", 4.0, 0.7), "slice drop", "seats", quick=True)  # fmt: skip
    reg("churn-2k", "nan-west", "NaN outputs for region = west",
        lambda d: faulty(d, "nan", column="region", value="west"), "non-finite output", quick=True)  # fmt: skip
    reg("churn-2k", "constant", "the training prior for every row", lambda d: faulty(d, "constant"),
        "constant output", quick=True)  # fmt: skip
    reg("churn-2k", "overconfident", "probabilities sharpened (temperature 0.3)",
        lambda d: faulty(d, "sharpen", temperature=0.3), "calibration worse", quick=True)  # fmt: skip
    reg("churn-2k", "zeroed-x0", "the strongest signal x0 zeroed at serving",
        lambda d: faulty(d, "zero", column="x0", value=0.0), "aggregate drop", quick=True)  # fmt: skip
    reg("churn-2k", "label-shift", "positives under-sampled to a third in training", label_shift, "aggregate drop",
        quick=True)  # fmt: skip
    # binary, 500 and 100,000 rows
    reg("churn-500", "nan-enterprise", "NaN outputs for plan = enterprise (about 25 rows)",
        lambda d: faulty(d, "nan", column="plan", value="enterprise"), "non-finite output")  # fmt: skip
    reg("churn-500", "labels-north", "targets flipped for 70% of training rows with region = north",
        lambda d: label_fault(d, "region", "north", 0.7), "slice drop", "region")  # fmt: skip
    reg("churn-100k", "labels-islands", "targets flipped for 50% of training rows with region = islands",
        lambda d: label_fault(d, "region", "islands", 0.5), "slice drop", "region")  # fmt: skip
    reg("churn-100k", "labels-islands-70", "targets flipped for 70% of training rows with region = islands",
        lambda d: label_fault(d, "region", "islands", 0.7), "slice drop", "region")  # fmt: skip
    reg("churn-100k", "labels-seats", "targets flipped for 50% of training rows with seats = 2",
        lambda d: label_fault(d, "seats", 2.0, 0.5), "slice drop", "seats")  # fmt: skip
    reg("churn-100k", "overconfident", "probabilities sharpened (temperature 0.5)",
        lambda d: faulty(d, "sharpen", temperature=0.5), "calibration worse")  # fmt: skip
    # regression, 5,000 rows
    reg("housing-5k", "labels-district", "targets mis-joined (another row's) for 70% of district 3",
        lambda d: label_fault(d, "district", 3, 0.7), "slice drop", "district")  # fmt: skip
    reg("housing-5k", "labels-floors", "targets mis-joined for 70% of floors = 3 (a float column)",
        lambda d: label_fault(d, "floors", 3.0, 0.7), "slice drop", "floors")  # fmt: skip
    reg("housing-5k", "nan-district", "NaN outputs for district = 5",
        lambda d: faulty(d, "nan", column="district", value=5), "non-finite output")  # fmt: skip
    reg("housing-5k", "constant", "the training mean for every row", lambda d: faulty(d, "constant"), "constant output")
    reg("housing-5k", "column-order", "trained with area and age swapped, reads its input by position",
        lambda d: by_position(d, _swapped(d.features, "area", "age")), "input mismatch")  # fmt: skip
    reg("housing-5k", "zeroed-area", "area zeroed at serving",
        lambda d: faulty(d, "zero", column="area", value=0.0), "aggregate drop")  # fmt: skip
    reg("housing-5k", "label-shift", "training targets recorded 15% too high", label_shift, "aggregate drop")
    # multiclass, 899 rows (real)
    reg("digits", "labels-3", "70% of the training 3s labelled 4",
        lambda d: label_fault(d, TARGET, 3, 0.7), "slice drop", TARGET)  # fmt: skip
    reg("digits", "labels-pixel", "labels moved to the next digit for 70% of rows with pixel_4_4 = 0",
        lambda d: label_fault(d, "pixel_4_4", 0.0, 0.7), "slice drop", "pixel_4_4")  # fmt: skip
    reg("digits", "column-order", "trained on the pixels in reverse order, reads its input by position",
        lambda d: by_position(d, d.features[::-1]), "input mismatch")  # fmt: skip
    # over-confidence is not tested on digits: the champion, a random forest, is under-confident, so sharpening
    # its probabilities (temperature 0.1) lowered neither its log loss nor its accuracy: not a regression
    reg("digits", "zeroed-centre", "the 16 centre pixels zeroed at serving",
        lambda d: faulty(d, "zero", column=[f"pixel_{i}_{j}" for i in range(2, 6) for j in range(2, 6)], value=0.0),
        "aggregate drop")  # fmt: skip
    reg("digits", "nan-pixel", "NaN outputs for rows with pixel_2_2 = 0",
        lambda d: faulty(d, "nan", column="pixel_2_2", value=0.0), "non-finite output")  # fmt: skip
    return cases


def _swapped(columns: list[str], a: str, b: str) -> list[str]:
    out = list(columns)
    i, j = out.index(a), out.index(b)
    out[i], out[j] = out[j], out[i]
    return out


CASES = _cases()


# -- running a case ----------------------------------------------------------------------------------------


@dataclass
class Project:
    """A registry in a folder with the data set's champion at @production and its evaluation rows in Parquet."""

    data: Data
    folder: Path
    settings: Any
    registry: Any
    champion: Any
    versions: int = 1

    def close(self) -> None:
        self.registry.close()


def project(name: str, folder: Path) -> Project:
    """Build the data set, train and register its champion, promote it to production, write the config."""
    import polars as pl

    import mlgate
    from mlgate.config import load_settings
    from mlgate.registry.store import Registry

    data = load(name)
    folder.mkdir(parents=True, exist_ok=True)
    eval_path = folder / "eval.parquet"
    pl.from_pandas(data.eval).write_parquet(eval_path)
    (folder / "mlgate.yaml").write_text(
        CONFIG.format(root=folder, eval=eval_path, target=TARGET, gates=config_text(data.task))
    )
    settings = load_settings(config=folder / "mlgate.yaml")
    reg = Registry(settings=settings)
    champ = champion(data)
    mv = mlgate.log_model(champ, "zoo", sample_input=data.train[data.features].head(5), registry=reg)
    reg.set_alias("zoo", "production", mv.number)
    return Project(data, folder, settings, reg, champ)


@dataclass
class Outcome:
    """What mlgate and the naive gate said about one case."""

    case: Case
    task: str
    rows: int
    blocked: bool
    reasons: list[dict[str, Any]]  # [{class, check, message, slice}] most specific first
    right: bool  # a regression blocked with the expected reason (and slice column); a benign retrain passed
    leading_right: bool  # the expected reason led the report
    naive_blocked: bool
    naive_reason: str | None
    naive_right: bool
    gate_s: float
    naive_s: float
    build_s: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def leading(self) -> str | None:
        return self.reasons[0]["class"] if self.reasons else None

    def to_dict(self) -> dict[str, Any]:
        c = self.case
        return {
            "id": c.id, "data": c.data, "task": self.task, "eval_rows": self.rows, "kind": "benign" if c.benign
            else "regression", "what": c.what, "expect": c.expect, "column": c.column,
            "mlgate": {"blocked": self.blocked, "right": self.right, "leading": self.leading,
                       "leading_right": self.leading_right,
                       "reasons": self.reasons, "gate_s": self.gate_s},
            "naive": {"blocked": self.naive_blocked, "right": self.naive_right, "reason": self.naive_reason,
                      "naive_s": self.naive_s},
            "build_s": self.build_s, **self.details,
        }  # fmt: skip


def run(proj: Project, case: Case) -> Outcome:
    """Train the case's candidate, register it, gate it against @production, and decide the naive gate too."""
    import mlgate
    from mlgate.gates.evaluate import gate

    data = proj.data
    t0 = time.perf_counter()
    built = case.build(data)
    model, sample_input = built if isinstance(built, tuple) else (built, data.train[data.features].head(5))
    build_s = time.perf_counter() - t0
    mv = mlgate.log_model(model, "zoo", sample_input=sample_input, registry=proj.registry)
    t0 = time.perf_counter()
    result = gate(mv.ref, config=proj.settings, registry=proj.registry)
    gate_s = time.perf_counter() - t0
    reasons = reasons_of(result.report)
    blocked = not result.report.get("passed")
    t0 = time.perf_counter()
    naive_reason = naive(data, model, proj.champion, positional=isinstance(built, tuple))
    naive_s = time.perf_counter() - t0
    return Outcome(
        case, data.task, len(data.eval), blocked, reasons, right(case, blocked, reasons),
        blocked and leads(case, reasons), naive_reason is not None,
        naive_reason, right(case, naive_reason is not None, [{"class": naive_reason}] if naive_reason else []),
        gate_s, naive_s, build_s,
    )  # fmt: skip


def reasons_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The blocking reasons of a gate report, most specific first, each with the slice its check names.

    Reads ``reasons`` when the report has them, and otherwise classes the blocking checks itself from their
    kind and name. A change gate on a calibration metric (log loss, Brier, ECE) counts as ``calibration
    worse`` whatever class the report gives it.
    """
    checks = {c["name"]: c for c in report.get("checks") or []}
    if report.get("reasons") is not None:
        out = [dict(r) for r in report["reasons"]]
    else:
        out = [{"class": _class(c), "check": c["name"], "message": c.get("message", "")}
               for c in checks.values() if c.get("blocking")]  # fmt: skip
    for r in out:
        check = checks.get(r["check"], {})
        if r["class"] == "aggregate drop" and check.get("metric") in CALIBRATION_METRICS:
            r["class"] = "calibration worse"
        r["slice"] = check.get("slice")
        r["slices"] = [f["slice"] for f in (check.get("details") or {}).get("failing") or []]
    order = {c: i for i, c in enumerate(REASON_ORDER)}
    out.sort(key=lambda r: order.get(r["class"], len(order)))
    return out


def _class(check: dict[str, Any]) -> str:
    """A blocking check's reason class, for reports written before ``reasons`` existed."""
    if check.get("reason"):
        return str(check["reason"])
    kind, name, message = check.get("kind"), check.get("name"), check.get("message") or ""
    if name == "finite outputs" or (kind in ("change", "bound", "slice", "slices") and "NaN" in message):
        return "non-finite output"
    if name in ("column order", "output shape", "dtype robustness"):
        return "input mismatch"
    if kind in ("slice", "slices"):
        return "slice drop"
    if kind in ("change", "bound"):
        return "aggregate drop"
    return str(kind) if kind in ("latency", "size", "environment") else "check error"


def right(case: Case, blocked: bool, reasons: list[dict[str, Any]]) -> bool:
    """A benign retrain passed; a regression blocked with the expected class among its reasons.

    A slice fault also needs a failing slice on the faulty column: the check's worst slice or another it
    lists as failing. The class need not lead: a fault that moves the whole set (a zeroed feature) also
    fails slices, and a report leads with the more specific ``slice drop``; ``leading`` in the results says
    whether it led.
    """
    if case.benign:
        return not blocked
    for r in reasons if blocked else []:
        if r["class"] != case.expect:
            continue
        if case.column is None:
            return True
        named = [r.get("slice") or "", *(r.get("slices") or [])]
        if any(n == case.column or n.startswith((f"{case.column} ", f"{case.column}=")) for n in named):
            return True
    return False


def leads(case: Case, reasons: list[dict[str, Any]]) -> bool:
    """Whether the expected class is the report's leading reason (and right, as :func:`right` decides)."""
    return bool(reasons) and right(case, True, reasons[:1])


def naive(data: Data, model: Any, champ: Any, *, positional: bool = False) -> str | None:
    """A point-threshold gate (TFMA/Deepchecks style) on the same rows: why it blocks, or None.

    It blocks on any NaN or infinite output, and on a point change beyond the margin of any of the zoo's
    change gates (the same metrics and margins as mlgate's); no intervals, slices or behaviour checks.
    """
    from sklearn.metrics import accuracy_score, log_loss, mean_squared_error, roc_auc_score

    X, y = data.eval[data.features], data.eval[TARGET].to_numpy()
    outputs = []
    for m in (model, champ):
        inp = X.to_numpy() if (positional and m is model) else X
        pred = np.asarray(m.predict(inp))
        proba = None if data.task == "regression" else np.asarray(m.predict_proba(inp), dtype=np.float64)
        outputs.append((pred, proba))
    (pred, proba), (cpred, cproba) = outputs
    if not np.all(np.isfinite(pred.astype(np.float64))) or (proba is not None and not np.all(np.isfinite(proba))):
        return "non-finite output"
    worst = None
    for metric, drop, relative in CHANGE_GATES[data.task]:
        if metric == "rmse":
            value, base = math.sqrt(mean_squared_error(y, pred)), math.sqrt(mean_squared_error(y, cpred))
            higher = False
        elif metric == "accuracy":
            value, base, higher = accuracy_score(y, pred), accuracy_score(y, cpred), True
        elif metric == "roc_auc":
            value, base, higher = roc_auc_score(y, proba[:, 1]), roc_auc_score(y, cproba[:, 1]), True
        elif metric == "brier":  # binary: on the positive class; multiclass: summed over the classes
            value, base, higher = _brier(y, proba, model), _brier(y, cproba, champ), False
        else:
            labels = np.arange(proba.shape[1])
            value = log_loss(y, np.clip(proba, 1e-15, 1), labels=labels)
            base, higher = log_loss(y, np.clip(cproba, 1e-15, 1), labels=labels), False
        margin = drop * abs(base) if relative else drop
        change = (value - base) if higher else (base - value)
        if change < -margin:
            cls = "calibration worse" if metric in CALIBRATION_METRICS else "aggregate drop"
            if worst is None or REASON_ORDER.index(cls) < REASON_ORDER.index(worst):
                worst = cls
    return worst


def _brier(y: np.ndarray, proba: np.ndarray, model: Any) -> float:
    """The Brier score as mlgate computes it (scikit-learn's ``brier_score_loss`` for two classes)."""
    onehot = (y[:, None] == np.asarray(model.classes_)[None, :]).astype(np.float64)
    if proba.shape[1] == 2:
        return float(np.mean((onehot[:, 1] - proba[:, 1]) ** 2))
    return float(np.mean(np.sum((onehot - proba) ** 2, axis=1)))


# -- the whole zoo -----------------------------------------------------------------------------------------


def run_all(cases: list[Case], folder: Path, say: Callable[[str], None] = print) -> list[Outcome]:
    """Every case, one project per data set (built when its first case comes), in ``folder``."""
    projects: dict[str, Project] = {}
    out = []
    try:
        for case in cases:
            if case.data not in projects:
                say(f"{case.data}: training and registering the champion")
                projects[case.data] = project(case.data, folder / case.data)
            out.append(run(projects[case.data], case))
            o = out[-1]
            say(f"{case.id}: mlgate {'blocked' if o.blocked else 'passed'} ({o.leading}), naive "
                f"{'blocked' if o.naive_blocked else 'passed'} ({o.naive_reason}), {o.gate_s:.1f} s")  # fmt: skip
    finally:
        for p in projects.values():
            p.close()
    return out


def rates(outcomes: list[Outcome]) -> dict[str, Any]:
    """Catch-with-right-reason and false-block rates of mlgate and the naive gate, per task and overall."""
    groups: dict[str, list[Outcome]] = {"all": outcomes}
    for o in outcomes:
        groups.setdefault(o.task, []).append(o)
    out = {}
    for name, group in groups.items():
        bad = [o for o in group if not o.case.benign]
        good = [o for o in group if o.case.benign]
        out[name] = {
            "regressions": len(bad),
            "benign": len(good),
            "mlgate_caught_right": sum(o.right for o in bad),
            "mlgate_caught_leading": sum(o.leading_right for o in bad),
            "mlgate_blocked": sum(o.blocked for o in bad),
            "mlgate_false_blocks": sum(o.blocked for o in good),
            "naive_caught_right": sum(o.naive_right for o in bad),
            "naive_blocked": sum(o.naive_blocked for o in bad),
            "naive_false_blocks": sum(o.naive_blocked for o in good),
        }
    return out
