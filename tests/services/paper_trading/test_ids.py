"""Time-ordered order ids: canonical UUID version 7 strings."""
from __future__ import annotations

import time
import uuid

from shared.trading.ids import uuid7_str


def test_uuid7_layout() -> None:
    before = time.time_ns() // 1_000_000
    text = uuid7_str()
    after = time.time_ns() // 1_000_000
    u = uuid.UUID(text)
    assert str(u) == text and len(text) == 36
    assert u.version == 7 and u.variant == uuid.RFC_4122
    assert before <= u.int >> 80 <= after  # the first 48 bits are the Unix milliseconds


def test_uuid7_sorts_by_millisecond_and_stays_random_within_one() -> None:
    first = [uuid7_str() for _ in range(200)]
    time.sleep(0.002)
    later = uuid7_str()
    assert all(x < later for x in first)
    assert len(set(first)) == len(first)
    assert len({x[15:] for x in first}) == len(first)  # random bits differ within a millisecond
