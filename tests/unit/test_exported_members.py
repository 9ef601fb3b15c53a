"""The public API is exactly ``__all__``, and importing mlgate stays light."""

from __future__ import annotations

import subprocess
import sys

import mlgate


def test_all_names_resolve():
    for name in mlgate.__all__:
        assert getattr(mlgate, name) is not None


def test_import_is_lazy():
    code = "import sys, mlgate; print(sorted(m for m in ('sqlalchemy','sklearn','pandas','numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_cli_help_does_not_import_heavy_modules():
    code = (
        "import sys\nfrom mlgate.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = ('sqlalchemy', 'sklearn', 'pandas', 'numpy', 'mlgate.registry.store')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_all_matches_the_lazy_table():
    assert set(mlgate.__all__) - {"__version__"} == set(mlgate._EXPORTS)
