"""The provider clients by name, and ``build``: one client from the settings and environment.

Keys come from the environment only (``ALPHAVANTAGE_API_KEY``, ``POLYGON_API_KEY``,
``TIINGO_API_KEY``, ``FMP_API_KEY``; Yahoo and Binance's public data need none), and so do base URLs (``YAHOO_BASE_URL``, ``BINANCE_BASE_URL``, ...), each
defaulting to the provider's real one, so tests and users can point a client at a fake or
a proxy.  ``build`` returns None for a provider whose key is not set: not configured.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from shared.market.calendar import MarketCalendar, get_calendar
from shared.market.sources.alphavantage import AlphaVantageProvider
from shared.market.sources.binance import BinanceProvider
from shared.market.sources.fmp import FmpProvider
from shared.market.sources.http import HttpOptions
from shared.market.sources.polygon import PolygonProvider
from shared.market.sources.tiingo import TiingoProvider
from shared.market.sources.yahoo import YahooProvider

PROVIDERS: dict[str, type] = {
    "yahoo": YahooProvider,
    "binance": BinanceProvider,
    "alphavantage": AlphaVantageProvider,
    "polygon": PolygonProvider,
    "tiingo": TiingoProvider,
    "fmp": FmpProvider,
}
#: The environment variable holding each provider's API key (None: it needs none).
KEY_ENV: dict[str, str | None] = {
    "yahoo": None, "binance": None, "alphavantage": "ALPHAVANTAGE_API_KEY",
    "polygon": "POLYGON_API_KEY", "tiingo": "TIINGO_API_KEY", "fmp": "FMP_API_KEY",
}
#: The environment variable of each provider's base URL.
URL_ENV = {name: f"{name.upper()}_BASE_URL" for name in PROVIDERS}


def key_of(name: str, environ: Mapping[str, str] = os.environ) -> str | None:
    """Return the provider's API key from ``environ`` (None when it needs none or is unset)."""
    var = KEY_ENV[name]
    value = (environ.get(var) or "").strip() if var else ""
    return value or None


def _calendar(settings: Any) -> MarketCalendar:
    market = getattr(settings, "market", settings)  # Settings, or its market section
    name = getattr(market, "calendar", None)
    return get_calendar(name if isinstance(name, str) and name else "XNYS")


def build(name: str, settings: Any = None, environ: Mapping[str, str] = os.environ, *,
          options: HttpOptions | None = None, calendar: MarketCalendar | None = None
          ) -> Any | None:
    """Return the client of provider ``name``, or None when it needs a key that is not set.

    ``settings`` gives the exchange calendar (``settings.market.calendar``); ``options``
    the timeouts, retries and backoff (``HttpOptions``; the tests make them short).

    Raises:
        KeyError: ``name`` is not one of ``PROVIDERS``.
    """
    cls = PROVIDERS[name]
    key = key_of(name, environ)
    if KEY_ENV[name] and key is None:
        return None
    kwargs: dict[str, Any] = {"options": options}
    base = (environ.get(URL_ENV[name]) or "").strip()
    if base:
        kwargs["base_url"] = base
    if key is not None:
        kwargs["api_key"] = key
    return cls(calendar or _calendar(settings), **kwargs)
