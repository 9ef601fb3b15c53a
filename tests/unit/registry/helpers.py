"""What the registry tests share: two signatures and a small folder of model files to register."""

from __future__ import annotations

from pathlib import Path

SIG = {
    "inputs": {"type": "columns", "columns": [{"name": "a", "dtype": "float64"}]},
    "outputs": {"type": "tensor", "dtype": "int64", "shape": [-1]},
}
SIG_B = {
    "inputs": {"type": "columns", "columns": [{"name": "b", "dtype": "float64"}]},
    "outputs": {"type": "tensor", "dtype": "int64", "shape": [-1]},
}


def make_files(tmp_path: Path, content: str, name: str = "m") -> Path:
    folder = tmp_path / f"src-{name}-{abs(hash(content))}"
    (folder / "sub").mkdir(parents=True)
    (folder / "model.bin").write_text(content)
    (folder / "sub" / "extra.txt").write_text(content[::-1])
    return folder


def reg_version(registry, tmp_path: Path, content: str, name: str = "fraud", sig=SIG, **kw):
    return registry.register(name, make_files(tmp_path, content, name), flavor="test", signature=sig, **kw)
