"""``monitor()``: one pass of the monitor over a prediction log, for the version a reference names."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import InputError, UsageError
from mlgate.monitor.estimate import Reference, calibration, estimate
from mlgate.monitor.partials import BadLogFile, Columns, LazyPartials, Partial, file_partials, prune, touch
from mlgate.monitor.prediction import FAMILY_ALPHA, gate_reference
from mlgate.monitor.prediction import prediction_drift as prediction_drift_of
from mlgate.monitor.report import DriftSummary, Limits, MonitorReport, WindowResult
from mlgate.monitor.windows import Window, plan

if TYPE_CHECKING:
    from mlgate.data.profile import Profile
    from mlgate.monitor.quality import QualityReference
    from mlgate.registry.store import Registry
    from mlgate.registry.types import ModelVersion

UTC = dt.UTC
QUANTILES = {"p50": 0.5, "p95": 0.95, "p99": 0.99}
_JOINED = ("time", "request_id", "row", "status", "prediction")


def monitor(
    ref: str,
    log: str | Path,
    *,
    window: dt.timedelta = dt.timedelta(hours=1),
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    reference: tuple[dt.datetime, dt.datetime] | None = None,
    limits: Limits | None = None,
    registry: Registry | None = None,
    cache: Path | None = None,
    labels: Path | None = None,
    schema: Path | None = None,
    engine: str = "local",
    ray_address: str | None = None,
) -> MonitorReport:
    """Monitor the version ``ref`` names (``fraud@production``) on the prediction log in ``log``.

    Each aligned window of ``window`` from ``since`` (default: the first logged row) to ``until``
    (default: now) gets volume, server errors, latency percentiles, input drift and data quality against
    the version's training profile, and prediction drift against the ``reference`` window (default: the
    first window with predictions). ``cache`` is the folder of per-file partials (None: no cache).
    ``labels`` is the folder ``mlgate labels add`` writes: windows with labelled predictions get realized
    metrics. ``schema`` (an ``mlgate.schema.yaml``) puts its rules in place of the training profile's for
    the input columns it names.
    Files that are not readable log files are skipped and named in the report. ``engine`` computes the
    files' partials in this process (``local``, a thread per core) or as Ray tasks (``ray``, on the
    cluster ``ray_address`` names, else the Ray running here or a local one); the windows are the same.
    """
    from mlgate.models import _default_registry
    from mlgate.monitor.ray_engine import check_engine
    from mlgate.serve.logfiles import check_folder, hours

    check_engine(engine)  # before anything is read: an unknown engine is exit 2, Ray not installed exit 3
    limits = limits or Limits()
    if not 0 < limits.drift_share <= 1:
        raise UsageError(f"--drift-share must be in (0, 1], got {limits.drift_share}")
    reg = _default_registry(registry)
    mv = reg.get(ref)
    folder = check_folder(Path(log))
    until = until or dt.datetime.now(UTC)
    report = MonitorReport(ref, mv.ref, str(log), window, limits, [])
    train, columns = _reference(mv, reg, report.notes)
    quality = _quality(train, schema, columns, report.notes)
    by_window = _ByWindow()
    prefetch = _Prefetch()
    sources: dict[Window, list[str]] = {}  # the identities of the files each window's rows come from
    good: list[Path] = []
    files: list[Path] = []
    for h in hours(folder, model=mv.name, version=mv.number, since=since, until=until):
        for path in sorted(p for p in h.path.iterdir() if not p.name.startswith(".")):
            if path.is_dir():
                report.skipped.append((str(path.relative_to(folder)), "a folder inside an hour folder"))
            else:
                files.append(path)

    def one(path: Path) -> tuple[dict[Window, Partial] | LazyPartials, bool, str] | BadLogFile:
        try:
            return file_partials(path, window, columns, quality, cache=cache, on_read=prefetch.start)
        except BadLogFile as exc:
            return exc

    # files in parallel: a file of an hour is one batch for the profiling engine, which leaves a core
    # idle; Polars and the sketches release the GIL for most of a file's time. Merged in file order.
    with _pool(len(files)) as pool:
        if engine == "ray":
            from mlgate.monitor.ray_engine import ray_file_partials

            results = iter(ray_file_partials(files, window, columns, quality, cache=cache, address=ray_address))
        else:
            results = pool.map(one, files)
        for path, got in zip(files, results, strict=True):
            if isinstance(got, BadLogFile):
                report.skipped.append((str(path.relative_to(folder)), str(got)))
                continue
            parts, cached, ident = got
            report.files_cached += cached
            report.files_read += not cached
            good.append(path)
            for w in by_window.add(parts):
                sources.setdefault(w, []).append(ident)
    prefetch.wait()
    if not by_window:
        report.notes.append(f"no requests to {mv.ref} are logged in {log} in the period asked for")
        return report
    first = min(by_window).start
    windows = [w for w in plan(window, first=first, since=since, until=until) if since is None or w.end > since]
    gate_ref = gate_reference(reg, mv) if reference is None else None
    ref_outputs: Profile | None
    if gate_ref is not None:
        ref_outputs, stored, gate_digest = gate_ref
        calibrated = calibration(stored)
        ref_windows: list[Window] = []
        report.prediction_reference = {"kind": "gate", "report": gate_digest, "rows": ref_outputs.rows}
        report.notes.append(
            f"prediction drift is measured against the outputs the gate scored on {mv.ref}'s evaluation set "
            f"({ref_outputs.rows} rows, gate report {gate_digest[:12]})"
        )
    else:
        gate_digest, calibrated = None, None
        ref_outputs, ref_windows = _prediction_reference(windows, by_window, reference)
        if ref_windows:
            report.prediction_reference = {
                "kind": "first window" if reference is None else "period",
                "start": ref_windows[0].start.isoformat(),
                "end": ref_windows[-1].end.isoformat(),
                "rows": ref_outputs.rows if ref_outputs is not None else 0,
            }
        if reference is None and ref_windows:
            report.notes.append(
                f"prediction drift is measured against the first window with predictions, {ref_windows[0].label} "
                f"(no passing gate report of {mv.ref} kept its evaluation outputs)"
            )
    scored = _realized(good, labels, windows, report.notes, (reg, mv, columns))
    # what a window's verdict depends on besides its own files: the references and the limits
    context = [
        mv.data_profile_digest,
        quality.key() if quality is not None else None,
        sorted(i for w in ref_windows for i in sources.get(w, [])),
        gate_digest,
        {k: v for k, v in limits.to_dict().items() if k != "min_accuracy"},
    ]
    judged = _Judged(cache, context)
    known = {w: judged.get(w, sources.get(w, [])) for w in windows}

    todo = [w for w in windows if known[w] is None]
    parts_of = {w: by_window.get(w, Partial()) for w in todo}  # parsed and merged here, not in the threads

    def judge(w: Window) -> WindowResult:
        return _judge(w, parts_of[w], train, quality, ref_outputs, ref_windows, limits, calibrated)

    # windows in parallel too: their drift and quality tests spend most of their time in NumPy and SciPy
    with _pool(len(todo)) as pool:
        fresh = dict(zip(todo, pool.map(judge, todo), strict=True))
    for w in windows:
        result = known[w]
        report.windows_cached += result is not None
        if result is None:
            result = fresh[w]
            judged.put(result, sources.get(w, []))
        result.realized = scored.get(w)
        _judge_realized(result, limits)
        report.windows.append(result)
    if cache is not None:
        prune(cache)
    return report


def _pool(files: int) -> Any:
    """A thread pool of one worker per core (at most one per file), for the files' partials."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=max(1, min(files, os.cpu_count() or 1)), thread_name_prefix="mlgate-monitor")


class _Prefetch:
    """Imports what judging a window needs (SciPy's special functions, about 0.15 s) in a thread of its own,
    started when a file the cache lacks is read: its window will be judged, and the file's Parquet read and
    profiling leave the interpreter free for it most of the time (an incremental pass, one new hour).
    """

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the imports (once)."""
        import threading

        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=_import_judging, name="mlgate-monitor-imports", daemon=True)
                self._thread.start()

    def wait(self) -> None:
        """Until the imports are done (before the windows are judged)."""
        if self._thread is not None:
            self._thread.join()


def _import_judging() -> None:
    import contextlib

    with contextlib.suppress(ImportError):  # judging raises its own error then
        import scipy.special  # noqa: F401

        import mlgate.data.drift  # noqa: F401


class _ByWindow(Mapping[Window, Partial]):
    """Each window's partial, merged from its files' partials (in file order) when first asked for.

    A cached file's partials are parsed only then (:class:`LazyPartials`): an incremental run asks for those
    of the windows it judges again and of the prediction reference, not of the windows with kept verdicts.
    """

    def __init__(self) -> None:
        self._loaders: dict[Window, list[Callable[[], Partial]]] = {}
        self._merged: dict[Window, Partial] = {}

    def add(self, parts: dict[Window, Partial] | LazyPartials) -> list[Window]:
        """A file's partials; the windows they are of."""
        if isinstance(parts, LazyPartials):
            for w in parts.windows:
                self._loaders.setdefault(w, []).append(lambda w=w, parts=parts: parts.partial(w))  # type: ignore[misc]
            return list(parts.windows)
        for w, p in parts.items():
            self._loaders.setdefault(w, []).append(lambda p=p: p)  # type: ignore[misc]
        return list(parts)

    def __getitem__(self, w: Window) -> Partial:
        if w not in self._merged:
            first, *rest = self._loaders[w]
            merged = first()
            for load in rest:
                merged = merged.merge(load())
            self._merged[w] = merged
        return self._merged[w]

    def __iter__(self) -> Iterator[Window]:
        return iter(self._loaders)

    def __len__(self) -> int:
        return len(self._loaders)


class _Judged:
    """The verdicts of windows already judged, keyed by their files and everything else they depend on.

    Drift tests are most of an incremental run's time; a window whose files, references and limits did
    not change gets the verdict it got before.
    """

    def __init__(self, cache: Path | None, context: list[Any]) -> None:
        self.folder = None if cache is None else cache / "windows"
        self.context = context

    def _path(self, w: Window, sources: list[str]) -> Path | None:
        if self.folder is None or not sources:
            return None
        import hashlib
        import json

        body = json.dumps([w.start.isoformat(), w.end.isoformat(), sorted(sources), self.context], default=str)
        return self.folder / f"{hashlib.sha256(body.encode()).hexdigest()[:32]}.json"

    def get(self, w: Window, sources: list[str]) -> WindowResult | None:
        import json

        path = self._path(w, sources)
        if path is None or not path.is_file():
            return None
        try:
            result = WindowResult.from_dict(json.loads(path.read_text(encoding="utf-8")), w)
        except (ValueError, KeyError, TypeError):
            return None  # a damaged entry is judged again
        touch(path)
        return result

    def put(self, result: WindowResult, sources: list[str]) -> None:
        import json

        from mlgate.files import write_atomic

        path = self._path(result.window, sources)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(result.to_dict()))


def _realized(
    files: list[Path],
    labels: Path | None,
    windows: list[Window],
    notes: list[str],
    version: tuple[Registry, ModelVersion, Columns],
) -> dict[Window, Any]:
    """Realized metrics per window from the labels in ``labels`` (empty when there are none), overall and on
    the critical slices of the version's gate report."""
    if labels is None or not Path(labels).is_dir():
        return {}
    import polars as pl

    from mlgate.monitor.labels import read_labels, realized
    from mlgate.monitor.slices import critical_slices

    known = read_labels(labels)
    if known is None:
        return {}
    reg, mv, columns = version
    slices, gate_digest = critical_slices(reg, mv)
    inputs = columns.inputs if slices else {}  # the inputs are read only for the slices' filters
    frames = []
    for path in files:
        schema = pl.read_parquet_schema(path)
        cols = [
            c
            for c in schema
            if c in ("time", "request_id", "row", "status", "prediction") or c.startswith("proba_") or c in inputs
        ]
        frames.append(pl.read_parquet(path, columns=cols).filter(pl.col("status") == 200))
    if not frames:
        return {}
    out = realized(pl.concat(frames, how="diagonal_relaxed"), known, windows, slices=slices, inputs=inputs, notes=notes)
    if slices and gate_digest is not None:
        notes.append(
            f"realized metrics on the critical slices of gate report {gate_digest[:12]}: "
            + ", ".join(f"{s.key} ({s.filter})" for s in slices)
        )
    labelled = sum(r.labelled for r in out.values())
    notes.append(f"{labelled} logged prediction(s) in these windows have a label ({known.height} label(s) known)")
    return out


def _judge_realized(result: WindowResult, limits: Limits) -> None:
    r = result.realized
    if r is None or limits.min_accuracy is None or "accuracy" not in r.metrics:
        return
    low, high = r.intervals["accuracy"]
    if high < limits.min_accuracy:  # harm shown: the whole interval is below the limit
        result.breaches.append(
            f"accuracy {r.metrics['accuracy']:.3f} [{low:.3f}, {high:.3f}] < {limits.min_accuracy:g} "
            f"on {r.labelled} labelled prediction(s)"
        )


def _reference(mv: ModelVersion, reg: Registry, notes: list[str]) -> tuple[Profile | None, Columns]:
    """The training profile cut to the inputs (None when the version has none) and the log's columns."""
    from dataclasses import replace

    from mlgate.models import training_profile
    from mlgate.serve.logschema import PREDICTION, input_column

    inputs = (mv.signature or {}).get("inputs") or {}
    names = [str(c["name"]) for c in inputs.get("columns", [])] if inputs.get("type") == "columns" else []
    columns = Columns({input_column(n): n for n in names}, [PREDICTION])
    prof = training_profile(mv, registry=reg)
    if prof is None:
        notes.append(
            f"{mv.ref} was registered without training data: no input drift or data quality "
            "(register with data=TRAIN_FILE to have them)"
        )
        return None, columns
    cut = {n: c for n, c in prof.columns.items() if n in names}
    if not cut:
        notes.append(f"the training profile of {mv.ref} holds none of its input columns: no input drift or quality")
        return None, columns
    return replace(prof, columns=cut), columns


def _quality(train: Profile | None, schema: Path | None, columns: Columns, notes: list[str]) -> QualityReference | None:
    from mlgate.monitor.quality import QualityReference

    quality = None if train is None else QualityReference.from_profile(train)
    if schema is None:
        return quality
    from mlgate.data.schema import Schema

    loaded = Schema.load(schema)
    names = list(columns.inputs.values())
    ruled = [n for n in names if n in loaded.columns]
    if not ruled:
        notes.append(f"the schema {schema} names none of the model's input columns; it is not used")
        return quality
    notes.append(f"data quality on {len(ruled)} input column(s) follows the rules of {schema}")
    return (quality or QualityReference({})).with_schema(loaded, names)


def _prediction_reference(
    windows: list[Window], by_window: Mapping[Window, Partial], reference: tuple[dt.datetime, dt.datetime] | None
) -> tuple[Profile | None, list[Window]]:
    chosen: list[Window]
    if reference is not None:
        start, end = reference
        chosen = [w for w in sorted(by_window) if w.start >= start and w.end <= end]
        if not chosen:
            raise UsageError(
                f"the --reference period {start:%Y-%m-%dT%H:%M}Z/{end:%Y-%m-%dT%H:%M}Z holds no whole window "
                "with logged predictions",
                hint="give a period that covers at least one whole window of traffic",
            )
    else:
        chosen = [next((w for w in windows if _has_outputs(by_window.get(w))), None)]  # type: ignore[list-item]
        chosen = [w for w in chosen if w is not None]
    merged: Partial = Partial()
    for w in chosen:
        merged = merged.merge(by_window[w])
    return merged.outputs, chosen


def _has_outputs(p: Partial | None) -> bool:
    return p is not None and p.outputs is not None and p.outputs.rows > 0


def _judge(
    w: Window,
    p: Partial,
    train: Profile | None,
    quality: QualityReference | None,
    ref_outputs: Profile | None,
    ref_windows: list[Window],
    limits: Limits,
    calibrated: Reference | None = None,
) -> WindowResult:
    latency = None
    if p.latency is not None and p.latency.rows:
        col = p.latency.columns["latency_ms"]
        qs = col.quantiles(list(QUANTILES.values()))
        if qs is not None:
            latency = dict(zip(QUANTILES, qs, strict=True))
    input_drift = _drift(train, p.inputs, limits.drift_share) if train is not None else None
    is_ref = w in ref_windows
    prediction_drift = None
    if not is_ref and ref_outputs is not None:
        prediction_drift = prediction_drift_of(ref_outputs, p.outputs)
    issues = quality.issues(p.rows, p.inputs, p.quality, p.unseen_examples) if quality is not None else []
    result = WindowResult(
        w, p.requests, p.rows, p.errors, p.refused, latency, input_drift, prediction_drift, issues, is_ref
    )
    result.estimated = estimate(p, calibrated)
    if input_drift is not None and input_drift.dataset_drift:
        result.breaches.append(
            f"input drift: {len(input_drift.drifted_columns)} of {input_drift.tested} "
            f"columns drifted (share {input_drift.drifted_share:.2f} ≥ {limits.drift_share:g}): "
            + ", ".join(input_drift.drifted_columns[:10])
        )
    if prediction_drift is not None and prediction_drift.dataset_drift:
        result.breaches.append(
            f"prediction drift: {', '.join(prediction_drift.drifted_columns)} "
            f"(one of {prediction_drift.tested} output test(s) at family-wise alpha {FAMILY_ALPHA:g})"
        )
    if p.requests and result.error_rate > limits.max_error_rate:
        result.breaches.append(
            f"error rate {result.error_rate:.2%} > {limits.max_error_rate:.2%} ({p.errors} of {p.requests} requests)"
        )
    if limits.max_p95_ms is not None and latency is not None and latency["p95"] > limits.max_p95_ms:
        result.breaches.append(f"latency p95 {latency['p95']:.1f} ms > {limits.max_p95_ms:g} ms")
    if issues:
        result.breaches.append(
            f"data quality: {len(issues)} issue(s) on {', '.join(sorted({i.column for i in issues}))}"
        )
    return result


def _drift(reference: Profile, current: Profile | None, share: float) -> DriftSummary | None:
    """Drift of the columns both sides have values in; None when the window has none."""
    from dataclasses import replace

    from mlgate.data.drift import DriftConfig, drift

    if current is None or current.rows == 0:
        return None
    both = [n for n, c in current.columns.items() if c.valid and n in reference.columns and reference.columns[n].valid]
    if not both:
        return None
    ref = replace(reference, columns={n: reference.columns[n] for n in both})
    cur = replace(current, columns={n: current.columns[n] for n in both})
    try:
        return DriftSummary.of(drift(ref, cur, config=DriftConfig(share=share)))
    except InputError:
        return None


def parse_period(text: str) -> tuple[dt.datetime, dt.datetime]:
    """``START/END`` (ISO times, UTC unless they name a zone) → the pair."""
    from mlgate.serve.logfiles import parse_since

    start, sep, end = text.partition("/")
    if not sep:
        raise UsageError(f"--reference must be START/END (2024-05-01T00:00/2024-05-02T00:00), got {text!r}")
    a = parse_since(start, option="--reference")
    b = parse_since(end, option="--reference")
    if a >= b:
        raise UsageError(f"--reference must start before it ends, got {text!r}")
    return a, b
