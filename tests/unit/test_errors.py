"""The error hierarchy: the tree drawn in the module docstring is the tree of classes, exit codes included."""

from __future__ import annotations

import builtins
import inspect
import re

import pytest

from mlgate import errors
from mlgate.errors import (
    CheckFailed,
    ConfigError,
    ConflictError,
    EnvironmentProblem,
    InputError,
    IntegrityError,
    MissingDependency,
    MlgateError,
    NotFoundError,
    ReferenceSyntaxError,
    UnsupportedModelError,
    UsageError,
    require,
)

# one line of the drawn tree: its indentation, the class, an optional built-in base in parentheses, an exit code
_LINE = re.compile(r"^(?P<indent>[ │├└─]*)(?P<name>[A-Z]\w+)(?: \((?P<builtin>\w+)\))?.*?exit (?P<code>\d)")


def _drawn_tree() -> dict[str, tuple[str | None, str | None, int]]:
    """Each class in the docstring's tree: (parent, built-in base named in parentheses, exit code)."""
    doc = inspect.getdoc(errors) or ""
    block = doc.split("\n\n")[1]
    drawn: dict[str, tuple[str | None, str | None, int]] = {}
    stack: list[str] = []
    lines = block.splitlines()
    margin = len(lines[0]) - len(lines[0].lstrip())
    for line in lines:
        match = _LINE.match(line[margin:])
        assert match, f"unreadable tree line: {line!r}"
        depth = len(match["indent"]) // 4  # each level is drawn four characters wide
        del stack[depth:]
        drawn[match["name"]] = (stack[-1] if stack else None, match["builtin"], int(match["code"]))
        stack.append(match["name"])
    return drawn


def _classes() -> dict[str, type[MlgateError]]:
    return {
        name: obj
        for name, obj in vars(errors).items()
        if isinstance(obj, type) and issubclass(obj, MlgateError) and obj.__module__ == errors.__name__
    }


def test_the_docstring_draws_every_class_and_only_those() -> None:
    assert set(_drawn_tree()) == set(_classes())


@pytest.mark.parametrize("name", sorted(_classes()))
def test_each_class_sits_where_the_tree_draws_it(name: str) -> None:
    parent, builtin, code = _drawn_tree()[name]
    cls = _classes()[name]
    assert cls.exit_code == code
    if parent is None:
        assert cls.__bases__ == (Exception,)
    else:
        assert cls.__bases__[0] is _classes()[parent]
    if builtin is not None:
        assert issubclass(cls, getattr(builtins, builtin))


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (MlgateError, 2),
        (UsageError, 2),
        (ReferenceSyntaxError, 2),
        (ConfigError, 2),
        (InputError, 2),
        (UnsupportedModelError, 2),
        (NotFoundError, 2),
        (CheckFailed, 1),
        (ConflictError, 1),
        (IntegrityError, 3),
        (EnvironmentProblem, 3),
    ],
)
def test_exit_codes_follow_the_documented_table(cls: type[MlgateError], code: int) -> None:
    """0 ok, 1 a check said no, 2 usage/config/input, 3 environment — on instances, not just classes."""
    assert cls("something went wrong").exit_code == code


def test_built_in_bases_keep_existing_except_clauses_working() -> None:
    with pytest.raises(ValueError, match="bad ref"):
        raise ReferenceSyntaxError("bad ref")
    with pytest.raises(LookupError, match="no model"):
        raise NotFoundError("no model")
    with pytest.raises(TypeError, match="no flavor"):
        raise UnsupportedModelError("no flavor")
    with pytest.raises(ImportError, match="needs the Python package"):
        raise MissingDependency("s3fs", "s3", "an S3 artifact store")


def test_an_empty_message_is_refused() -> None:
    with pytest.raises(ValueError, match="needs a message"):
        MlgateError("")


def test_the_hint_is_printed_under_the_message() -> None:
    err = ConfigError("mlgate.yaml, line 3, gates.auc: expected a number", hint="write min: 0.8")
    assert str(err) == "mlgate.yaml, line 3, gates.auc: expected a number\n  hint: write min: 0.8"
    assert str(ConfigError("plain")) == "plain"


def test_missing_dependency_names_the_extra_to_install() -> None:
    err = MissingDependency("s3fs", "s3", "an S3 artifact store")
    assert err.exit_code == 3
    assert (err.package, err.extra) == ("s3fs", "s3")
    assert "an S3 artifact store needs the Python package 's3fs'" in err.message
    assert err.hint == "pip install 'mlgate[s3]'"


def test_require_returns_the_module_or_names_the_extra() -> None:
    assert require("json", "core", "reading JSON").dumps([1]) == "[1]"
    with pytest.raises(MissingDependency, match="needs the Python package 'no_such_pkg_mlgate'") as info:
        require("no_such_pkg_mlgate.sub", "extra-x", "a test")
    assert info.value.hint == "pip install 'mlgate[extra-x]'"
    assert isinstance(info.value.__cause__, ImportError)
