"""What a rule does when it fires or resolves: alert, roll back, retrain; each act logged in the registry.

:func:`apply_rules` is one evaluation: load each rule's state for the monitored reference, judge the
report's new whole windows (:func:`mlgate.monitor.rules.judge`), store the report as the evidence (a
blob; its digest names it), act on each transition, then save the states. Acts:

- ``alert``: every ``monitor.webhooks`` entry gets the alert (``alerts.deliver``: signed, retried); a
  rule alerts once when it fires and once when it resolves, however many windows it stays open.
- ``rollback``: the alias of the monitored reference (``fraud@production``) moves back to its previous
  holder by compare-and-set against the version the report judged, with the report's digest as the alias
  event's evidence (``Registry.rollback_on_evidence``: never twice on one report, never onto a version
  that failed its checks). Only while the rule is still open at the end of the evaluation.
- ``retrain``: ``mlgate run`` in the project, a GitHub ``workflow_dispatch`` or a GitLab pipeline trigger
  (``monitor.retrain``), once per firing, also only while the rule is open.

A refused or failed act is logged with the reason and never raised: the other rules and acts still run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.config.monitor import GITHUB_TOKEN_VARIABLES, GITLAB_TRIGGER_TOKEN_VARIABLE
from mlgate.errors import CheckFailed, ConfigError, EnvironmentProblem, UsageError
from mlgate.monitor.alerts import Alert, deliver
from mlgate.monitor.rules import Judgement, Transition, check_rules, judge, state_key
from mlgate.registry.monitoring import MonitorEvent

if TYPE_CHECKING:
    from mlgate.config.sections import MonitorConfig, RetrainConfig, WebhookConfig
    from mlgate.monitor.report import MonitorReport
    from mlgate.registry.store import Registry

DEFAULT_GITHUB_API = "https://api.github.com"
DEFAULT_GITLAB_API = "https://gitlab.com/api/v4"
GITLAB_TRIGGER_TOKEN = GITLAB_TRIGGER_TOKEN_VARIABLE  # what Settings.monitor_environ reads, too
GITHUB_TOKENS = GITHUB_TOKEN_VARIABLES
RUN_OUTPUT_CHARS = 2000


@dataclass(frozen=True)
class Retry:
    """How webhooks are retried (tests shorten it)."""

    attempts: int = 4
    backoff: float = 0.5
    max_backoff: float = 30.0
    timeout: float = 10.0


@dataclass
class Evaluation:
    """One evaluation of the rules: each rule's judgement, the evidence and what was done."""

    subject: str
    evidence: str | None
    judgements: list[Judgement]
    events: list[MonitorEvent] = field(default_factory=list)

    @property
    def firing(self) -> list[str]:
        """The rules open after this evaluation."""
        return [j.rule.name for j in self.judgements if j.firing]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return {
            "subject": self.subject,
            "evidence": self.evidence,
            "firing": self.firing,
            "rules": [
                {
                    "name": j.rule.name,
                    "condition": j.rule.condition,
                    "for": j.rule.windows,
                    "severity": j.rule.severity,
                    "streak": j.state.streak,
                    "open": j.state.open,
                    "last_value": j.value,
                    "windows_judged": j.judged,
                    "transitions": [
                        {"kind": t.kind, "window_end": _iso(t.window_end), "value": t.value} for t in j.transitions
                    ],
                }
                for j in self.judgements
            ],
            "events": [e.to_dict() for e in self.events],
        }

    def to_markdown(self) -> str:
        """A Markdown section: each rule's state, then what was done."""
        lines = [
            "## Rules",
            "",
            "| rule | condition | for | streak | state | last value |",
            "|---|---|---:|---:|---|---:|",
        ]
        for j in self.judgements:
            state = "**firing**" if j.firing else "ok"
            value = "-" if j.value is None else f"{j.value:g}"
            lines.append(
                f"| {j.rule.name} | `{j.rule.condition}` | {j.rule.windows} | {j.state.streak} | {state} | {value} |"
            )
        if self.events:
            lines += ["", "| act | rule | target | status | detail |", "|---|---|---|---|---|"]
            lines += [f"| {e.action} | {e.rule} | {e.target} | {e.status} | {e.detail or ''} |" for e in self.events]
        return "\n".join(lines) + "\n"


def check_secrets(config: MonitorConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """``{webhook name: secret}``; a webhook whose ``secret_env`` is unset is an EnvironmentProblem (exit 3)."""
    out = {}
    for hook in config.webhooks:
        if hook.secret_env is None:
            continue
        secret = environ.get(hook.secret_env)
        if not secret:
            raise EnvironmentProblem(
                f"{hook.where}: monitor.webhooks.{hook.name} is signed with ${hook.secret_env}, which is not set",
                hint=f"export {hook.secret_env}=… (the secret the receiver verifies with)",
            )
        out[hook.name] = secret
    return out


def report_evidence(report: MonitorReport, registry: Registry) -> str:
    """Store the report (without the run's cache counters, so the same windows give the same bytes) as a
    blob; its digest is the evidence acts name."""
    doc = report.to_dict()
    doc.pop("files_read", None)
    doc.pop("files_cached", None)
    return registry.put_blob(json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str).encode())


def apply_rules(
    report: MonitorReport,
    config: MonitorConfig,
    *,
    registry: Registry,
    until: dt.datetime,
    environ: Mapping[str, str],
    root: Path | None = None,
    act: bool = True,
    retry: Retry = Retry(),
) -> Evaluation:
    """Judge the rules on ``report``'s whole windows up to ``until``, act on what fired or resolved, save."""
    check_rules(config.rules)
    subject = report.model
    secrets = check_secrets(config, environ) if act else {}
    states = registry.monitor_states(subject)
    judgements = judge(config.rules, report, states, until=until)
    moved = any(j.transitions for j in judgements)
    evidence = report_evidence(report, registry) if moved and act else None
    evaluation = Evaluation(subject, evidence, judgements)
    for j in judgements:
        for t in j.transitions:
            if act and evidence is not None:
                evaluation.events += _act(t, j, report, config, registry, evidence, secrets, environ, root, retry)
    if act:
        for j in judgements:
            if j.firing and not j.transitions and "alert" in j.rule.actions:
                sent = _redeliver(j, report, config, registry, secrets, retry, evidence)
                evaluation.events += sent
                if sent and evaluation.evidence is None:
                    evaluation.evidence = evidence = sent[0].evidence
    final = {}
    for j in judgements:
        st = j.state
        if not st.open:
            st = replace(st, evidence=None)
        elif any(t.kind == "fired" for t in j.transitions):
            st = replace(st, evidence=evidence)
        final[state_key(j.rule)] = st  # an edited condition is another state: it starts fresh
    if act:  # a dry run (--no-actions) judges without remembering, so the next real pass acts
        registry.save_monitor_states(subject, final)
    return evaluation


def _act(
    t: Transition,
    j: Judgement,
    report: MonitorReport,
    config: MonitorConfig,
    registry: Registry,
    evidence: str,
    secrets: Mapping[str, str],
    environ: Mapping[str, str],
    root: Path | None,
    retry: Retry,
) -> list[MonitorEvent]:
    rule = t.rule
    out: list[MonitorEvent] = []
    last = t is j.transitions[-1]
    if "alert" in rule.actions:
        alert = Alert(
            "firing" if t.kind == "fired" else "resolved",
            rule.name,
            rule.condition,
            rule.severity,
            report.model,
            report.version,
            t.value,
            t.streak,
            _iso(t.window_start),
            _iso(t.window_end),
            evidence,
            tuple(a for a in rule.actions if a != "alert"),
            t.describe(),
        )
        for hook in config.webhooks:
            out += _alert(
                hook, alert, registry, secrets.get(hook.name), retry, "alert" if t.kind == "fired" else "resolve"
            )
    if t.kind != "fired" or not (last and j.firing):
        return out  # a rollback or retrain acts on a condition that still holds
    if "rollback" in rule.actions:
        out += _logged(registry, _rollback(t, report, registry, evidence))
    if "retrain" in rule.actions and config.retrain is not None:
        out += _logged(registry, _retrain(t, report, config.retrain, evidence, environ, root))
    return out


def _redeliver(
    j: Judgement,
    report: MonitorReport,
    config: MonitorConfig,
    registry: Registry,
    secrets: Mapping[str, str],
    retry: Retry,
    evidence: str | None,
) -> list[MonitorEvent]:
    """An open rule whose firing alert a webhook never got (failed after its retries) is sent again, with
    the delivery id of the first try, until one succeeds: a webhook down for a while still hears of it."""
    from mlgate.monitor.rules import figure, stamp

    st, rule = j.state, j.rule
    log = registry.monitor_events(report.model, limit=1000)
    failed = []
    for hook in config.webhooks:
        last = next((e for e in log if (e.rule, e.action, e.target) == (rule.name, "alert", hook.name)), None)
        if last is not None and last.status == "failed":
            failed.append(hook)
    fired = next((w for w in report.windows if w.window.end == st.opened_at), None)
    value = None if fired is None else figure(fired, rule.figure)
    if not failed or fired is None or value is None:
        return []
    evidence = evidence or report_evidence(report, registry)
    alert = Alert(
        "firing", rule.name, rule.condition, rule.severity, report.model, report.version, value, st.streak,
        _iso(fired.window.start), _iso(fired.window.end), evidence,
        tuple(a for a in rule.actions if a != "alert"),
        f"{rule.name}: {rule.condition} held up to {stamp(fired.window.end)} (sent again)",
    )  # fmt: skip
    out: list[MonitorEvent] = []
    for hook in failed:
        out += _alert(hook, alert, registry, secrets.get(hook.name), retry, "alert")
    return out


def _logged(registry: Registry, event: MonitorEvent) -> list[MonitorEvent]:
    stored = registry.record_monitor_event(event)
    return [stored] if stored is not None else []


def _alert(
    hook: WebhookConfig, alert: Alert, registry: Registry, secret: str | None, retry: Retry, action: str
) -> list[MonitorEvent]:
    probe = MonitorEvent(alert.subject, alert.rule, action, hook.name, alert.evidence, "pending")
    if _already(registry, probe):
        return []  # this alert on this evidence went out already (a rerun over the same windows)
    d = deliver(
        hook.name,
        hook.url,
        alert,
        fmt=hook.format,
        secret=secret,
        attempts=retry.attempts,
        backoff=retry.backoff,
        max_backoff=retry.max_backoff,
        timeout=retry.timeout,
    )
    event = replace(probe, status="delivered" if d.delivered else "failed", attempts=d.attempts, detail=d.detail)
    return _logged(registry, event)


def _already(registry: Registry, probe: MonitorEvent) -> bool:
    return any(
        (e.rule, e.action, e.target, e.evidence) == (probe.rule, probe.action, probe.target, probe.evidence)
        for e in registry.monitor_events(probe.subject, limit=1000)
    )


def _rollback(t: Transition, report: MonitorReport, registry: Registry, evidence: str) -> MonitorEvent:
    from mlgate.errors import ConflictError
    from mlgate.refs import parse_ref

    subject = report.model
    event = MonitorEvent(subject, t.rule.name, "rollback", "-", evidence, "refused")
    ref = parse_ref(subject)
    if ref.alias is None:
        return replace(event, detail=f"{subject} names no alias, so there is nothing to roll back")
    number = int(report.version.rpartition(":")[2])
    event = replace(event, target=ref.alias)
    try:
        moved = registry.rollback_on_evidence(
            ref.name, ref.alias, expect=number, evidence=evidence, reason=f"monitor: {t.describe()}"
        )
    except (CheckFailed, UsageError) as exc:  # ConflictError is a CheckFailed: someone moved it first
        kind = "moved meanwhile" if isinstance(exc, ConflictError) else "refused"
        return replace(event, detail=f"{kind}: {exc.message}")
    return replace(
        event, status="done", detail=f"{subject}: {ref.name}:{moved.from_number} → {ref.name}:{moved.to_number}"
    )


def _retrain(
    t: Transition,
    report: MonitorReport,
    retrain: RetrainConfig,
    evidence: str,
    environ: Mapping[str, str],
    root: Path | None,
) -> MonitorEvent:
    event = MonitorEvent(report.model, t.rule.name, "retrain", retrain.kind, evidence, "failed")
    reason = f"mlgate monitor: {t.describe()} (evidence {evidence})"
    try:
        if retrain.kind == "run":
            detail = run_pipeline(retrain.targets, root=root)
        elif retrain.kind == "github":
            detail = dispatch_github(retrain, environ)
        else:
            detail = trigger_gitlab(retrain, environ, reason=reason)
    except (EnvironmentProblem, UsageError, ConfigError, CheckFailed) as exc:
        return replace(event, detail=exc.message)
    return replace(event, status="done", detail=detail)


def run_pipeline(targets: Sequence[str], *, root: Path | None) -> str:
    """``mlgate run [TARGETS]`` in the project folder; CheckFailed with the output's tail when it fails."""
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "mlgate", "run", *targets]
    done = subprocess.run(cmd, cwd=root, capture_output=True, text=True, check=False)
    tail = (done.stdout + done.stderr)[-RUN_OUTPUT_CHARS:].strip()
    if done.returncode != 0:
        raise CheckFailed(f"mlgate run exited {done.returncode}: {tail}")
    return f"mlgate run {' '.join(targets)}".strip() + " finished"


def dispatch_github(retrain: RetrainConfig, environ: Mapping[str, str]) -> str:
    """``workflow_dispatch`` of ``retrain.workflow`` on ``retrain.ref`` (POST …/dispatches; GitHub answers 204)."""
    import urllib.parse

    token = _token(environ, (retrain.token_env,) if retrain.token_env else GITHUB_TOKENS, "GitHub")
    api = (retrain.api_url or DEFAULT_GITHUB_API).rstrip("/")
    workflow = urllib.parse.quote(str(retrain.workflow), safe="")
    url = f"{api}/repos/{retrain.repository}/actions/workflows/{workflow}/dispatches"
    headers = {
        "Accept": "application/vnd.github+json",
        "Authorization": f"Bearer {token}",
        "X-GitHub-Api-Version": "2022-11-28",
        "Content-Type": "application/json",
    }
    status = _post(url, json.dumps({"ref": retrain.ref}).encode(), headers, "GitHub workflow_dispatch")
    return f"dispatched {retrain.workflow} on {retrain.repository}@{retrain.ref} (HTTP {status})"


def trigger_gitlab(retrain: RetrainConfig, environ: Mapping[str, str], *, reason: str) -> str:
    """A pipeline trigger (POST /projects/:id/trigger/pipeline with a trigger token; GitLab answers 201)."""
    import urllib.parse

    token = _token(environ, (retrain.token_env or GITLAB_TRIGGER_TOKEN,), "GitLab pipeline trigger")
    api = (retrain.api_url or DEFAULT_GITLAB_API).rstrip("/")
    project = urllib.parse.quote(str(retrain.repository), safe="")
    url = f"{api}/projects/{project}/trigger/pipeline"
    form = urllib.parse.urlencode(
        {"token": token, "ref": retrain.ref, "variables[MLGATE_RETRAIN_REASON]": reason[:1000]}
    ).encode()
    status = _post(url, form, {"Content-Type": "application/x-www-form-urlencoded"}, "GitLab pipeline trigger")
    return f"triggered a pipeline of {retrain.repository}@{retrain.ref} (HTTP {status})"


def _token(environ: Mapping[str, str], names: Sequence[str | None], what: str) -> str:
    for name in names:
        if name and environ.get(name):
            return environ[name]
    shown = " or ".join(f"${n}" for n in names if n)
    raise EnvironmentProblem(f"no token for the {what}: {shown} is not set")


def _post(url: str, data: bytes, headers: dict[str, str], what: str, timeout: float = 30.0) -> int:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        text = exc.read(500).decode("utf-8", "replace")
        raise EnvironmentProblem(f"{what} refused: HTTP {exc.code} {exc.reason}: {text}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise EnvironmentProblem(f"{what}: cannot reach {url.split('?')[0]}: {getattr(exc, 'reason', exc)}") from None


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
