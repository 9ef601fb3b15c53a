"""Project scaffolding: ``mlgate init`` writes a commented mlgate.yaml and opens the registry once."""

from __future__ import annotations

from pathlib import Path

from mlgate.config import CONFIG_NAME, STATE_DIR

TEMPLATE = """\
# mlgate configuration (docs/configuration.md). Uncomment and fill in the sections you use.
project: {project}
registry: sqlite:///{state}/registry.db        # or postgresql://user@host:5432/db
artifacts: {state}/artifacts                   # or s3://bucket/prefix (s3: {{endpoint_url: ...}})

# The model this project registers; `mlgate ci` and the generated workflows gate and promote it.
# model: {{name: {project}}}

# The data: `mlgate gate` scores both models on `eval`, `mlgate data validate` checks `train` and `eval`
# against `schema` (write one with `mlgate data schema infer data/train.csv -o mlgate.schema.yaml`).
# data:
#   train: data/train.csv
#   eval: data/test.csv
#   target: target
#   schema: mlgate.schema.yaml

# Pipeline stages for `mlgate run`, cached by content (docs/pipelines.md).
# stages:
#   train:
#     cmd: python train.py
#     deps: [train.py, data/train.csv]
#     params: [train]                            # the train: section of params.yaml
#     outs: [model/]
#     metrics: [metrics.json]

# What a new version must pass before `mlgate promote --to production` (docs/gates.md).
# gates:
#   - {{metric: accuracy, min: 0.9}}
#   - {{metric: accuracy, vs: production, max_drop: 0.02}}
"""


def init_project(
    directory: str | Path, *, project: str | None = None, ci: str | None = None, registry: str | None = None
) -> list[str]:
    """Write ``mlgate.yaml`` unless present, ignore ``.mlgate/`` in git, create the registry (``registry``, as
    ``--registry`` names it, beats MLGATE_REGISTRY and the file); with ``ci`` (``github`` or ``gitlab``) also
    write that CI system's workflow files."""
    from mlgate.config import load_settings
    from mlgate.registry.store import Registry

    if ci is not None:
        from mlgate.ci.workflows import PROVIDERS

        if ci not in PROVIDERS:
            from mlgate.errors import UsageError

            raise UsageError(f"--ci must be one of {', '.join(PROVIDERS)}, got {ci!r}")
    root = Path(directory).resolve()
    root.mkdir(parents=True, exist_ok=True)
    messages = []
    cfg = root / CONFIG_NAME
    if cfg.exists():
        messages.append(f"{cfg} exists; left as it is")
    else:
        cfg.write_text(TEMPLATE.format(project=project or root.name, state=STATE_DIR), encoding="utf-8")
        messages.append(f"wrote {cfg}")
    ignore = root / ".gitignore"
    lines = ignore.read_text(encoding="utf-8").splitlines() if ignore.exists() else []
    if f"{STATE_DIR}/" not in lines:
        ignore.write_text("\n".join([*lines, f"{STATE_DIR}/"]) + "\n", encoding="utf-8")
        messages.append(f"added {STATE_DIR}/ to {ignore}")
    settings = load_settings(config=cfg, registry=registry)
    with Registry(settings=settings) as reg:
        _ = reg.engine
        messages.append(f"registry ready at {settings.registry.removeprefix('sqlite:///')}")
    if ci is not None:
        from mlgate.ci.workflows import write_workflows

        messages += write_workflows(root, ci, model=settings.model.name or settings.project or root.name)
    return messages
