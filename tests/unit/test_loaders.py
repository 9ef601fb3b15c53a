"""Which flavor reads a model file: what the installed flavors declare, third-party ones included."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import mlgate.flavors
from mlgate.errors import NotFoundError, UsageError
from mlgate.flavors import Flavor
from mlgate.loaders import file_readers, read_model_file, reader_for


class MineFlavor(Flavor):
    """A third-party flavor reading ``.mine`` files (what a package would register as an entry point)."""

    name = "mine"
    model_files = (".mine",)

    @classmethod
    def detect(cls, obj: Any) -> bool:
        return isinstance(obj, dict) and obj.get("kind") == "mine"

    @classmethod
    def read_model_file(cls, path: Path, *, allow_pickle: bool = False) -> Any:
        return {"kind": "mine", "text": path.read_text(encoding="utf-8")}

    def save(self, obj: Any, path: Path, *, sample_input: Any, **options: Any) -> dict[str, Any]:
        raise NotImplementedError

    def load(self, path: Path, config: dict[str, Any], *, allow_pickle: bool = False) -> Any:
        raise NotImplementedError


@pytest.fixture
def with_mine(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = SimpleNamespace(name="mine", load=lambda: MineFlavor)  # as importlib.metadata gives it
    table = {**mlgate.flavors.available(), "mine": entry}
    monkeypatch.setattr(mlgate.flavors, "available", lambda: table)


@pytest.mark.parametrize(
    ("suffix", "named", "reader"),
    [
        (".skops", None, "sklearn"),
        (".skops", "lightgbm", "sklearn"),  # a declared suffix wins over a flavor that reads anything by name
        (".PKL", None, "sklearn"),
        (".pickle", None, "sklearn"),
        (".joblib", None, "sklearn"),
        (".onnx", "torch", "onnx"),
        (".pt", None, "torch"),
        (".pt2", None, "torch"),
        (".ubj", None, "xgboost"),
        (".json", None, "xgboost"),
        (".json", "xgboost", "xgboost"),
        (".json", "lightgbm", "lightgbm"),  # .json is XGBoost's only when no other flavor is asked for
        (".json", "sklearn", None),
        (".txt", None, "lightgbm"),
        (".txt", "xgboost", "lightgbm"),
        (".bin", "lightgbm", "lightgbm"),  # LightGBM text models have no fixed suffix
        (".bin", None, None),
        (".bin", "sklearn", None),
    ],
)
def test_the_built_in_flavors_claim_files_as_before(suffix: str, named: str | None, reader: str | None) -> None:
    found = reader_for(Path(f"model{suffix}"), named, file_readers())
    assert (found.name if found else None) == reader


def test_the_built_in_readers_are_those_that_declare_files() -> None:
    names = [c.name for c in file_readers()]
    assert set(names) == {"sklearn", "onnx", "torch", "xgboost", "lightgbm"}  # pyfunc reads no model files


def test_a_third_party_flavor_reads_its_files_through_the_same_entry_points(with_mine: None, tmp_path: Path) -> None:
    path = tmp_path / "model.mine"
    path.write_text("weights", encoding="utf-8")
    obj, implied = read_model_file(path)
    assert (obj, implied) == ({"kind": "mine", "text": "weights"}, "mine")


def test_an_unknown_suffix_lists_what_the_installed_flavors_read(with_mine: None, tmp_path: Path) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(b"?")
    with pytest.raises(UsageError, match=r"cannot tell what kind of model .*model\.bin holds") as info:
        read_model_file(path)
    assert ".onnx (onnx)" in (info.value.hint or "")
    assert ".mine (mine)" in (info.value.hint or "")


def test_a_folder_and_a_missing_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"is a folder; give the model file inside it \(.*\.skops.*\)"):
        read_model_file(tmp_path)
    with pytest.raises(NotFoundError, match="does not exist"):
        read_model_file(tmp_path / "nothing.onnx")


def test_a_pickle_needs_consent(tmp_path: Path) -> None:
    path = tmp_path / "model.pkl"
    path.write_bytes(b"not read")
    with pytest.raises(UsageError, match="is a pickle; loading it runs whatever code it contains"):
        read_model_file(path)


def test_a_flavor_without_files_reads_none() -> None:
    with pytest.raises(NotImplementedError, match="reads no model files"):
        mlgate.flavors.get_flavor("pyfunc").read_model_file(Path("x"))
