"""redact: given secret values never survive, longest first; shapes are covered in tests/security/test_secrets.py."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mlgate.redact import MASK, mask_url, redact, url_password

SECRET_CHARS = "abcdefXYZ0123456789-_"  # no '*': the mask itself must not be able to spell a secret


@given(
    st.text(SECRET_CHARS + " /:@=", max_size=40),
    st.lists(st.text(SECRET_CHARS, min_size=4, max_size=12), min_size=1, max_size=3),
    st.data(),
)
def test_a_given_secret_never_survives(text: str, secrets: list[str], data: st.DataObject) -> None:
    where = data.draw(st.integers(0, len(text)))
    planted = text[:where] + secrets[0] + text[where:]
    shown = redact(planted, secrets)
    assert all(s not in shown for s in secrets)


def test_longer_secrets_are_masked_before_their_prefixes() -> None:
    assert redact("key abcdef9 used", ["abcd", "abcdef9", None]) == f"key {MASK} used"


def test_short_values_are_not_masked_as_secrets() -> None:
    assert redact("the cat sat", ["cat"]) == "the cat sat"  # would mask ordinary words


def test_a_url_password_is_found_and_masked() -> None:
    url = "postgresql://ana:pa:ss@word@db.example.com:5432/reg"
    assert url_password(url) == "pa:ss@word"
    assert mask_url(url) == f"postgresql://ana:{MASK}@db.example.com:5432/reg"
    assert url_password("sqlite:///tmp/registry.db") is None
