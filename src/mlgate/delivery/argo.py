"""``mlgate package --rollouts argo``: the configured rollout as an Argo Rollouts ``Rollout`` and ``AnalysisTemplate``.

For teams whose rollouts Kubernetes runs: the built-in controller (``mlgate rollout``) stays the default.
The ``Rollout`` takes the place of the package's Deployment (same pod template, selector and replicas: a
Rollout is a Deployment with steps, and both would run pods behind the one Service) and has one canary
step per configured step: ``setWeight``, ``pause`` for ``delivery.pause``, then an inline analysis of the
rollout's whole life so far (``window``: the pauses up to that step), as ``mlgate rollout`` analyses the
whole window on every tick. A last step of 100 is the promotion itself, as in ``mlgate rollout``.

The ``AnalysisTemplate`` queries only what ``mlgate serve``'s ``/metrics`` exposes
(:mod:`mlgate.serve.metrics`, the names :mod:`mlgate.monitor.export` already queries), on the scoring
routes only (health probes and scrapes are requests too), canary against stable by the ``version`` label
every request carries (``fraud:8``; the stable side is every other version of the model):

- **error rate** (5xx share, canary − stable): the same normal-mixture confidence sequence as
  :mod:`mlgate.delivery.analysis`, written out in PromQL from the request counts (rates smoothed by half a
  request, ``ρ`` the information of ``min_requests`` canary requests). The query returns how far the lower
  bound lies above 0 (positive: fail) or how far the upper bound lies below ``max_error_increase``
  (negative: pass, only with ``min_requests`` requests on each side), and nothing otherwise.
- **latency**: the canary's p95 over the stable's (``histogram_quantile`` of the latency histogram), with
  ``max_latency_ratio`` as a fixed threshold, returned only with ``min_requests`` requests on each side.
  A histogram has no variance to build a sequence on; Argo checks it once per step, not on every tick.

The server exposes no prediction gauge, so the prediction shift (and shadow agreement, realized
performance) stay with ``mlgate rollout``.

No data, too little data and inconclusive never pass (Argo's known holes: a ``result[0]`` on an empty
result errors and, with the usual ``len(result) == 0 ||`` workaround, passes, argo-rollouts #1466; an
inconclusive *background* analysis let a rollout through at the end of its pause, #3850): both conditions
start with ``len(result) > 0 &&`` and NaN compares false, so an empty or NaN result is inconclusive, never
successful; ``inconclusiveLimit: 0`` makes one inconclusive measurement end the run Inconclusive, which
pauses the rollout for a person (``kubectl argo rollouts promote`` or ``abort``); ``failureLimit: 0``
aborts on the first failure; ``consecutiveErrorLimit: 0`` turns a query that errors (Prometheus down)
into an Error run, which aborts; the analyses are step analyses, never background ones.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import UsageError
from mlgate.monitor.export import LATENCY, REQUESTS, _duration

if TYPE_CHECKING:
    from mlgate.config.sections import AnalysisConfig, DeliveryConfig
    from mlgate.registry.store import Registry
    from mlgate.serve.package import Package

ROLLOUTS = ("argo",)
API_VERSION = "argoproj.io/v1alpha1"
# the routes that score (their templates, as the server labels requests); the rest are probes and scrapes
SCORING_ROUTES = "/predict|/invocations|/v2/models/.+/infer"
DEFAULT_PROMETHEUS = "http://prometheus-operated.monitoring.svc:9090"
MIN_WINDOW_S = 60.0  # a rate needs two scrapes in its window
CANARY_ARG, WINDOW_ARG, PROMETHEUS_ARG = "canary-version", "window", "prometheus-address"


def _dns(name: str) -> str:
    """A DNS-1123 label (lower case, dashes, at most 63 characters, starting with a letter)."""
    text = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not text or not text[0].isalpha():
        text = f"m-{text}".rstrip("-")
    return text[:63].rstrip("-")


def _selectors(model: str, canary: str) -> tuple[str, str]:
    """Label matchers of the canary's and the stable's scored requests (``canary``: a version label or an arg)."""
    routes = f'route=~"{SCORING_ROUTES}"'
    stable_versions = re.escape(model).replace("\\", "\\\\") + ":[0-9]+"  # PromQL strings escape backslashes
    return (
        f'{routes},version="{canary}"',
        f'{routes},version=~"{stable_versions}",version!="{canary}"',
    )


def _requests(selector: str, window: str, *, errors: bool = False) -> str:
    if errors:  # a side without a 5xx has no such series: 0, not an empty result
        return f'(sum(increase({REQUESTS}{{{selector},status=~"5.."}}[{window}])) or vector(0))'
    return f"sum(increase({REQUESTS}{{{selector}}}[{window}]))"


def _enough(selectors: tuple[str, str], window: str, m: int) -> str:
    return " and on() ".join(f"({_requests(s, window)} >= {m})" for s in selectors)


def error_rate_query(
    model: str, spec: AnalysisConfig, *, canary: str = f"{{{{args.{CANARY_ARG}}}}}", window: str = ""
) -> str:
    """PromQL: positive when the error rate's confidence sequence lies wholly above 0 (fail), negative when it
    lies wholly below ``max_error_increase`` with ``min_requests`` a side (pass), empty otherwise (wait)."""
    window = window or f"{{{{args.{WINDOW_ARG}}}}}"
    sides = _selectors(model, canary)
    (nc, ns), (ec, es) = ([_requests(s, window, errors=e) for s in sides] for e in (False, True))
    sc, ss = f"(({ec} + 0.5) / ({nc} + 1))", f"(({es} + 0.5) / ({ns} + 1))"
    info = f"(1 / ({sc} * (1 - {sc}) / {nc} + {ss} * (1 - {ss}) / {ns}))"
    rho = f"({spec.min_requests} / ({sc} * (1 - {sc})))"
    half = f"(sqrt(({info} + {rho}) * ln(({info} + {rho}) / ({rho} * {spec.alpha**2!r}))) / {info})"
    diff = f"({ec} / {nc} - {es} / {ns})"
    fail = f"(({diff} - {half}) > 0)"
    passes = (
        f"((({diff} + {half} - {spec.max_error_increase!r}) < 0) and on() {_enough(sides, window, spec.min_requests)})"
    )
    return f"{fail} or {passes}"


def latency_query(
    model: str, spec: AnalysisConfig, *, canary: str = f"{{{{args.{CANARY_ARG}}}}}", window: str = ""
) -> str:
    """PromQL: the canary's p95 latency over the stable's, only with ``min_requests`` requests a side."""
    window = window or f"{{{{args.{WINDOW_ARG}}}}}"
    sides = _selectors(model, canary)
    c, s = (f"histogram_quantile(0.95, sum by (le) (rate({LATENCY}{{{x}}}[{window}])))" for x in sides)
    return f"({c} / {s}) and on() {_enough(sides, window, spec.min_requests)}"


def _metric(name: str, query: str, success: str, failure: str) -> dict[str, Any]:
    return {
        "name": name,
        "count": 1,  # one look per step, at the end of its pause
        "failureLimit": 0,
        "inconclusiveLimit": 0,
        "consecutiveErrorLimit": 0,
        # an empty result (no data, too little data) and NaN make both false: inconclusive, never a pass
        "successCondition": f"len(result) > 0 && {success}",
        "failureCondition": f"len(result) > 0 && {failure}",
        "provider": {"prometheus": {"address": f"{{{{args.{PROMETHEUS_ARG}}}}}", "query": query}},
    }


def analysis_template(model: str, spec: AnalysisConfig, *, prometheus: str = DEFAULT_PROMETHEUS) -> dict[str, Any]:
    """The ``AnalysisTemplate`` of ``spec`` for ``model``'s servers."""
    ratio = f"{spec.max_latency_ratio!r}"
    return {
        "apiVersion": API_VERSION,
        "kind": "AnalysisTemplate",
        "metadata": {
            "name": template_name(model, spec.name),
            "labels": {"app.kubernetes.io/name": _dns(model), "app.kubernetes.io/managed-by": "mlgate"},
            "annotations": {"mlgate.dev/analysis": spec.name},
        },
        "spec": {
            "args": [
                {"name": CANARY_ARG},
                {"name": WINDOW_ARG},
                {"name": PROMETHEUS_ARG, "value": prometheus},
            ],
            "metrics": [
                _metric("error-rate", error_rate_query(model, spec), "result[0] < 0", "result[0] > 0"),
                _metric(
                    "latency-p95-ratio", latency_query(model, spec), f"result[0] <= {ratio}", f"result[0] > {ratio}"
                ),
            ],
        },
    }


def template_name(model: str, analysis: str) -> str:
    """``fraud-mlgate-default``: one template per model and analysis."""
    return _dns(f"{model}-mlgate-{analysis}")


def canary_steps(steps: tuple[float, ...], pause_s: float, *, template: str, canary: str) -> list[dict[str, Any]]:
    """Per step below 100: ``setWeight``, ``pause``, then the analysis of the window since the first step."""
    out: list[dict[str, Any]] = []
    for k, weight in enumerate(s for s in steps if s < 100):
        out.append({"setWeight": int(weight)})
        if pause_s > 0:
            out.append({"pause": {"duration": _duration(dt.timedelta(seconds=round(pause_s)))}})
        window = _duration(dt.timedelta(seconds=round(max(pause_s * (k + 1), MIN_WINDOW_S))))
        out.append(
            {
                "analysis": {
                    "templates": [{"templateName": template}],
                    "args": [{"name": CANARY_ARG, "value": canary}, {"name": WINDOW_ARG, "value": window}],
                }
            }
        )
    return out


def rollout(deployment: dict[str, Any], steps: list[dict[str, Any]], *, canary: str) -> dict[str, Any]:
    """The ``Rollout`` that replaces ``deployment`` (the package's), with ``steps``."""
    spec = deployment["spec"]
    return {
        "apiVersion": API_VERSION,
        "kind": "Rollout",
        "metadata": {**deployment["metadata"], "annotations": {"mlgate.dev/canary-version": canary}},
        "spec": {
            "replicas": spec["replicas"],
            "selector": spec["selector"],
            "template": spec["template"],
            "strategy": {"canary": {"steps": steps}},
        },
    }


@dataclass(frozen=True)
class ArgoPlan:
    """What ``--rollouts argo`` writes, checked before the package is built so that bad input writes nothing."""

    steps: tuple[float, ...]
    pause_s: float
    analysis: AnalysisConfig
    prometheus: str

    def documents(self, ref: str, deployment: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The ``Rollout`` (replacing ``deployment``) and the ``AnalysisTemplate`` for version ``ref``."""
        model = ref.rsplit(":", 1)[0]
        template = analysis_template(model, self.analysis, prometheus=self.prometheus)
        steps = canary_steps(self.steps, self.pause_s, template=template["metadata"]["name"], canary=ref)
        return rollout(deployment, steps, canary=ref), template

    def write(self, out: Path, ref: str) -> list[str]:
        """Replace ``out/k8s/deployment.yaml`` with ``rollout.yaml`` and add ``analysis-template.yaml``."""
        import yaml

        from mlgate.serve.package import dump_yaml

        k8s = Path(out) / "k8s"
        deployment = yaml.safe_load((k8s / "deployment.yaml").read_text())
        ro, template = self.documents(ref, deployment)
        head = "# Generated by `mlgate package --rollouts argo` (docs/delivery.md, For Kubernetes users).\n"
        (k8s / "analysis-template.yaml").write_text(head + dump_yaml(template, width=10**6))
        (k8s / "rollout.yaml").write_text(head + dump_yaml(ro))
        (k8s / "deployment.yaml").unlink()  # the Rollout runs these pods now
        return ["k8s/analysis-template.yaml", "k8s/rollout.yaml"]


def plan(
    kind: str, delivery: DeliveryConfig, *, analysis: str | None = None, prometheus: str = DEFAULT_PROMETHEUS
) -> ArgoPlan:
    """Check ``--rollouts KIND`` and the configured rollout; :class:`UsageError` (exit 2) before anything is written."""
    from mlgate.registry.rollouts import check_steps

    if kind not in ROLLOUTS:
        raise UsageError(f"--rollouts must be one of: {', '.join(ROLLOUTS)}; got {kind!r}", hint="--rollouts argo")
    name = analysis or delivery.analysis
    if name not in delivery.analyses:
        raise UsageError(
            f"--analysis names {name!r}, which delivery.analyses in mlgate.yaml does not define",
            hint=f"defined: {', '.join(sorted(delivery.analyses))}",
        )
    steps = tuple(check_steps(delivery.steps))
    if steps[0] >= 100:
        raise UsageError(
            "delivery.steps starts at 100%: there is nothing to analyse before the promotion",
            hint="start lower, e.g. steps: [5, 25, 50, 100]",
        )
    fractional = [s for s in steps if not float(s).is_integer()]
    if fractional:
        raise UsageError(
            f"delivery.steps has {fractional[0]:g}%: Argo Rollouts sets whole percentages (setWeight is an integer)",
            hint="round the steps in mlgate.yaml, e.g. steps: [5, 25, 50, 100]",
        )
    if not re.fullmatch(r"https?://\S+", prometheus):
        raise UsageError(f"--prometheus must be an http(s) URL, got {prometheus!r}")
    return ArgoPlan(steps, delivery.pause_s, delivery.analyses[name], prometheus)


def package(
    ref: str,
    out: Path,
    *,
    registry: Registry,
    delivery: DeliveryConfig,
    kind: str = "argo",
    analysis: str | None = None,
    prometheus: str = DEFAULT_PROMETHEUS,
    **options: Any,
) -> Package:
    """``mlgate package REF --out OUT --rollouts KIND``: the package (``options`` go to
    :func:`mlgate.serve.package.package`) with the rollout of ``delivery`` in the Deployment's place."""
    from mlgate.serve.package import package as build

    checked = plan(kind, delivery, analysis=analysis, prometheus=prometheus)  # before anything is written
    result = build(ref, out, registry=registry, **options)
    written = checked.write(result.out, result.ref)
    result.files = sorted({*result.files, *written} - {"k8s/deployment.yaml"})
    return result
