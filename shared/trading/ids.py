"""Time-ordered order ids: UUID version 7 strings (RFC 9562), valid wherever a UUID is expected.

An order writes its id into two indexes (``pt_orders.id`` and ``pt_order_events.order_id``).
Random (version 4) ids land on a random leaf page of each, so every submission dirtied two
more pages scattered over the file, split pages all over both indexes, and every checkpoint
copied back as many distinct pages as there were orders.  A version 7 id starts with the
Unix time in milliseconds, so new ids go to the right-hand edge of both indexes: the same
few hot pages, append-only splits.  alpaca-py parses ids as ``UUID``, which any version is.

Hand-written because Python's ``uuid`` module only gains ``uuid7()`` in 3.14; the layout is
a few shifts, and building the string directly is cheaper than a ``uuid.UUID`` object.
"""
from __future__ import annotations

import os
import time

_VERSION = 0x7 << 76  # the version nibble, bits 76-79 of the 128-bit value
_VARIANT = 0b10 << 62  # RFC 9562 variant, bits 62-63
_RAND_A = 0xFFF  # 12 random bits after the version
_RAND_B = (1 << 62) - 1  # 62 random bits after the variant


def uuid7_str() -> str:
    """Return a new version 7 UUID as its canonical 36-character string.

    48 bits of Unix milliseconds, then 74 random bits (ids of one millisecond are unordered
    among themselves, which is all the indexes need).
    """
    ms = time.time_ns() // 1_000_000
    r = int.from_bytes(os.urandom(10), "big")
    v = (ms << 80) | _VERSION | (((r >> 62) & _RAND_A) << 64) | _VARIANT | (r & _RAND_B)
    h = f"{v:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


__all__ = ["uuid7_str"]
