"""``mlgate ci``'s data validation: each data file checked against the schema once this commit produced it.

A file no stage writes is validated before the pipeline; a file a stage writes as soon as the stages
writing it are done (before the stages reading it run); a named file that is absent is a failure.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgate.ci.result import CiResult, Say, Step
from mlgate.config import Settings
from mlgate.errors import MlgateError

DEFAULT_SCHEMA = "mlgate.schema.yaml"


def _validation_inputs(settings: Settings) -> tuple[Path | None, list[str]]:
    data = settings.data
    schema = settings.root / (data.schema or DEFAULT_SCHEMA)
    files = [value for _key, _where, value in data.files_to_validate()]
    return (schema if schema.is_file() else None), list(dict.fromkeys(files))


class DataValidation:
    """Data validation around the pipeline: each file once it exists in the form this commit produces.

    A file no stage writes is validated before the pipeline; a file a stage writes (``outs`` naming it or a
    folder holding it) when every stage writing it is done, from the run's ``done`` events, so before any
    stage of a serial run reads it; what is still pending at the end (the pipeline did not run them) after
    the pipeline. A named file that does not exist then is a failure, never a pass.
    """

    NAME = "data validation"

    def __init__(self, settings: Settings, result: CiResult, say: Say) -> None:
        self.settings, self.result, self.say = settings, result, say
        self.index = len(result.steps)
        self.step: Step | None = None
        self.schema: Path | None = None
        self.pending: dict[str, set[str]] = {}  # file → stages still to write it
        self.done: dict[str, str] = {}  # stage → outcome
        self.violations = 0
        self.missing: list[str] = []
        self.unproduced: list[str] = []  # (file, stage) whose producing stage did not succeed
        try:
            schema, files = _validation_inputs(settings)
            if schema is None:
                self.step = Step(self.NAME, "skip", f"no schema ({DEFAULT_SCHEMA} or data.schema in mlgate.yaml)")
            elif not files:
                self.step = Step(self.NAME, "skip", "no data files (data.train, data.eval or data.validate)")
            else:
                self.schema = schema
                writers = _writers(settings)
                self.pending = {f: {st for out, st in writers if _produces(out, f)} for f in files}
        except MlgateError as exc:
            self.step = Step(self.NAME, "error", str(exc), exc.exit_code)

    def _check(self, files: list[str]) -> None:
        import dataclasses

        from mlgate.data.validate import validate
        from mlgate.files import project_relative

        assert self.schema is not None
        for f in files:
            self.pending.pop(f, None)
            path = self.settings.root / f
            if not any(c in f for c in "*?[") and not path.exists():
                self.missing.append(f)
                continue
            self.say(f"validating {f}")
            rep = validate(path, self.schema)
            # the report lands in a pull request: the project's names, not this runner's folders
            schema = project_relative(self.schema, self.settings.root)
            rep = dataclasses.replace(rep, source=project_relative(rep.source, self.settings.root), schema=schema)
            self.result.validations.append(rep)
            self.violations += len(rep.violations)

    def _guarded(self, files: list[str]) -> None:
        if self.step is not None or not files:
            return
        try:
            self._check(files)
        except MlgateError as exc:
            self.step = Step(self.NAME, "error", str(exc), exc.exit_code)

    def before_pipeline(self) -> None:
        """Validate the files no stage writes."""
        self._guarded([f for f, writers in self.pending.items() if not writers])

    def stage_done(self, stage: Any) -> str | None:
        """A stage finished: validate the files whose writers are all done now; why its outputs must not be
        used, when one of them failed validation."""
        self.done[stage.name] = stage.outcome
        before, reports = self.violations, len(self.result.validations)
        ready = []
        for f, writers in list(self.pending.items()):
            if writers and writers <= self.done.keys():
                bad = [w for w in sorted(writers) if self.done[w] not in ("ran", "cached")]
                if bad:
                    self.pending.pop(f)
                    self.unproduced.append(f"{f} (stage {bad[0]!r} {self.done[bad[0]]})")
                else:
                    ready.append(f)
        self._guarded(ready)
        if self.violations > before:
            bad = [r.source for r in self.result.validations[reports:] if r.violations]
            return f"its input {', '.join(map(str, bad))} failed data validation"
        return None

    def finish(self) -> None:
        """Validate what is still pending, then record the step where validation began."""
        self._guarded(list(self.pending))
        self.result.steps.insert(self.index, self.step or self._outcome())

    def _outcome(self) -> Step:
        assert self.schema is not None
        checked = f"{len(self.result.validations)} file(s) against {self.schema.name}"
        problems = []
        if self.violations:
            problems.append(f"{self.violations} violation(s)")
        if self.missing:
            problems.append(f"named but absent after the pipeline: {', '.join(self.missing)}")
        if self.unproduced:
            problems.append(f"not produced: {', '.join(self.unproduced)}")
        if problems:
            return Step(self.NAME, "fail", f"{checked}; {'; '.join(problems)}", 1)
        return Step(self.NAME, "pass", f"{checked}: no violations")


def _writers(settings: Settings) -> list[tuple[str, str]]:
    """``(output path, stage)`` for every declared output of the pipeline (none without ``stages:``)."""
    from mlgate.pipeline.spec import load_pipeline

    try:
        if not settings.pipeline.has_stages:
            return []
        pipeline = load_pipeline(settings)
    except MlgateError:
        return []  # the pipeline step reports the broken definition
    return [(o.path, st.name) for st in pipeline.stages.values() for o in st.outs]


def _produces(out: str, file: str) -> bool:
    """True when the output ``out`` (a file or a folder) is, holds, or matches the data file ``file``."""
    import fnmatch
    import posixpath

    out, file = posixpath.normpath(out), posixpath.normpath(file)
    return file == out or file.startswith(out.rstrip("/") + "/") or fnmatch.fnmatch(out, file)
