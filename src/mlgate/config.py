"""Settings: defaults → ``mlgate.yaml`` → ``MLGATE_*`` environment → arguments, resolved once.

Only this module reads the environment. Errors in ``mlgate.yaml`` name the file, the line and the
key path (``gates[2].max_drop``), so a user can jump straight to the mistake.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgate.errors import ConfigError

CONFIG_NAME = "mlgate.yaml"
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
}


@dataclass(frozen=True)
class Settings:
    """Where the registry and the artifacts live, and the rest of ``mlgate.yaml`` for later stages."""

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

    def __repr__(self) -> str:
        # a repr lands in tracebacks and unexpected-error messages: the registry URL keeps no password
        from dataclasses import fields

        from mlgate.redact import redact

        shown = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return redact(f"Settings({shown})")

    def line_of(self, *path: str | int) -> str:
        """``mlgate.yaml:12`` for a key path, or just the file name when the line is unknown."""
        name = str(self.config_path) if self.config_path else CONFIG_NAME
        line = self.lines.get(tuple(path))
        return f"{name}:{line}" if line else name


def find_config(start: Path) -> Path | None:
    """The nearest ``mlgate.yaml`` in ``start`` or one of its parents."""
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


# Aliases may add this many values beyond those written out: enough for any real reuse of a block,
# far too few for a "billion laughs" file to cost seconds and gigabytes.
MAX_ALIAS_EXPANSION = 100_000
MAX_DEPTH = 100


def _yaml_with_lines(path: Path) -> tuple[dict[str, Any], dict[tuple[str | int, ...], int]]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from exc
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()  # parsed once: lines come from these nodes, values from the same
            if node is None:
                return {}, {}
            _check_yaml_tree(node, path)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        raise ConfigError(f"{where}: invalid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc
    except RecursionError:
        raise ConfigError(
            f"{path}: nested too deeply to read (more than {MAX_DEPTH} levels)",
            hint="flatten the structure; no mlgate setting needs that depth",
        ) from None
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: the top level must be a mapping of keys, got a {type(data).__name__}")
    lines: dict[tuple[str | int, ...], int] = {}

    def walk(n: Any, prefix: tuple[str | int, ...]) -> None:
        if isinstance(n, yaml.MappingNode):
            for key_node, value_node in n.value:
                key = (*prefix, key_node.value)
                lines[key] = key_node.start_mark.line + 1
                walk(value_node, key)
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                lines[(*prefix, i)] = item.start_mark.line + 1
                walk(item, (*prefix, i))

    walk(node, ())
    return data, lines


def _check_yaml_tree(root: Any, path: Path) -> None:
    """Refuse what YAML accepts but a configuration must not hold: null or repeated keys, alias bombs, depth.

    Aliases share one node object, so sizes are memoised per node: the check costs the nodes written,
    not the nodes an alias bomb would expand to.
    """
    import yaml

    expanded: dict[int, int] = {}

    def visit(n: Any, depth: int) -> int:
        if id(n) in expanded:
            return expanded[id(n)]
        if depth > MAX_DEPTH:
            raise ConfigError(
                f"{path}:{n.start_mark.line + 1}: nested too deeply (more than {MAX_DEPTH} levels)",
                hint="flatten the structure; no mlgate setting needs that depth",
            )
        size = 1
        if isinstance(n, yaml.MappingNode):
            seen: dict[tuple[str, str], int] = {}
            for key_node, value_node in n.value:
                line = key_node.start_mark.line + 1
                if key_node.tag == "tag:yaml.org,2002:null":
                    raise ConfigError(
                        f"{path}:{line}: a key is empty or null",
                        hint="give every key a name (quote it if the name is literally 'null')",
                    )
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    ident = (key_node.tag, key_node.value)
                    if ident in seen:
                        raise ConfigError(
                            f"{path}:{line}: the key {key_node.value!r} appears twice in the same mapping "
                            f"(first at line {seen[ident]}); YAML would silently keep only the last one",
                            hint="remove or rename one of them",
                        )
                    seen[ident] = line
                size += visit(key_node, depth + 1) + visit(value_node, depth + 1)
        elif isinstance(n, yaml.SequenceNode):
            size += sum(visit(item, depth + 1) for item in n.value)
        expanded[id(n)] = size
        return size

    total = visit(root, 0)
    if total - len(expanded) > MAX_ALIAS_EXPANSION:
        raise ConfigError(
            f"{path}: its YAML aliases (*name) expand to {total:,} values, more than {MAX_ALIAS_EXPANSION:,} "
            "beyond those written out",
            hint="write the repeated blocks out, or reuse fewer of them",
        )


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
        data, lines = _yaml_with_lines(config_path)
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
