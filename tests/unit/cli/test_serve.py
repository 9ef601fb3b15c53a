"""``mlgate serve``: what it cannot serve is refused with exit 2 before it listens."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.unit.cli.conftest import Result

Cli = Callable[..., Result]


@pytest.fixture
def served(cli: Cli, model_file: tuple[Path, Path]) -> Cli:
    """bc:1 registered and held by bc@production."""
    path, data = model_file
    assert cli("model", "register", str(path), "--name", "bc", "--data", str(data)).code == 0
    assert cli("promote", "bc:1", "--to", "production", "--force", "--reason", "first").code == 0
    return cli


def test_an_unknown_model_is_refused_naming_those_there_are(served: Cli) -> None:
    r = served("serve", "fraud", "--port", "0")
    assert r.code == 2
    assert "cannot serve fraud@production: model 'fraud' is not registered" in r.err
    assert "registered models: bc" in r.err


def test_an_unset_alias_is_refused_naming_the_aliases_there_are(served: Cli) -> None:
    r = served("serve", "bc", "--alias", "staging", "--port", "0")
    assert r.code == 2
    assert "cannot serve bc@staging: alias 'staging' of model 'bc' does not exist" in r.err
    assert "aliases of bc: production" in r.err


def test_a_bad_log_level_is_a_usage_error(served: Cli) -> None:
    r = served("serve", "bc", "--log-level", "loud")
    assert r.code == 2 and "--log-level must be debug, info, warning or error, got 'loud'" in r.err
