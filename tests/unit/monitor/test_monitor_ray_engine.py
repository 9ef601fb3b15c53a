"""``mlgate monitor --engine ray``: the log files' partials computed by Ray tasks on a real local Ray give the
local engine's windows; an unknown engine is exit 2 and a missing Ray exit 3, before anything is read."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from mlgate.cli import main
from mlgate.errors import MissingDependency, UsageError
from mlgate.monitor import monitor

H0 = dt.datetime(2024, 5, 1, 9, tzinfo=dt.UTC)


def _report(report: Any) -> dict[str, Any]:
    doc = report.to_dict()
    for key in ("files_read", "files_cached", "windows_cached"):
        doc.pop(key, None)
    return doc


def test_ray_gives_the_local_engines_windows_and_keeps_the_cache(
    ray_local: object, monitored: Any, log_hour: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "log"
    broken = monitored.test.copy()
    broken["mean radius"] = broken["mean radius"] * 3  # drift and out-of-range values in the last hour
    for n, data in enumerate([monitored.test, monitored.test, broken]):
        log_hour(folder, monitored.served, data, H0 + dt.timedelta(hours=n), requests=30)
    (folder / "model=bc" / "version=1" / "hour=2024-05-01T10" / "part-bad.parquet").write_bytes(b"PAR1 cut short")
    args: dict[str, Any] = {"until": H0 + dt.timedelta(hours=3), "registry": monitored.registry}
    # windows of 20 minutes: each hour's file gives partials of three windows, merged per window
    args["window"] = dt.timedelta(minutes=20)
    local = monitor("bc@production", folder, **args)
    cache = tmp_path / "cache"

    def not_here(*_: object) -> None:
        raise AssertionError("a file's partials were computed in the driver")

    with monkeypatch.context() as m:  # the workers are other processes: this driver's patch is not theirs
        m.setattr("mlgate.monitor.partials.compute", not_here)
        m.setattr("mlgate.monitor.ray_engine.compute", not_here)
        on_ray = monitor("bc@production", folder, engine="ray", cache=cache, **args)
    assert len(on_ray.windows) == 9 and on_ray.files_read == 3 and on_ray.files_cached == 0
    assert [s[0] for s in on_ray.skipped] == ["model=bc/version=1/hour=2024-05-01T10/part-bad.parquet"]
    # the same code computes each file's partials and the driver merges them in file order: equal, not
    # merely within the sketches' error
    assert _report(on_ray) == _report(local)
    assert on_ray.windows[-1].input_drift is not None and on_ray.windows[-1].quality
    again = monitor("bc@production", folder, engine="ray", cache=cache, **args)
    assert again.files_cached == 3 and again.files_read == 0 and _report(again) == _report(local)
    local_cached = monitor("bc@production", folder, cache=cache, **args)  # the engines share one cache
    assert local_cached.files_cached == 3 and _report(local_cached) == _report(local)


def test_an_unknown_engine_is_exit_2_and_a_missing_ray_exit_3(
    monitored: Any, log_hour: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "log"
    log_hour(folder, monitored.served, monitored.test, H0)
    with pytest.raises(UsageError, match="unknown engine 'spark' for mlgate monitor"):
        monitor("bc@production", folder, engine="spark", registry=monitored.registry)
    monkeypatch.setenv("MLGATE_REGISTRY", monitored.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(monitored.artifacts))
    assert main(["monitor", "bc@production", "--log", str(folder), "--engine", "spark"]) == 2
    err = capsys.readouterr().err
    assert "unknown engine 'spark'" in err and "--engine local" in err and "Traceback" not in err
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    with pytest.raises(MissingDependency, match="mlgate monitor --engine ray needs the Python package 'ray'"):
        monitor("bc@production", folder, engine="ray", registry=monitored.registry)
    assert main(["monitor", "bc@production", "--log", str(folder), "--engine", "ray", "--json"]) == 3
    err = capsys.readouterr().err
    assert "pip install 'mlgate[ray]'" in err and "Traceback" not in err
    # the local engine still runs
    assert main(["monitor", "bc@production", "--log", str(folder), "--json", "--until", "2024-05-01T10:00"]) == 0
    assert json.loads(capsys.readouterr().out)["windows"][0]["rows"] == 100
