"""``mlgate package REF --out DIR``: a deployable build context for one verified version.

The folder holds:

* ``registry/``: a registry of its own (SQLite file and blob folder) holding only this version, under
  its own name and number, with the alias ``production`` pointing at it. It is copied with
  :meth:`Registry.import_version`, which re-hashes every blob before writing anything: the packaged
  version has the same digest as the original, which ``mlgate-package.json`` records and the server
  checks when it loads it.
* ``requirements.txt``: pins taken from the version's recorded environment (the full lock of the
  environment that trained it), narrowed to what serving needs: the closure of mlgate's ``serve``
  extra and of the flavor's packages, walked through the installed distributions' metadata. A package
  the lock does not list (the training environment lacked the ``serve`` extra) is pinned at the
  version installed here and named in a comment. ``--full-lock`` writes the whole lock instead.
* ``wheels/``: empty, or with ``with_wheel`` (``--with-wheel``) the wheel of the mlgate that packaged it,
  built from its source tree, for installing where mlgate is not on the package index.
* ``entrypoint.sh``: runs ``mlgate serve`` against the packaged registry (``PORT``, ``HOST`` and
  ``WORKERS`` from the environment), from wherever the folder lies.
* ``Dockerfile``: ``python:<the recorded minor version>-slim``, the requirements, the registry, the
  entrypoint, an unprivileged user.
* ``k8s/deployment.yaml`` and ``k8s/service.yaml``: liveness on ``/v2/health/live``, readiness on
  ``/v2/health/ready``.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import UsageError

if TYPE_CHECKING:
    from mlgate.registry.store import Registry

PACKAGED_ALIAS = "production"
# pyproject's `serve` extra: what `mlgate serve` imports beyond mlgate's own dependencies
SERVE_EXTRA = {
    "starlette": set(),
    "uvicorn": {"standard"},
    "orjson": set(),
    "prometheus-client": set(),
    "httpx": set(),
}
PORT = 8080
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass
class Package:
    """What ``package`` wrote: the folder, the version, and each requirement and where its pin came from."""

    out: Path
    ref: str
    digest: str
    requirements: dict[str, str]
    not_in_lock: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    image: str = ""  # what the manifests run: --image, else NAME:SEMVER

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "out": str(self.out),
            "ref": self.ref,
            "digest": self.digest,
            "requirements": self.requirements,
            "not_in_lock": self.not_in_lock,
            "files": self.files,
            "image": self.image,
        }


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def serving_closure(roots: dict[str, set[str]]) -> set[str]:
    """Canonical names of ``roots`` (name → extras) and everything they require, from installed metadata.

    A requirement whose distribution is not installed here is kept by name (its own needs are unknown).
    """
    from importlib.metadata import PackageNotFoundError, requires

    from packaging.requirements import Requirement

    seen: set[str] = set()
    todo = list(roots.items())
    extras_of: dict[str, set[str]] = {}
    while todo:
        name, extras = todo.pop()
        key = _canon(name)
        done = extras_of.get(key)
        if done is not None and extras <= done:
            continue
        extras_of[key] = (done or set()) | extras
        seen.add(key)
        try:
            reqs = requires(name) or []
        except PackageNotFoundError:
            continue
        for text in reqs:
            req = Requirement(text)
            if req.marker is not None:
                envs = [{"extra": e} for e in extras] or [{"extra": ""}]
                if not any(req.marker.evaluate(env) for env in envs):
                    continue
            todo.append((req.name, set(req.extras)))
    return seen


def locked_requirements(
    environment: dict[str, Any], flavor_packages: list[str], *, full: bool
) -> tuple[dict[str, str], list[str]]:
    """``{name: version}`` for requirements.txt, and the names pinned from this environment (not in the lock)."""
    from importlib.metadata import PackageNotFoundError, version

    lock = {_canon(k): v for k, v in (environment.get("distributions") or {}).items()}
    if full:
        wanted = set(lock)
    else:
        # the serve extra is named here, not read from mlgate's own metadata: an editable install keeps the
        # metadata of the day it was installed, which may predate the extra
        roots: dict[str, set[str]] = {"mlgate": set()} | dict(SERVE_EXTRA) | {p: set() for p in flavor_packages}
        wanted = serving_closure(roots)
    pins: dict[str, str] = {}
    missing: list[str] = []
    for name in sorted(wanted):
        if name in lock:
            pins[name] = lock[name]
            continue
        try:
            pins[name] = version(name)
            missing.append(name)
        except PackageNotFoundError:
            continue
    return pins, missing


def _requirements_text(pins: dict[str, str], missing: list[str], ref: str, digest: str) -> str:
    lines = [
        f"# {ref} ({digest}): pins from the environment that trained it, narrowed to what serving needs",
        "# mlgate itself: if it is not on your package index, put its wheel in wheels/ (pip install --find-links)",
    ]
    if missing:
        lines.append(
            f"# not in the recorded lock, pinned at the versions of the packaging machine: {', '.join(missing)}"
        )
    for name, ver in pins.items():
        if name == "mlgate":
            lines.append(f"mlgate[serve]=={ver}")
        elif "+" in ver:  # local version labels (torch 2.3.0+cpu) are not on public indexes
            lines.append(f"{name}=={ver.split('+', 1)[0]}")
        else:
            lines.append(f"{name}=={ver}")
    return "\n".join(lines) + "\n"


ENTRYPOINT = """#!/bin/sh
# Serve the packaged version: mlgate serve against the registry in this folder.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
exec mlgate --registry "sqlite:///$HERE/registry/registry.db" --artifacts "$HERE/registry/artifacts" \\
  serve {name} --alias {alias} --host "${{HOST:-0.0.0.0}}" --port "${{PORT:-{port}}}" --workers "${{WORKERS:-1}}" \\
  --poll 3600 "$@"
"""

DOCKERFILE = """# {ref} ({digest}), packaged by mlgate {mlgate_version}
FROM python:{python}-slim
ENV PYTHONDONTWRITEBYTECODE=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PORT={port}
WORKDIR /app
COPY requirements.txt ./
COPY wheels/ ./wheels/
RUN pip install --no-cache-dir --find-links ./wheels -r requirements.txt
RUN useradd --system --uid 10001 mlgate
COPY --chown=10001:10001 registry/ ./registry/
COPY --chown=10001:10001 entrypoint.sh mlgate-package.json ./
USER 10001
EXPOSE {port}
ENTRYPOINT ["/bin/sh", "/app/entrypoint.sh"]
"""


def dump_yaml(doc: Any, **options: Any) -> str:
    """``doc`` as YAML without anchors and aliases (``&id001``/``*id001``): every value written out in full.

    A mapping shared between two places (the labels of a Deployment and its pod template) would
    otherwise be written once and referred to, which kubectl reads but people and some tools do not.
    """
    import yaml

    class _NoAliases(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return str(yaml.dump(doc, Dumper=_NoAliases, sort_keys=False, **options))


def k8s_manifests(name: str, image: str, replicas: int = 2) -> list[dict[str, Any]]:
    """A Deployment (probes on the V2 health routes) and a ClusterIP Service for ``name``."""
    app = _k8s_name(name)
    labels = {"app.kubernetes.io/name": app, "app.kubernetes.io/managed-by": "mlgate"}
    probe = {"httpGet": {"port": "http"}, "periodSeconds": 10, "timeoutSeconds": 2, "failureThreshold": 3}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "terminationGracePeriodSeconds": 40,  # the server drains in-flight requests for up to 30 s
                    "containers": [
                        {
                            "name": "server",
                            "image": image,
                            "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                            "env": [{"name": "PORT", "value": str(PORT)}],
                            "livenessProbe": {
                                **probe,
                                "httpGet": {"path": "/v2/health/live", "port": "http"},
                                "initialDelaySeconds": 10,
                            },
                            "readinessProbe": {
                                **probe,
                                "httpGet": {"path": "/v2/health/ready", "port": "http"},
                                "initialDelaySeconds": 2,
                            },
                            "resources": {
                                "requests": {"cpu": "500m", "memory": "512Mi"},
                                "limits": {"memory": "1Gi"},
                            },
                            "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False},
                        }
                    ],
                },
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": app, "labels": labels},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": app},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    }
    return [deployment, service]


def _k8s_name(name: str) -> str:
    """A DNS-1035 label from a model name (lower case, dashes, at most 63 characters, starting with a letter)."""
    text = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    if not text or not text[0].isalpha():
        text = f"model-{text}".rstrip("-")
    return text[:63].rstrip("-")


def source_root() -> Path | None:
    """The source tree of the running mlgate (an editable install or a checkout), or None for an installed wheel."""
    import mlgate

    root = Path(mlgate.__file__).resolve().parents[2]  # src/mlgate/__init__.py → the project
    text = (root / "pyproject.toml").read_text() if (root / "pyproject.toml").is_file() else ""
    return root if re.search(r'(?m)^name\s*=\s*"mlgate"', text) else None


def build_wheel(dest: Path) -> Path:
    """Build the running mlgate's wheel into ``dest`` (``pip wheel --no-deps``) and return its path."""
    import subprocess
    import sys

    from mlgate.errors import EnvironmentProblem

    root = source_root()
    if root is None:
        raise EnvironmentProblem(
            "--with-wheel builds mlgate's wheel from its source tree, and this mlgate is an installed wheel",
            hint="run it from a checkout (pip install -e .), or put the wheel in wheels/ yourself: "
            "pip download mlgate --no-deps -d wheels/",
        )
    before = set(dest.glob("mlgate-*.whl"))
    cmd = [sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "--quiet", "--wheel-dir", str(dest)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    built = sorted(set(dest.glob("mlgate-*.whl")) - before) or sorted(dest.glob("mlgate-*.whl"))
    if done.returncode != 0 or not built:
        raise EnvironmentProblem(
            f"could not build mlgate's wheel from {root}: {(done.stderr or done.stdout).strip()[-500:]}",
            hint="check that pip can build it: pip wheel . --no-deps -w wheels/",
        )
    return built[-1]


def package(
    ref: str,
    out: Path,
    *,
    registry: Registry,
    image: str | None = None,
    full_lock: bool = False,
    force: bool = False,
    with_wheel: bool = False,
) -> Package:
    """Write the build context for ``ref`` into ``out`` (which must be empty or absent, unless ``force``).

    ``with_wheel``: put the running mlgate's wheel in ``wheels/``, where the Dockerfile's ``pip install
    --find-links ./wheels`` finds it.
    """
    from mlgate import __version__
    from mlgate.registry.store import Registry as _Registry

    mv = registry.get(ref)
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not force:
            raise UsageError(f"{out} is not empty", hint="choose a new folder, or pass --force to replace it")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    packed = _Registry(f"sqlite:///{out / 'registry' / 'registry.db'}", artifacts=str(out / "registry" / "artifacts"))
    try:
        # the packaged version keeps its number, so the server's x-mlgate-model-version header names the
        # same fraud:3 as the source registry
        new = packed.import_version(
            registry,
            mv.ref,
            lineage={**mv.lineage, "packaged_from": {"ref": mv.ref, "semver": mv.semver}},
            aliases=(PACKAGED_ALIAS,),
            reason=f"packaged from {mv.ref}",
        )
    finally:
        packed.close()
    # the migration lock beside the SQLite file: a leftover of creating the registry, not part of it
    (out / "registry" / "registry.db.migrate.lock").unlink(missing_ok=True)
    if new.digest != mv.digest or new.number != mv.number:  # same files, same number: anything else is a bug
        raise RuntimeError(f"packaged {new.ref} ({new.digest}) differs from {mv.ref} ({mv.digest})")
    packages = sorted((mv.environment.get("packages") or {}).keys())
    pins, missing = locked_requirements(mv.environment, packages, full=full_lock)
    (out / "requirements.txt").write_text(_requirements_text(pins, missing, mv.ref, mv.digest))
    (out / "wheels").mkdir()
    (out / "wheels" / ".keep").write_text("")
    if with_wheel:
        build_wheel(out / "wheels")
    entry = out / "entrypoint.sh"
    entry.write_text(ENTRYPOINT.format(name=mv.name, alias=PACKAGED_ALIAS, port=PORT))
    entry.chmod(0o755)
    python = ".".join(str(mv.environment.get("python", "3.11")).split(".")[:2])
    (out / "Dockerfile").write_text(
        DOCKERFILE.format(ref=mv.ref, digest=mv.digest, mlgate_version=__version__, python=python, port=PORT)
    )
    image = image or f"{_k8s_name(mv.name)}:{mv.semver}"
    (out / "k8s").mkdir()
    deployment, service = k8s_manifests(mv.name, image)
    (out / "k8s" / "deployment.yaml").write_text(dump_yaml(deployment))
    (out / "k8s" / "service.yaml").write_text(dump_yaml(service))
    meta = {
        "ref": mv.ref,
        "semver": mv.semver,
        "digest": mv.digest,
        "flavor": mv.flavor,
        "serves": f"{mv.name}@{PACKAGED_ALIAS}",
        "image": image,
        "packaged_at": datetime.now(UTC).isoformat(),
        "mlgate": __version__,
    }
    (out / "mlgate-package.json").write_text(json.dumps(meta, indent=2) + "\n")
    written = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and "registry" not in p.parts)
    return Package(out, mv.ref, mv.digest, pins, missing, written, image)
