"""``mlgate monitor export``: Prometheus alerting rules and a Grafana dashboard over ``mlgate serve``'s ``/metrics``.

Only names the server exposes are queried (``serve/metrics.py``; a counter ``mlgate_serve_requests`` is
scraped as ``mlgate_serve_requests_total``, a histogram as ``_bucket``/``_sum``/``_count``); the tests
scrape a real server and check every name. The ``monitor.rules`` whose figure the server measures
(``errors.rate``, ``errors.count``, ``latency.p50_ms``/``p95_ms``/``p99_ms``, ``volume.requests``)
become alerting rules with the same threshold over the same window, ``for`` the same number of
windows; the rest (drift, quality, realized and estimated performance) come from the prediction log and
are judged by ``mlgate monitor``, so the file lists them in a comment, unless ``textfile``: then they
read the gauges :func:`figures_textfile` writes (``mlgate monitor --prometheus-textfile``, for
node_exporter's textfile collector). Four server-health rules are always there: not ready, swap
failures, prediction-log drops, registry unreachable.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

from mlgate.config.sections import RuleConfig

REQUESTS = "mlgate_serve_requests_total"
FIGURE = "mlgate_monitor_figure"  # written by mlgate monitor --prometheus-textfile
LATENCY = "mlgate_serve_request_duration_seconds_bucket"
SEVERITY = {"info": "info", "warning": "warning", "critical": "critical"}
QUANTILES = {"latency.p50_ms": 0.5, "latency.p95_ms": 0.95, "latency.p99_ms": 0.99}


def _duration(window: dt.timedelta) -> str:
    seconds = int(window.total_seconds())
    for unit, n in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % n == 0:
            return f"{seconds // n}{unit}"
    return f"{seconds}s"


def rule_expr(rule: RuleConfig, window: dt.timedelta, selector: str = "", *, textfile: bool = False) -> str | None:
    """The PromQL of a rule whose figure the server measures; for the figures of the log, the gauge
    ``mlgate monitor --prometheus-textfile`` writes when ``textfile``, else None."""
    w = _duration(window)
    if textfile and rule_expr(rule, window, selector) is None:
        labels = f'{selector + "," if selector else ""}figure="{rule.figure}"'
        return f"max({FIGURE}{{{labels}}}) {rule.op} {rule.threshold:g}"
    sel = f"{{{selector}}}" if selector else ""
    five = f'{{{selector + "," if selector else ""}status=~"5.."}}'
    if rule.figure == "errors.rate":
        expr = f"sum(rate({REQUESTS}{five}[{w}])) / sum(rate({REQUESTS}{sel}[{w}]))"
    elif rule.figure == "errors.count":
        expr = f"sum(increase({REQUESTS}{five}[{w}]))"
    elif rule.figure == "volume.requests":
        expr = f"sum(increase({REQUESTS}{sel}[{w}]))"
    elif rule.figure in QUANTILES:
        expr = f"1000 * histogram_quantile({QUANTILES[rule.figure]}, sum by (le) (rate({LATENCY}{sel}[{w}])))"
    else:
        return None
    return f"{expr} {rule.op} {rule.threshold:g}"


def _alert_name(name: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", name)
    return "Mlgate" + "".join(w[:1].upper() + w[1:] for w in words)


HEALTH: list[dict[str, Any]] = [
    {
        "alert": "MlgateServerNotReady",
        "expr": "max(mlgate_serve_ready) < 1",
        "for": "5m",
        "labels": {"severity": "critical"},
        "annotations": {"summary": "mlgate serve has no model loaded in every worker"},
    },
    {
        "alert": "MlgateSwapFailures",
        "expr": "sum(increase(mlgate_serve_swap_failures_total[15m])) > 0",
        "labels": {"severity": "warning"},
        "annotations": {"summary": "a new version could not be swapped in (resolve, verify, load or warm-up failed)"},
    },
    {
        "alert": "MlgatePredictionLogDropping",
        "expr": "sum(increase(mlgate_prediction_log_dropped_total[15m])) > 0",
        "labels": {"severity": "warning"},
        "annotations": {"summary": "prediction-log records are dropped: mlgate monitor sees less than was served"},
    },
    {
        "alert": "MlgateRegistryUnreachable",
        "expr": "sum(increase(mlgate_serve_registry_errors_total[15m])) > 0",
        "for": "15m",
        "labels": {"severity": "warning"},
        "annotations": {"summary": "the server cannot poll its alias; the loaded version keeps serving"},
    },
]


def prometheus_rules(
    rules: Sequence[RuleConfig],
    *,
    window: dt.timedelta = dt.timedelta(hours=1),
    selector: str = "",
    textfile: bool = False,
) -> tuple[dict[str, Any], list[RuleConfig]]:
    """The rules file (one group) and the rules left to ``mlgate monitor`` (figures of the log, unless
    ``textfile``: then they read the gauges ``mlgate monitor --prometheus-textfile`` writes)."""
    out = []
    left = []
    for rule in rules:
        expr = rule_expr(rule, window, selector, textfile=textfile)
        if expr is None:
            left.append(rule)
            continue
        out.append(
            {
                "alert": _alert_name(rule.name),
                "expr": expr,
                "for": _duration(window * rule.windows),
                "labels": {"severity": SEVERITY[rule.severity], "mlgate_rule": rule.name},
                "annotations": {
                    "summary": f"{rule.condition} for {rule.windows} window(s) of {_duration(window)}",
                    "mlgate_actions": ", ".join(rule.actions),
                },
            }
        )
    if textfile:
        stale = int(window.total_seconds() * 3)
        out.append(
            {
                "alert": "MlgateMonitorStale",
                "expr": f"time() - max(mlgate_monitor_window_end_seconds) > {stale}",
                "labels": {"severity": "warning"},
                "annotations": {"summary": "mlgate monitor has judged no whole window for three windows"},
            }
        )
    return {"groups": [{"name": "mlgate", "rules": out + HEALTH}]}, left


def prometheus_rules_text(
    rules: Sequence[RuleConfig],
    *,
    window: dt.timedelta = dt.timedelta(hours=1),
    selector: str = "",
    textfile: bool = False,
) -> str:
    """The rules file as YAML text, with the rules it cannot express named in a comment."""
    import yaml

    doc, left = prometheus_rules(rules, window=window, selector=selector, textfile=textfile)
    head = "# Generated by `mlgate monitor export --prometheus-rules`; alerting rules over mlgate serve's /metrics.\n"
    if left:
        head += (
            "# Judged by `mlgate monitor` on the prediction log, not here: "
            + "; ".join(f"{r.name} ({r.condition})" for r in left)
            + "\n"
        )
    return head + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


PANELS: list[tuple[str, str, list[tuple[str, str]]]] = [
    ("Requests per second by version and status", "reqps", [
        ("sum by (version, status) (rate(mlgate_serve_requests_total[5m]))", "{{version}} {{status}}"),
    ]),
    ("Server error rate (5xx share)", "percentunit", [
        ('sum(rate(mlgate_serve_requests_total{status=~"5.."}[5m])) / '
         "sum(rate(mlgate_serve_requests_total[5m]))", "5xx"),
    ]),
    ("Failed requests by kind", "reqps", [
        ("sum by (kind) (rate(mlgate_serve_errors_total[5m]))", "{{kind}}"),
    ]),
    ("Latency percentiles", "s", [
        (f"histogram_quantile({q}, sum by (le) (rate({LATENCY}[5m])))", f"p{int(q * 100)}")
        for q in (0.5, 0.95, 0.99)
    ]),
    ("Mean latency by version", "s", [
        ("sum by (version) (rate(mlgate_serve_request_duration_seconds_sum[5m])) / "
         "sum by (version) (rate(mlgate_serve_request_duration_seconds_count[5m]))", "{{version}}"),
    ]),
    ("In-flight requests", "short", [("sum(mlgate_serve_in_flight_requests)", "in flight")]),
    ("Ready", "short", [("min(mlgate_serve_ready)", "ready")]),
    ("Served version per alias", "short", [
        ("max by (alias, version, semver) (mlgate_serve_model_info)", "{{alias}} → {{version}} ({{semver}})"),
    ]),
    ("Swaps and swap failures", "short", [
        ("sum by (alias, how) (increase(mlgate_serve_swaps_total[1h]))", "swap {{alias}} {{how}}"),
        ("sum by (alias, stage) (increase(mlgate_serve_swap_failures_total[1h]))", "failed {{alias}} {{stage}}"),
    ]),
    ("Canary split", "reqps", [
        ("sum by (variant, version) (rate(mlgate_serve_routed_total[5m]))", "{{variant}} {{version}}"),
    ]),
    ("Shadow agreement", "percentunit", [("avg(mlgate_serve_shadow_agreement)", "agreement")]),
    ("Batch size", "short", [
        ("sum(rate(mlgate_serve_batch_size_sum[5m])) / sum(rate(mlgate_serve_batch_size_count[5m]))", "rows per call"),
    ]),
    ("Prediction log", "short", [
        ("sum(rate(mlgate_prediction_log_written_total[5m]))", "written/s"),
        ("sum by (reason) (rate(mlgate_prediction_log_dropped_total[5m]))", "dropped/s {{reason}}"),
        ("sum(mlgate_prediction_log_queued)", "queued"),
    ]),
    ("Registry poll errors", "short", [("sum(increase(mlgate_serve_registry_errors_total[1h]))", "errors")]),
]  # fmt: skip


def grafana_dashboard(*, title: str = "mlgate serve", datasource: str = "Prometheus") -> dict[str, Any]:
    """A Grafana dashboard (JSON model, schema 39) of time-series panels over the server's metrics."""
    panels = []
    for i, (name, unit, queries) in enumerate(PANELS):
        panels.append(
            {
                "id": i + 1,
                "type": "timeseries",
                "title": name,
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": 12 * (i % 2), "y": 8 * (i // 2)},
                "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
                "targets": [
                    {"refId": chr(ord("A") + k), "expr": expr, "legendFormat": legend}
                    for k, (expr, legend) in enumerate(queries)
                ],
            }
        )
    return {
        "title": title,
        "uid": "mlgate-serve",
        "schemaVersion": 39,
        "editable": True,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus", "current": {"text": datasource}}
            ]
        },
        "panels": panels,
    }


def grafana_text(*, title: str = "mlgate serve") -> str:
    """The dashboard as JSON text (import it in Grafana, or provision it)."""
    return json.dumps(grafana_dashboard(title=title), indent=2) + "\n"


def queried_names(exprs: Sequence[str]) -> set[str]:
    """The metric names PromQL expressions read (``mlgate_*`` identifiers not followed by ``(``)."""
    return {m for e in exprs for m in re.findall(r"\bmlgate_[a-z0-9_]+\b(?!\s*\()", e)}


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def figures_textfile(outcome: Any, *, until: dt.datetime | None = None) -> str:
    """The latest whole window's figures (``mlgate_monitor_figure``) and each rule's state
    (``mlgate_monitor_rule_firing``) in the Prometheus text format, for node_exporter's textfile collector."""
    from mlgate.monitor.rules import FIGURES, figure

    report = outcome.report
    whole = [w for w in report.windows if until is None or w.window.end <= until]
    subject, version = _label(report.model), _label(report.version)
    lines = [
        f"# HELP {FIGURE} The value of each monitor figure in the latest whole window (mlgate monitor).",
        f"# TYPE {FIGURE} gauge",
    ]
    if whole:
        last = whole[-1]
        names = list(FIGURES) + [
            f"{prefix}.{m}"
            for prefix in ("realized", "estimated")
            for m in sorted(getattr(getattr(last, prefix, None), "metrics", None) or {})
        ]
        for name in names:
            value = figure(last, name)
            if value is not None:
                lines.append(f'{FIGURE}{{subject="{subject}",version="{version}",figure="{name}"}} {value!r}')
    lines += [
        "# HELP mlgate_monitor_window_end_seconds End of the latest whole window judged (Unix seconds).",
        "# TYPE mlgate_monitor_window_end_seconds gauge",
    ]
    if whole:
        end = whole[-1].window.end.timestamp()
        lines.append(f'mlgate_monitor_window_end_seconds{{subject="{subject}",version="{version}"}} {end!r}')
    evaluation = outcome.evaluation
    lines += [
        "# HELP mlgate_monitor_rule_firing 1 while a monitor rule is open (fired, not yet resolved).",
        "# TYPE mlgate_monitor_rule_firing gauge",
    ]
    for j in evaluation.judgements if evaluation is not None else []:
        rule = _label(j.rule.name)
        lines.append(
            f'mlgate_monitor_rule_firing{{subject="{subject}",rule="{rule}",severity="{j.rule.severity}"}} '
            f"{int(j.firing)}"
        )
    return "\n".join(lines) + "\n"
