"""The typed sections of ``mlgate.yaml``: each one checked once, the first time it is read.

``Settings.model``, ``.data``, ``.gates``, ``.pipeline``, ``.serve``, ``.promote``, ``.trust`` (and
``.monitor``, ``.delivery``, ``.server``, still empty) are built here from the parsed file and its line
map. A section is parsed when it is first read, not when the file is loaded, so a command pays only for
the sections it uses, and a mistake in one section does not stop a command that never reads it. Every
error names the file, the line and the key path (``mlgate.yaml:7: promote.protected must be …``).

Plain frozen dataclasses, not pydantic: see the Decisions in ARCHITECTURE.md (import cost, our line map).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.errors import ConfigError

CONFIG_NAME = "mlgate.yaml"
RELEASE_ALIAS = "production"  # the same as mlgate.registry.types.RELEASE_ALIAS, without importing the registry
EXECUTORS = ("local", "ray")

KeyPath = tuple[str | int, ...]


@dataclass(frozen=True)
class ConfigFile:
    """Where a section came from: the file (None without one) and the line of each key path."""

    path: Path | None = None
    lines: Mapping[KeyPath, int] = field(default_factory=dict, repr=False)

    def line_of(self, *key: str | int) -> str:
        """``mlgate.yaml:12`` for a key path, or just the file name when the line is unknown."""
        name = str(self.path) if self.path else CONFIG_NAME
        line = self.lines.get(tuple(key))
        return f"{name}:{line}" if line else name


def _mapping(value: object, file: ConfigFile, key: str, message: str) -> Mapping[str, Any]:
    """A section that must be a mapping (absent or null: empty); ``message`` says so, after the line."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{file.line_of(key)}: {message}")
    return value


def _names(value: object, file: ConfigFile, *key: str) -> tuple[str, ...]:
    """A list of names (absent: empty)."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{file.line_of(*key)}: {'.'.join(key)} must be a list of names, got {value!r}")
    return tuple(value)


def _optional_str(section: Mapping[str, Any], file: ConfigFile, section_key: str, key: str, what: str) -> str | None:
    value = section.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{file.line_of(section_key, key)}: {section_key}.{key} must be {what}, got {value!r}")
    return value


@dataclass(frozen=True)
class ModelConfig:
    """``model:`` — the model this project trains and registers (``{name: fraud}``)."""

    name: str | None = None

    @classmethod
    def parse(cls, value: object, file: ConfigFile) -> ModelConfig:
        """Check ``model:``; absent gives a config without a name."""
        if value is None:
            return cls()
        if not isinstance(value, dict) or not isinstance(value.get("name"), str):
            raise ConfigError(f"{file.line_of('model')}: model must be a mapping with a name, e.g. {{name: fraud}}")
        return cls(name=value["name"])


DATA_KEYS = ("train", "eval")


@dataclass(frozen=True)
class DataConfig:
    """``data:`` — the project's data files (paths as written, relative to the project folder) and target.

    ``validate``: the files ``mlgate ci`` and ``mlgate data validate`` check (None: ``train`` and ``eval``).
    ``task`` and ``positive`` tell the gate what the target is when the labels alone cannot.
    """

    train: str | None = None
    eval: str | None = None
    validate: tuple[str, ...] | None = None
    schema: str | None = None
    target: str | None = None
    task: str | None = None
    positive: Any = None
    golden: str | None = None
    file: ConfigFile = field(default_factory=ConfigFile, repr=False)
    validate_listed: bool = False  # data.validate written as a list (errors then name data.validate[i])

    @classmethod
    def parse(cls, value: object, file: ConfigFile) -> DataConfig:
        """Check ``data:``; every path a string, ``validate`` a path or a list of them."""
        section = _mapping(value, file, "data", "data must be a mapping (train, eval, target, schema…)")
        paths = {k: _optional_str(section, file, "data", k, "a path") for k in (*DATA_KEYS, "schema", "golden")}
        listed = section.get("validate")
        validate: tuple[str, ...] | None
        if listed is None:
            validate = None
        elif isinstance(listed, str):
            validate = (listed,)
        elif isinstance(listed, list):
            for i, v in enumerate(listed):
                if not isinstance(v, str):
                    raise ConfigError(
                        f"{file.line_of('data', 'validate', i)}: data.validate[{i}] must be a path, got {v!r}"
                    )
            validate = tuple(listed)
        else:
            raise ConfigError(
                f"{file.line_of('data', 'validate')}: data.validate must be a path or a list of paths, got {listed!r}"
            )
        target = section.get("target")
        if target is not None and not isinstance(target, str):
            target = str(target)  # a numeric column name, as YAML reads `target: 0`
        return cls(
            train=paths["train"],
            eval=paths["eval"],
            validate=validate,
            schema=paths["schema"],
            target=target,
            task=_optional_str(section, file, "data", "task", "a task name such as binary or regression"),
            positive=section.get("positive"),
            golden=paths["golden"],
            file=file,
            validate_listed=isinstance(listed, list),
        )

    def line_of(self, *key: str | int) -> str:
        """``mlgate.yaml:3`` for ``("eval",)``: the line of ``data.<key>``."""
        return self.file.line_of("data", *key)

    def files_to_validate(self) -> list[tuple[str, KeyPath, str]]:
        """``(shown key, key path, path as written)``: ``data.validate`` when set, else train and eval."""
        if self.validate is not None:
            if self.validate_listed:
                return [(f"data.validate[{i}]", ("data", "validate", i), v) for i, v in enumerate(self.validate)]
            return [("data.validate", ("data", "validate"), self.validate[0])]
        named = ((k, getattr(self, k)) for k in DATA_KEYS)
        return [(f"data.{k}", ("data", k), v) for k, v in named if v is not None]


@dataclass(frozen=True)
class GatesConfig:
    """``gates:`` and ``waivers:`` as written (None when absent); ``mlgate.gates.spec`` parses the entries.

    Kept as written because the gate config digest (``gates.spec.config_digest``) hashes them so.
    """

    gates: Any = None
    waivers: Any = None

    @property
    def written(self) -> bool:
        """Whether ``gates:`` is in the file (otherwise the default gates of the task apply)."""
        return self.gates is not None


@dataclass(frozen=True)
class PipelineConfig:
    """``stages:`` (name → stage as written; ``mlgate.pipeline.spec`` checks each) and ``executor:``."""

    stages: Mapping[str, Any] = field(default_factory=dict)
    executor: str | None = None

    @classmethod
    def parse(cls, stages: object, executor: object, file: ConfigFile) -> PipelineConfig:
        """Check that ``stages`` is a mapping and ``executor`` one of :data:`EXECUTORS`."""
        if stages is not None and not isinstance(stages, dict):
            raise ConfigError(f"{file.line_of('stages')}: 'stages' must be a mapping of stage names to stages")
        if executor is not None and executor not in EXECUTORS:
            raise ConfigError(
                f"{file.line_of('executor')}: unknown executor {executor!r}",
                hint="use executor: local (the default) or executor: ray",
            )
        return cls(stages=stages or {}, executor=executor if isinstance(executor, str) else None)

    @property
    def has_stages(self) -> bool:
        """Whether ``stages:`` names at least one stage."""
        return bool(self.stages)


@dataclass(frozen=True)
class ServeConfig:
    """``serve:`` — ``log`` (the prediction-log folder, resolved against the project) and the rest as written."""

    log: Path | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, value: object, file: ConfigFile, root: Path) -> ServeConfig:
        """Check ``serve:``; ``log`` must be a folder path."""
        section = _mapping(value, file, "serve", "'serve' must be a mapping, e.g. serve: {log: logs/}")
        log = section.get("log")
        if log is not None and (not isinstance(log, str) or not log.strip()):
            raise ConfigError(f"{file.line_of('serve', 'log')}: 'serve.log' must be a folder path")
        return cls(log=(root / log).resolve() if log is not None else None, options=dict(section))


@dataclass(frozen=True)
class PromoteConfig:
    """``promote:`` — ``protected`` aliases (production by default) need a passing gate report;
    ``require_signature``: aliases (a list) or alias → key names (a mapping) that need a signed version."""

    protected: tuple[str, ...] = (RELEASE_ALIAS,)
    require_signature: tuple[str, ...] | Mapping[str, tuple[str, ...]] | None = None
    file: ConfigFile = field(default_factory=ConfigFile, repr=False)

    @classmethod
    def parse(cls, value: object, file: ConfigFile) -> PromoteConfig:
        """Check ``promote:``."""
        if value is not None and not isinstance(value, dict):
            raise ConfigError(
                f"{file.line_of('promote')}: promote must be a mapping such as {{protected: [production]}}"
            )
        section: Mapping[str, Any] = value or {}
        protected = section.get("protected", [RELEASE_ALIAS])
        if not isinstance(protected, list) or not all(isinstance(v, str) for v in protected):
            raise ConfigError(f"{file.line_of('promote', 'protected')}: promote.protected must be a list of aliases")
        return cls(tuple(protected), _require_signature(section.get("require_signature"), file), file)


def _require_signature(value: object, file: ConfigFile) -> tuple[str, ...] | Mapping[str, tuple[str, ...]] | None:
    where = file.line_of("promote", "require_signature")
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    if isinstance(value, dict):
        out: dict[str, tuple[str, ...]] = {}
        for alias, keys in value.items():
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise ConfigError(f"{where}: promote.require_signature.{alias} must be a list of key names")
            out[str(alias)] = tuple(keys)
        return out
    raise ConfigError(
        f"{where}: promote.require_signature must be a list of aliases or a mapping alias → key names, got {value!r}"
    )


@dataclass(frozen=True)
class TrustConfig:
    """``trust:`` — whose stored code may run (``run_code.models``, ``run_code.authors``) and the public
    keys signatures are checked against (``keys``: name → a file relative to mlgate.yaml, or base64)."""

    run_code_models: tuple[str, ...] = ()
    run_code_authors: tuple[str, ...] = ()
    keys: Mapping[str, Any] = field(default_factory=dict)
    file: ConfigFile = field(default_factory=ConfigFile, repr=False)

    @classmethod
    def parse(cls, value: object, file: ConfigFile) -> TrustConfig:
        """Check ``trust:``."""
        section = _mapping(value, file, "trust", "trust must be a mapping")
        run_code = section.get("run_code")
        if run_code is not None and not isinstance(run_code, dict):
            raise ConfigError(f"{file.line_of('trust', 'run_code')}: trust.run_code must be a mapping")
        run_code = run_code or {}
        keys = section.get("keys")
        if keys is not None and not isinstance(keys, dict):
            raise ConfigError(
                f"{file.line_of('trust', 'keys')}: trust.keys must map key names to public keys (a file or base64 text)"
            )
        return cls(
            run_code_models=_names(run_code.get("models"), file, "trust", "run_code", "models"),
            run_code_authors=_names(run_code.get("authors"), file, "trust", "run_code", "authors"),
            keys={str(k): v for k, v in (keys or {}).items()},
            file=file,
        )


MONITOR_KEYS = ("retention", "rules", "webhooks", "retrain")
RULE_KEYS = ("name", "when", "for", "severity", "actions")
SEVERITIES = ("info", "warning", "critical")
RULE_ACTIONS = ("alert", "rollback", "retrain")
OPERATORS = (">=", "<=", "==", "!=", ">", "<")  # two-character ones first: ">=" is not ">" then "=0.3"
WEBHOOK_FORMATS = ("json", "slack")
RETRAIN_KINDS = ("run", "github", "gitlab")


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

    @classmethod
    def parse(cls, value: object, file: ConfigFile) -> MonitorConfig:
        """Check ``monitor:``: every rule, webhook and the retrain target, errors naming file:line and key."""
        section = _mapping(value, file, "monitor", "monitor must be a mapping, e.g. monitor: {retention: 30d}")
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
                "run", targets=_names(spec.get("targets"), file, "monitor", "retrain", "run", "targets"), where=where
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


DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
ANALYSIS_KEYS = (
    "alpha",
    "min_requests",
    "max_error_increase",
    "max_latency_ratio",
    "max_prediction_shift",
    "deadline",
)
DELIVERY_KEYS = ("steps", "pause", "analysis", "log", "analyses")


def seconds(value: object, what: str) -> float:
    """``90``, ``"30s"``, ``"10m"``, ``"1h"``, ``"1d"`` → seconds; ValueError naming ``what`` otherwise."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    text = str(value).strip()
    unit = DURATION_UNITS.get(text[-1:]) if text else None
    number = text[:-1] if unit else text
    try:
        out = float(number) * (unit or 1.0)
    except ValueError:
        out = -1.0
    if not out >= 0 or out == float("inf"):
        raise ValueError(f"{what} must be a duration such as 30s, 10m or 1h, got {value!r}")
    return out


@dataclass(frozen=True)
class AnalysisConfig:
    """One named analysis of ``delivery: analyses:``: how canary and stable are compared between steps.

    Each metric is a difference (canary − stable) with an always-valid confidence sequence at level
    ``alpha``: it passes when the whole sequence lies within the tolerance, fails when it lies wholly
    beyond, and waits otherwise. ``min_requests``: requests each side needs before any decision;
    ``max_error_increase``: error rate, absolute (0.01 = one point); ``max_latency_ratio``: the canary's
    geometric-mean latency over the stable's; ``max_prediction_shift``: the difference of mean predictions
    in standard deviations of the stable's (either way); ``deadline_s``: a step still inconclusive this long
    after it began aborts.
    """

    name: str = "default"
    alpha: float = 0.01
    min_requests: int = 200
    max_error_increase: float = 0.01
    max_latency_ratio: float = 1.25
    max_prediction_shift: float = 0.25
    deadline_s: float = 1800.0

    @classmethod
    def parse(cls, name: str, value: object, file: ConfigFile) -> AnalysisConfig:
        """Check one ``delivery.analyses.<name>`` mapping; absent keys keep the defaults."""
        key = ("delivery", "analyses", name)
        where = file.line_of(*key)
        if value is not None and not isinstance(value, dict):
            raise ConfigError(f"{where}: delivery.analyses.{name} must be a mapping of settings, got {value!r}")
        section: Mapping[str, Any] = value or {}
        unknown = sorted(set(map(str, section)) - set(ANALYSIS_KEYS))
        if unknown:
            raise ConfigError(
                f"{where}: delivery.analyses.{name} has unknown key {unknown[0]!r}",
                hint=f"known keys are: {', '.join(ANALYSIS_KEYS)}",
            )
        out: dict[str, Any] = {}

        def number(k: str, low: float, high: float, kind: type = float) -> None:
            if k not in section:
                return
            v = section[k]
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and low < v < high
            if not ok or (kind is int and not isinstance(v, int)):
                raise ConfigError(
                    f"{file.line_of(*key, k)}: delivery.analyses.{name}.{k} must be a"
                    f"{'n integer' if kind is int else ' number'} above {low:g}"
                    f"{f' and below {high:g}' if high != float('inf') else ''}, got {v!r}"
                )
            out[k] = kind(v)

        number("alpha", 0.0, 1.0)
        number("min_requests", 0, float("inf"), int)
        number("max_error_increase", 0.0, 1.0)
        number("max_latency_ratio", 1.0, float("inf"))
        number("max_prediction_shift", 0.0, float("inf"))
        if "deadline" in section:
            try:
                out["deadline_s"] = seconds(section["deadline"], f"delivery.analyses.{name}.deadline")
            except ValueError as exc:
                raise ConfigError(f"{file.line_of(*key, 'deadline')}: {exc}") from None
        return cls(name=name, **out)


@dataclass(frozen=True)
class DeliveryConfig:
    """``delivery:`` — rollout defaults (``steps`` in percent, ``pause`` between steps, the ``analysis`` used when
    ``--analysis`` is not given, ``log``: the prediction-log folder the analysis reads, ``serve.log`` by default)
    and the named ``analyses`` (``default`` is always there, with :class:`AnalysisConfig`'s defaults)."""

    steps: tuple[float, ...] = (5.0, 25.0, 50.0, 100.0)
    pause_s: float = 600.0
    analysis: str = "default"
    log: Path | None = None
    analyses: Mapping[str, AnalysisConfig] = field(default_factory=lambda: {"default": AnalysisConfig()})

    @classmethod
    def parse(cls, value: object, file: ConfigFile, root: Path, serve_log: Path | None = None) -> DeliveryConfig:
        """Check ``delivery:``; errors name the line and key path."""
        section = _mapping(value, file, "delivery", "delivery must be a mapping (steps, pause, analysis, analyses)")
        unknown = sorted(set(map(str, section)) - set(DELIVERY_KEYS))
        if unknown:
            raise ConfigError(
                f"{file.line_of('delivery', unknown[0])}: delivery has unknown key {unknown[0]!r}",
                hint=f"known keys are: {', '.join(DELIVERY_KEYS)}",
            )
        out: dict[str, Any] = {}
        steps = section.get("steps")
        if steps is not None:
            if not isinstance(steps, list) or not all(
                isinstance(s, (int, float)) and not isinstance(s, bool) for s in steps
            ):
                raise ConfigError(
                    f"{file.line_of('delivery', 'steps')}: delivery.steps must be a list of percentages, "
                    f"e.g. [5, 25, 50, 100], got {steps!r}"
                )
            out["steps"] = tuple(float(s) for s in steps)
        if "pause" in section:
            try:
                out["pause_s"] = seconds(section["pause"], "delivery.pause")
            except ValueError as exc:
                raise ConfigError(f"{file.line_of('delivery', 'pause')}: {exc}") from None
        log = _optional_str(section, file, "delivery", "log", "a folder path")
        out["log"] = (root / log).resolve() if log else serve_log
        named = _mapping(section.get("analyses"), file, "delivery", "delivery.analyses must map names to analyses")
        analyses = {"default": AnalysisConfig()}
        for name, spec in named.items():
            analyses[str(name)] = AnalysisConfig.parse(str(name), spec, file)
        out["analyses"] = analyses
        analysis = _optional_str(section, file, "delivery", "analysis", "the name of an analysis")
        if analysis is not None:
            if analysis not in analyses:
                raise ConfigError(
                    f"{file.line_of('delivery', 'analysis')}: delivery.analysis names {analysis!r}, "
                    "which delivery.analyses does not define",
                    hint=f"defined: {', '.join(sorted(analyses))}",
                )
            out["analysis"] = analysis
        return cls(**out)


@dataclass(frozen=True)
class ServerConfig:
    """Room for ``server:`` (not a known key yet)."""

    options: Mapping[str, Any] = field(default_factory=dict)
