"""``mlgate monitor --html``: one self-contained page with the time series, built from a real monitor pass."""

from __future__ import annotations

import base64
import datetime as dt
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from mlgate.cli import main
from mlgate.monitor import Limits, monitor
from mlgate.monitor.plots import figures
from mlgate.monitor.view import document, html

UTC = dt.UTC
H0 = dt.datetime(2024, 5, 1, 9, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n"


def hour(n: int) -> dt.datetime:
    return H0 + dt.timedelta(hours=n)


def test_the_page_holds_every_time_series_and_names_the_breached_window(
    monitored: Any, log_hour: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "log"
    for n in range(3):
        log_hour(folder, monitored.served, monitored.test, hour(n), latency_s=0.002 * (n + 1))
    broken = monitored.test.copy()
    broken["mean radius"] = broken["mean radius"] * 3  # an upstream unit change
    log_hour(folder, monitored.served, broken, hour(3))
    log_hour(folder, monitored.served, monitored.test, hour(4), status=500, requests=3)
    y = monitored.y_test
    labels = [
        {"request_id": f"r{H0:%H}-{i}", "row": j, "label": str(v)}
        for i in range(20)
        for j, v in enumerate(y.iloc[(i * 5) % len(y) :][:5].tolist())
    ]
    pl.DataFrame(labels).write_csv(tmp_path / "labels.csv")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLGATE_REGISTRY", monitored.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(monitored.artifacts))
    assert main(["labels", "add", str(tmp_path / "labels.csv")]) == 0

    report = monitor(
        "bc@production",
        folder,
        until=hour(5),
        limits=Limits(drift_share=0.03),
        registry=monitored.registry,
        labels=tmp_path / ".mlgate" / "monitor" / "labels",
    )
    images = figures(report)
    assert set(images) == {"drift", "performance", "latency", "volume"}
    assert all(png.startswith(PNG) for png in images.values())
    assert figures(report) == images  # no timestamp in the files: the same report, the same bytes
    doc = document(report, images)
    assert doc.passed is False

    page = tmp_path / "monitor.html"
    args = ["monitor", "bc@production", "--log", str(folder), "--until", "2024-05-01T14:00"]
    assert main([*args, "--drift-share", "0.03", "--html", str(page)]) == 1
    text = page.read_text(encoding="utf-8")
    inlined = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(inlined) == 4 and all(base64.b64decode(b).startswith(PNG) for b in inlined)
    assert not re.search(r'(src|href)="https?://', text)  # self-contained: nothing to fetch
    assert hour(3).strftime("%Y-%m-%dT%H:%MZ") in text and "mean radius" in text
    assert "realized" in text and "estimated" in text


def test_an_empty_log_gives_a_page_without_plots(monitored: Any, tmp_path: Path) -> None:
    folder = tmp_path / "log"
    folder.mkdir()
    report = monitor("bc@production", folder, until=hour(1), registry=monitored.registry)
    assert figures(report) == {}
    text = html(report)
    assert "data:image/png" not in text and "no requests" in text


def test_html_into_a_missing_folder_is_exit_2(
    monitored: Any, log_hour: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "log"
    log_hour(folder, monitored.served, monitored.test, hour(0))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLGATE_REGISTRY", monitored.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(monitored.artifacts))
    args = ["monitor", "bc@production", "--log", str(folder), "--until", "2024-05-01T10:00"]
    assert main([*args, "--html", str(tmp_path / "nope" / "m.html")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_one_window_shows_the_estimated_points_and_the_realized_intervals(
    monitored: Any, log_hour: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from matplotlib.container import ErrorbarContainer

    from mlgate.monitor.plots import _performance

    folder = tmp_path / "log"
    log_hour(folder, monitored.served, monitored.test, hour(0))
    y = monitored.y_test
    labels = [
        {"request_id": f"r{H0:%H}-{i}", "row": j, "label": str(v)}
        for i in range(20)
        for j, v in enumerate(y.iloc[(i * 5) % len(y) :][:5].tolist())
    ]
    pl.DataFrame(labels).write_csv(tmp_path / "labels.csv")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLGATE_REGISTRY", monitored.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(monitored.artifacts))
    assert main(["labels", "add", str(tmp_path / "labels.csv")]) == 0
    report = monitor(
        "bc@production", folder, until=hour(1), registry=monitored.registry, labels=tmp_path / ".mlgate/monitor/labels"
    )
    (window,) = report.windows
    assert window.realized is not None and window.estimated is not None
    figure = _performance(report.windows)
    assert figure is not None
    axes = figure.axes[0]
    estimated = [line for line in axes.lines if str(line.get_label()).endswith("(estimated)")]
    assert estimated and all(line.get_marker() not in (None, "", "None", " ") for line in estimated)
    bars = {str(c.get_label()): c for c in axes.containers if isinstance(c, ErrorbarContainer)}
    low, high = window.realized.intervals["accuracy"]
    assert low < high
    (segments,) = bars["accuracy (realized)"].lines[2]
    (x0, y0), (x1, y1) = segments.get_segments()[0]
    assert x0 == x1 == 0 and (y0, y1) == pytest.approx((low, high))
