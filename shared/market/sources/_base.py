"""The provider clients' common part: argument checks, bar frames in the suite's conventions,
and the normalised fundamentals record.

Bars come back as ``shared.market.frames`` frames: the bar's open time (UTC), prices parsed
as the frame types them (float64, no arithmetic on them here), volume int64.  Equity bars
keep regular hours only (extended-hours bars are counted in ``attrs['extended_hours']``),
an equity hour bar is built from 15-minute bars on the suite's clock-hour stamps (09:00 New
York holds 09:30-10:00, as ``shared.market.resample`` builds them), and a daily equity bar
is stamped with its session's date at 00:00 New York; crypto bars are on UTC boundaries.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
import pandas as pd

from shared.errors import ValidationError
from shared.market.calendar import NEW_YORK, MarketCalendar, to_utc
from shared.market.frames import empty_frame, make_frame
from shared.market.resample import resample_bars
from shared.market.sources.http import HttpSource
from shared.market.symbols import classify, normalize_symbol
from shared.market.timeframes import Timeframe, parse_timeframe

FUNDAMENTAL_KEYS = ("name", "exchange", "currency", "sector", "industry", "market_cap",
                    "shares_outstanding", "float_shares", "pe_ratio", "eps", "dividend_yield",
                    "beta", "next_earnings_date", "last_earnings_date")


class Request:
    """One checked ``fetch_bars`` request: symbol, timeframe, range and what to ask for."""

    def __init__(self, symbol: str, timeframe: Timeframe, start: pd.Timestamp,
                 end: pd.Timestamp, crypto: bool) -> None:
        self.symbol, self.tf, self.start, self.end, self.crypto = (symbol, timeframe, start,
                                                                   end, crypto)
        #: the provider's bar size to ask for: equity hours are built from 15-minute bars
        self.ask = parse_timeframe("15m") if timeframe.name == "1h" and not crypto else timeframe


class SourceBase:
    """Shared behaviour of the provider clients (see the package docstring)."""

    name = ""
    asset_classes: frozenset[str] = frozenset()
    timeframes: frozenset[str] = frozenset({"1m", "5m", "15m", "1h", "1d"})

    def __init__(self, http: HttpSource, calendar: MarketCalendar) -> None:
        self.http = http
        self.calendar = calendar

    # -- checks ----------------------------------------------------------------------
    def checked_symbol(self, symbol: str) -> str:
        """Return the symbol normalised.

        Raises:
            ValidationError: not a ticker or crypto pair.
        """
        return normalize_symbol(symbol)

    def request(self, symbol: str, timeframe: str, start: object, end: object) -> Request:
        """Return the checked request.

        Raises:
            ValidationError: a malformed symbol, an asset class or timeframe this provider
                does not serve, unreadable times or a start after the end.
        """
        sym = normalize_symbol(symbol)
        crypto = classify(sym).value == "crypto"
        if ("crypto" if crypto else "equity") not in self.asset_classes:
            raise ValidationError(f"{self.name} serves no {'crypto' if crypto else 'equity'} "
                                  f"symbols ({sym}); it serves {sorted(self.asset_classes)}",
                                  field="symbol")
        tf = parse_timeframe(timeframe)
        if tf.name not in self.timeframes:
            raise ValidationError(f"{self.name} has no {tf.name} bars; use one of "
                                  f"{sorted(self.timeframes)}", field="timeframe")
        s, e = to_utc(start), to_utc(end)
        if s > e:
            raise ValidationError(f"start {s.isoformat()} is after end {e.isoformat()}",
                                  field="start")
        return Request(sym, tf, s, e, crypto)

    # -- frames ----------------------------------------------------------------------
    def frame(self, req: Request, ts_ns: Sequence[int] | np.ndarray, rows: dict[str, Any]
              ) -> pd.DataFrame:
        """Return the bar frame of ``req`` from the provider's bars (``rows`` holds lists
        ``open, high, low, close, volume`` and optionally ``vwap``, ``trade_count``; a bar
        with a missing price is left out), in the suite's conventions."""
        if len(ts_ns) == 0:
            return empty_frame(req.symbol, req.tf.name, self.name)
        ts = np.asarray(ts_ns, dtype="int64")
        cols = {k: _floats(rows[k]) for k in ("open", "high", "low", "close")}
        vol = _floats(rows["volume"])
        vwap = _floats(rows["vwap"]) if rows.get("vwap") is not None else None
        ok = ~(np.isnan(cols["open"]) | np.isnan(cols["high"]) | np.isnan(cols["low"])
               | np.isnan(cols["close"]))
        # volume is int64 in the bar frame: crypto's fractional base volume is rounded
        vol = np.nan_to_num(vol, nan=0.0).round().astype("int64")
        n = rows.get("trade_count")
        count = None if n is None else np.array([None if x is None else int(x) for x in n],
                                                dtype=object)
        order = np.argsort(ts[ok], kind="stable")
        pick = np.flatnonzero(ok)[order]
        df = make_frame(ts[pick], cols["open"][pick], cols["high"][pick], cols["low"][pick],
                        cols["close"][pick], vol[pick], None if vwap is None else vwap[pick],
                        None if count is None else count[pick],
                        symbol=req.symbol, timeframe=req.ask.name, source=self.name)
        df = df[~df.index.duplicated(keep="last")]
        return self._conventions(req, df)

    def _conventions(self, req: Request, df: pd.DataFrame) -> pd.DataFrame:
        extended = 0
        if not req.crypto and req.tf.is_daily:
            keep = self.calendar.bar_session_index(df.index.as_unit("ns").asi8, "1d") >= 0
            df = df[keep]
        elif not req.crypto:
            inside = self.calendar.session_close_for(df.index.as_unit("ns").asi8) >= 0
            extended = int((~inside).sum())
            df = df[inside]
            if req.tf.name != req.ask.name:
                df = resample_bars(df, req.tf.name, self.calendar)
        df = df[(df.index >= req.start) & (df.index < req.end)]
        df.attrs.update(symbol=req.symbol, timeframe=req.tf.name, source=self.name,
                        stale=False, extended_hours=extended)
        return df

    def empty(self, req: Request) -> pd.DataFrame:
        return empty_frame(req.symbol, req.tf.name, self.name)

    # -- status ----------------------------------------------------------------------
    def budget(self) -> dict[str, Any]:
        """Return the rate limit: ``limit``, ``period_s``, ``remaining`` now, ``next_slot_s``."""
        return self.http.limiter.budget()

    def health(self) -> dict[str, Any]:
        """Return whether the last request went through, its status, and the budget."""
        return {"provider": self.name, "ok": self.http.last_error is None,
                "base_url": self.http.base_url, "calls": self.http.calls,
                "last_status": self.http.last_status, "last_error": self.http.last_error,
                "budget": self.budget()}


# -- time conversions --------------------------------------------------------------------
def epoch_ns(values: Iterable[Any], unit: str) -> np.ndarray:
    """Return epoch times in ``unit`` ('s' or 'ms') as int64 nanoseconds."""
    mult = {"s": 1_000_000_000, "ms": 1_000_000}[unit]
    return np.asarray([int(v) for v in values], dtype="int64") * mult


def ny_dates_ns(dates: Iterable[Any]) -> np.ndarray:
    """Return each date ('YYYY-MM-DD', or a time whose date counts) at 00:00 New York, as
    int64 ns UTC: the stamp of a daily equity bar."""
    d = pd.DatetimeIndex([str(x)[:10] for x in dates])
    return d.tz_localize(NEW_YORK).tz_convert("UTC").as_unit("ns").asi8


def ny_local_ns(stamps: Iterable[Any]) -> np.ndarray:
    """Return naive New York wall times ('YYYY-MM-DD HH:MM:SS') as int64 ns UTC (-1 for a
    time that does not exist or is ambiguous at a daylight-saving change)."""
    idx = pd.DatetimeIndex(pd.to_datetime(list(stamps))).tz_localize(
        NEW_YORK, ambiguous="NaT", nonexistent="NaT")
    out = idx.tz_convert("UTC").as_unit("ns").asi8.copy()
    out[idx.isna()] = -1
    return out


def iso_ns(stamps: Iterable[Any]) -> np.ndarray:
    """Return ISO-8601 times with an offset ('2024-03-05T09:30:00-05:00', '...Z') as ns UTC."""
    return pd.DatetimeIndex(pd.to_datetime(list(stamps), utc=True, format="ISO8601")
                            ).as_unit("ns").asi8


def _floats(values: Iterable[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype="float64")


# -- fundamentals ------------------------------------------------------------------------
def fundamentals(symbol: str, source: str, **fields: Any) -> dict[str, Any]:
    """Return the normalised fundamentals record: every key of ``FUNDAMENTAL_KEYS`` (None
    where the source has none) plus ``symbol`` and ``source``.  Numbers are decimal strings
    as the provider sent them (shares whole digits, ``dividend_yield`` a fraction: 0.0056 is
    0.56 %), dates ``YYYY-MM-DD``."""
    unknown = set(fields) - set(FUNDAMENTAL_KEYS)
    if unknown:
        raise TypeError(f"not fundamentals keys: {sorted(unknown)}")
    return {"symbol": symbol, "source": source, **{k: fields.get(k) for k in FUNDAMENTAL_KEYS}}


_MISSING = {"", "none", "null", "-", "n/a", "nan"}


def dec(value: Any) -> str | None:
    """Return a number (Decimal, int, or its text) as a plain decimal string, or None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, dict):  # Yahoo's {"raw": ..., "fmt": ...}
        return dec(value.get("raw"))
    if isinstance(value, float):  # never produced by our readers; text keeps it exact
        value = repr(value)
    text = str(value).strip()
    if text.lower() in _MISSING:
        return None
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None
    return None if not d.is_finite() else format(d, "f")


def whole(value: Any) -> str | None:
    """Return a count (shares) as a string of whole digits, or None (a fraction: None)."""
    text = dec(value)
    if text is None:
        return None
    d = Decimal(text)
    return str(int(d)) if d == d.to_integral_value() else None


def text(value: Any) -> str | None:
    s = None if value is None else str(value).strip()
    return None if not s or s.lower() in _MISSING else s


def iso_date(value: Any) -> str | None:
    """Return a date ('YYYY-MM-DD...', epoch seconds, or Yahoo's {"raw": ...}) as ISO."""
    if isinstance(value, dict):
        value = value.get("raw")
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal) or (isinstance(value, str) and value.isdigit()):
        return pd.Timestamp(int(value), unit="s", tz="UTC").date().isoformat()
    s = str(value).strip()
    if s.lower() in _MISSING:
        return None
    try:
        return pd.Timestamp(s[:10]).date().isoformat()
    except ValueError:
        return None
