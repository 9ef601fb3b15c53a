"""Settings: defaults → ``mlgate.yaml`` → ``MLGATE_*`` environment → arguments, resolved once.

Only this module reads the environment. Errors in ``mlgate.yaml`` name the file, the line and the
key path (``gates[2].max_drop``), so a user can jump straight to the mistake. The sections other modules
read are typed (:mod:`mlgate.config.sections`) and reached as properties of :class:`Settings`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from mlgate.config.sections import (
    CONFIG_NAME,
    ConfigFile,
    DataConfig,
    DeliveryConfig,
    GatesConfig,
    ModelConfig,
    MonitorConfig,
    PipelineConfig,
    PromoteConfig,
    ServeConfig,
    ServerConfig,
    TrustConfig,
)
from mlgate.config.yamlfile import read_yaml
from mlgate.errors import ConfigError

STATE_DIR = ".mlgate"
DEFAULT_BUSY_TIMEOUT_S = 30.0
MAX_BUSY_TIMEOUT_S = 86400.0  # a day: longer is a mistake, and milliseconds must fit SQLite's 32-bit int
# What `mlgate ci` reads from the CI system: where to write the job summary, which pull request to comment on.
CI_VARIABLES = (
    "GITHUB_STEP_SUMMARY",
    "GITHUB_REPOSITORY",
    "GITHUB_REF",
    "GITHUB_EVENT_PATH",
    "GITHUB_API_URL",
    "GITHUB_SERVER_URL",
    "GITHUB_RUN_ID",
    "GITHUB_BASE_REF",
    "GITLAB_CI",
    "CI_API_V4_URL",
    "CI_PROJECT_ID",
    "CI_PROJECT_URL",
    "CI_MERGE_REQUEST_IID",
    "CI_MERGE_REQUEST_TARGET_BRANCH_NAME",
    "CI_PIPELINE_URL",
)

# What `mlgate run` hands each stage command besides the resolved settings: the smoke mode, the merged smoke
# params, the registry the run records into (a stage may register nowhere else) and where a stage lists
# the versions it registered (so that the run cache can name them).
STAGE_VARIABLES = ("MLGATE_SMOKE", "MLGATE_PARAMS_FILE", "MLGATE_RUN_REGISTRY", "MLGATE_REGISTERED_FILE")

# Sections later parts of mlgate read; listed so that a typo in a top-level key is caught here.
KNOWN_KEYS = {
    "project",
    "registry",
    "artifacts",
    "s3",
    "sqlite_busy_timeout",
    "model",
    "data",
    "stages",
    "gates",
    "promote",
    "serve",
    "monitor",
    "executor",
    "waivers",
    "smoke",
    "ray_address",
    "trust",
    "delivery",
}


@dataclass(frozen=True)
class Settings:
    """Where the registry and the artifacts live, and the typed sections of ``mlgate.yaml``.

    The sections (``model``, ``data``, ``gates``, ``pipeline``, ``serve``, ``promote``, ``trust``,
    ``monitor``, ``delivery``, ``server``) are parsed from ``raw`` when first read, then kept: a
    ConfigError naming the file and line comes from the first read of a broken section.
    """

    root: Path
    registry: str
    artifacts: str
    config_path: Path | None = None
    s3_endpoint_url: str | None = None
    sqlite_busy_timeout: float = DEFAULT_BUSY_TIMEOUT_S
    project: str | None = None
    actor: str = "unknown"
    ray_address: str | None = None  # a Ray cluster for --engine/--executor ray; None starts a local Ray
    run_id: str | None = None  # MLGATE_RUN_ID: set by `mlgate run` for stage commands, recorded in lineage
    raw: Mapping[str, Any] = field(default_factory=dict)
    ci_env: Mapping[str, str] = field(default_factory=dict)  # the CI_VARIABLES that are set
    stage_env: Mapping[str, str] = field(default_factory=dict)  # the STAGE_VARIABLES that are set (in a stage)
    github_token: str | None = field(default=None, repr=False)  # MLGATE_GITHUB_TOKEN, then GITHUB_TOKEN
    gitlab_token: str | None = field(default=None, repr=False)  # MLGATE_GITLAB_TOKEN, then GITLAB_TOKEN
    lines: Mapping[tuple[str | int, ...], int] = field(default_factory=dict)
    # the environment as it was resolved, kept for the variables mlgate.yaml names (monitor.webhooks'
    # secret_env, monitor.retrain's token_env), which only the parsed sections know; read through
    # `monitor_environ`, never directly
    _environ: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    def __repr__(self) -> str:
        # a repr lands in tracebacks and unexpected-error messages: the registry URL keeps no password
        from dataclasses import fields

        from mlgate.redact import redact

        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return redact(f"Settings({shown})")

    def line_of(self, *path: str | int) -> str:
        """``mlgate.yaml:12`` for a key path, or just the file name when the line is unknown."""
        return self.file.line_of(*path)

    # cached_property writes the instance __dict__ directly, so it works on a frozen dataclass
    @cached_property
    def file(self) -> ConfigFile:
        """The ``mlgate.yaml`` this came from (None without one) and its line map."""
        return ConfigFile(self.config_path, self.lines)

    @cached_property
    def model(self) -> ModelConfig:
        """``model:`` (the model name)."""
        return ModelConfig.parse(self.raw.get("model"), self.file)

    @cached_property
    def data(self) -> DataConfig:
        """``data:`` (files, target, task); ``data.dataset.configured_dataset`` gives the eval Dataset."""
        return DataConfig.parse(self.raw.get("data"), self.file)

    @cached_property
    def gates(self) -> GatesConfig:
        """``gates:`` and ``waivers:`` as written; ``mlgate.gates.spec`` parses them."""
        return GatesConfig(self.raw.get("gates"), self.raw.get("waivers"))

    @cached_property
    def pipeline(self) -> PipelineConfig:
        """``stages:`` and ``executor:``."""
        return PipelineConfig.parse(self.raw.get("stages"), self.raw.get("executor"), self.file)

    @cached_property
    def serve(self) -> ServeConfig:
        """``serve:`` (``log`` resolved against the project folder)."""
        return ServeConfig.parse(self.raw.get("serve"), self.file, self.root)

    @cached_property
    def promote(self) -> PromoteConfig:
        """``promote:`` (protected aliases, required signatures)."""
        return PromoteConfig.parse(self.raw.get("promote"), self.file)

    @cached_property
    def trust(self) -> TrustConfig:
        """``trust:`` (who may run stored code, which public keys count)."""
        return TrustConfig.parse(self.raw.get("trust"), self.file)

    @cached_property
    def monitor(self) -> MonitorConfig:
        """``monitor:`` (retention, rules, webhooks, retrain)."""
        return MonitorConfig.parse(self.raw.get("monitor"), self.file)

    @cached_property
    def monitor_environ(self) -> dict[str, str]:
        """The variables ``monitor:`` names that are set: webhook secrets and the retrain's token.

        ``mlgate monitor`` signs alerts and starts retrains with these; a variable that is unset is left
        out, so the act that needs it says which one is missing.
        """
        return {name: self._environ[name] for name in self.monitor.variables() if self._environ.get(name)}

    @cached_property
    def delivery(self) -> DeliveryConfig:
        """``delivery:`` (rollout defaults and the named analyses; ``log`` defaults to ``serve.log``)."""
        return DeliveryConfig.parse(self.raw.get("delivery"), self.file, self.root, self.serve.log)

    @cached_property
    def server(self) -> ServerConfig:
        """Room for ``server:``."""
        return ServerConfig()


def find_config(start: Path) -> Path | None:
    """The nearest ``mlgate.yaml`` in ``start`` or one of its parents."""
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def load_settings(
    *,
    registry: str | None = None,
    artifacts: str | None = None,
    config: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings once: arguments beat ``MLGATE_*`` variables, which beat ``mlgate.yaml``."""
    env = os.environ if environ is None else environ
    here = Path(cwd or os.getcwd()).resolve()
    config_path: Path | None
    if config is not None:
        config_path = Path(config).resolve()
        if not config_path.is_file():
            raise ConfigError(f"config file {config_path} does not exist", hint="check the --config path")
    elif env.get("MLGATE_CONFIG"):
        config_path = Path(env["MLGATE_CONFIG"]).resolve()
        if not config_path.is_file():
            raise ConfigError(f"MLGATE_CONFIG points to {config_path}, which does not exist")
    else:
        config_path = find_config(here)
    data: dict[str, Any] = {}
    lines: dict[tuple[str | int, ...], int] = {}
    if config_path is not None:
        data, lines = read_yaml(config_path)
        unknown = sorted(set(map(str, data)) - KNOWN_KEYS)
        if unknown:
            key = unknown[0]
            raise ConfigError(
                f"{config_path}:{lines.get((key,), 1)}: unknown key {key!r}",
                hint=f"known keys are: {', '.join(sorted(KNOWN_KEYS))}",
            )
    root = config_path.parent if config_path else here

    def pick(arg: str | None, env_key: str, yaml_key: str, default: str | None) -> str | None:
        if arg is not None:
            return arg
        if env.get(env_key):
            return env[env_key]
        if yaml_key in data and data[yaml_key] is not None:
            value = data[yaml_key]
            if not isinstance(value, str):
                raise ConfigError(
                    f"{config_path}:{lines.get((yaml_key,), 1)}: {yaml_key!r} must be a string "
                    f"(a URL or a path), got {value!r}"
                )
            return value
        return default

    registry_url = pick(registry, "MLGATE_REGISTRY", "registry", None)
    registry_url = normalize_registry_url(registry_url, root)
    artifacts_loc = pick(artifacts, "MLGATE_ARTIFACTS", "artifacts", str(root / STATE_DIR / "artifacts"))
    assert artifacts_loc is not None
    if "://" not in artifacts_loc and not artifacts_loc.startswith("file:"):
        artifacts_loc = str((root / artifacts_loc).resolve())
    s3 = data.get("s3") or {}
    if not isinstance(s3, dict):
        raise ConfigError(f"{config_path}:{lines.get(('s3',), 1)}: 's3' must be a mapping")
    endpoint = env.get("MLGATE_S3_ENDPOINT_URL") or s3.get("endpoint_url")
    if endpoint is not None and not isinstance(endpoint, str):
        line = lines.get(("s3", "endpoint_url"), 1)
        raise ConfigError(f"{config_path}:{line}: 's3.endpoint_url' must be a URL string, got {endpoint!r}")
    timeout_raw: Any = env.get("MLGATE_SQLITE_BUSY_TIMEOUT") or data.get("sqlite_busy_timeout", DEFAULT_BUSY_TIMEOUT_S)
    try:
        busy = float(timeout_raw)
        if not 0 <= busy <= MAX_BUSY_TIMEOUT_S:  # also refuses nan, and inf, which SQLite's int cannot hold
            raise ValueError
    except (TypeError, ValueError):
        where = "MLGATE_SQLITE_BUSY_TIMEOUT" if env.get("MLGATE_SQLITE_BUSY_TIMEOUT") else None
        where = where or f"{config_path}:{lines.get(('sqlite_busy_timeout',), 1)}"
        raise ConfigError(
            f"{where}: sqlite_busy_timeout must be a non-negative number of seconds, at most "
            f"{MAX_BUSY_TIMEOUT_S:g}, got {timeout_raw!r}"
        ) from None
    project = data.get("project")
    actor = env.get("MLGATE_ACTOR") or env.get("GITHUB_ACTOR") or env.get("GITLAB_USER_LOGIN") or _user(env)
    github_token = env.get("MLGATE_GITHUB_TOKEN") or env.get("GITHUB_TOKEN") or None
    gitlab_token = env.get("MLGATE_GITLAB_TOKEN") or env.get("GITLAB_TOKEN") or None
    from mlgate.redact import remember, url_password

    remember(github_token, gitlab_token, url_password(registry_url))
    return Settings(
        root=root,
        registry=registry_url,
        artifacts=artifacts_loc,
        config_path=config_path,
        s3_endpoint_url=endpoint,
        sqlite_busy_timeout=busy,
        project=str(project) if project is not None else None,
        actor=actor,
        ray_address=env.get("RAY_ADDRESS") or _optional_str(data, "ray_address", config_path, lines),
        run_id=env.get("MLGATE_RUN_ID") or None,
        raw=data,
        ci_env={k: env[k] for k in CI_VARIABLES if env.get(k)},
        stage_env={k: env[k] for k in STAGE_VARIABLES if env.get(k)},
        github_token=github_token,
        gitlab_token=gitlab_token,
        lines=lines,
        _environ=dict(env),
    )


def _optional_str(data: Mapping[str, Any], key: str, path: Path | None, lines: Mapping[Any, int]) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{path}:{lines.get((key,), 1)}: {key!r} must be a string, got {value!r}")
    return value


def _user(env: Mapping[str, str]) -> str:
    import getpass

    try:
        return env.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


SUPPORTED_SCHEMES = ("sqlite", "postgresql", "postgres")


def normalize_registry_url(url: str | None, root: Path) -> str:
    """Turn a registry location into a SQLAlchemy URL; relative SQLite paths resolve against ``root``."""
    if url is None:
        return f"sqlite:///{root / STATE_DIR / 'registry.db'}"
    url = url.strip()
    if not url:
        raise ConfigError("the registry URL is empty", hint="use sqlite:///path/to/registry.db or postgresql://…")
    from mlgate.redact import mask_url

    shown = mask_url(url)  # these messages reach CI logs: never the password
    if "://" not in url:
        if re.match(r"[A-Za-z][A-Za-z0-9+.\-]+:/?[^/]", url) or re.match(r"[A-Za-z][A-Za-z0-9+.\-]+//", url):
            # postgresql:/user@host or postgresql//…: a mistyped URL, not a file name to create
            scheme = re.split(r"[:/]", url, maxsplit=1)[0]
            raise ConfigError(
                f"the registry URL that starts with {scheme!r} is mistyped: the scheme must be followed by '://'",
                hint="use sqlite:///path/to/registry.db or postgresql://user@host:5432/db",
            )
        # a bare path means a SQLite file
        return f"sqlite:///{(root / url).resolve()}"
    scheme, _, rest = url.partition("://")
    base = scheme.split("+")[0].lower()
    if base not in SUPPORTED_SCHEMES:
        if base in ("http", "https"):
            raise ConfigError(
                f"registry URL {shown!r}: a remote HTTP registry is not supported yet",
                hint="use sqlite:///… or postgresql://user@host/db",
            )
        raise ConfigError(
            f"registry URL {shown!r} has the unsupported scheme {scheme!r}",
            hint="use sqlite:///path/to/registry.db or postgresql://user@host:5432/db",
        )
    if base == "sqlite":
        path = rest[1:] if rest.startswith("/") else rest
        if not path or path == ":memory:":
            raise ConfigError(
                f"registry URL {shown!r} names no database file",
                hint="use sqlite:///.mlgate/registry.db (three slashes, then the path)",
            )
        p = Path(path)
        if not p.is_absolute():
            p = (root / p).resolve()
        return f"sqlite:///{p}"
    if base in ("postgresql", "postgres"):
        _check_port(rest)
        if not rest or (rest.startswith("/") and len(rest) == 1):
            raise ConfigError(f"registry URL {shown!r} names no host or database")
        return f"postgresql+psycopg://{rest}"
    return url


def _check_port(rest: str) -> None:
    """A port that is not a number from 1 to 65535 is a configuration mistake, said before any connection."""
    from urllib.parse import urlsplit

    hostport = urlsplit(f"//{rest}").netloc.rpartition("@")[2]  # never the password: it stays out of messages
    try:
        port = urlsplit(f"//{hostport}").port
    except ValueError:
        port = -1
    if port is not None and not 0 < port < 65536:
        raise ConfigError(
            f"the registry URL's host and port {hostport!r} hold no valid port",
            hint="write postgresql://USER:PASSWORD@HOST:5432/DATABASE (the port is a number from 1 to 65535)",
        )
