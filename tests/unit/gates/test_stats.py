"""The paired bootstrap and McNemar: standard errors agree with DeLong, the vectorized statistics reproduce
the naive loop, blocks estimate the row variance, intervals cover, and degenerate inputs fail saying why."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest
from sklearn import metrics as skm
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlgate.errors import InputError, UsageError
from mlgate.gates.metrics import METRICS, get_metric
from mlgate.gates.stats import BLOCKS, CHUNK, compare, interval, mcnemar, replicates, resampling
from mlgate.gates.types import Pred

Z975 = 1.959963984540054
Cancer = tuple[np.ndarray, Pred, Pred, Pred]


def _oof(X: object, y: np.ndarray, model: object) -> Pred:
    proba = cross_val_predict(model, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba")
    return Pred(label=proba.argmax(axis=1).astype(np.int64), proba=proba)


@pytest.fixture(scope="module")
def cancer() -> Cancer:
    """Breast cancer, out of fold: two weak models of similar AUC (~0.83) and one strong model (~0.99)."""
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    y = y.to_numpy().astype(np.int64)
    lr = make_pipeline(StandardScaler(), LogisticRegression())
    weak_a = _oof(X[["mean texture", "mean smoothness"]], y, lr)
    weak_b = _oof(X[["mean texture", "mean symmetry", "mean smoothness"]], y, GaussianNB())
    strong = _oof(X, y, make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)))
    return y, weak_a, weak_b, strong


def delong_cov(y: np.ndarray, scores: list[np.ndarray]) -> np.ndarray:
    """DeLong, DeLong & Clarke-Pearson (1988): covariance of the AUCs of several scores on the same rows."""
    v10, v01 = [], []
    for s in scores:
        pos, neg = s[y == 1], s[y == 0]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
    return np.cov(np.array(v10)) / (y == 1).sum() + np.cov(np.array(v01)) / (y == 0).sum()


def test_bootstrap_se_of_auc_agrees_with_delong(cancer: Cancer) -> None:
    y, a, b, _ = cancer
    cov = delong_cov(y, [a.proba[:, 1], b.proba[:, 1]])
    se_delta = math.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    cmp = compare(METRICS["roc_auc"], y, a, b, resamples=2000, seed=1)
    assert cmp.method == "paired bootstrap, 2000 resamples over rows"
    assert cmp.se == pytest.approx(se_delta, rel=0.15)
    assert cmp.mde == pytest.approx((Z975 + 0.8416212335729143) * cmp.se)
    rep = replicates(METRICS["roc_auc"], y, [a], resampling(y.size, resamples=2000, seed=1))
    assert rep.values[:, 0].std(ddof=1) == pytest.approx(math.sqrt(cov[0, 0]), rel=0.15)


SK = {
    "roc_auc": lambda y, p: skm.roc_auc_score(y, p.proba[:, 1]),
    "pr_auc": lambda y, p: skm.average_precision_score(y, p.proba[:, 1]),
    "log_loss": lambda y, p: skm.log_loss(y, p.proba, labels=[0, 1]),
    "brier": lambda y, p: skm.brier_score_loss(y, p.proba[:, 1]),
    "accuracy": lambda y, p: skm.accuracy_score(y, p.label),
    "f1": lambda y, p: skm.f1_score(y, p.label, zero_division=0),
    "balanced_accuracy": lambda y, p: skm.balanced_accuracy_score(y, p.label),
    "recall_macro": lambda y, p: skm.recall_score(y, p.label, average="macro", zero_division=0),
}


@pytest.mark.parametrize("name", sorted(SK))
def test_row_bootstrap_reproduces_the_naive_loop_exactly(name: str, cancer: Cancer) -> None:
    """W @ S per resample equals sklearn on the resampled rows (exact buckets: ≤ 569 distinct scores)."""
    y, a, b, _ = cancer
    plan = resampling(y.size, resamples=50, seed=7)
    rep = replicates(METRICS[name], y, [a, b], plan)
    assert not rep.generic and plan.unit == "rows"
    naive = []
    for counts in plan.counts():
        for c in counts:
            index = np.repeat(np.arange(y.size), c[plan.groups])
            naive.append([SK[name](y[index], a.take(index)), SK[name](y[index], b.take(index))])
    np.testing.assert_allclose(rep.values, np.array(naive), rtol=0, atol=1e-9)
    np.testing.assert_allclose(rep.centre, [SK[name](y, a), SK[name](y, b)], rtol=0, atol=1e-9)


def _generated(n: int, seed: int, *, auc_shift: float = 1.8, rho: float = 0.7) -> tuple[np.ndarray, Pred, Pred]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.int64)
    shared = rng.normal(size=n)

    def model(shift: float) -> Pred:
        s = shift * y + rho * shared + math.sqrt(1 - rho**2) * rng.normal(size=n)
        p = 1 / (1 + np.exp(-(s - shift / 2)))
        return Pred(label=(p > 0.5).astype(np.int64), proba=np.column_stack([1 - p, p]))

    return y, model(auc_shift * 1.05), model(auc_shift)


def test_block_bootstrap_reproduces_the_loop_over_expanded_blocks() -> None:
    """Blocks: each resample is its blocks' rows repeated; float32 W @ S is exact for the counts."""
    y, a, b = _generated(5000, seed=4)
    rounded = [Pred(label=p.label, proba=np.round(p.proba, 3)) for p in (a, b)]
    plan = resampling(y.size, resamples=20, seed=2)
    assert plan.unit == "blocks" and plan.n_groups == BLOCKS
    rep = replicates(METRICS["roc_auc"], y, rounded, plan)
    c = next(plan.counts())
    for i in range(20):
        index = np.repeat(np.arange(y.size), c[i][plan.groups])
        for j, p in enumerate(rounded):
            assert rep.values[i, j] == pytest.approx(skm.roc_auc_score(y[index], p.proba[index, 1]), abs=1e-9)


def test_block_bootstrap_variance_matches_the_row_bootstrap() -> None:
    y, a, b = _generated(20_000, seed=5)
    blocked = compare(METRICS["roc_auc"], y, a, b, resamples=1000, seed=3)
    assert blocked.details["unit"] == "blocks"
    assert blocked.method == "paired bootstrap, 1000 resamples over 2000 random blocks"
    rng = np.random.default_rng(11)
    deltas, singles = [], []
    for _ in range(200):  # the textbook row bootstrap, with sklearn
        index = rng.integers(0, y.size, y.size)
        auc_a = skm.roc_auc_score(y[index], a.proba[index, 1])
        deltas.append(auc_a - skm.roc_auc_score(y[index], b.proba[index, 1]))
        singles.append(auc_a)
    assert blocked.se == pytest.approx(np.std(deltas, ddof=1), rel=0.15)
    rep = replicates(METRICS["roc_auc"], y, [a], resampling(y.size, resamples=1000, seed=3))
    assert rep.values[:, 0].std(ddof=1) == pytest.approx(np.std(singles, ddof=1), rel=0.15)


# -- McNemar -----------------------------------------------------------------------------------------


def exact_two_sided(b: int, c: int) -> float:
    """The exact binomial test of b successes in b + c at p = 1/2, summed by hand."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


@pytest.mark.parametrize(("b", "c", "both", "neither"), [(0, 0, 50, 5), (12, 3, 80, 5), (3, 12, 0, 0), (40, 41, 7, 2)])
def test_mcnemar_counts_and_exact_p(b: int, c: int, both: int, neither: int) -> None:
    cand = np.array([True] * b + [False] * c + [True] * both + [False] * neither)
    champ = np.array([False] * b + [True] * c + [True] * both + [False] * neither)
    order = np.random.default_rng(0).permutation(cand.size)
    got_b, got_c, p = mcnemar(cand[order], champ[order])
    assert (got_b, got_c) == (b, c)
    assert p == pytest.approx(exact_two_sided(b, c), abs=1e-12)
    if b + c:
        assert p == pytest.approx(binomtest(b, b + c, 0.5).pvalue, abs=1e-12)


def test_mcnemar_refuses_unpaired_rows() -> None:
    with pytest.raises(InputError, match="paired rows: 3 against 2"):
        mcnemar(np.ones(3, bool), np.ones(2, bool))


def _accuracy_pair(cells: dict[str, int], seed: int = 0) -> tuple[np.ndarray, Pred, Pred]:
    """Rows where both / only the candidate / only the champion / neither get the label right."""
    kinds = np.repeat(list(cells), list(cells.values()))
    np.random.default_rng(seed).shuffle(kinds)
    y = np.zeros(kinds.size, np.int64)
    cand = np.where(np.isin(kinds, ["both", "cand"]), 0, 1)
    champ = np.where(np.isin(kinds, ["both", "champ"]), 0, 1)
    return y, Pred(label=cand), Pred(label=champ)


def test_accuracy_uses_mcnemar_with_the_agresti_min_interval() -> None:
    y, cand, champ = _accuracy_pair({"both": 70, "cand": 15, "champ": 5, "neither": 10})
    cmp = compare(METRICS["accuracy"], y, cand, champ, margin=0.02)
    assert cmp.method == "McNemar exact test, Agresti–Min interval"
    assert cmp.details == {"b": 15, "c": 5, "mcnemar_p": pytest.approx(exact_two_sided(15, 5))}
    assert cmp.delta == pytest.approx(0.10)
    # Agresti & Min (2005), as in Agresti's R function diffpropci: 0.5 added to each cell, then Wald
    d, se = 10 / 102, math.sqrt(21 - 100 / 102) / 102
    assert cmp.ci == pytest.approx((d - Z975 * se, d + Z975 * se))
    assert cmp.se == pytest.approx(se)
    assert cmp.p_value == pytest.approx(0.5 * math.erfc(-(d + 0.02) / se / math.sqrt(2)))


def test_mcnemar_and_the_bootstrap_agree_on_accuracy(cancer: Cancer) -> None:
    y, a, b, _ = cancer
    exact = compare(METRICS["accuracy"], y, a, b)
    boot = compare(METRICS["accuracy"], y, a, b, method="bootstrap", resamples=2000)
    assert boot.method.startswith("paired bootstrap")
    assert boot.delta == exact.delta
    assert boot.se == pytest.approx(exact.se, rel=0.1)
    assert boot.ci == pytest.approx(exact.ci, abs=0.01)


def _coverage(method: str, sims: int = 200) -> float:
    """Share of ~95% intervals covering the true delta (0.04) of a paired accuracy setting."""
    rng = np.random.default_rng(2024)
    shares = {"both": 0.75, "cand": 0.10, "champ": 0.06, "neither": 0.09}
    covered = 0
    for i in range(sims):
        kinds = rng.choice(list(shares), size=300, p=list(shares.values()))
        y, cand, champ = _accuracy_pair({k: int((kinds == k).sum()) for k in shares}, seed=i)
        lo, hi = compare(METRICS["accuracy"], y, cand, champ, method=method, resamples=200, seed=i).ci
        covered += lo <= 0.04 <= hi
    return covered / sims


@pytest.mark.parametrize("method", ["auto", "bootstrap"])
def test_intervals_cover_the_true_delta(method: str) -> None:
    assert _coverage(method) >= 0.90


# -- behaviour ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["roc_auc", "log_loss", "accuracy", "f1_macro"])
@pytest.mark.parametrize("margin", [0.0, 0.01])
def test_identical_models_give_a_zero_interval(name: str, margin: float, cancer: Cancer) -> None:
    y, a, _, _ = cancer
    twin = Pred(label=a.label.copy(), proba=a.proba.copy())
    cmp = compare(METRICS[name], y, a, twin, margin=margin, resamples=200)
    assert cmp.delta == 0.0
    assert cmp.ci == (0.0, 0.0)
    assert cmp.p_value == 1.0


def test_same_seed_same_answer_other_seed_other_interval(cancer: Cancer) -> None:
    y, a, b, _ = cancer
    first = compare(METRICS["pr_auc"], y, a, b, resamples=300, seed=5)
    assert compare(METRICS["pr_auc"], y, a, b, resamples=300, seed=5) == first
    assert compare(METRICS["pr_auc"], y, a, b, resamples=300, seed=6).ci != first.ci
    big = _generated(3000, seed=1)
    assert compare(METRICS["roc_auc"], *big, resamples=100, seed=5) == compare(
        METRICS["roc_auc"], *big, resamples=100, seed=5
    )


@pytest.mark.parametrize("name", ["roc_auc", "log_loss", "accuracy"])
def test_the_one_sided_p_value_points_at_regressions(name: str, cancer: Cancer) -> None:
    y, weak, _, strong = cancer
    metric = METRICS[name]
    worse = compare(metric, y, weak, strong, resamples=500)
    assert (worse.delta < 0) == metric.higher_is_better
    assert worse.p_value < 0.01
    assert compare(metric, y, strong, weak, resamples=500).p_value > 0.99
    tolerant = compare(metric, y, weak, strong, margin=abs(worse.delta) + 5 * worse.se, resamples=500)
    assert tolerant.p_value > 0.99


def test_oriented_interval_turns_losses_around(cancer: Cancer) -> None:
    y, weak, _, strong = cancer
    cmp = compare(METRICS["log_loss"], y, weak, strong, resamples=300)
    assert cmp.higher_is_better is False and cmp.delta > 0
    assert cmp.oriented_ci == (-cmp.ci[1], -cmp.ci[0])
    assert cmp.oriented_ci[1] < 0  # worse for sure: a change gate would fail


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(30, 400), name=st.sampled_from(["roc_auc", "brier", "f1"]))
def test_swapping_the_models_mirrors_the_interval(seed: int, n: int, name: str) -> None:
    y, a, b = _generated(n, seed)
    metric = METRICS[name]
    try:
        ab = compare(metric, y, a, b, resamples=100, seed=seed)
    except InputError:
        return  # too few positives among these rows for AUC: covered elsewhere
    ba = compare(metric, y, b, a, resamples=100, seed=seed)
    assert ba.delta == pytest.approx(-ab.delta, abs=1e-12)
    assert ba.ci == pytest.approx((-ab.ci[1], -ab.ci[0]), abs=1e-12)
    assert ba.se == pytest.approx(ab.se, abs=1e-12)


def test_interval_of_one_model_brackets_its_value(cancer: Cancer) -> None:
    y, a, _, _ = cancer
    value = METRICS["accuracy"].compute(y, a)
    lo, hi = interval(METRICS["accuracy"], y, a, resamples=2000, seed=1)
    assert lo < value < hi
    assert hi - lo == pytest.approx(2 * Z975 * math.sqrt(value * (1 - value) / y.size), rel=0.15)
    assert interval(METRICS["accuracy"], y, a, resamples=2000, seed=1) == (lo, hi)


# -- degenerate inputs -------------------------------------------------------------------------------


def test_a_slice_without_negatives_is_an_input_error(cancer: Cancer) -> None:
    y, a, b, _ = cancer
    ones = y == 1
    with pytest.raises(InputError, match="roc_auc is undefined on these 357 rows"):
        compare(METRICS["roc_auc"], y[ones], a.take(ones), b.take(ones))


def test_too_many_undefined_resamples_is_an_input_error(cancer: Cancer) -> None:
    y, a, b, _ = cancer
    rows = np.concatenate([np.flatnonzero(y == 1)[:29], np.flatnonzero(y == 0)[:1]])  # one negative in 30
    with pytest.raises(InputError, match=r"roc_auc is undefined on \d+ of 1000 bootstrap resamples of these 30 rows"):
        compare(METRICS["roc_auc"], y[rows], a.take(rows), b.take(rows))


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"confidence": 1.0}, "confidence must lie strictly between 0 and 1"),
        ({"resamples": 5}, "resamples must be at least 10"),
        ({"margin": float("nan")}, "margin must be a finite number"),
        ({"method": "delong"}, "method must be 'auto' or 'bootstrap'"),
    ],
)
def test_bad_arguments_are_usage_errors(kwargs: dict[str, object], says: str, cancer: Cancer) -> None:
    y, a, b, _ = cancer
    with pytest.raises(UsageError, match=says):
        compare(METRICS["brier"], y, a, b, **kwargs)  # type: ignore[arg-type]


# -- the generic path --------------------------------------------------------------------------------


def test_multiclass_auc_is_recomputed_on_each_resample() -> None:
    X, y = load_digits(return_X_y=True)
    X, y = X[:600], y[:600].astype(np.int64)
    a = _oof(X, y, GaussianNB())
    b = _oof(X, y, make_pipeline(StandardScaler(), LogisticRegression(max_iter=300)))
    plan = resampling(y.size, resamples=12, seed=0)
    rep = replicates(METRICS["roc_auc"], y, [a, b], plan)
    assert rep.generic
    counts = next(plan.counts())
    for i in (0, 5, 11):
        index = np.repeat(np.arange(y.size), counts[i])
        expected = skm.roc_auc_score(y[index], b.proba[index], multi_class="ovr")
        assert rep.values[i, 1] == pytest.approx(expected, abs=1e-9)
    cmp = compare(METRICS["roc_auc"], y, a, b, resamples=50)
    assert cmp.method == "paired bootstrap, 50 resamples over rows (metric recomputed on each resample)"
    assert cmp.ci[0] < cmp.delta < cmp.ci[1]


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import sys

    name = f"gate_custom_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(
        "import numpy as np\n\n"
        "def miss_rate(y, label):\n"
        "    return float(np.mean(y != label))\n"
        "miss_rate.higher_is_better = False\n\n"
        "def fussy(y, score):\n"
        "    if (y == 1).sum() != 357:\n"
        "        raise ValueError('fussy wants exactly 357 positive rows')\n"
        "    return float(score.mean())\n"
        "fussy.needs = 'proba'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_custom_metrics_bootstrap_on_rows(module_dir: str, cancer: Cancer) -> None:
    y, weak, _, strong = cancer
    metric = get_metric(f"{module_dir}:miss_rate", "binary")
    cmp = compare(metric, y, weak, strong, resamples=100)
    assert "metric recomputed on each resample" in cmp.method
    assert cmp.delta == pytest.approx(METRICS["accuracy"].compute(y, strong) - METRICS["accuracy"].compute(y, weak))
    assert cmp.p_value < 0.05  # a higher miss rate is worse: orientation from the attribute
    fussy = get_metric(f"{module_dir}:fussy", "binary")
    assert fussy.compute(y, weak) == pytest.approx(weak.proba[:, 1].mean())
    with pytest.raises(InputError, match=r"fussy is undefined on 9\d of 100 .* wants exactly 357 positive rows"):
        compare(fussy, y, weak, strong, resamples=100)
    with pytest.raises(InputError, match=r"custom metric .*fussy failed on these 300 rows: ValueError: fussy wants"):
        fussy.compute(y[:300], weak.take(slice(0, 300)))


def test_resampling_plans() -> None:
    rows = resampling(BLOCKS, resamples=2 * CHUNK + 50, seed=1)
    assert rows.unit == "rows" and (rows.groups == np.arange(BLOCKS)).all()
    chunks = list(rows.counts())
    assert [len(c) for c in chunks] == [CHUNK, CHUNK, 50]
    assert all((c.sum(axis=1) == BLOCKS).all() for c in chunks)
    assert all((a == b).all() for a, b in zip(chunks, rows.counts(), strict=True))  # the same on every pass
    blocks = resampling(10_001, resamples=10, seed=1)
    sizes = np.bincount(blocks.groups, minlength=BLOCKS)
    assert blocks.unit == "blocks" and sizes.min() == 5 and sizes.max() == 6
    assert (resampling(10_001, resamples=10, seed=1).groups == blocks.groups).all()
    assert not (resampling(10_001, resamples=10, seed=2).groups == blocks.groups).all()
    assert blocks.describe() == "10 resamples over 2000 random blocks"
    with pytest.raises(InputError, match="at least one row"):
        resampling(0)


def test_sparse_and_blas_products_give_the_same_replicates(monkeypatch: pytest.MonkeyPatch) -> None:
    """W @ S over the nonzero counts (what slices take) equals the dense BLAS product, bit for bit."""
    from mlgate.gates import stats

    y, a, b = _generated(20_000, seed=6)
    plan = resampling(y.size, resamples=600, seed=1)  # two chunks of weights
    out = {}
    for path, fill in (("sparse", 1.0), ("blas", 0.0)):
        monkeypatch.setattr(stats, "SPARSE_FILL", fill)
        out[path] = {m: replicates(METRICS[m], y, [a, b], plan) for m in ("roc_auc", "pr_auc", "accuracy")}
    for m in ("roc_auc", "pr_auc"):
        np.testing.assert_array_equal(out["sparse"][m].values, out["blas"][m].values)
        np.testing.assert_array_equal(out["sparse"][m].centre, out["blas"][m].centre)
    assert np.isfinite(out["sparse"]["roc_auc"].values).all() and out["sparse"]["roc_auc"].values.std() > 0


def test_weights_are_shared_and_read_only() -> None:
    plan = resampling(50_000, resamples=1000, seed=5)
    first, again = list(plan.counts()), list(resampling(60_000, resamples=1000, seed=5).counts())
    assert all(x is y for x, y in zip(first, again, strict=True)), "same seed, resamples and blocks: one draw"
    with pytest.raises(ValueError, match="read-only"):
        first[0][0, 0] = 7
