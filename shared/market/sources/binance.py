"""Binance: crypto bars around the clock through ccxt (public market data, no key).

ccxt is Binance's well-kept client and can be redirected: ``urls['api']`` of the spot API
(``public``, ``private``, ``v1``) is set to ``BINANCE_BASE_URL`` + Binance's paths, so the
tests run ``ccxt.binance().fetch_ohlcv`` against a loopback fake.  Only spot markets are
loaded (ccxt's default also asks the futures hosts).  Binance quotes dollar pairs in USDT:
the suite's ``BTC/USD`` is asked as ``BTC/USDT`` (``usd_quote``).  Klines are stamped with
their open time (ms, UTC); a daily kline opens at 00:00 UTC.  Volume is the base asset's,
rounded to a whole unit by the bar frame's int64 column.

The limit is Binance's 6,000 request weight a minute per IP: a klines call weighs 2 and
exchangeInfo 20, and the limiter counts weight.  ccxt's own throttle is off (ours decides),
and so are its retries (tenacity's, bounded, do them).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd

from shared.errors import (
    AppError,
    AuthError,
    NotFound,
    RateLimited,
    UnprocessableError,
    UpstreamUnavailable,
    ValidationError,
)
from shared.market.calendar import MarketCalendar
from shared.market.sources._base import SourceBase
from shared.market.sources.http import HttpOptions, HttpSource, RateBudget, retrying

BASE_URL = "https://api.binance.com"
WEIGHT_LIMIT, PERIOD_S = 6000, 60
KLINES_WEIGHT, INFO_WEIGHT = 2, 20
PAGE = 1000  # klines per request (Binance's maximum on spot)
MAX_PAGES = 100
T = TypeVar("T")


def ccxt_error(exc: Exception) -> AppError:
    """Return the suite's error for a ccxt exception."""
    import ccxt

    msg = f"binance: {type(exc).__name__}: {exc}"[:300]
    details = {"provider": "binance"}
    if isinstance(exc, ccxt.BadSymbol):
        return NotFound(msg, field="symbol", details=details)
    if isinstance(exc, ccxt.BadRequest | ccxt.ArgumentsRequired):
        return ValidationError(msg, field="timeframe", details=details)
    if isinstance(exc, ccxt.AuthenticationError | ccxt.PermissionDenied | ccxt.AccountSuspended):
        return AuthError(msg, details=details)
    if isinstance(exc, ccxt.DDoSProtection | ccxt.RateLimitExceeded):
        return RateLimited(msg, details=details)
    if isinstance(exc, ccxt.NetworkError):  # ExchangeNotAvailable (5xx), RequestTimeout...
        return UpstreamUnavailable(msg, details=details)
    return UnprocessableError(msg, details=details)


class BinanceProvider(SourceBase):
    """Spot klines of crypto pairs from Binance (every timeframe, 24/7)."""

    name = "binance"
    asset_classes = frozenset({"crypto"})

    def __init__(self, calendar: MarketCalendar, *, base_url: str = BASE_URL,
                 options: HttpOptions | None = None, usd_quote: str = "USDT") -> None:
        http = HttpSource(self.name, base_url, RateBudget(self.name, WEIGHT_LIMIT, PERIOD_S),
                          options)
        super().__init__(http, calendar)
        self.usd_quote = usd_quote
        self._markets_lock = threading.Lock()  # one exchangeInfo however many callers
        opts = http.options
        # imported here: ccxt loads every exchange it knows (about 56 MB, 0.3 s), which a
        # process that only lists the providers should not pay for
        import ccxt

        self.exchange = ccxt.binance({
            "enableRateLimit": False, "timeout": int(opts.timeout_s * 1000),
            "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False},
        })
        self._ccxt_error: type[Exception] = ccxt.BaseError
        root = http.base_url
        self.exchange.urls["api"] = {**self.exchange.urls["api"], "public": root + "/api/v3",
                                     "private": root + "/api/v3", "v1": root + "/api/v1"}

    def market_symbol(self, symbol: str) -> str:
        """Return ccxt's unified symbol: the suite's ``X/USD`` is ``X/USDT`` on Binance."""
        base, quote = symbol.split("/")
        return f"{base}/{self.usd_quote if quote == 'USD' else quote}"

    def _call(self, weight: int, fn: Callable[[], T]) -> T:
        for attempt in retrying(self.http.options, self.http.sleep):
            with attempt, self.http.recording():
                self.http.limiter.acquire(self.http.options.max_wait_s, cost=weight)
                self.http.calls += 1
                try:
                    return fn()
                except self._ccxt_error as exc:
                    raise ccxt_error(exc) from exc
        raise AssertionError("unreachable")  # pragma: no cover - reraise=True

    def _markets(self) -> None:
        with self._markets_lock:
            if not self.exchange.markets:
                self._call(INFO_WEIGHT, self.exchange.load_markets)

    def fetch_bars(self, symbol: str, timeframe: str, start: object, end: object
                   ) -> pd.DataFrame:
        """Return the klines opening in ``[start, end)``, asked for a page of 1,000 at a time.

        Raises:
            NotFound: Binance has no such market (unknown pair).
            ValidationError: bad arguments.
            RateLimited, UpstreamUnavailable: see ``HttpSource.get_json``.
        """
        req = self.request(symbol, timeframe, start, end)
        if req.start >= req.end:
            return self.empty(req)
        self._markets()
        market = self.market_symbol(req.symbol)
        since, end_ms = int(req.start.value // 1_000_000), int(req.end.value // 1_000_000)
        step = req.tf.minutes * 60_000
        rows: list[list[Any]] = []
        for _ in range(MAX_PAGES):

            def klines(s: int = since) -> list[list[Any]]:
                return self.exchange.fetch_ohlcv(market, req.tf.name, since=s, limit=PAGE,
                                                 params={"until": end_ms - 1})

            page = [r for r in self._call(KLINES_WEIGHT, klines) if since <= r[0] < end_ms]
            rows.extend(page)
            if len(page) < PAGE:
                break
            since = int(page[-1][0]) + step
        if not rows:
            return self.empty(req)
        ts = [int(r[0]) * 1_000_000 for r in rows]
        cols = {k: [r[i] for r in rows] for i, k in
                enumerate(("open", "high", "low", "close", "volume"), start=1)}
        return self.frame(req, ts, cols)

    def health(self) -> dict[str, Any]:
        return {**super().health(), "markets_loaded": bool(self.exchange.markets),
                "usd_quote": self.usd_quote}
