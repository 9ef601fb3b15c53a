"""The environment in the cache key, and the stat-keyed file that saves recomputing it."""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path

from mlgate.pipeline.cache import environment, pinned_packages


def test_pins_come_from_requirements_then_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["PyYAML>=6", "blake3"]\n')
    assert pinned_packages(tmp_path) == ["blake3", "pyyaml"]
    (tmp_path / "requirements.txt").write_text("# pins\nnumpy==2.*  # arrays\n-e .\nscikit_learn\n")
    assert pinned_packages(tmp_path) == ["numpy", "scikit-learn"]


def test_the_environment_file_is_reused_until_a_pin_file_changes(tmp_path: Path) -> None:
    from importlib.metadata import version

    (tmp_path / "requirements.txt").write_text("pyyaml\nnot-a-real-package-xyz\n")
    cache = tmp_path / "state" / "env.json"
    env = environment(tmp_path, cache=cache)
    expected = {"pyyaml": version("pyyaml"), "not-a-real-package-xyz": None}
    assert env == {"python": platform.python_version(), "packages": expected}
    assert environment(tmp_path) == env  # the same answer without the file

    # a file whose key still matches is trusted as is: plant a marker to see that it is read
    data = json.loads(cache.read_text())
    data["env"]["packages"]["pyyaml"] = "from-the-file"
    cache.write_text(json.dumps(data))
    assert environment(tmp_path, cache=cache)["packages"]["pyyaml"] == "from-the-file"

    # any change to the pins (here only its mtime) invalidates it
    st = (tmp_path / "requirements.txt").stat()
    os.utime(tmp_path / "requirements.txt", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert environment(tmp_path, cache=cache) == env


def test_a_damaged_environment_file_is_recomputed(tmp_path: Path) -> None:
    cache = tmp_path / "env.json"
    cache.write_text("[1, 2")
    assert environment(tmp_path, cache=cache) == {"python": platform.python_version(), "packages": {}}
    assert json.loads(cache.read_text())["env"]["packages"] == {}
