"""Loopback fakes of the six providers' HTTP APIs, answering in the shapes their documentation
shows (a normal answer, an empty one, an unknown symbol, the error body, the rate-limit answer
and a 500).  Never the internet: each runs on a free 127.0.0.1 port (``tests.conftest.serve``).

Symbols: ``AAPL`` (and ``BTC/USDT``-style pairs on Binance) has bars; ``EMPT`` is known but
has no bars in the range; ``NOPE`` is unknown.  ``fake.force(kind, ...)`` makes the next
requests answer ``"429"`` (the provider's rate-limit answer), ``"500"`` or ``"error"``
(its error body) before the normal answers resume.

Every fake serves the same day of bars, 2024-03-05 (a Tuesday, New York on EST): pre-market
bars from 09:00 New York, then the regular session from 09:30, each bar's prices from
``price(i)`` with two decimals, so the tests know the first and last bar exactly.
"""
from __future__ import annotations

from collections.abc import Callable

from tests.shared.market.sources._fakebase import (  # noqa: F401 - the tests' one import
    CLOSE,
    DAY,
    DAYS,
    OPEN,
    PRE_OPEN,
    FakeApi,
    intraday,
    price,
    session_bars,
    volume,
)
from tests.shared.market.sources.fakes_free import (  # noqa: F401
    BINANCE_BARS,
    BINANCE_START,
    binance,
    binance_kline,
    yahoo,
)
from tests.shared.market.sources.fakes_keyed import (  # noqa: F401
    AV_EDT_BARS,
    POLYGON_PAGE,
    alphavantage,
    fmp,
    polygon,
    tiingo,
)

FAKES: dict[str, Callable[[], FakeApi]] = {"yahoo": yahoo, "binance": binance,
                                           "polygon": polygon, "tiingo": tiingo,
                                           "alphavantage": alphavantage, "fmp": fmp}
