"""What the /api/v1 and the Alpaca-compatible routes share."""
from __future__ import annotations

from flask import request


def is_submission() -> bool:
    """Return True for an order submission, which never runs the fill sweep inline.

    The sweep belongs to clock sync and to reads (at most once per clock minute per process);
    a submission is only checked against the account as last swept, and the fill-time checks
    (cash, quantity) still hold at every fill.
    """
    return request.method == "POST" and request.path.rstrip("/").endswith("/orders")


__all__ = ["is_submission"]
