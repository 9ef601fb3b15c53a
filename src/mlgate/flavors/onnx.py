"""ONNX models, run with onnxruntime on the CPU.

The graph is stored as it is (``model.onnx``). Inputs are cast to the dtype each graph input
declares, so a float64 table feeds a float32 graph. Classifiers converted by skl2onnx give labels
as their first output and probabilities as a second one, either as a 2-D tensor or, with ZipMap, as
a list of ``{class: probability}`` dicts; both come back from :meth:`predict_proba` as a 2-D array.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgate.errors import InputError
from mlgate.flavors import Flavor, artifact_file

_DTYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int16)": "int16",
    "tensor(int8)": "int8",
    "tensor(uint64)": "uint64",
    "tensor(uint32)": "uint32",
    "tensor(uint16)": "uint16",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


class OnnxFlavor(Flavor):
    """``onnx.ModelProto`` graphs, loaded as an ``onnxruntime.InferenceSession``."""

    name = "onnx"
    packages = ("onnx", "onnxruntime", "numpy")
    priority = 10
    model_files = (".onnx",)

    @classmethod
    def detect(cls, obj: Any) -> bool:
        return any(c.__module__.startswith("onnx") and c.__name__ == "ModelProto" for c in type(obj).__mro__)

    @classmethod
    def read_model_file(cls, path: Path, *, allow_pickle: bool = False) -> Any:
        from mlgate.errors import require

        onnx = require("onnx", "onnx", "registering an ONNX model")
        return onnx.load(str(path))

    def save(self, obj: Any, path: Path, *, sample_input: Any, **options: Any) -> dict[str, Any]:
        (path / "model.onnx").write_bytes(obj.SerializeToString())
        return {
            "file": "model.onnx",
            "inputs": [i.name for i in obj.graph.input],
            "outputs": [o.name for o in obj.graph.output],
        }

    def load(self, path: Path, config: dict[str, Any], *, allow_pickle: bool = False) -> Any:
        import onnxruntime as ort

        return ort.InferenceSession(str(artifact_file(path, config["file"])), providers=["CPUExecutionProvider"])

    def input_format(self, config: dict[str, Any]) -> str:
        return "numpy"

    def predict(self, model: Any, data: Any) -> Any:
        return _as_array(self._run(model, data)[0])

    def predict_proba(self, model: Any, data: Any) -> Any | None:
        index = _proba_index(model)
        return None if index is None else _as_array(self._run(model, data)[index])

    def _run(self, model: Any, data: Any) -> list[Any]:
        import numpy as np

        inputs = model.get_inputs()
        if isinstance(data, dict):
            missing = [i.name for i in inputs if i.name not in data]
            if missing:
                raise InputError(f"the ONNX graph needs the inputs {missing}, got {sorted(data)}")
            feed = {i.name: _cast(np.asarray(data[i.name]), i.type) for i in inputs}
        else:
            if len(inputs) != 1:
                raise InputError(
                    f"the ONNX graph takes {len(inputs)} inputs {[i.name for i in inputs]}",
                    hint="pass a dict of arrays by input name",
                )
            feed = {inputs[0].name: _cast(np.asarray(data), inputs[0].type)}
        return model.run(None, feed)


def _cast(arr: Any, onnx_type: str) -> Any:
    dtype = _DTYPES.get(onnx_type)
    return arr if dtype is None or str(arr.dtype) == dtype else arr.astype(dtype)


def _proba_index(model: Any) -> int | None:
    outputs = model.get_outputs()
    named = [i for i, o in enumerate(outputs) if "prob" in o.name.lower()]
    if named:
        return named[0]
    if len(outputs) == 2 and outputs[0].type in ("tensor(int64)", "tensor(string)"):
        return 1
    return None


def _as_array(out: Any) -> Any:
    """A NumPy array from a tensor output or from ZipMap's list of ``{class: probability}`` dicts."""
    import numpy as np

    if isinstance(out, list) and out and isinstance(out[0], dict):
        keys = list(out[0])
        return np.array([[row[k] for k in keys] for row in out])
    return np.asarray(out)
