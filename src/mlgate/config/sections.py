"""The typed sections of ``mlgate.yaml``: each one checked once, the first time it is read.

``Settings.model``, ``.data``, ``.gates``, ``.pipeline``, ``.serve``, ``.promote``, ``.trust``, ``.monitor``,
``.delivery`` (and ``.server``, still empty) are built from the parsed file and its line map. A section is
parsed when it is first read, not when the file is loaded, so a command pays only for the sections it uses,
and a mistake in one section does not stop a command that never reads it. Every error names the file, the
line and the key path (``mlgate.yaml:7: promote.protected must be …``).

The shared helpers (:class:`ConfigFile`, the type checks, :func:`seconds`) are in :mod:`mlgate.config.parse`;
``monitor:`` is in :mod:`mlgate.config.monitor` and ``delivery:`` in :mod:`mlgate.config.delivery`. Their
names are re-exported here, where they were first defined.

Plain frozen dataclasses, not pydantic: see the Decisions in ARCHITECTURE.md (import cost, our line map).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.config.delivery import ANALYSIS_KEYS as ANALYSIS_KEYS
from mlgate.config.delivery import DELIVERY_KEYS as DELIVERY_KEYS
from mlgate.config.delivery import AnalysisConfig as AnalysisConfig
from mlgate.config.delivery import DeliveryConfig as DeliveryConfig
from mlgate.config.monitor import MONITOR_KEYS as MONITOR_KEYS
from mlgate.config.monitor import OPERATORS as OPERATORS
from mlgate.config.monitor import RETRAIN_KINDS as RETRAIN_KINDS
from mlgate.config.monitor import RULE_ACTIONS as RULE_ACTIONS
from mlgate.config.monitor import RULE_KEYS as RULE_KEYS
from mlgate.config.monitor import SEVERITIES as SEVERITIES
from mlgate.config.monitor import WEBHOOK_FORMATS as WEBHOOK_FORMATS
from mlgate.config.monitor import MonitorConfig as MonitorConfig
from mlgate.config.monitor import RetrainConfig as RetrainConfig
from mlgate.config.monitor import RuleConfig as RuleConfig
from mlgate.config.monitor import WebhookConfig as WebhookConfig
from mlgate.config.parse import CONFIG_NAME as CONFIG_NAME
from mlgate.config.parse import DURATION_UNITS as DURATION_UNITS
from mlgate.config.parse import ConfigFile as ConfigFile
from mlgate.config.parse import KeyPath as KeyPath
from mlgate.config.parse import name_list as _names
from mlgate.config.parse import optional_str as _optional_str
from mlgate.config.parse import seconds as seconds
from mlgate.config.parse import section_mapping as _mapping
from mlgate.errors import ConfigError

RELEASE_ALIAS = "production"  # the same as mlgate.registry.types.RELEASE_ALIAS, without importing the registry
EXECUTORS = ("local", "ray")


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


@dataclass(frozen=True)
class ServerConfig:
    """Room for ``server:`` (not a known key yet)."""

    options: Mapping[str, Any] = field(default_factory=dict)
