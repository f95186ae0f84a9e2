"""Read-only market data for the Alpaca-compatible data routes: bars, latest trade/quote, news.

Only bars the market clock has made visible are served (a bar is visible once it has closed).
"""
from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from services.paper_trading.repository import Repository
from shared.db import Database
from shared.errors import ValidationError
from shared.market.calendar import MarketCalendar, to_utc
from shared.market.clock import bar_visible
from shared.market.timeframes import parse_timeframe

_FMT = "%Y-%m-%dT%H:%M:%S+00:00"


def _z(ts: datetime | pd.Timestamp) -> str:
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _token(offsets: dict[str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(offsets).encode()).decode()


def _untoken(token: str | None) -> dict[str, int]:
    if not token:
        return {}
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return {str(k): int(v) for k, v in data.items()}
    except (ValueError, TypeError):
        raise ValidationError("page_token is not valid", field="page_token") from None


def _frame(db: Database, symbol: str, timeframe: str, start: str, end: str) -> pd.DataFrame:
    rows = db.fetch_all(
        "SELECT ts, open_micros, high_micros, low_micros, close_micros, volume, vwap_micros, "
        "trade_count FROM bars WHERE symbol = ? AND timeframe = ? AND ts >= ? AND ts <= ? "
        "ORDER BY ts", (symbol, timeframe, start, end))
    if not rows:
        return pd.DataFrame(columns=["open", "high", "low", "close", "volume", "vwap",
                                     "trade_count"])
    cols = list(zip(*rows, strict=True))
    idx = pd.DatetimeIndex(pd.to_datetime(list(cols[0]), utc=True))
    return pd.DataFrame({
        "open": [c / 1e6 for c in cols[1]], "high": [c / 1e6 for c in cols[2]],
        "low": [c / 1e6 for c in cols[3]], "close": [c / 1e6 for c in cols[4]],
        "volume": list(cols[5]),
        "vwap": [None if v is None else v / 1e6 for v in cols[6]],
        "trade_count": [None if v is None else int(v) for v in cols[7]],
    }, index=idx)


def stock_bars(db: Database, cal: MarketCalendar, now: datetime, symbols: list[str],
               timeframe: str, start: str | None, end: str | None, limit: int,
               page_token: str | None, sort: str = "asc") -> dict[str, Any]:
    """Return Alpaca's ``{"bars": {SYM: [...]}, "next_page_token"}`` for visible bars.

    Raises:
        ValidationError: bad timeframe, time or page token.
    """
    tf = parse_timeframe(timeframe)
    end_ts = min(to_utc(end), pd.Timestamp(now)) if end else pd.Timestamp(now)
    start_ts = to_utc(start) if start else end_ts - pd.Timedelta(days=1)
    offsets = _untoken(page_token)
    out: dict[str, list[dict[str, Any]]] = {}
    remaining, next_offsets = limit, {}
    for sym in symbols:
        # every timeframe as the market's owner stored it (readers never derive their own)
        df = _frame(db, sym, tf.name, start_ts.strftime(_FMT), end_ts.strftime(_FMT))
        if df.empty:
            continue
        # the market clock's rule: a daily bar (00:00 New York) is seen from its session's
        # close, the 09:00 hour bar from 10:00, a bar cut short by an early close from the close
        df = df[bar_visible(df.index.as_unit("ns").asi8, tf.name, cal,
                            pd.Timestamp(now).value, crypto="/" in sym)]
        if sort == "desc":
            df = df.iloc[::-1]
        skip = offsets.get(sym, 0)
        page = df.iloc[skip: skip + max(remaining, 0)]
        if len(page):
            out[sym] = [{"t": _z(ts), "o": float(r["open"]), "h": float(r["high"]),
                         "l": float(r["low"]), "c": float(r["close"]), "v": int(r["volume"]),
                         "n": None if pd.isna(r.get("trade_count")) else int(r["trade_count"]),
                         "vw": None if pd.isna(r.get("vwap")) else float(r["vwap"])}
                        for ts, r in page.iterrows()]
        remaining -= len(page)
        if skip + len(page) < len(df):
            next_offsets[sym] = skip + len(page)
        if remaining <= 0:
            break
    token = None
    if next_offsets:
        done = {s: offsets.get(s, 0) + len(out.get(s, [])) for s in symbols}
        done.update(next_offsets)
        token = _token(done)
    return {"bars": out, "next_page_token": token}


def latest(db: Database, now: datetime, symbols: list[str], kind: str) -> dict[str, Any]:
    """Return the last visible trade or a quote around the last visible close."""
    repo = Repository(db.get_db_connection())
    out: dict[str, Any] = {}
    for sym in symbols:
        bar = repo.latest_bar(sym, now)
        if bar is None:
            continue
        t = _z(bar.close_time - timedelta(seconds=1))
        px = float(bar.close)
        if kind == "trades":
            out[sym] = {"t": t, "p": px, "s": 100, "x": "V", "i": 0, "c": ["@"], "z": "C"}
        else:
            half = float(max(Decimal("0.01"), bar.close * Decimal("0.0001")))
            out[sym] = {"t": t, "bp": round(px - half, 4), "bs": 1, "ap": round(px + half, 4),
                        "as": 1, "bx": "V", "ax": "V", "c": ["R"], "z": "C"}
    return {kind: out}


def news(db: Database, now: datetime, symbols: list[str] | None, start: str | None,
         end: str | None, limit: int, sort: str, include_content: bool,
         page_token: str | None, exclude_contentless: bool = False) -> dict[str, Any]:
    """Return one page of Alpaca's ``/v1beta1/news`` from the news service's table (read-only).

    Only articles published (and known) by the market clock's ``now`` are shown; pages are
    keyed on (created_at, id), so following ``next_page_token`` ends with a null token.

    Raises:
        ValidationError: a bad start/end time or a page token this server did not issue.
    """
    from services.news.alpaca_shape import news_page  # the news area's reader of its table

    return news_page(db, now, symbols=symbols or None,
                     start=None if start is None else to_utc(start),
                     end=None if end is None else to_utc(end), limit=limit, sort=sort,
                     page_token=page_token, include_content=include_content,
                     exclude_contentless=exclude_contentless)
