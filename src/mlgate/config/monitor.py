"""``monitor:`` in ``mlgate.yaml``: the rules ``mlgate monitor`` judges, the webhooks alerts go to, the retrain target.

:class:`MonitorConfig` is read as ``settings.monitor``; :class:`RuleConfig` (``when: drift.share > 0.3``
held ``for`` windows), :class:`WebhookConfig` and :class:`RetrainConfig` are its parts. Each error names
``mlgate.yaml:LINE`` and the key path (``monitor.rules[0].for``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlgate.config.parse import ConfigFile, name_list, section_mapping
from mlgate.errors import ConfigError

MONITOR_KEYS = ("retention", "rules", "webhooks", "retrain")
RULE_KEYS = ("name", "when", "for", "severity", "actions")
SEVERITIES = ("info", "warning", "critical")
RULE_ACTIONS = ("alert", "rollback", "retrain")
OPERATORS = (">=", "<=", "==", "!=", ">", "<")  # two-character ones first: ">=" is not ">" then "=0.3"
WEBHOOK_FORMATS = ("json", "slack")
RETRAIN_KINDS = ("run", "github", "gitlab")
# the variables a retrain reads its token from when monitor.retrain names no token_env
GITHUB_TOKEN_VARIABLES = ("MLGATE_GITHUB_TOKEN", "GITHUB_TOKEN")
GITLAB_TRIGGER_TOKEN_VARIABLE = "MLGATE_GITLAB_TRIGGER_TOKEN"


@dataclass(frozen=True)
class RuleConfig:
    """One ``monitor.rules`` entry: ``when: drift.share > 0.3``, held ``for`` windows in a row.

    ``where`` is ``mlgate.yaml:12`` (the rule's line) and ``key`` is ``monitor.rules[0]``, for messages.
    """

    name: str
    figure: str
    op: str
    threshold: float
    windows: int
    severity: str
    actions: tuple[str, ...]
    where: str = ""
    key: str = ""

    @property
    def condition(self) -> str:
        """``drift.share > 0.3``."""
        return f"{self.figure} {self.op} {self.threshold:g}"

    def holds(self, value: float) -> bool:
        """Whether ``value`` meets the condition."""
        return {
            ">": value > self.threshold,
            ">=": value >= self.threshold,
            "<": value < self.threshold,
            "<=": value <= self.threshold,
            "==": value == self.threshold,
            "!=": value != self.threshold,
        }[self.op]


@dataclass(frozen=True)
class WebhookConfig:
    """One ``monitor.webhooks`` entry: where alerts go, in which body format, signed with which secret.

    ``secret_env`` names the environment variable holding the HMAC secret (never the secret itself).
    """

    name: str
    url: str
    format: str = "json"
    secret_env: str | None = None
    where: str = ""


@dataclass(frozen=True)
class RetrainConfig:
    """``monitor.retrain``: ``run`` (``mlgate run`` here), ``github`` (workflow_dispatch) or ``gitlab``
    (a pipeline trigger). ``repository`` is owner/name (GitHub) or the project path or id (GitLab)."""

    kind: str
    repository: str | None = None
    workflow: str | None = None
    ref: str = "main"
    api_url: str | None = None
    token_env: str | None = None
    targets: tuple[str, ...] = ()
    where: str = ""


@dataclass(frozen=True)
class MonitorConfig:
    """``monitor:`` — ``retention`` (read by ``serve.logfiles``), ``rules``, ``webhooks`` and ``retrain``."""

    options: Mapping[str, Any] = field(default_factory=dict)
    rules: tuple[RuleConfig, ...] = ()
    webhooks: tuple[WebhookConfig, ...] = ()
    retrain: RetrainConfig | None = None
    file: ConfigFile = field(default_factory=ConfigFile, repr=False)

    def variables(self) -> tuple[str, ...]:
        """The environment variables the acts read: each webhook's ``secret_env`` and the retrain's token."""
        names = [h.secret_env for h in self.webhooks if h.secret_env]
        if self.retrain is not None and self.retrain.kind == "github":
            names += [self.retrain.token_env] if self.retrain.token_env else list(GITHUB_TOKEN_VARIABLES)
        elif self.retrain is not None and self.retrain.kind == "gitlab":
            names.append(self.retrain.token_env or GITLAB_TRIGGER_TOKEN_VARIABLE)
        return tuple(dict.fromkeys(names))

    @classmethod
    def parse(cls, value: object, file: ConfigFile) -> MonitorConfig:
        """Check ``monitor:``: every rule, webhook and the retrain target, errors naming file:line and key."""
        section = section_mapping(value, file, "monitor", "monitor must be a mapping, e.g. monitor: {retention: 30d}")
        for key in section:
            if key not in MONITOR_KEYS:
                raise ConfigError(
                    f"{file.line_of('monitor', key)}: unknown key monitor.{key}",
                    hint=f"monitor takes {', '.join(MONITOR_KEYS)}",
                )
        rules = section.get("rules")
        if rules is not None and not isinstance(rules, list):
            raise ConfigError(f"{file.line_of('monitor', 'rules')}: monitor.rules must be a list of rules")
        parsed = tuple(_rule(r, i, file) for i, r in enumerate(rules or []))
        seen: set[str] = set()
        for r in parsed:
            if r.name in seen:
                raise ConfigError(f"{r.where}: {r.key}: two rules are named {r.name!r}", hint="give each a name:")
            seen.add(r.name)
        hooks = section.get("webhooks")
        if hooks is not None and not isinstance(hooks, dict):
            raise ConfigError(
                f"{file.line_of('monitor', 'webhooks')}: monitor.webhooks must map names to webhooks, "
                "e.g. {oncall: {url: https://…, format: slack}}"
            )
        webhooks = tuple(_webhook(str(n), h, file) for n, h in (hooks or {}).items())
        retrain = _retrain(section["retrain"], file) if section.get("retrain") is not None else None
        for r in parsed:
            if "alert" in r.actions and not webhooks:
                raise ConfigError(
                    f"{r.where}: {r.key} alerts, but monitor.webhooks names no webhook", hint="add monitor.webhooks"
                )
            if "retrain" in r.actions and retrain is None:
                raise ConfigError(
                    f"{r.where}: {r.key} retrains, but monitor.retrain is not set",
                    hint="add monitor.retrain: {run: true} or a github/gitlab target",
                )
        return cls(dict(section), parsed, webhooks, retrain, file)


def _rule(value: object, i: int, file: ConfigFile) -> RuleConfig:
    key = f"monitor.rules[{i}]"
    where = file.line_of("monitor", "rules", i)
    example = "{when: drift.share > 0.3, for: 3, severity: critical, actions: [alert]}"
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key} must be a mapping such as {example}, got {value!r}")
    for k in value:
        if k not in RULE_KEYS:
            raise ConfigError(
                f"{file.line_of('monitor', 'rules', i, k)}: unknown key {key}.{k}", hint=f"a rule takes {RULE_KEYS}"
            )
    when = value.get("when")
    if not isinstance(when, str):
        raise ConfigError(f"{where}: {key}.when must be a condition such as 'drift.share > 0.3', got {when!r}")
    figure, op, threshold = _condition(when, file.line_of("monitor", "rules", i, "when"), key)
    name = value.get("name", when)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{file.line_of('monitor', 'rules', i, 'name')}: {key}.name must be text, got {name!r}")
    windows = value.get("for", 1)
    if isinstance(windows, str) and windows.strip().removesuffix("windows").removesuffix("window").strip().isdigit():
        windows = int(windows.strip().removesuffix("windows").removesuffix("window"))
    if isinstance(windows, bool) or not isinstance(windows, int) or windows < 1:
        raise ConfigError(
            f"{file.line_of('monitor', 'rules', i, 'for')}: {key}.for must be a number of windows of at least 1 "
            f"(for: 3), got {windows!r}"
        )
    severity = value.get("severity", "warning")
    if severity not in SEVERITIES:
        raise ConfigError(
            f"{file.line_of('monitor', 'rules', i, 'severity')}: {key}.severity must be one of "
            f"{', '.join(SEVERITIES)}, got {severity!r}"
        )
    actions = value.get("actions", ["alert"])
    if isinstance(actions, str):
        actions = [actions]
    if not isinstance(actions, list) or not all(a in RULE_ACTIONS for a in actions):
        raise ConfigError(
            f"{file.line_of('monitor', 'rules', i, 'actions')}: {key}.actions must be a list of "
            f"{', '.join(RULE_ACTIONS)}, got {actions!r}"
        )
    return RuleConfig(name.strip(), figure, op, threshold, windows, severity, tuple(actions), where, key)


def _condition(text: str, where: str, key: str) -> tuple[str, str, float]:
    """``drift.share > 0.3`` → ``("drift.share", ">", 0.3)``."""
    import math
    import re

    for op in OPERATORS:
        figure, sep, number = text.partition(op)
        if not sep:
            continue
        figure = figure.strip()
        try:
            threshold = float(number.strip())
        except ValueError:
            threshold = math.nan
        if re.fullmatch(r"[a-z_]+(\.[a-z0-9_]+)+", figure) and math.isfinite(threshold):
            return figure, op, threshold
        break
    raise ConfigError(
        f"{where}: {key}.when must be FIGURE OPERATOR NUMBER such as 'drift.share > 0.3' or "
        f"'latency.p95_ms >= 50', got {text!r}"
    )


def _webhook(name: str, value: object, file: ConfigFile) -> WebhookConfig:
    where = file.line_of("monitor", "webhooks", name)
    key = f"monitor.webhooks.{name}"
    if isinstance(value, str):
        value = {"url": value}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key} must be a mapping such as {{url: https://…, format: slack}}")
    for k in value:
        if k not in ("url", "format", "secret_env"):
            raise ConfigError(f"{file.line_of('monitor', 'webhooks', name, k)}: unknown key {key}.{k}")
    url = value.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}: {key}.url must be an http(s) URL, got {url!r}")
    fmt = value.get("format", "json")
    if fmt not in WEBHOOK_FORMATS:
        raise ConfigError(f"{where}: {key}.format must be json or slack, got {fmt!r}")
    secret = value.get("secret_env")
    if secret is not None and (not isinstance(secret, str) or not secret.isidentifier()):
        raise ConfigError(
            f"{where}: {key}.secret_env must name an environment variable (MLGATE_WEBHOOK_SECRET), got {secret!r}",
            hint="the secret itself never goes in mlgate.yaml",
        )
    return WebhookConfig(name, url, fmt, secret, where)


def _retrain(value: object, file: ConfigFile) -> RetrainConfig:
    where = file.line_of("monitor", "retrain")
    example = "{run: true}, {github: {repository: owner/name, workflow: train.yml}} or {gitlab: {project: group/name}}"
    if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in RETRAIN_KINDS:
        raise ConfigError(f"{where}: monitor.retrain must be one of {example}, got {value!r}")
    kind, spec = next(iter(value.items()))
    if kind == "run":
        if spec is True:
            return RetrainConfig("run", where=where)
        if isinstance(spec, dict) and set(spec) <= {"targets"}:
            return RetrainConfig(
                "run", targets=name_list(spec.get("targets"), file, "monitor", "retrain", "run", "targets"), where=where
            )
        raise ConfigError(f"{where}: monitor.retrain.run must be true or {{targets: [stage, …]}}, got {spec!r}")
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: monitor.retrain.{kind} must be a mapping, e.g. {example}")
    repo_key = "repository" if kind == "github" else "project"
    allowed = {repo_key, "ref", "api_url", "token_env"} | ({"workflow"} if kind == "github" else set())
    for k in spec:
        if k not in allowed:
            raise ConfigError(
                f"{file.line_of('monitor', 'retrain', kind, k)}: unknown key monitor.retrain.{kind}.{k}",
                hint=f"it takes {', '.join(sorted(allowed))}",
            )
    repo = spec.get(repo_key)
    if not isinstance(repo, (str, int)) or not str(repo).strip():
        raise ConfigError(f"{where}: monitor.retrain.{kind}.{repo_key} is required (owner/name or group/project)")
    workflow = spec.get("workflow")
    if kind == "github" and not isinstance(workflow, (str, int)):
        raise ConfigError(f"{where}: monitor.retrain.github.workflow is required (the workflow file, e.g. mlgate.yml)")
    texts = {k: spec.get(k) for k in ("ref", "api_url", "token_env")}
    for k, v in texts.items():
        if v is not None and not isinstance(v, str):
            raise ConfigError(f"{file.line_of('monitor', 'retrain', kind, k)}: monitor.retrain.{kind}.{k} must be text")
    return RetrainConfig(
        kind,
        repository=str(repo),
        workflow=None if workflow is None else str(workflow),
        ref=texts["ref"] or "main",
        api_url=texts["api_url"],
        token_env=texts["token_env"],
        where=where,
    )
