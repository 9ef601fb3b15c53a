"""What one log file contributes to one window, computed once and cached; partials of a window merge.

A partial holds additive counts (requests, scored rows, server errors, refused requests, and the
quality counts: values below or above the reference range, unseen categories) and three mergeable
profiles (:class:`~mlgate.data.profile.Profile`): the inputs, the outputs (``prediction`` and the
``proba_<class>`` columns) and the request latency. The profiles of all a window's files merge into
the window's, exactly for counts and moments and as sketches for quantiles and categories.

The cache (``.mlgate/monitor/partials/`` under the project) is keyed by the file's path, size and
modification time, the window length and the reference the quality counts used, so a run over a
hundred profiled hours and one new hour reads only the new hour's files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.monitor.windows import EPOCH, Window, window_of

if TYPE_CHECKING:
    import polars as pl

    from mlgate.data.profile import Profile
    from mlgate.monitor.quality import QualityReference

FORMAT = "mlgate.monitor-partial/4"  # /4: a header line naming the windows, then the partials
SCORE_BINS = 100  # bins of the positive-class probability, for the estimated ROC AUC
REQUIRED = ("time", "request_id", "row", "status", "latency_ms")
EXAMPLES = 5
PRUNE_AFTER = dt.timedelta(days=30)


class BadLogFile(Exception):
    """A file in the log folder that is not a readable prediction-log file; the message says why."""


@dataclass
class Partial:
    """Additive statistics of some log rows of one window."""

    requests: int = 0
    rows: int = 0
    errors: int = 0
    refused: int = 0
    inputs: Profile | None = None
    outputs: Profile | None = None
    latency: Profile | None = None
    quality: dict[str, dict[str, int]] = field(default_factory=dict)
    unseen_examples: dict[str, list[str]] = field(default_factory=dict)
    # for the estimated performance: the scored rows with probabilities, the sum of their top probability,
    # and (two classes) per bin of the positive probability the rows and the sum of that probability
    confident_rows: int = 0
    confidence_sum: float = 0.0
    score_rows: list[int] | None = None
    score_sums: list[float] | None = None
    # (more classes) the per-class bins the estimate's calibration needs (monitor/estimate.py:class_bins)
    class_bins: dict[str, list[float]] | None = None

    def merge(self, other: Partial) -> Partial:
        """Both together."""
        quality = {k: dict(v) for k, v in self.quality.items()}
        for col, counts in other.quality.items():
            mine = quality.setdefault(col, {})
            for key, n in counts.items():
                mine[key] = mine.get(key, 0) + n
        examples = {k: list(v) for k, v in self.unseen_examples.items()}
        for col, values in other.unseen_examples.items():
            mine_ex = examples.setdefault(col, [])
            mine_ex += [v for v in values if v not in mine_ex][: EXAMPLES - len(mine_ex)]
        return Partial(
            requests=self.requests + other.requests,
            rows=self.rows + other.rows,
            errors=self.errors + other.errors,
            refused=self.refused + other.refused,
            inputs=_merge(self.inputs, other.inputs),
            outputs=_merge(self.outputs, other.outputs),
            latency=_merge(self.latency, other.latency),
            quality=quality,
            unseen_examples=examples,
            confident_rows=self.confident_rows + other.confident_rows,
            confidence_sum=self.confidence_sum + other.confidence_sum,
            score_rows=_add(self.score_rows, other.score_rows),
            score_sums=_add(self.score_sums, other.score_sums),
            class_bins=_add_bins(self.class_bins, other.class_bins),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "requests": self.requests,
            "rows": self.rows,
            "errors": self.errors,
            "refused": self.refused,
            "inputs": None if self.inputs is None else self.inputs.to_dict(),
            "outputs": None if self.outputs is None else self.outputs.to_dict(),
            "latency": None if self.latency is None else self.latency.to_dict(),
            "quality": self.quality,
            "unseen_examples": self.unseen_examples,
            "confident_rows": self.confident_rows,
            "confidence_sum": self.confidence_sum,
            "score_rows": self.score_rows,
            "score_sums": self.score_sums,
            "class_bins": self.class_bins,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Partial:
        """Inverse of :meth:`to_dict`."""
        from mlgate.data.profile import Profile

        def prof(key: str) -> Profile | None:
            return None if data.get(key) is None else Profile.from_dict(data[key], origin="the monitor cache")

        return cls(
            requests=int(data["requests"]),
            rows=int(data["rows"]),
            errors=int(data["errors"]),
            refused=int(data["refused"]),
            inputs=prof("inputs"),
            outputs=prof("outputs"),
            latency=prof("latency"),
            quality={k: {kk: int(vv) for kk, vv in v.items()} for k, v in data.get("quality", {}).items()},
            unseen_examples={k: list(v) for k, v in data.get("unseen_examples", {}).items()},
            confident_rows=int(data.get("confident_rows", 0)),
            confidence_sum=float(data.get("confidence_sum", 0.0)),
            score_rows=data.get("score_rows"),
            score_sums=data.get("score_sums"),
            class_bins=data.get("class_bins"),
        )


def _add(a: list[Any] | None, b: list[Any] | None) -> list[Any] | None:
    if a is None or b is None:
        return a if b is None else b
    return [x + y for x, y in zip(a, b, strict=True)]


def _add_bins(a: dict[str, list[float]] | None, b: dict[str, list[float]] | None) -> dict[str, list[float]] | None:
    if a is None or b is None or a.keys() != b.keys():
        return a if b is None else b
    return {k: [x + y for x, y in zip(a[k], b[k], strict=True)] for k in a}


def _merge(a: Profile | None, b: Profile | None) -> Profile | None:
    if a is None or a.rows == 0:
        return b if b is not None else a
    if b is None or b.rows == 0:
        return a
    return a.merge(b)


@dataclass(frozen=True)
class Columns:
    """Which log columns are inputs (log name → signature name) and outputs, for one version."""

    inputs: dict[str, str]
    outputs: list[str]

    def key(self) -> str:
        """A stable text for cache keys."""
        return json.dumps([sorted(self.inputs.items()), self.outputs])


def file_partials(
    path: Path,
    size: dt.timedelta,
    columns: Columns,
    quality: QualityReference | None,
    *,
    cache: Path | None,
    on_read: Callable[[], None] | None = None,
) -> tuple[dict[Window, Partial] | LazyPartials, bool, str]:
    """The partial of each window ``path`` has rows in, whether they came from the cache (which holds them
    while the file keeps its path, size and modification time; parsed when asked for, :class:`LazyPartials`),
    and the identity of the file as read. ``on_read`` is called before a file the cache lacks is read."""
    ident = identity(path, size, columns, quality)
    parts = cached_lazily(cache, ident, size, path, columns, quality)
    if parts is not None:
        return parts, True, ident
    if on_read is not None:
        on_read()
    out = compute(read(path, columns), size, columns, quality)
    store(cache, ident, path, out)
    return out, False, ident


class LazyPartials:
    """A cached file's partials by window, parsed from the cache entry only when one is asked for.

    An incremental run needs the windows a file has rows in (to plan the windows and key their verdicts)
    but the partials of few of them: those of windows judged again and of the prediction reference.
    Reading and parsing a hundred entries (about 120 KiB each) was a fifth of such a run. A body found
    damaged when parsed is computed again from the file (as :func:`cached` would have), and stored again.
    """

    def __init__(
        self,
        windows: list[Window],
        entry: Path,
        size: dt.timedelta,
        source: tuple[Path, Path, str, Columns, QualityReference | None],
    ) -> None:
        self.windows = windows
        self._entry = entry
        self._parts: dict[Window, Partial] | None = None
        self._size = size
        self._source = source

    def partial(self, w: Window) -> Partial:
        """The partial of window ``w`` (one of :attr:`windows`)."""
        if self._parts is None:
            try:
                self._parts = from_json(_body(self._entry), self._size)
            except (OSError, ValueError, KeyError, TypeError):
                self._parts = self._recompute()
        return self._parts.get(w) or Partial()

    def _recompute(self) -> dict[Window, Partial]:
        cache, path, ident, columns, quality = self._source
        try:
            parts = compute(read(path, columns), self._size, columns, quality)
        except BadLogFile:
            return {}  # unreadable since its entry was written: no rows from it
        store(cache, ident, path, parts)
        return parts


def _entry(cache: Path | None, ident: str) -> tuple[Path, list[str]] | None:
    """A cache entry's path and window starts, from its header line alone; None when not there or damaged."""
    key = None if cache is None else cache / f"{ident}.json"
    if key is None or not key.is_file():
        return None
    try:
        with key.open("rb") as f:
            header = json.loads(f.readline())
        if header.get("format") != FORMAT:
            return None
        return key, [str(s) for s in header["windows"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # a damaged cache entry is recomputed


def _body(key: Path) -> Any:
    """The partials of a cache entry (what follows its header line), parsed."""
    with key.open("rb") as f:
        f.readline()
        return json.loads(f.read())


def cached_lazily(
    cache: Path | None,
    ident: str,
    size: dt.timedelta,
    path: Path,
    columns: Columns,
    quality: QualityReference | None,
) -> LazyPartials | None:
    """As :func:`cached`, the partials parsed only when asked for (:class:`LazyPartials`)."""
    entry = _entry(cache, ident)
    if entry is None or cache is None:
        return None
    key, starts = entry
    try:
        windows = [window_of(dt.datetime.fromisoformat(s), size) for s in starts]
    except ValueError:
        return None
    touch(key)
    return LazyPartials(windows, key, size, (cache, path, ident, columns, quality))


def identity(path: Path, size: dt.timedelta, columns: Columns, quality: QualityReference | None) -> str:
    """The cache key of ``path`` as it is now: its path, size and modification time, and what a partial of
    it depends on (window length, log columns, quality reference); BadLogFile when it cannot be read."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise BadLogFile(f"cannot be read: {exc.strerror or type(exc).__name__}") from None
    text = "|".join(
        (
            FORMAT,
            str(path.resolve()),
            str(stat.st_size),
            str(stat.st_mtime_ns),
            str(size.total_seconds()),
            columns.key(),
            quality.key() if quality is not None else "",
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def cached(cache: Path | None, ident: str, size: dt.timedelta) -> dict[Window, Partial] | None:
    """The partials the cache holds for the file ``ident`` names (None: not there, or damaged)."""
    entry = _entry(cache, ident)
    if entry is None:
        return None
    key, _ = entry
    try:
        parts = from_json(_body(key), size)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # a damaged cache entry is recomputed
    touch(key)
    return parts


def store(cache: Path | None, ident: str, path: Path, parts: dict[Window, Partial]) -> None:
    """Keep the partials of the file ``ident`` names in the cache (nothing without one)."""
    if cache is None:
        return
    from mlgate.files import write_atomic

    cache.mkdir(parents=True, exist_ok=True)
    # a header line (the windows), then the partials: a run reads the windows of every cached file but
    # parses the partials of few (LazyPartials)
    header = {"format": FORMAT, "file": str(path), "windows": [w.start.isoformat() for w in parts]}
    write_atomic(cache / f"{ident}.json", json.dumps(header) + "\n" + json.dumps(to_json(parts)))


def to_json(parts: dict[Window, Partial]) -> dict[str, Any]:
    """JSON-ready partials keyed by their window's start (what the cache stores, and a Ray task returns)."""
    return {w.start.isoformat(): p.to_dict() for w, p in parts.items()}


def from_json(windows: dict[str, Any], size: dt.timedelta) -> dict[Window, Partial]:
    """Inverse of :func:`to_json` for windows of ``size``."""
    return {window_of(dt.datetime.fromisoformat(start), size): Partial.from_dict(p) for start, p in windows.items()}


def touch(path: Path) -> None:
    """Mark a cache entry as used now (:func:`prune` removes those unused for long)."""
    with contextlib.suppress(OSError):  # a read-only cache still serves
        os.utime(path)


def prune(cache: Path, unused_for: dt.timedelta = PRUNE_AFTER) -> int:
    """Remove the cache entries (partials and verdicts) no run used for ``unused_for``; the number removed.

    Entries of files that compaction replaced or retention deleted are never used again; a valid entry
    removed here only costs one recomputation.
    """
    import time

    if not cache.is_dir():
        return 0
    floor = time.time() - unused_for.total_seconds()
    removed = 0
    for entry in [*cache.glob("*.json"), *cache.glob("windows/*.json")]:
        try:
            if entry.stat().st_mtime < floor:
                entry.unlink()
                removed += 1
        except OSError:
            continue  # another run removed or replaced it
    return removed


def read(path: Path, columns: Columns | None = None) -> pl.DataFrame:
    """A log file's rows (with ``columns``: only the ones a partial needs); BadLogFile when it is not a
    readable prediction-log file."""
    import polars as pl

    if path.suffix != ".parquet":
        raise BadLogFile("not a Parquet file (the log holds only part-*.parquet files)")
    try:
        schema = pl.read_parquet_schema(path)
        missing = [c for c in REQUIRED if c not in schema]
        if missing:
            raise BadLogFile(f"not a prediction-log file (no {', '.join(repr(c) for c in missing)} column)")
        wanted = None
        if columns is not None:  # the text columns (ids, route, endpoint, errors) are most of the bytes
            needed = {"time", "row", "status", "latency_ms", *columns.inputs, *columns.outputs}
            wanted = [c for c in schema if c in needed or c.startswith("proba_")]
        return pl.read_parquet(path, columns=wanted)
    except BadLogFile:
        raise
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadLogFile(f"not a readable Parquet file ({first[:200]})") from None


def compute(
    frame: pl.DataFrame, size: dt.timedelta, columns: Columns, quality: QualityReference | None
) -> dict[Window, Partial]:
    """The partials of one frame of log rows, per aligned window."""
    import polars as pl

    from mlgate.data.profile import profile

    step = int(size.total_seconds() * 1_000_000)
    origin = int(EPOCH.timestamp() * 1_000_000)
    key = (pl.col("time").dt.epoch("us") - origin) // step
    first, last = frame.select(key.min().alias("a"), key.max().alias("b")).row(0)
    if first is None:
        return {}
    if first == last:  # the usual case (an hour's file, windows of an hour or more): no copy
        parts: Any = {(first,): frame}.items()
    else:
        keyed = frame.with_columns(key.alias("_window"))
        parts = ((k, v.drop("_window")) for k, v in keyed.partition_by("_window", as_dict=True).items())
    out: dict[Window, Partial] = {}
    for (index,), part in parts:
        start = EPOCH + dt.timedelta(microseconds=int(index) * step)
        window = Window(start, start + size)
        requests = part.filter(pl.col("row") == 0)
        scored = part.filter(pl.col("status") == 200)
        p = Partial(
            requests=requests.height,
            rows=scored.height,
            errors=requests.filter(pl.col("status") >= 500).height,
            refused=requests.filter((pl.col("status") >= 400) & (pl.col("status") < 500)).height,
        )
        if requests.height:
            p.latency = profile(requests.select(pl.col("latency_ms").cast(pl.Float64)), allow_empty=True)
        present = {log: name for log, name in columns.inputs.items() if log in scored.columns}
        # the prediction, then one column per class when the version gives probabilities
        outs = [c for c in columns.outputs if c in scored.columns]
        outs += [c for c in scored.columns if c.startswith("proba_")]
        if scored.height and (present or outs):
            _profile_scored(p, scored, present, outs, quality)
        out[window] = p
    return out


def _profile_scored(
    p: Partial, scored: pl.DataFrame, present: dict[str, str], outs: list[str], quality: QualityReference | None
) -> None:
    """The input and output profiles and the quality counts of the scored rows, in one profiling pass.

    One pass, not three: most of a cold run is the profiling engine's fixed cost per pass (a batch
    select, the sketches' set-up and serialization), not the rows.
    """
    from dataclasses import replace

    from mlgate.data.local_engine import profile_with_sums
    from mlgate.data.profile import profile

    fused = not (set(present.values()) & set(outs))  # an input renamed onto an output name: two passes
    rename = {name: log for log, name in present.items()}
    if fused:
        sums = quality.count_exprs(scored.schema, rename) if quality is not None else []
        prof, totals = profile_with_sums(scored.select([*present, *outs]), sums, allow_empty=True)
        if present:
            inputs = {name: replace(prof.columns[log], name=name) for log, name in present.items()}
            p.inputs = replace(prof, columns=inputs)
            if quality is not None:
                p.quality = quality.unpack(totals)
                p.unseen_examples = quality.examples(p.quality, scored, rename)
        if outs:
            p.outputs = replace(prof, columns={c: prof.columns[c] for c in outs})
    else:
        if present:
            frame = scored.select([pl_col(log, name) for log, name in present.items()])
            p.inputs = profile(frame, allow_empty=True)
            if quality is not None:
                p.quality, p.unseen_examples = quality.count(frame)
        if outs:
            p.outputs = profile(scored.select(outs), allow_empty=True)
    if outs:
        _confidence(p, scored, [c for c in outs if c.startswith("proba_")])


def pl_col(log: str, name: str) -> Any:
    """The log column ``log`` named ``name``."""
    import polars as pl

    return pl.col(log).alias(name)


def _confidence(p: Partial, scored: pl.DataFrame, probas: list[str]) -> None:
    """The sums the estimated performance needs, from the rows whose probabilities were logged."""
    import numpy as np

    if len(probas) < 2:
        return
    import polars as pl

    cols = [pl.col(c).cast(pl.Float64) for c in probas]
    # a model that gave NaN or nothing is an error, not an estimate
    finite = pl.all_horizontal([c.is_not_null() & c.is_finite() for c in cols])
    kept = scored.select(pl.max_horizontal(cols).alias("top"), *cols).filter(finite.fill_null(False))
    if not kept.height:
        return
    p.confident_rows = kept.height
    p.confidence_sum = float(kept["top"].sum())
    if len(probas) == 2:
        positive = np.clip(kept[probas[1]].to_numpy(), 0.0, 1.0)
        index = np.minimum((positive * SCORE_BINS).astype(int), SCORE_BINS - 1)
        p.score_rows = np.bincount(index, minlength=SCORE_BINS).tolist()
        p.score_sums = np.bincount(index, weights=positive, minlength=SCORE_BINS).tolist()
    else:
        from mlgate.monitor.estimate import class_bins

        p.class_bins = class_bins(kept.select(probas).to_numpy())
