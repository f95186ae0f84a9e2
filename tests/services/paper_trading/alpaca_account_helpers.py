"""Shared setup of the /v2 account-route tests: the SDK's clients on a live server."""
from __future__ import annotations

import warnings

with warnings.catch_warnings():  # alpaca-py imports websockets.legacy, which warns on import
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.trading.client import TradingClient

BARS = [(100, 101, 99, 100.5), (101, 102, 100, 101.5), (102, 104, 101, 103), (103, 103, 95, 96),
        (96, 97, 94, 95), (95, 98, 95, 97)] + [(97, 98, 96, 97.25)] * 30


def trading_client(live_url: str, key: str = "k") -> TradingClient:
    return TradingClient(key, "s", paper=True, url_override=live_url)
