"""The data ``mlgate.yaml`` names: ``data.train`` and ``data.eval``, checked against ``data.schema``.

``mlgate data validate`` with no argument validates these; paths are read from the project folder, and a
file that is missing is reported at its key and line in ``mlgate.yaml`` (exit 2), before anything is read.
"""

from __future__ import annotations

import dataclasses
import glob as globlib
from pathlib import Path
from typing import TYPE_CHECKING

from mlgate.errors import NotFoundError, UsageError

if TYPE_CHECKING:
    from mlgate.config import Settings
    from mlgate.data.validate import ValidationReport

DEFAULT_SCHEMA = "mlgate.schema.yaml"


def schema_path(settings: Settings) -> Path:
    """``data.schema`` from the project folder, else ``mlgate.schema.yaml`` there (here, outside a project)."""
    schema = settings.data.schema or DEFAULT_SCHEMA
    return settings.root / schema if settings.config_path is not None else Path(schema)


def configured_files(settings: Settings) -> dict[str, Path]:
    """``{"data.train": path, "data.eval": path}`` for the keys that are set, each file checked to exist.

    ``data.validate`` (a path or a list of them), when set, names the files instead, as for ``mlgate ci``.
    """
    files: dict[str, Path] = {}
    for key, where, value in settings.data.files_to_validate():
        path = settings.root / value
        text = str(path)
        found = globlib.glob(text, recursive=True) if any(c in text for c in "*?[") else path.exists()
        if not found:
            raise NotFoundError(
                f"{settings.line_of(*where)}: {key} {value} does not exist",
                hint="fix the path in mlgate.yaml (relative paths are read from the project folder), "
                "or pass the data to check: mlgate data validate FILE",
            )
        files[key] = path
    if not files:
        place = f"in {settings.config_path}" if settings.config_path else "(no mlgate.yaml here or above)"
        raise UsageError(
            f"nothing to validate: no DATA argument, and neither data.train nor data.eval is set {place}",
            hint="pass the data: mlgate data validate FILE, or set data.train / data.eval in mlgate.yaml",
        )
    return files


def validate_configured(settings: Settings, schema: str | Path | None = None) -> dict[str, ValidationReport]:
    """Validate every configured data file against ``schema`` (default: :func:`schema_path`), read once each.

    Files that two keys name are read once, under the first key. Each report's ``source`` is the path
    relative to the project folder.
    """
    from mlgate.data.schema import Schema
    from mlgate.data.validate import validate
    from mlgate.files import project_relative

    files = configured_files(settings)
    if schema is None:
        schema = schema_path(settings)
        if not schema.exists() and settings.data.schema is not None:
            shown = project_relative(schema, settings.root)
            raise NotFoundError(
                f"{settings.line_of('data', 'schema')}: data.schema {shown} does not exist",
                hint=f"fix the path in mlgate.yaml, or write the schema: mlgate data schema infer DATA -o {shown}",
            )
    loaded = Schema.load(schema)
    reports: dict[str, ValidationReport] = {}
    seen: set[Path] = set()
    for key, path in files.items():
        if path in seen:
            continue
        seen.add(path)
        report = validate(str(path), loaded)
        reports[key] = dataclasses.replace(report, source=project_relative(path, settings.root))
    return reports
