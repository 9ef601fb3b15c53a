"""Project scaffolding: ``mlgate init`` writes a mlgate.yaml and opens the registry once."""

from __future__ import annotations

from pathlib import Path

from mlgate.config import CONFIG_NAME, STATE_DIR

TEMPLATE = """\
# mlgate configuration: https://github.com/mlgate/mlgate (see docs/configuration.md)
project: {project}
registry: sqlite:///{state}/registry.db        # or postgresql://user@host:5432/db
artifacts: {state}/artifacts                   # or s3://bucket/prefix (s3: {{endpoint_url: ...}})
"""


def init_project(directory: str | Path, *, project: str | None = None) -> list[str]:
    """Write ``mlgate.yaml`` unless present, ignore ``.mlgate/`` in git, and create the registry."""
    from mlgate.config import load_settings
    from mlgate.registry.store import Registry

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
    settings = load_settings(config=cfg)
    with Registry(settings=settings) as reg:
        _ = reg.engine
        messages.append(f"registry ready at {settings.registry.removeprefix('sqlite:///')}")
    return messages
