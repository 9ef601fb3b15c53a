"""Smoke params: the ``smoke:`` section deep-merged over the rest of ``params.yaml``."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from mlgate.pipeline.status import deep_merge

_leaf = st.one_of(st.integers(), st.text(max_size=3), st.booleans(), st.none())
_tree = st.recursive(_leaf, lambda inner: st.dictionaries(st.sampled_from("abc"), inner, max_size=3), max_leaves=8)
_maps = st.dictionaries(st.sampled_from("abcd"), _tree, max_size=4)


def _leaves(d: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    if isinstance(d, dict) and d:
        return {k: v for key, value in d.items() for k, v in _leaves(value, (*prefix, key)).items()}
    return {prefix: d}


@given(_maps, _maps)
def test_deep_merge_keeps_every_override_and_every_untouched_value(base: dict[str, Any], over: dict[str, Any]) -> None:
    merged = deep_merge(base, over)
    assert deep_merge(base, {}) == base and deep_merge({}, over) == over
    for path, value in _leaves(over).items():  # each override's leaf is there, unchanged
        node: Any = merged
        for key in path:
            node = node[key]
        if not (isinstance(value, dict) and not value and isinstance(node, dict)):
            assert node == value
    for key, value in base.items():  # a key the override does not name is untouched
        if key not in over:
            assert merged[key] == value
    assert deep_merge(merged, over) == merged  # applying the same overrides twice changes nothing
