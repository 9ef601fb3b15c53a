"""PyTorch models as TorchScript or ``torch.export`` programs, never as pickled modules.

A ``ScriptModule`` is saved with ``torch.jit.save``, an ``ExportedProgram`` with ``torch.export.save``.
A plain ``nn.Module`` is exported on the sample input with a dynamic batch dimension (traced with
``torch.jit.trace`` when export fails), so loading needs neither the model's class nor unpickling.
Everything loads on the CPU.

``torch.export.load`` falls back to full unpickling for some entries and loads compiled AOTInductor
libraries when an archive holds them, so an archive with such entries is stored as one that runs
code, and loading one needs ``allow_pickle=True``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlgate.errors import UnsupportedModelError, UsageError
from mlgate.flavors import Flavor, artifact_file

_KINDS = {"torchscript": "model.pt", "export": "model.pt2"}
_COMPILED = ("data/aotinductor/", "data/executorch/", "data/mtia")
_OBJECTS = ("custom_obj_", "opaque_obj_")


class TorchFlavor(Flavor):
    """``torch.nn.Module``, ``torch.jit.ScriptModule`` and ``torch.export.ExportedProgram``."""

    name = "torch"
    packages = ("torch", "numpy")
    priority = 30
    model_files = (".pt", ".pt2")  # TorchScript, exported program

    @classmethod
    def detect(cls, obj: Any) -> bool:
        return any(
            c.__module__.startswith("torch") and c.__name__ in ("Module", "ScriptModule", "ExportedProgram")
            for c in type(obj).__mro__
        )

    @classmethod
    def read_model_file(cls, path: Path, *, allow_pickle: bool = False) -> Any:
        from mlgate.errors import require

        if path.suffix.lower() == ".pt2":
            torch = require("torch", "torch", "registering an exported PyTorch program")
            return torch.export.load(str(path))
        torch = require("torch", "torch", "registering a TorchScript model")
        return torch.jit.load(str(path), map_location="cpu")

    def save(self, obj: Any, path: Path, *, sample_input: Any, **options: Any) -> dict[str, Any]:
        import torch

        if not isinstance(obj, torch.export.ExportedProgram | torch.nn.Module):
            raise UnsupportedModelError(f"the torch flavor cannot store a {type(obj).__qualname__}")
        sample = _sample_tensor(sample_input, _float_dtype(obj))
        dtype = str(sample.dtype).replace("torch.", "")
        program: Any  # an ExportedProgram or a ScriptModule, saved below by its kind
        if isinstance(obj, torch.export.ExportedProgram):
            kind, program = "export", obj
        elif isinstance(obj, torch.jit.ScriptModule):
            kind, program = "torchscript", obj
        else:
            kind, program = _export_or_trace(obj, sample)
        file = path / _KINDS[kind]
        if kind == "torchscript":
            torch.jit.save(program, str(file))
            return {"kind": kind, "file": file.name, "dtype": dtype, "pickle": False}
        torch.export.save(program, file)
        return {"kind": kind, "file": file.name, "dtype": dtype, "pickle": bool(unsafe_entries(file))}

    def load(self, path: Path, config: dict[str, Any], *, allow_pickle: bool = False) -> Any:
        import torch

        file = artifact_file(path, config["file"])
        if config["kind"] == "torchscript":
            model = torch.jit.load(str(file), map_location="cpu")
            model.eval()
            return TorchPredictor(model, config["dtype"])
        unsafe = [] if allow_pickle else unsafe_entries(file)
        if unsafe:
            raise UsageError(
                f"this torch.export archive holds entries that torch would unpickle or run as compiled code: "
                f"{', '.join(unsafe[:3])}",
                hint="pass allow_pickle=True (CLI: --allow-pickle) only if you trust who registered it",
            )
        return TorchPredictor(torch.export.load(file).module(), config["dtype"])

    def input_format(self, config: dict[str, Any]) -> str:
        return "numpy"

    def runs_code_for(self, config: dict[str, Any]) -> bool:
        return bool(config.get("pickle"))

    def predict(self, model: Any, data: Any) -> Any:
        return model.predict(data)

    def predict_proba(self, model: Any, data: Any) -> Any | None:
        return None


class TorchPredictor:
    """A loaded module with the input dtype it was saved for."""

    def __init__(self, module: Any, dtype: str) -> None:
        self.module = module
        self.dtype = dtype

    def __repr__(self) -> str:
        return f"<torch model {type(self.module).__name__} taking {self.dtype}>"

    def predict(self, data: Any) -> Any:
        """Outputs for ``data`` (an array or tensor) as a NumPy array."""
        import numpy as np
        import torch

        want = getattr(torch, self.dtype)
        tensor = data if isinstance(data, torch.Tensor) else torch.from_numpy(np.array(data))
        with torch.inference_mode():
            out = self.module(tensor.to(device="cpu", dtype=want))
        if isinstance(out, tuple | list):
            out = out[0]
        return out.detach().cpu().numpy()


def _float_dtype(obj: Any) -> Any:
    """The floating dtype the model computes in: its first input's, or its parameters'; float32 if unknown."""
    import torch

    if isinstance(obj, torch.export.ExportedProgram):
        names = set(obj.graph_signature.user_inputs)
        for node in obj.graph.nodes:
            val = node.meta.get("val")
            if node.op == "placeholder" and node.name in names and isinstance(val, torch.Tensor):
                return val.dtype if val.is_floating_point() else torch.float32
        return torch.float32
    return next((p.dtype for p in obj.parameters() if p.is_floating_point()), torch.float32)


def _sample_tensor(sample_input: Any, floats: Any) -> Any:
    """The sample input as a tensor: floats in the model's floating dtype, integers as int64."""
    import numpy as np
    import torch

    from mlgate.inputs import to_pandas

    if isinstance(sample_input, torch.Tensor):
        return sample_input.detach().cpu()
    frame = to_pandas(sample_input)
    arr = np.array(frame.to_numpy() if frame is not None else sample_input)
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "fb":
        raise UnsupportedModelError(f"a torch model needs a numeric sample input, got dtype {arr.dtype}")
    tensor = torch.from_numpy(arr)
    return tensor.to(floats) if tensor.is_floating_point() else tensor


def _export_or_trace(model: Any, sample: Any) -> tuple[str, Any]:
    """``("export", program)`` with a dynamic batch dimension, else ``("torchscript", traced)``."""
    import torch

    if sample.ndim and sample.shape[0] < 2:
        sample = torch.cat([sample, sample])  # a batch of one would be specialised to size 1
    was_training = model.training
    model.eval()
    try:
        try:
            dynamic = ({0: torch.export.Dim.DYNAMIC},) if sample.ndim else None
            return "export", torch.export.export(model, (sample,), dynamic_shapes=dynamic)
        except Exception:
            return "torchscript", torch.jit.trace(model, (sample,))
    finally:
        model.train(was_training)


def unsafe_entries(file: Path) -> list[str]:
    """Entries of a ``.pt2`` archive that ``torch.export.load`` would unpickle or load as native code."""
    import io
    import json
    import zipfile

    import torch

    found: list[str] = []
    with zipfile.ZipFile(file) as archive:
        for entry in archive.namelist():
            rel = entry.split("/", 1)[-1]
            if rel.startswith(_COMPILED):
                found.append(entry)
            elif rel.endswith(".pt"):
                try:
                    torch.load(io.BytesIO(archive.read(entry)), weights_only=True)
                except Exception:
                    found.append(entry)
            elif rel.startswith(("data/weights/", "data/constants/")) and rel.endswith("_config.json"):
                payloads = json.loads(archive.read(entry)).get("config", {})
                found += [
                    f"{entry}:{key}"
                    for key, meta in payloads.items()
                    if meta.get("use_pickle") or str(meta.get("path_name", "")).startswith(_OBJECTS)
                ]
    return found
