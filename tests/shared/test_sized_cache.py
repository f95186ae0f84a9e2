"""shared.cache.SizedLRU: an LRU bounded by the bytes its values hold."""
from __future__ import annotations

import numpy as np

from shared.cache import SizedLRU, nbytes


def test_nbytes_counts_arrays_inside_tuples_lists_and_dicts():
    a = np.zeros(100)  # 800 bytes
    assert nbytes(a) == 800
    assert nbytes((1, a, [a, {"x": a}])) == 2400
    assert nbytes("text") == 0 and nbytes(None) == 0


def test_least_recently_used_values_go_first_once_the_bytes_are_full():
    c: SizedLRU[str, np.ndarray] = SizedLRU(2000)
    c["a"], c["b"] = np.zeros(100), np.zeros(100)
    assert c.currsize == 1600
    c["a"]  # noqa: B018 - a use makes "b" the least recently used
    c["c"] = np.zeros(100)
    assert set(c) == {"a", "c"} and c.currsize == 1600


def test_a_value_larger_than_the_bound_is_not_kept_and_replaces_nothing_stale():
    c: SizedLRU[str, np.ndarray] = SizedLRU(1000)
    c["a"] = np.zeros(10)
    c["a"] = np.zeros(1000)  # too big: not kept, and the old value under its key goes
    assert "a" not in c and c.currsize == 0


def test_setting_a_grown_value_again_counts_its_new_size():
    c: SizedLRU[str, list[np.ndarray]] = SizedLRU(10_000)
    v = [np.zeros(10)]
    c["a"] = v
    v.append(np.zeros(100))
    assert c.currsize == 80  # measured when set
    c["a"] = v
    assert c.currsize == 880
