"""Prediction drift: a window's outputs against a reference, tested as one family.

A classifier logs ``prediction`` and one ``proba_<class>`` column per class. Those columns move
together (for two classes ``proba_0 = 1 - proba_1`` exactly), so testing each alone and counting the
drifted share counts one chance event two or three times: on a stream with no change that fired in
9.2 of 100 windows. Instead the outputs are one family of tests with a family-wise false-alarm rate
of ``FAMILY_ALPHA``:

* two classes: the positive-class probability (the last ``proba_`` column; the other one is its
  complement and adds nothing) and the predicted class mix;
* more classes: every class probability and the predicted class mix;
* regression: the prediction.

Probabilities and numeric predictions take the two-sample Kolmogorov–Smirnov test, the predicted class
mix a chi-square test, each at ``FAMILY_ALPHA / k`` (Bonferroni, valid whatever the dependence between
the tests); the window drifts when any test of the family rejects.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mlgate.errors import InputError
from mlgate.monitor.report import DriftSummary

if TYPE_CHECKING:
    from mlgate.data.profile import ColumnProfile, Profile
    from mlgate.gates.outputs import StoredOutputs
    from mlgate.registry.store import Registry
    from mlgate.registry.types import ModelVersion

FAMILY_ALPHA = 0.005
PREDICTION = "prediction"
PROBA_PREFIX = "proba_"


def family(columns: list[str]) -> list[str]:
    """The output columns tested, in the order given.

    A classifier's predicted class is a function of its probabilities, so with probabilities logged
    only they are tested, and of two classes only the positive one (the other is its complement).
    """
    probas = [c for c in columns if c.startswith(PROBA_PREFIX)]
    if len(probas) == 2:
        return probas[1:]
    if probas:
        return probas
    return [c for c in columns if c == PREDICTION]


def prediction_drift(reference: Profile, current: Profile | None) -> DriftSummary | None:
    """The family test of ``current``'s outputs against ``reference``'s; None when nothing can be compared."""
    if current is None or current.rows == 0:
        return None
    both = [n for n, c in current.columns.items() if c.valid and n in reference.columns and reference.columns[n].valid]
    tested = family(both)
    if not tested:
        return None
    rows: list[dict[str, Any]] = []
    for n in tested:
        ref, cur = reference.columns[n], current.columns[n]
        if cur.kind == "numeric" and ref.kind == "numeric":
            rows.append(_mean_test(n, ref, cur))
        rows.extend(_distribution_test(n, reference, current))
    alpha = FAMILY_ALPHA / len(rows)  # Bonferroni: valid whatever the dependence between the tests
    for r in rows:
        r["threshold"] = alpha
        r["drifted"] = r["p_value"] is not None and r["p_value"] < alpha
        r["severity"] = None if r["p_value"] is None else _severity(r["p_value"], alpha)
    rows.sort(key=lambda r: -(r["severity"] or 0.0))
    drifted = list(dict.fromkeys(r["column"] for r in rows if r["drifted"]))
    return DriftSummary(
        bool(drifted),
        len(drifted) / len(tested),
        drifted,
        len(rows),
        reference.rows,
        current.rows,
        rows,
    )


def _severity(p: float, alpha: float) -> float:
    return math.log(max(p, 5e-324)) / math.log(alpha)


def _mean_test(name: str, ref: ColumnProfile, cur: ColumnProfile) -> dict[str, Any]:
    """Welch's two-sample z-test of the means, exact from the profiles' moments (no sketch error)."""
    var_r, var_c = ref.variance, cur.variance
    p: float | None = None
    z = 0.0
    if var_r is not None and var_c is not None and ref.mean is not None and cur.mean is not None:
        se = math.sqrt(var_r / ref.finite + var_c / cur.finite)
        diff = cur.mean - ref.mean
        if se > 0:
            z = diff / se
            p = math.erfc(abs(z) / math.sqrt(2))
        else:
            p = 1.0 if diff == 0 else 0.0
    return _row(name, cur.kind, "mean", abs(z), p, ref.valid, cur.valid, exact=True)


def _distribution_test(name: str, reference: Profile, current: Profile) -> list[dict[str, Any]]:
    """KS (numeric) or chi-square (categories) of one column, from the profiles' sketches."""
    from mlgate.data.drift import DriftConfig, drift
    from mlgate.data.drift.config import ColumnDriftConfig

    kind = current.columns[name].kind
    method = "ks" if kind == "numeric" else "chi2"
    ref = replace(reference, columns={name: reference.columns[name]})
    cur = replace(current, columns={name: current.columns[name]})
    try:
        report = drift(ref, cur, config=DriftConfig(columns={name: ColumnDriftConfig(method=method)}))
    except InputError:
        return []
    out = []
    for c in report.columns:
        if not c.tested:
            continue
        row = _row(name, kind, c.method, c.statistic or 0.0, c.p_value, c.n_ref, c.n_cur, exact=c.exact)
        if c.method == "ks" and not c.exact:
            _allow_for_sketches(row, reference.columns[name], current.columns[name])
        out.append(row)
    return out


def _allow_for_sketches(row: dict[str, Any], ref: ColumnProfile, cur: ColumnProfile) -> None:
    """KS from two quantile sketches: the distance less both sketches' rank error, then its p-value.

    A KLL sketch past its exact mode answers ranks within its normalized rank error (1.3 % at k = 200,
    99 % confidence), so two sketches of the same data can be 2.7 % apart; untreated, that error made a
    5,000-row reference breach in 2 of 100 no-change windows. The mean test beside it is exact.
    """
    import math

    from scipy.special import kolmogorov

    eps = _rank_error(ref) + _rank_error(cur)
    if eps <= 0:
        return
    d = max(0.0, float(row["statistic"]) - eps)
    n_r, n_c = row["n_ref"], row["n_cur"]
    en = math.sqrt(n_r * n_c / (n_r + n_c))
    row["p_value"] = 1.0 if d == 0 else float(min(1.0, max(0.0, kolmogorov((en + 0.12 + 0.11 / en) * d))))
    row["sketch_error"] = eps


def _rank_error(col: ColumnProfile) -> float:
    if col.kll is None:
        return 0.0
    import datasketches as ds

    sketch = ds.kll_doubles_sketch.deserialize(col.kll)
    return float(sketch.normalized_rank_error(False)) if sketch.is_estimation_mode() else 0.0


def _row(
    name: str, kind: str, method: str, statistic: float, p: float | None, n_ref: int, n_cur: int, *, exact: bool
) -> dict[str, Any]:
    return {
        "column": name,
        "kind": kind,
        "method": method,
        "statistic": statistic,
        "p_value": p,
        "n_ref": n_ref,
        "n_cur": n_cur,
        "exact": exact,
    }


def gate_reference(registry: Registry, mv: ModelVersion) -> tuple[Profile, StoredOutputs, str] | None:
    """The outputs the version's latest passing gate report kept, profiled as the log names them.

    Returns the profile (``prediction`` and ``proba_<class>``), the stored outputs (labels included, for
    the estimate's calibration) and the report's digest; None when no passing report kept outputs.
    """
    import json

    from mlgate.gates import outputs

    passing = [r for r in registry.gate_reports(mv) if r.passed]
    for record in sorted(passing, key=lambda r: (r.created_at, r.id), reverse=True):
        report = json.loads(registry.read_blob(record.report_digest, what="gate report"))
        got = outputs.load(registry, report)
        if got is not None:
            return _profile(got), got, str(record.report_digest)
    return None


def _profile(got: StoredOutputs) -> Profile:
    import numpy as np
    import polars as pl

    from mlgate.data.profile import profile

    cols: dict[str, Any] = {}
    if got.value is not None:
        cols[PREDICTION] = got.value
    elif got.label is not None and got.classes:
        names = [got.classes[i] for i in got.label.tolist()]
        try:  # the log keeps numeric class labels as numbers
            cols[PREDICTION] = np.asarray([float(n) for n in names])
        except ValueError:
            cols[PREDICTION] = pl.Series(names, dtype=pl.String)
        if got.proba is not None:
            for j, c in enumerate(got.classes):
                cols[PROBA_PREFIX + str(c)] = got.proba[:, j]
    return profile(pl.DataFrame(cols))
