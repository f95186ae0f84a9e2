"""Provider routes from the settings: which providers serve an asset class and timeframe.

``market.routes`` maps a key to a provider chain, first one first.  A key is an asset class
(``equity``, ``etf``, ``crypto``, ``fx``), optionally with a timeframe (``equity:1d``) or a
span (``equity:intraday`` for 1m..1h, ``equity:daily`` for 1d).  The most specific key wins:
``class:timeframe``, then ``class:intraday|daily``, then ``class``; an ETF with no key of its
own takes the equity keys; with no key at all the built-in market (``simulated``) serves.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from shared.config_sections.market import PROVIDERS, ROUTE_CLASSES, check_route_key

ASSET_CLASSES = ROUTE_CLASSES
#: The built-in providers and the six network sources (``shared.market.sources``).
BUILTIN = ("simulated", "csv", "alpaca")
SOURCES = tuple(p for p in PROVIDERS if p not in BUILTIN)
#: The environment variables a provider needs (the others need none).
KEY_ENV: dict[str, tuple[str, ...]] = {
    "alpaca": ("ALPACA_API_KEY", "ALPACA_SECRET_KEY"),
    "alphavantage": ("ALPHAVANTAGE_API_KEY",),
    "polygon": ("POLYGON_API_KEY",),
    "tiingo": ("TIINGO_API_KEY",),
    "fmp": ("FMP_API_KEY",),
}
#: Where a class with no route of its own looks next.
_FALLBACK_CLASS = {"etf": "equity"}


def span_of(timeframe: str) -> str:
    return "daily" if timeframe == "1d" else "intraday"


def route_keys(asset_class: str, timeframe: str) -> list[str]:
    """Return the keys looked up for a class and timeframe, most specific first."""
    out: list[str] = []
    cls: str | None = asset_class
    while cls is not None:
        out += [f"{cls}:{timeframe}", f"{cls}:{span_of(timeframe)}", cls]
        cls = _FALLBACK_CLASS.get(cls)
    return out


def resolve_route(routes: Mapping[str, Sequence[str]], asset_class: str,
                  timeframe: str) -> list[str]:
    """Return the provider chain for ``asset_class`` at ``timeframe`` (``simulated`` when
    no key matches)."""
    for key in route_keys(asset_class, timeframe):
        chain = routes.get(key)
        if chain:
            return list(chain)
    return ["simulated"]


def keys_using(routes: Mapping[str, Sequence[str]], provider: str) -> list[str]:
    """Return the route keys whose chain names ``provider`` (sorted)."""
    return sorted(k for k, chain in routes.items() if provider in chain)


__all__ = ["ASSET_CLASSES", "BUILTIN", "KEY_ENV", "PROVIDERS", "SOURCES", "check_route_key",
           "keys_using", "resolve_route", "route_keys", "span_of"]
