"""mlgate monitor export: Prometheus rules checked by promtool, a Grafana dashboard that queries only the
metric names a real server's /metrics exposes."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families

from mlgate.cli import main
from mlgate.config import load_settings
from mlgate.monitor.export import PANELS, grafana_dashboard, prometheus_rules, queried_names

CONFIG = """\
monitor:
  rules:
    - {name: slow, when: latency.p95_ms > 50, for: 3, severity: critical, actions: []}
    - {name: failing, when: errors.rate > 0.01, for: 2, actions: []}
    - {name: quiet, when: volume.requests < 10, actions: []}
    - {name: median, when: latency.p50_ms >= 5, actions: []}
    - {name: inputs drifted, when: drift.share > 0.3, for: 2, actions: []}
"""
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"), "gauge": ("",)}


def promtool(path: Path) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: apt-get install -y prometheus (.ci/run installs it)"
    return subprocess.run([tool, "check", "rules", str(path)], capture_output=True, text=True, check=False)


def test_prometheus_rules_pass_promtool_and_keep_the_log_rules_apart(tmp_path: Path) -> None:
    (tmp_path / "mlgate.yaml").write_text(CONFIG)
    rules = load_settings(cwd=tmp_path, environ={}).monitor.rules
    doc, left = prometheus_rules(rules, window=dt.timedelta(minutes=15))
    assert [r.name for r in left] == ["inputs drifted"]
    by_name = {r["alert"]: r for r in doc["groups"][0]["rules"]}
    slow = by_name["MlgateSlow"]
    assert slow["for"] == "45m" and slow["labels"] == {"severity": "critical", "mlgate_rule": "slow"}
    assert slow["expr"] == (
        "1000 * histogram_quantile(0.95, sum by (le) (rate(mlgate_serve_request_duration_seconds_bucket[15m]))) > 50"
    )
    assert 'status=~"5.."' in by_name["MlgateFailing"]["expr"] and by_name["MlgateFailing"]["for"] == "30m"
    assert {"MlgateServerNotReady", "MlgatePredictionLogDropping"} <= set(by_name)
    out = tmp_path / "rules.yml"
    assert main(["monitor", "export", "--prometheus-rules", str(out), "--window", "15m"]) == 0
    checked = promtool(out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 8 rules found" in checked.stdout
    assert "inputs drifted (drift.share > 0.3)" in out.read_text().splitlines()[1]
    # promtool is a real check: a broken expression fails it
    broken = yaml.safe_load(out.read_text())
    broken["groups"][0]["rules"][0]["expr"] = "sum(rate(mlgate_serve_requests_total[5m]"
    (tmp_path / "broken.yml").write_text(yaml.safe_dump(broken))
    assert promtool(tmp_path / "broken.yml").returncode != 0


def _exposed(text: str) -> set[str]:
    """Every sample name a scrape can hold: the samples seen, and each declared family's names by type."""
    names = set()
    for family in text_string_to_metric_families(text):
        names |= {s.name for s in family.samples}
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    return names


def test_every_queried_name_is_on_a_real_servers_metrics(monitored: Any, tmp_path: Path) -> None:
    import uvicorn

    from mlgate.registry.store import Registry
    from mlgate.serve.app import create_app
    from mlgate.serve.options import ServeOptions
    from mlgate.serve.server import uvicorn_config

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options = ServeOptions("bc", port=port, poll_s=0.2, log_level="warning", log_dir=tmp_path / "log")
    reg = Registry(monitored.url, artifacts=str(monitored.artifacts))
    app = create_app(options, registry=reg)
    server = uvicorn.Server(uvicorn_config(options, app))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not server.started or httpx.get(f"{base}/v2/health/ready").status_code != 200:
            assert time.monotonic() < deadline and thread.is_alive(), "the server did not become ready"
            time.sleep(0.05)
        rows = monitored.test.head(5).to_dict(orient="records")
        assert httpx.post(f"{base}/predict", json=rows).status_code == 200
        assert httpx.post(f"{base}/predict", json=[{"mean radius": "wide"}]).status_code in (400, 422)
        scrape = httpx.get(f"{base}/metrics")
        assert scrape.status_code == 200
    finally:
        server.should_exit = True
        thread.join(15)
        reg.close()
        sock.close()
    exposed = _exposed(scrape.text)
    dashboard = grafana_dashboard()
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    (tmp_path / "mlgate.yaml").write_text(CONFIG)
    doc, _ = prometheus_rules(load_settings(cwd=tmp_path, environ={}).monitor.rules)
    exprs += [r["expr"] for r in doc["groups"][0]["rules"]]
    queried = queried_names(exprs)
    assert len(queried) >= 15 and len(dashboard["panels"]) == len(PANELS)
    assert queried <= exposed, f"queried but not exposed: {sorted(queried - exposed)}"
    # the requests actually sent show up with the labels the panels group by
    samples = {s.name: s.labels for f in text_string_to_metric_families(scrape.text) for s in f.samples}
    assert {"route", "version", "status"} <= set(samples["mlgate_serve_requests_total"])


def test_the_cli_writes_the_dashboard(tmp_path: Path) -> None:
    out = tmp_path / "dashboard.json"
    assert main(["monitor", "export", "--grafana", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["uid"] == "mlgate-serve" and all(p["targets"] for p in doc["panels"])


def test_the_monitor_writes_its_figures_as_gauges_that_the_rules_read(
    monitored: Any, log_hour: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """--prometheus-textfile: the last whole window's figures and the rules' states; --with-gauges rules read them."""
    folder = tmp_path / "log"
    broken = monitored.test.copy()
    broken["mean radius"] = broken["mean radius"] * 3
    log_hour(folder, monitored.served, broken, dt.datetime(2024, 5, 1, 9, tzinfo=dt.UTC))
    monkeypatch.setenv("MLGATE_REGISTRY", monitored.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(monitored.artifacts))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlgate.yaml").write_text(CONFIG)
    gauges = tmp_path / "textfile" / "mlgate.prom"
    gauges.parent.mkdir()
    args = ["monitor", "bc@production", "--log", str(folder), "--until", "2024-05-01T10:30", "--no-actions"]
    assert main([*args, "--prometheus-textfile", str(gauges), "--drift-share", "0.03"]) == 1
    samples = {
        (s.name, s.labels.get("figure") or s.labels.get("rule")): s.value
        for f in text_string_to_metric_families(gauges.read_text())
        for s in f.samples
    }
    assert samples[("mlgate_monitor_figure", "volume.requests")] == 20
    assert samples[("mlgate_monitor_figure", "quality.violations")] >= 1
    assert samples[("mlgate_monitor_figure", "drift.share")] > 0
    assert (
        samples[("mlgate_monitor_window_end_seconds", None)] == dt.datetime(2024, 5, 1, 10, tzinfo=dt.UTC).timestamp()
    )
    assert samples[("mlgate_monitor_rule_firing", "slow")] == 0
    assert samples[("mlgate_monitor_rule_firing", "failing")] == 0
    out = tmp_path / "rules.yml"
    assert main(["monitor", "export", "--prometheus-rules", str(out), "--with-gauges"]) == 0
    checked = promtool(out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    doc = yaml.safe_load(out.read_text())
    by_name = {r["alert"]: r for r in doc["groups"][0]["rules"]}
    assert by_name["MlgateInputsDrifted"]["expr"] == 'max(mlgate_monitor_figure{figure="drift.share"}) > 0.3'
    assert "MlgateMonitorStale" in by_name and "Judged by" not in out.read_text()
    # every name those rules query is in the textfile or on the server (checked above)
    assert queried_names([by_name["MlgateInputsDrifted"]["expr"], by_name["MlgateMonitorStale"]["expr"]]) <= {
        name for name, _ in samples
    }
