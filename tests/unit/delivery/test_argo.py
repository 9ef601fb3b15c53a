"""`mlgate package --rollouts argo`: a Rollout and an AnalysisTemplate that the Argo Rollouts CRD schemas
accept, whose queries promtool parses and evaluates to the built-in analysis's decisions, on the metric
names and labels a real server exposes."""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from mlgate.cli import main
from mlgate.config.sections import AnalysisConfig
from mlgate.delivery import argo
from mlgate.delivery.analysis import Arm, analyse
from mlgate.monitor.export import queried_names
from mlgate.serve.app import VERSION_HEADER
from tests.unit.monitor.test_export import _exposed

FIXTURES = Path(__file__).parents[2] / "fixtures" / "argo"
CONFIG = """\
delivery:
  steps: [5, 25, 50, 100]
  pause: 10m
  analyses:
    strict: {alpha: 0.001, min_requests: 300, max_error_increase: 0.005, max_latency_ratio: 1.1}
"""


def _strict(schema: Any) -> Any:
    """The CRD schema as the API server applies it, with unknown fields refused instead of silently pruned."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if out.get("properties") and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def _validator(kind: str) -> Any:
    import jsonschema

    schema = json.loads((FIXTURES / f"{kind}-v1.5.0.schema.json").read_text())
    # metadata refers to ObjectMeta by id; the CRD schemas do not carry it
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(_strict(schema))


def _errors(kind: str, doc: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in _validator(kind).iter_errors(doc)]


@pytest.fixture
def packaged(seeded: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLGATE_REGISTRY", seeded.url)
    monkeypatch.setenv("MLGATE_ARTIFACTS", str(seeded.artifacts))
    (tmp_path / "mlgate.yaml").write_text(CONFIG)
    return tmp_path


def test_package_writes_a_rollout_and_template_the_crd_schemas_accept(packaged: Path) -> None:
    out = packaged / "pkg"
    args = ["package", "bc:2", "--out", str(out), "--rollouts", "argo", "--analysis", "strict"]
    assert main([*args, "--prometheus", "http://prom.example:9090"]) == 0
    k8s = out / "k8s"
    assert sorted(p.name for p in k8s.iterdir()) == ["analysis-template.yaml", "rollout.yaml", "service.yaml"]
    ro = yaml.safe_load((k8s / "rollout.yaml").read_text())
    tpl = yaml.safe_load((k8s / "analysis-template.yaml").read_text())
    for name in ("rollout.yaml", "analysis-template.yaml"):  # no YAML anchors or aliases (&id001 / *id001)
        assert not re.search(r"[&*]id\d", (k8s / name).read_text()), name
    assert _errors("rollout", ro) == [] and _errors("analysis-template", tpl) == []
    # one setWeight, pause and analysis per configured step below 100; the last step is the promotion
    analysis = {"templates": [{"templateName": "bc-mlgate-strict"}]}
    assert ro["spec"]["strategy"]["canary"]["steps"] == [
        step
        for weight, window in ((5, "10m"), (25, "20m"), (50, "30m"))
        for step in (
            {"setWeight": weight},
            {"pause": {"duration": "10m"}},
            {"analysis": {**analysis, "args": [{"name": "canary-version", "value": "bc:2"}, {"name": "window", "value": window}]}},  # noqa: E501
        )
    ]  # fmt: skip
    # the Deployment's pods, now run by the Rollout; the Service still selects them
    service = yaml.safe_load((k8s / "service.yaml").read_text())
    assert ro["spec"]["selector"]["matchLabels"].items() <= ro["spec"]["template"]["metadata"]["labels"].items()
    assert service["spec"]["selector"] == ro["spec"]["selector"]["matchLabels"]
    image = json.loads((out / "mlgate-package.json").read_text())["image"]
    assert ro["spec"]["template"]["spec"]["containers"][0]["image"] == image
    assert tpl["metadata"]["name"] == "bc-mlgate-strict"
    assert {"name": "prometheus-address", "value": "http://prom.example:9090"} in tpl["spec"]["args"]
    metrics = {m["name"]: m for m in tpl["spec"]["metrics"]}
    assert set(metrics) == {"error-rate", "latency-p95-ratio"}
    for m in metrics.values():  # no data, too little data, an error, inconclusive: none of them passes
        assert (m["count"], m["failureLimit"], m["inconclusiveLimit"], m["consecutiveErrorLimit"]) == (1, 0, 0, 0)
        assert m["successCondition"].startswith("len(result) > 0 && ")
        assert m["failureCondition"].startswith("len(result) > 0 && ")
    assert metrics["latency-p95-ratio"]["successCondition"].endswith("result[0] <= 1.1")
    assert "0.005" in metrics["error-rate"]["provider"]["prometheus"]["query"]  # max_error_increase
    assert "/ 300" not in metrics["error-rate"]["provider"]["prometheus"]["query"] and ">= 300" in str(metrics)


def test_the_schemas_refuse_what_argo_would_not_run(packaged: Path) -> None:
    """The validation is a real check: a misspelt field (the API server would drop it) or a wrong type fails."""
    out = packaged / "pkg"
    assert main(["package", "bc:2", "--out", str(out), "--rollouts", "argo"]) == 0
    ro = yaml.safe_load((out / "k8s" / "rollout.yaml").read_text())
    tpl = yaml.safe_load((out / "k8s" / "analysis-template.yaml").read_text())
    typo = copy.deepcopy(tpl)
    typo["spec"]["metrics"][0]["inconclusivelimit"] = typo["spec"]["metrics"][0].pop("inconclusiveLimit")
    assert any("inconclusivelimit" in e for e in _errors("analysis-template", typo))
    no_provider = copy.deepcopy(tpl)
    del no_provider["spec"]["metrics"][1]["provider"]
    assert any("'provider' is a required property" in e for e in _errors("analysis-template", no_provider))
    text_weight = copy.deepcopy(ro)
    text_weight["spec"]["strategy"]["canary"]["steps"][0]["setWeight"] = "5%"
    assert _errors("rollout", text_weight)
    assert _errors("rollout", {**ro, "kind": "Deployment"})


@pytest.mark.parametrize(
    ("args", "config", "message"),
    [
        (["--rollouts", "flagger"], CONFIG, "--rollouts must be one of: argo; got 'flagger'"),
        (["--rollouts", "argo", "--analysis", "nope"], CONFIG, "--analysis names 'nope'"),
        (["--rollouts", "argo"], "delivery: {steps: [2.5, 100]}\n", "Argo Rollouts sets whole percentages"),
        (["--rollouts", "argo"], "delivery: {steps: [50, 20]}\n", "steps must increase"),
        (["--rollouts", "argo", "--prometheus", "prom:9090"], CONFIG, "--prometheus must be an http(s) URL"),
        (["--analysis", "strict"], CONFIG, "--analysis and --prometheus go with --rollouts"),
    ],
)
def test_bad_rollouts_input_is_exit_2_and_writes_nothing(
    packaged: Path, capsys: pytest.CaptureFixture[str], args: list[str], config: str, message: str
) -> None:
    (packaged / "mlgate.yaml").write_text(config)
    out = packaged / "pkg"
    assert main(["package", "bc:2", "--out", str(out), *args]) == 2
    assert message in capsys.readouterr().err.replace("\n", " ")
    assert not out.exists()


def test_the_built_in_controller_stays_the_default(packaged: Path) -> None:
    out = packaged / "pkg"
    assert main(["package", "bc:2", "--out", str(out)]) == 0
    assert sorted(p.name for p in (out / "k8s").iterdir()) == ["deployment.yaml", "service.yaml"]


# --- the queries: promtool parses them and evaluates them to the built-in analysis's decisions ---

SPEC = AnalysisConfig(name="t", alpha=0.01, min_requests=200, max_error_increase=0.01, max_latency_ratio=1.25)
MINUTES = 30


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("promtool")
    assert tool, "promtool is missing: apt-get install -y prometheus (.ci/run installs it)"
    return subprocess.run([tool, *args], capture_output=True, text=True, check=False)


def _side(version: str, ok: int, bad: int, seconds: float) -> list[dict[str, str]]:
    """A server's counters growing for MINUTES minutes: ``ok`` and ``bad`` scored requests a minute, each
    taking ``seconds``, and health probes (which the queries must leave out)."""
    from mlgate.serve.metrics import LATENCY_BUCKETS

    out = []
    for status, n in (("200", ok), ("500", bad)):
        if not n:
            continue
        labels = f'route="/predict",version="{version}",status="{status}"'
        out.append({"series": f"mlgate_serve_requests_total{{{labels}}}", "values": f"0+{n}x{MINUTES}"})
        for le in (*LATENCY_BUCKETS, float("inf")):
            step = n if seconds <= le else 0
            bound = "+Inf" if le == float("inf") else repr(le)
            series = f'mlgate_serve_request_duration_seconds_bucket{{{labels},le="{bound}"}}'
            out.append({"series": series, "values": f"0+{step}x{MINUTES}"})
    probe = f'route="/v2/health/ready",version="{version}",status="200"'
    out.append({"series": f"mlgate_serve_requests_total{{{probe}}}", "values": f"0+600x{MINUTES}"})
    return out


def _built_in(c_ok: int, c_bad: int, s_ok: int, s_bad: int) -> str:
    """The built-in analysis's error-rate decision on the same requests."""

    def arm(ok: int, bad: int) -> Arm:
        n = (ok + bad) * MINUTES
        return Arm(np.arange(n) < bad * MINUTES, np.full(n, 20.0))

    result = analyse(arm(c_ok, c_bad), arm(s_ok, s_bad), SPEC)
    return next(m.decision for m in result.metrics if m.name == "error_rate")


SCENARIOS = {
    # name: canary ok/min, 5xx/min, stable ok/min, 5xx/min, canary latency, stable latency -> (error rate, latency)
    "healthy": ((50, 0, 450, 1, 0.004, 0.004), ("pass", -1, 1)),
    "failing 10%": ((45, 5, 450, 1, 0.004, 0.004), ("fail", 1, 1)),
    "a little worse, unsure": ((50, 1, 450, 5, 0.004, 0.004), ("wait", None, 1)),
    "too few requests": ((3, 0, 450, 0, 0.004, 0.004), ("wait", None, None)),
    "2x slower": ((50, 0, 450, 1, 0.008, 0.004), ("pass", -1, 2)),  # latency fails: 2 > 1.25
}


def test_the_queries_decide_as_the_built_in_analysis(tmp_path: Path) -> None:
    error_rate = argo.error_rate_query("bc", SPEC, canary="bc:2", window=f"{MINUTES}m")
    latency = argo.latency_query("bc", SPEC, canary="bc:2", window=f"{MINUTES}m")
    # promtool parses each query (as the expression of an alert)
    rules = {"groups": [{"name": "argo", "rules": [{"alert": f"Q{i}", "expr": q} for i, q in enumerate([error_rate, latency])]}]}  # noqa: E501  # fmt: skip
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules, width=10**6))
    checked = _promtool("check", "rules", str(tmp_path / "rules.yml"))
    assert checked.returncode == 0 and "SUCCESS: 2 rules found" in checked.stdout, checked.stdout + checked.stderr
    (tmp_path / "empty.yml").write_text("groups: []\n")
    tests = []
    for (c_ok, c_bad, s_ok, s_bad, c_s, s_s), (decision, sign, ratio) in SCENARIOS.values():
        assert _built_in(c_ok, c_bad, s_ok, s_bad) == decision
        at = f"{MINUTES}m"
        tests.append(
            {
                "interval": "1m",
                "input_series": _side("bc:2", c_ok, c_bad, c_s) + _side("bc:1", s_ok, s_bad, s_s),
                "promql_expr_test": [
                    {"expr": f"sgn({error_rate})", "eval_time": at, "exp_samples": [] if sign is None else [{"labels": "{}", "value": sign}]},  # noqa: E501
                    # the p95 lies in a bucket, and histogram_quantile interpolates: compare to a whole ratio
                    {"expr": f"round({latency})", "eval_time": at, "exp_samples": [] if ratio is None else [{"labels": "{}", "value": ratio}]},  # noqa: E501
                ],
            }
        )  # fmt: skip
    doc = {"rule_files": ["empty.yml"], "evaluation_interval": "1m", "tests": tests}
    (tmp_path / "t.yml").write_text(yaml.safe_dump(doc, width=10**6))
    result = _promtool("test", "rules", str(tmp_path / "t.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    # and the evaluation is a real check: a wrong expectation fails
    doc["tests"][0]["promql_expr_test"][0]["exp_samples"][0]["value"] = 1
    (tmp_path / "t.yml").write_text(yaml.safe_dump(doc, width=10**6))
    assert _promtool("test", "rules", str(tmp_path / "t.yml")).returncode != 0


def test_the_queries_read_a_real_servers_names_and_labels(
    seeded_registry: Any, start_server: Any, tmp_path: Path
) -> None:
    """A server with a canary: every name the template queries is on its /metrics, and the canary and stable
    selectors count exactly the scored requests each version answered (not the probes or the scrapes)."""
    import time

    seeded_registry.set_alias("bc", "candidate", 2)
    server = start_server(canary_alias="candidate", canary_weight=0.5)
    answered: dict[str, int] = {}
    frame = _rows()
    with httpx.Client(base_url=server.base) as client:
        deadline = time.monotonic() + 30  # until the canary is loaded and each version answered 10 requests
        while min(answered.get("bc:1", 0), answered.get("bc:2", 0)) < 10:
            assert time.monotonic() < deadline, f"the canary did not take its share: {answered}"
            r = client.post("/predict", json=frame)
            assert r.status_code == 200
            answered[r.headers[VERSION_HEADER]] = answered.get(r.headers[VERSION_HEADER], 0) + 1
        assert client.get("/v2/health/ready").status_code == 200
        scrape = client.get("/metrics").text
    assert set(answered) == {"bc:1", "bc:2"}, answered
    tpl = argo.analysis_template("bc", SPEC)
    queries = [m["provider"]["prometheus"]["query"] for m in tpl["spec"]["metrics"]]
    assert queried_names(queries) <= _exposed(scrape)
    # the scrape, held constant, as promtool input: the selectors pick each version's scored requests
    series = [
        {"series": _series(s.name, s.labels), "values": f"{s.value:g}x5"}
        for f in text_string_to_metric_families(scrape)
        for s in f.samples
        if s.name == "mlgate_serve_requests_total"
    ]
    canary, stable = argo._selectors("bc", "bc:2")
    count = "sum(mlgate_serve_requests_total{%s})"
    doc = {
        "rule_files": ["empty.yml"],
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "promql_expr_test": [
                    {"expr": count % canary, "eval_time": "2m", "exp_samples": [{"labels": "{}", "value": answered["bc:2"]}]},  # noqa: E501
                    {"expr": count % stable, "eval_time": "2m", "exp_samples": [{"labels": "{}", "value": answered["bc:1"]}]},  # noqa: E501
                ],
            }
        ],
    }  # fmt: skip
    (tmp_path / "empty.yml").write_text("groups: []\n")
    (tmp_path / "t.yml").write_text(yaml.safe_dump(doc, width=10**6))
    result = _promtool("test", "rules", str(tmp_path / "t.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def _series(name: str, labels: dict[str, str]) -> str:
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def _rows() -> list[dict[str, float]]:
    from sklearn.datasets import load_breast_cancer

    frame = load_breast_cancer(as_frame=True).frame.drop(columns=["target"])
    return frame.head(3).to_dict(orient="records")  # type: ignore[no-any-return]
