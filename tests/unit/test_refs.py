"""Reference parsing: every valid form round-trips; malformed ones say what the forms are."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlgate.errors import ReferenceSyntaxError
from mlgate.refs import Ref, parse_ref

names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,30}", fullmatch=True)
aliases = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,20}", fullmatch=True)
semvers = st.tuples(st.integers(0, 99), st.integers(0, 99), st.integers(0, 99), st.none() | st.integers(1, 99)).map(
    lambda t: f"{t[0]}.{t[1]}.{t[2]}" + (f"-rc.{t[3]}" if t[3] else "")
)
refs = st.one_of(
    names.map(Ref),
    st.builds(lambda n, k: Ref(n, number=k), names, st.integers(1, 10**6)),
    st.builds(lambda n, s: Ref(n, semver=s), names, semvers),
    st.builds(lambda n, a: Ref(n, alias=a), names, aliases),
)


@given(refs)
def test_every_valid_reference_round_trips(ref):
    assert parse_ref(str(ref)) == ref


@pytest.mark.parametrize(
    "text",
    [
        "fraud@",
        "@prod",
        ":x",
        "fraud:",
        "a b",
        " fraud",
        "fraud:0",
        "fraud:1.2",
        "fraud:v1",
        "fr@u@d",
        "fraud:1@prod",
        "",
        "-fraud",
        "fraud@9x",
    ],
)
def test_malformed_references(text):
    with pytest.raises(ReferenceSyntaxError, match=r"reference|name|alias|version numbers"):
        parse_ref(text)


@given(st.text(max_size=20))
def test_parser_never_fails_unexpectedly(text):
    try:
        parsed = parse_ref(text)
    except ReferenceSyntaxError:
        return
    assert parse_ref(str(parsed)) == parsed
