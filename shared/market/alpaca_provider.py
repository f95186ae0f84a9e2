"""Live and historical bars, latest trades and quotes, and news from Alpaca through alpaca-py.

Used only when ``ALPACA_API_KEY`` and ``ALPACA_SECRET_KEY`` are set (or ``alpaca.*`` settings).
``data_url`` (``url_override``) points the SDK at another server, which is how the tests run it
against a local fake.  SDK errors become our own: 429 -> ``RetryableError`` (rate_limited),
5xx and connection faults -> ``ServiceUnavailable``, 401/403 -> ``AuthError``, other 4xx ->
``UnprocessableError``.

Alpaca's hour bars start on the clock hour and its minute bars include extended hours; our
bars start at the session open and cover regular hours, so hour bars are built from 15-minute
bars, daily bars are re-stamped to the session's open, and extended-hours bars are counted in
``attrs['extended_hours']`` and left out before validation.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from shared.errors import (
    AppError,
    AuthError,
    RetryableError,
    ServiceUnavailable,
    UnprocessableError,
    ValidationError,
)
from shared.market.calendar import MarketCalendar, to_utc
from shared.market.frames import empty_frame, make_frame
from shared.market.resample import resample_bars
from shared.market.symbols import classify
from shared.market.timeframes import parse_timeframe

T = TypeVar("T")


def _sdk_call(what: str, fn: Callable[[], T]) -> T:
    import requests
    from alpaca.common.exceptions import APIError

    try:
        return fn()
    except APIError as exc:
        status = exc.status_code or 0
        body = str(exc)[:300]
        if status == 429:
            raise RetryableError(f"alpaca {what}: rate limited (429)", details=body,
                                 code="rate_limited") from exc
        if status in (401, 403):
            raise AuthError(f"alpaca {what}: {status} (check the API keys)", details=body) from exc
        if status >= 500 or status == 0:
            raise ServiceUnavailable(f"alpaca {what}: server error {status}", details=body) from exc
        raise UnprocessableError(f"alpaca {what}: {status}", details=body) from exc
    except requests.RequestException as exc:
        raise ServiceUnavailable(f"alpaca {what}: {type(exc).__name__}: {exc}") from exc
    except (ValueError, KeyError, AttributeError) as exc:  # malformed answers from the server
        if isinstance(exc, AppError):
            raise
        raise ServiceUnavailable(f"alpaca {what}: unreadable answer ({exc})") from exc


#: Symbols per multi-symbol bars request.
MANY = 100


class AlpacaProvider:
    """Market data from Alpaca's data API (stocks, crypto) and news API."""

    name = "alpaca"

    def __init__(self, api_key: str, secret_key: str, calendar: MarketCalendar, *,
                 feed: str = "iex", url_override: str | None = None, sdk_retries: int = 1,
                 sdk_retry_wait_s: int = 1) -> None:
        with warnings.catch_warnings():
            # alpaca-py 0.44 imports websockets.legacy, deprecated in websockets 14+
            warnings.simplefilter("ignore", DeprecationWarning)
            from alpaca.data.historical import (
                CryptoHistoricalDataClient,
                StockHistoricalDataClient,
            )
            from alpaca.data.historical.news import NewsClient

        if not api_key or not secret_key:
            raise ValidationError("the alpaca provider needs ALPACA_API_KEY and ALPACA_SECRET_KEY",
                                  field="alpaca")
        self.calendar = calendar
        self.feed = feed
        self.url_override = url_override
        self.stocks = StockHistoricalDataClient(api_key, secret_key, url_override=url_override)
        self.crypto = CryptoHistoricalDataClient(api_key, secret_key, url_override=url_override)
        self.news_client = NewsClient(api_key, secret_key, url_override=url_override)
        for c in (self.stocks, self.crypto, self.news_client):
            # the SDK sleeps a fixed 3 s per retry by default; our breaker and failover do better
            c._retry = max(0, int(sdk_retries))
            c._retry_wait = max(0, int(sdk_retry_wait_s))

    # -- bars ----------------------------------------------------------------------------
    def _request(self, symbol: str | list[str], alpaca_tf: str, start: pd.Timestamp,
                 end: pd.Timestamp) -> Any:
        from alpaca.data.enums import DataFeed
        from alpaca.data.requests import CryptoBarsRequest, StockBarsRequest
        from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

        amount = int("".join(ch for ch in alpaca_tf if ch.isdigit()))
        unit = {"Min": TimeFrameUnit.Minute, "Hour": TimeFrameUnit.Hour,
                "Day": TimeFrameUnit.Day}["".join(ch for ch in alpaca_tf if ch.isalpha())]
        tf = TimeFrame(amount, unit)
        s, e = start.to_pydatetime(), end.to_pydatetime()
        first = symbol if isinstance(symbol, str) else symbol[0]
        if classify(first).value == "crypto":
            req = CryptoBarsRequest(symbol_or_symbols=symbol, timeframe=tf, start=s, end=e)
            return _sdk_call("crypto bars", lambda: self.crypto.get_crypto_bars(req))
        req = StockBarsRequest(symbol_or_symbols=symbol, timeframe=tf, start=s, end=e,
                               feed=DataFeed(self.feed))
        return _sdk_call("stock bars", lambda: self.stocks.get_stock_bars(req))

    def fetch_bars(self, symbol: str, timeframe: str, start: object, end: object) -> pd.DataFrame:
        """Return bars of ``symbol`` with open time in ``[start, end)`` in our conventions."""
        tf = parse_timeframe(timeframe)
        s, e = to_utc(start), to_utc(end)
        crypto = classify(symbol).value == "crypto"
        ask = "15Min" if tf.name == "1h" and not crypto else tf.alpaca
        barset = self._request(symbol, ask, s, e)
        return self._frame(symbol, (getattr(barset, "data", None) or {}).get(symbol, []), tf,
                           s, e)

    def fetch_bars_many(self, symbols: list[str], timeframe: str, start: object,
                        end: object) -> dict[str, pd.DataFrame]:
        """Return ``fetch_bars`` for many symbols of one asset class, asked for in requests
        of up to ``MANY`` symbols each (the market feed polls the whole universe every minute,
        and Alpaca's rate limit is per request, not per symbol)."""
        tf = parse_timeframe(timeframe)
        s, e = to_utc(start), to_utc(end)
        crypto = classify(symbols[0]).value == "crypto"
        ask = "15Min" if tf.name == "1h" and not crypto else tf.alpaca
        out: dict[str, pd.DataFrame] = {}
        for k in range(0, len(symbols), MANY):
            part = list(symbols[k:k + MANY])
            data = getattr(self._request(part, ask, s, e), "data", None) or {}
            for sym in part:
                out[sym] = self._frame(sym, data.get(sym, []), tf, s, e)
        return out

    def _frame(self, symbol: str, bars: list[Any], tf: Any, s: pd.Timestamp,
               e: pd.Timestamp) -> pd.DataFrame:
        crypto = classify(symbol).value == "crypto"
        if not bars:
            return empty_frame(symbol, tf.name, self.name)
        ts = pd.DatetimeIndex([b.timestamp for b in bars]).tz_convert("UTC").as_unit("ns").asi8
        col: Callable[[str], np.ndarray] = lambda k: np.array(  # noqa: E731
            [np.nan if getattr(b, k) is None else float(getattr(b, k)) for b in bars])
        count = [None if b.trade_count is None else int(b.trade_count) for b in bars]
        df = make_frame(ts, col("open"), col("high"), col("low"), col("close"),
                        col("volume").astype("int64"), col("vwap"),
                        np.array(count, dtype=object) if None not in count else None,
                        symbol=symbol, timeframe=tf.name, source=self.name)
        extended = 0
        # a daily bar keeps Alpaca's stamp (the session date at New York midnight): ours
        if not crypto and not tf.is_daily:
            inside = self.calendar.session_close_for(df.index.as_unit("ns").asi8) >= 0
            extended = int((~inside).sum())
            df = df[inside]
            if tf.name == "1h":
                df = resample_bars(df, "1h", self.calendar)
        df = df[(df.index >= s) & (df.index < e)]
        df.attrs.update(symbol=symbol, timeframe=tf.name, source=self.name, stale=False,
                        extended_hours=extended)
        return df

    # -- latest trade / quote / news -----------------------------------------------------
    def latest_trade(self, symbol: str) -> dict[str, Any]:
        from alpaca.data.enums import DataFeed
        from alpaca.data.requests import StockLatestTradeRequest

        req = StockLatestTradeRequest(symbol_or_symbols=symbol, feed=DataFeed(self.feed))
        out = _sdk_call("latest trade", lambda: self.stocks.get_stock_latest_trade(req))
        t = out[symbol]
        return {"symbol": symbol, "price": float(t.price), "size": float(t.size),
                "timestamp": to_utc(t.timestamp).to_pydatetime(), "source": self.name}

    def latest_quote(self, symbol: str) -> dict[str, Any]:
        from alpaca.data.enums import DataFeed
        from alpaca.data.requests import StockLatestQuoteRequest

        req = StockLatestQuoteRequest(symbol_or_symbols=symbol, feed=DataFeed(self.feed))
        out = _sdk_call("latest quote", lambda: self.stocks.get_stock_latest_quote(req))
        q = out[symbol]
        return {"symbol": symbol, "bid": float(q.bid_price), "bid_size": float(q.bid_size),
                "ask": float(q.ask_price), "ask_size": float(q.ask_size),
                "timestamp": to_utc(q.timestamp).to_pydatetime(), "source": self.name}

    def news(self, symbols: list[str] | None = None, start: datetime | None = None,
             end: datetime | None = None, limit: int = 50) -> list[dict[str, Any]]:
        from alpaca.data.requests import NewsRequest

        req = NewsRequest(symbols=",".join(symbols) if symbols else None, start=start, end=end,
                          limit=limit)
        out = _sdk_call("news", lambda: self.news_client.get_news(req))
        items = out.data.get("news", []) if hasattr(out, "data") else []
        return [{"id": n.id, "headline": n.headline, "summary": n.summary, "source": n.source,
                 "url": n.url, "author": n.author, "symbols": list(n.symbols),
                 "created_at": to_utc(n.created_at).to_pydatetime()} for n in items]

    def health(self) -> dict[str, object]:
        return {"provider": self.name, "ok": True, "feed": self.feed,
                "url_override": self.url_override}
