"""What a drift reference names: data, a profile JSON file, or a model whose training profile stands for it.

The data layer (:mod:`mlgate.data.drift`, :mod:`mlgate.data.check`) compares data and profiles and never
imports the model layer; this module sits above both and turns a model reference (``fraud@production``,
``fraud:7``) into the version's stored training profile, cut to the model's input columns. The CLI
(``mlgate data drift``, ``mlgate data check``) and the quickstart call it before handing drift a
:class:`~mlgate.data.profile.Profile`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlgate.errors import UsageError

if TYPE_CHECKING:
    from mlgate.data.profile import Profile
    from mlgate.registry.store import Registry


def is_model_reference(source: Any) -> bool:
    """Whether ``source`` is a string naming a model rather than a file that exists."""
    from mlgate.data.drift import looks_like_model_ref

    return isinstance(source, str) and not Path(source).exists() and looks_like_model_ref(source)


def model_profile(ref: str, *, registry: Registry | None = None) -> Profile:
    """The training profile stored with the version ``ref`` names, cut to the model's input columns
    (live data carries no label, and lacking it is no fault); ``registry`` defaults to the settings' one."""
    from mlgate.models import training_profile
    from mlgate.registry.store import Registry

    reg = registry if registry is not None else Registry()
    version = reg.get(ref)
    prof = training_profile(version, registry=reg)
    if prof is None:
        raise UsageError(
            f"{ref} was registered without training data, so it carries no reference profile",
            hint="register with --data TRAIN_FILE, or give the reference data or its profile JSON",
        )
    return _model_inputs(prof, version.signature)


def resolve_reference(source: Any, *, registry: Registry | None = None) -> Any:
    """``source`` itself, unless it names a model: then that model's training profile (:func:`model_profile`)."""
    return model_profile(source, registry=registry) if is_model_reference(source) else source


def _model_inputs(prof: Profile, signature: Any) -> Profile:
    from dataclasses import replace

    inputs = (signature or {}).get("inputs") or {}
    names = [c.get("name") for c in inputs.get("columns", [])] if isinstance(inputs, dict) else []
    if not names or not any(n in prof.columns for n in names):
        return prof
    return replace(prof, columns={n: c for n, c in prof.columns.items() if n in names})
