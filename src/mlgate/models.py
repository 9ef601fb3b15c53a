"""log_model and load_model: a flavor, lineage and the registry composed into one call each."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlgate.errors import InputError, MlgateError, UnsupportedModelError, UsageError
from mlgate.flavors import Flavor, detect_flavor, get_flavor
from mlgate.inputs import prepare
from mlgate.registry.store import METADATA_FILE, Registry
from mlgate.registry.types import ModelVersion
from mlgate.signature import infer_schema

ARTIFACT_META = METADATA_FILE


class LoadedModel:
    """A verified, loaded version: ``.predict(data)`` on pandas, Polars, NumPy or records."""

    def __init__(self, native: Any, flavor: Flavor, metadata: ModelVersion, path: Path) -> None:
        self.native = native
        self.flavor = flavor
        self.metadata = metadata
        self.path = path
        self._fmt = flavor.input_format(metadata.flavor_config)

    def __repr__(self) -> str:
        return f"<LoadedModel {self.metadata.ref} ({self.metadata.semver}, {self.flavor.name})>"

    def prepare(self, data: Any) -> Any:
        """The input as the model takes it: columns by name in signature order, or a typed array."""
        return prepare(data, self.metadata.signature, self._fmt)

    def predict(self, data: Any) -> Any:
        """Predictions for ``data``."""
        return self.flavor.predict(self.native, self.prepare(data))

    def predict_proba(self, data: Any) -> Any | None:
        """Class probabilities, or None when the model does not give them."""
        return self.flavor.predict_proba(self.native, self.prepare(data))

    def predict_prepared(self, prepared: Any, *, proba: bool = False) -> tuple[Any, Any | None]:
        """Predictions, and class probabilities when ``proba`` (else None), for input :meth:`prepare` shaped.

        For callers that shape (and check) the input once and then score it, as the server does.
        """
        preds = self.flavor.predict(self.native, prepared)
        return preds, (self.flavor.predict_proba(self.native, prepared) if proba else None)


def _default_registry(registry: Registry | None) -> Registry:
    return registry if registry is not None else Registry()


def log_model(
    model: Any,
    name: str,
    *,
    sample_input: Any,
    data: Sequence[str | Path] | str | Path | None = None,
    params: Mapping[str, Any] | str | Path | None = None,
    tags: Mapping[str, str] | None = None,
    version: str | None = None,
    flavor: str | None = None,
    description: str | None = None,
    run_id: str | None = None,
    registry: Registry | None = None,
    **flavor_options: Any,
) -> ModelVersion:
    """Store ``model`` as the next version of ``name`` with its signature, lineage and environment.

    The model is saved, loaded back and asked to predict on ``sample_input`` before anything is
    registered: a model that cannot do that is refused with the reason.
    """
    reg = _default_registry(registry)
    fl = get_flavor(flavor) if flavor else detect_flavor(model)
    if sample_input is None:
        raise InputError("sample_input is required: a few rows the model can predict on")
    with tempfile.TemporaryDirectory(prefix="mlgate-log-") as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        try:
            config = fl.save(model, folder, sample_input=sample_input, **flavor_options)
        except MlgateError:
            raise
        except Exception as exc:
            raise UnsupportedModelError(
                f"the {fl.name} flavor cannot save this {type(model).__qualname__}: {type(exc).__name__}: {exc}"
            ) from exc
        signature = {"inputs": infer_schema(sample_input)}
        runs_code = fl.runs_code_for(config)
        try:
            native = fl.load(folder, config, allow_pickle=True)
            shaped = prepare(sample_input, signature, fl.input_format(config))
            output = fl.predict(native, shaped)
        except MlgateError:
            raise
        except Exception as exc:
            raise InputError(
                f"the {fl.name} model cannot predict on the sample input: {type(exc).__name__}: {exc}",
                hint="pass a sample_input with the columns and types the model was trained on",
            ) from exc
        signature["outputs"] = infer_schema(output)
        from mlgate.contract import write_contract  # the gate's input-contract check reads it

        write_contract(folder, fl, native, config, signature, sample_input)
        import json

        (folder / ARTIFACT_META).write_text(
            json.dumps(
                # format 2 binds runs_code too; everything here is covered by the version's digest
                {"format": 2, "flavor": fl.name, "config": config, "signature": signature, "runs_code": runs_code},
                sort_keys=True,
                indent=1,
            )
        )
        from mlgate.lineage import environment, lineage

        profile_digest = _store_training_profile(reg, data)
        return reg.register(
            name,
            folder,
            flavor=fl.name,
            signature=signature,
            flavor_config=config,
            lineage=lineage(
                root=reg.settings.root,
                data=data,
                params=params,
                # inside a stage of `mlgate run`, the run that is producing the model
                run_id=run_id if run_id is not None else reg.settings.run_id,
                user=reg.actor,
                stage_env=reg.settings.stage_env,
            ),
            environment=environment(fl.packages),
            version=version,
            tags=dict(tags or {}),
            description=description,
            runs_code=runs_code,
            data_profile_digest=profile_digest,
        )


def _store_training_profile(reg: Registry, data: Sequence[str | Path] | str | Path | None) -> str | None:
    """Profile the first tabular training dataset and store it: drift then needs no reference file."""
    if data is None:
        return None
    from mlgate.data.io import FORMATS

    items = [data] if isinstance(data, str | Path) else list(data)
    for item in items:
        path = Path(item)
        path = path if path.is_absolute() else reg.settings.root / path
        tabular = path.is_file() and path.suffix.lower() in FORMATS
        tabular = tabular or (path.is_dir() and any(p.suffix.lower() in FORMATS for p in path.rglob("*")))
        if tabular:
            from mlgate.data.profile import profile

            prof = profile(path)
            return reg.put_blob(prof.to_json().encode())
    return None


def training_profile(ref: str | ModelVersion, *, registry: Registry | None = None) -> Any:
    """The profile of a version's training data, stored at registration (None if none was given)."""
    reg = _default_registry(registry)
    mv = ref if isinstance(ref, ModelVersion) else reg.get(ref)
    if mv.data_profile_digest is None:
        return None
    from mlgate.data.profile import Profile

    text = reg.read_blob(mv.data_profile_digest, what=f"the training-data profile of {mv.ref}")
    return Profile.from_json(text.decode())


def load_model(
    ref: str | ModelVersion,
    *,
    registry: Registry | None = None,
    allow_pickle: bool = False,
    allow_code: bool = False,
) -> LoadedModel:
    """Load a version after verifying every file and the metadata bound to its digest.

    A version that runs code when loaded (pyfunc, pickles) needs consent: ``allow_code=True``, a
    ``trust.run_code`` entry in mlgate.yaml naming its model or author, or, for pickled files of
    other flavors, ``allow_pickle=True``. Without it nothing of the artifact runs and UsageError says so.
    """
    reg = _default_registry(registry)
    mv = ref if isinstance(ref, ModelVersion) else reg.get(ref)
    fl = get_flavor(mv.flavor)
    path = reg.materialize(mv)  # verifies the bytes and the fields bound to the digest
    atexit.register(shutil.rmtree, path, True)
    try:
        _check_signatures(reg, mv, ref)
        _warn_if_unbound(mv, path)
        consent = require_consent(mv, registry=reg, allow_pickle=allow_pickle, allow_code=allow_code)
        native = fl.load(path, mv.flavor_config, allow_pickle=consent)
    except BaseException:
        shutil.rmtree(path, ignore_errors=True)
        raise
    if mv.runs_code or fl.runs_code_for(mv.flavor_config):
        warnings.warn(f"{mv.ref} ran code stored in its artifact when it was loaded", RuntimeWarning, stacklevel=2)
    return LoadedModel(native, fl, mv, path)


def _warn_if_unbound(mv: ModelVersion, path: Path) -> None:
    if (path / ARTIFACT_META).is_file():
        return
    warnings.warn(
        f"{mv.ref} has no {ARTIFACT_META}: its flavor and config come from the registry database alone, "
        "not from its digest (re-register it to bind them)",
        RuntimeWarning,
        stacklevel=3,
    )


def require_consent(
    mv: ModelVersion, *, registry: Registry | None = None, allow_pickle: bool = False, allow_code: bool = False
) -> bool:
    """Whether loading ``mv`` runs stored code (with consent); UsageError (exit 2) when it would and may not."""
    from mlgate.trust import may_run_code

    reg = _default_registry(registry)
    fl = get_flavor(mv.flavor)
    # derived from the (verified) config as well, so a cleared flag in the database changes nothing
    runs_code = mv.runs_code or fl.runs_code_for(mv.flavor_config)
    # pyfunc always runs its module: only allow_code (or the policy) covers that, not allow_pickle
    consent = allow_code or may_run_code(reg.settings, mv) or (allow_pickle and not fl.runs_code)
    if runs_code and not consent:
        if fl.runs_code:
            what, flag = "imports the Python module stored with it when loaded", "allow_code=True (CLI: --allow-code)"
        else:
            what = "is stored as a pickle (or with types that run code when loaded)"
            flag = "allow_pickle=True (CLI: --allow-pickle)"
        raise UsageError(
            f"{mv.ref} ({mv.flavor}) {what}, which runs code; it was not loaded",
            hint=f"load it with {flag} if you trust who registered it, or list {mv.name!r} under "
            "trust.run_code.models in mlgate.yaml",
        )
    return consent and runs_code


def _check_signatures(reg: Registry, mv: ModelVersion, ref: str | ModelVersion) -> None:
    """Every recorded signature must verify; an alias that requires one must have one by an accepted key."""
    from mlgate.signing import verify_signatures

    alias = None
    if isinstance(ref, str):
        from mlgate.refs import parse_ref

        alias = parse_ref(ref).alias
    verify_signatures(reg, mv, alias=alias)
