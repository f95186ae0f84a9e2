"""Market-data provider clients: Yahoo Finance, Binance, Alpha Vantage, Polygon, Tiingo and
Financial Modeling Prep, each behind the ``BarProvider`` shape of ``shared.market.providers``.

Each client has ``name``, ``asset_classes``, ``timeframes``, ``fetch_bars(symbol, timeframe,
start, end)`` returning the suite's bar frame, ``health()`` and ``budget()`` (its rate limit);
fmp, yahoo, alphavantage and polygon also ``fetch_fundamentals(symbol)`` (the keys of
``FUNDAMENTAL_KEYS``).  ``registry.build(name, settings)`` makes one from the environment's
keys and base URLs.  Errors are the suite's: NotFound, ValidationError, AuthError,
RateLimited, UpstreamUnavailable.
"""
from shared.market.sources._base import FUNDAMENTAL_KEYS
from shared.market.sources.http import HttpOptions
from shared.market.sources.registry import PROVIDERS, build

__all__ = ["FUNDAMENTAL_KEYS", "PROVIDERS", "HttpOptions", "build"]
