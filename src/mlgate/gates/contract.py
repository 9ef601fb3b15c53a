"""The ``input contract`` check: does the candidate still see its input the way it was trained to?

At registration ``log_model`` stores a few sample rows exactly as given (names, order, dtypes) and the
model's outputs on them (:mod:`mlgate.contract`). The gate scores those rows again through the path
serving takes — JSON records parsed as ``mlgate serve`` parses them (:mod:`mlgate.serve.protocol`), then
``mlgate.inputs`` — and compares the outputs with the stored ones. Any row that differs fails the check
as ``input mismatch``, naming the columns whose dtype the serving path changes and whether scoring with
the training dtypes gives the stored outputs back.

A model registered with a NumPy array reads its input by position, so named evaluation data reaches it in
the data's own column order. The check then compares each stored column with the evaluation column at
the same position: values that column never holds, which another column does hold, mean the two orders
differ (a stored sample's column in the wrong place is named, with the column it looks like).

A version registered before contracts existed, or with a sample that is no table, is skipped with the
reason; a model whose outputs change between two identical calls is skipped too (nothing to compare).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlgate.gates.types import Check

NAME = "input contract"
RTOL, ATOL = 1e-6, 1e-9  # stored outputs went through JSON: Python floats, exact for float64 and float32
# a stored column is out of place when at least this share of its rows (and 2 rows) fall outside the
# values the evaluation column at its position holds; continuous columns get 5% of their range as slack
OUT_SHARE = 0.2
FEW_VALUES = 32


def check(candidate: Any, features: Any) -> Check:
    """The input-contract check of a loaded candidate against the evaluation features (a pandas frame)."""
    from mlgate.contract import read_contract

    doc = read_contract(candidate.path)
    if doc is None or doc.get("outputs") is None:
        return Check(
            NAME,
            "behaviour",
            "skip",
            message=f"{candidate.metadata.ref} has no stored input sample (registered before mlgate stored one, or "
            "with a sample that is not a table): re-register it with log_model to check its input contract",
        )
    if doc["kind"] == "array":
        moved = _positions(doc, features)
        if moved is not None:
            return moved
    return _round_trip(doc, candidate)


def _fail(message: str, reason: str = "input mismatch", **details: Any) -> Check:
    return Check(NAME, "behaviour", "fail", message=message, reason=reason, details=details)


def _serve(doc: dict[str, Any], signature: dict[str, Any]) -> Any:
    """The stored rows as ``mlgate serve`` would hand them to the model: JSON bytes, parsed by the protocol."""
    from mlgate.serve.protocol import InputSpec, dumps, parse_predict

    spec = InputSpec.from_signature(signature)
    if doc["kind"] == "columns":
        names = [c["name"] for c in doc["columns"]]
        body = dumps([dict(zip(names, row, strict=True)) for row in doc["data"]])
    else:
        body = dumps({"data": doc["data"]})
    return parse_predict(body, spec)


def _outputs(model: Any, data: Any) -> tuple[np.ndarray, np.ndarray | None]:
    out = np.asarray(model.predict(data))
    proba = model.predict_proba(data)
    return out, (None if proba is None else np.asarray(proba, dtype=np.float64))


def _differs(doc: dict[str, Any], out: np.ndarray, proba: np.ndarray | None) -> np.ndarray:
    """Per stored row: whether ``out`` (and ``proba`` when both exist) disagree with the stored outputs."""
    bad = ~_same(doc["outputs"], out)
    if doc.get("proba") is not None and proba is not None:
        bad |= ~_same(doc["proba"], proba)
    return bad


def _same(stored: list[Any], now: np.ndarray) -> np.ndarray:
    n = len(stored)
    if now.shape[0] != n:
        return np.zeros(n, dtype=bool)
    if now.dtype.kind in "biuf":
        try:
            want = np.array([[np.nan if x is None else x for x in v] if isinstance(v, list) else
                             (np.nan if v is None else v) for v in stored], dtype=np.float64)  # fmt: skip
        except (TypeError, ValueError):
            return np.zeros(n, dtype=bool)
        if want.shape != now.shape:
            return np.zeros(n, dtype=bool)
        close = np.isclose(now.astype(np.float64), want, rtol=RTOL, atol=ATOL, equal_nan=True)
        return np.asarray(close.reshape(n, -1).all(axis=1))
    return np.array([str(a) == str(b) for a, b in zip(stored, now.tolist(), strict=True)])


def _round_trip(doc: dict[str, Any], candidate: Any) -> Check:
    from mlgate.contract import rebuild
    from mlgate.serve.protocol import RequestError

    n = len(doc["data"])
    try:
        served = _serve(doc, candidate.metadata.signature)
    except RequestError as exc:
        return _fail(
            f"the server would refuse the rows {candidate.metadata.ref} was registered with: {'; '.join(exc.problems)}",
            fix="register the model with a sample of the columns and types its requests will carry",
        )
    except ValueError as exc:  # a signature serving does not take (named tensors): nothing to compare
        return Check(NAME, "behaviour", "skip", message=f"not checked: {exc}")
    try:
        out, proba = _outputs(candidate, served)
        again, proba_again = _outputs(candidate, served)
    except Exception as exc:
        return _fail(
            f"{candidate.metadata.ref} cannot score its own registration rows as serving parses them: "
            f"{type(exc).__name__}: {exc}",
            fix="train on the types JSON requests carry (numbers as float64 or int64, text as strings)",
        )
    if not _equal(out, again) or not _equal(proba, proba_again):
        return Check(NAME, "behaviour", "skip", message="not checked: two identical calls gave different outputs")
    bad = _differs(doc, out, proba)
    if not bad.any():
        return Check(
            NAME,
            "behaviour",
            "pass",
            message=f"the {n} rows stored at registration, sent as JSON and parsed as mlgate serve parses them, "
            "give the outputs they gave at registration",
            rows=n,
        )
    sample = rebuild(doc)
    direct = _differs(doc, *_outputs(candidate, sample))
    where = ", ".join(str(i) for i in np.flatnonzero(bad)[:5])
    head = (
        f"{int(bad.sum())} of {n} rows stored at registration give other outputs through the serving path "
        f"(rows {where})"
    )
    if direct.any():
        return _fail(
            f"{head}, and so do the rows as given at registration: the loaded model no longer reproduces its "
            "registration outputs (another version of the packages it was saved with?)",
            reason="environment",
            fix="gate and serve it with the packages recorded at registration (mlgate model show lists them)",
        )
    changed = _dtype_changes(doc, served)
    fixed = [
        name for name, *_ in changed if not _differs(doc, *_outputs(candidate, _with(served, sample, [name]))).any()
    ]
    parts = [f"{name!r} trained as {was}, served as {now}" for name, was, now in changed]
    if not parts:
        return _fail(
            f"{head}; the rows as given still score as registered", fix="compare the served frame with the sample"
        )
    named = fixed or [name for name, *_ in changed]
    return _fail(
        f"{head}: {'; '.join(parts[:8])}. Scoring with the training dtype"
        f"{'s' if len(named) > 1 else ''} of {', '.join(repr(c) for c in named[:8])} gives the stored outputs back. "
        "Fix: train on the types requests carry (JSON numbers, strings), or cast these columns in the model's "
        "own pipeline so it does not depend on the caller's dtypes",
        columns=[name for name, *_ in changed],
        restores=fixed,
    )


def _equal(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))


def _dtype_changes(doc: dict[str, Any], served: Any) -> list[tuple[str, str, str]]:
    if doc["kind"] != "columns" or not hasattr(served, "dtypes"):
        return []
    now = {str(c): _described(t) for c, t in served.dtypes.items()}
    out = []
    for c in doc["columns"]:
        was = c["dtype"] + (f" {c['categories']}" if "categories" in c else "")
        if now.get(c["name"], was) != was:
            out.append((c["name"], was, now[c["name"]]))
    return out


def _described(dtype: Any) -> str:
    """A dtype as the contract records it: categories (and so the codes a model may read) included."""
    if str(dtype) == "category":
        from mlgate.contract import _json_value

        return f"category {[_json_value(v) for v in dtype.categories.tolist()]}"
    return str(dtype)


def _with(served: Any, sample: Any, names: list[str]) -> Any:
    out = served.copy()
    for n in names:
        out[n] = sample[n].to_numpy()
        out[n] = out[n].astype(sample[n].dtype)
    return out


def _support(column: np.ndarray) -> tuple[np.ndarray | None, float, float]:
    """What an evaluation column holds: its values when few, else its range with 5% slack either side."""
    finite = column[np.isfinite(column)]
    if finite.size == 0:
        return None, -np.inf, np.inf
    values = np.unique(finite)
    if values.size <= FEW_VALUES:
        return values, float(values[0]), float(values[-1])
    lo, hi = float(values[0]), float(values[-1])
    pad = 0.05 * (hi - lo)
    return None, lo - pad, hi + pad


def _outside(sample: np.ndarray, support: tuple[np.ndarray | None, float, float]) -> np.ndarray:
    """Per sample row: whether its value is one the evaluation column never holds (missing values never count)."""
    values, lo, hi = support
    finite = np.isfinite(sample)
    if values is not None:
        return finite & ~np.isin(sample, values)
    return finite & ((sample < lo) | (sample > hi))


def _positions(doc: dict[str, Any], features: Any) -> Check | None:
    """A positional model given named data: stored columns whose values belong to another evaluation column."""
    if features is None or not hasattr(features, "columns"):
        return None
    sample = np.array([[np.nan if v is None else v for v in row] for row in doc["data"]], dtype=np.float64)
    names = [str(c) for c in features.columns]
    if sample.ndim != 2 or sample.shape[1] != len(names):
        return None
    try:
        table = features.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        return None  # text columns: a positional model cannot read them, and scoring says so
    supports = [_support(table[:, j]) for j in range(table.shape[1])]
    n = sample.shape[0]
    moved = []
    for i in range(sample.shape[1]):
        out = _outside(sample[:, i], supports[i])
        if out.sum() < max(2, OUT_SHARE * n):
            continue
        homes = [names[j] for j in range(len(names)) if j != i and not _outside(sample[:, i], supports[j]).any()]
        if homes:
            moved.append((i, int(out.sum()), homes))
    if not moved:
        return None
    parts = [
        f"position {i} (the data's {names[i]!r}): {k} of {n} stored values are outside what {names[i]!r} holds, "
        f"they fit {', '.join(repr(h) for h in homes[:3])}{' …' if len(homes) > 3 else ''}"
        for i, k, homes in moved[:6]
    ]
    return _fail(
        f"the model reads its input by position (registered with an array) and the evaluation data's columns "
        f"are in another order than its training rows: {'; '.join(parts)}"
        f"{f'; {len(moved) - 6} more' if len(moved) > 6 else ''}. Fix: pass the columns in the order it was "
        "trained on, or register it with a DataFrame sample (named columns) so mlgate orders them by name",
        columns=[names[i] for i, *_ in moved],
    )
