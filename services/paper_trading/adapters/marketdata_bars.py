"""Alpaca's bars at every timeframe Alpaca accepts, from the bars the market's owner stored.

Alpaca takes ``<n><unit>``: 1-59 ``Min`` (or ``T``), 1-23 ``Hour`` (``H``), 1 ``Day`` (``D``),
1 ``Week`` (``W``) and 1, 2, 3, 4, 6 or 12 ``Month`` (``M``).  The owner stores 1m, 5m, 15m, 1h
and 1d; those are served as stored, every other size is built from the coarsest stored one that
tiles it (15m, 5m or 1m for minutes, 1h for hours, 1d for weeks and months) with pandas:

- minute and hour buckets start at New York midnight (UTC midnight for crypto) and tile the
  day, so a 4Hour bar stamped 08:00 New York holds 09:30-12:00 and a 2Min bar the two one-minute
  bars from its stamp (the stored 09:00 hour bar holds 09:30-10:00: it falls in the 08:00 bucket);
- a week starts on Monday, a month on the 1st, both at 00:00 New York; N-month buckets are
  counted from January (3Month: quarters);
- open is the first bar's, close the last's, high/low the extremes, volume and trade count the
  sums (null when any part's count is null), vwap the volume-weighted vwap (a float, as Alpaca's).

Prices stay integer micro-units until they are written out as JSON numbers.  No look-ahead: a
bar is served only once it is complete at the market clock's ``now`` (its end has passed, or the
market stays closed until it ends); a stored bar by the market clock's rule (``bar_visible``).
"""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from shared.db import Database
from shared.errors import UnprocessableError, ValidationError
from shared.market.calendar import MarketCalendar, to_utc
from shared.market.clock import bar_visible
from shared.market.limits import check_range
from shared.market.timeframes import parse_timeframe

NEW_YORK = "America/New_York"
MIN_NS = 60_000_000_000
DAY_NS = 86_400_000_000_000
_RE = re.compile(r"^(\d{1,2})(Min|T|Hour|H|Day|D|Week|W|Month|M)$")
_UNIT = {"Min": "Min", "T": "Min", "Hour": "Hour", "H": "Hour", "Day": "Day", "D": "Day",
         "Week": "Week", "W": "Week", "Month": "Month", "M": "Month"}
_STORED = {("Min", 1): "1m", ("Min", 5): "5m", ("Min", 15): "15m", ("Hour", 1): "1h",
           ("Day", 1): "1d"}
MONTHS = (1, 2, 3, 4, 6, 12)
COLUMNS = ("o", "h", "l", "c", "v", "vw", "n")


@dataclass(frozen=True)
class BarSpec:
    """One Alpaca timeframe: ``amount`` of ``unit`` (Min, Hour, Day, Week, Month)."""

    amount: int
    unit: str

    @property
    def stored(self) -> str | None:
        """Return the stored timeframe this one is, if the owner stores it."""
        return _STORED.get((self.unit, self.amount))

    @property
    def source(self) -> str:
        """Return the stored timeframe this one is built from."""
        if self.unit == "Min":
            return "15m" if self.amount % 15 == 0 else "5m" if self.amount % 5 == 0 else "1m"
        return "1h" if self.unit == "Hour" else "1d"

    @property
    def span_ns(self) -> int:
        """Return an upper bound of one bucket's length."""
        return {"Min": MIN_NS, "Hour": 60 * MIN_NS, "Day": DAY_NS, "Week": 7 * DAY_NS,
                "Month": 31 * DAY_NS}[self.unit] * self.amount

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


def _invalid(value: object, why: str) -> UnprocessableError:
    return UnprocessableError(
        f"invalid timeframe {str(value)[:40]!r}: {why}; use 1-59Min, 1-23Hour, 1Day, 1Week or "
        "1, 2, 3, 4, 6, 12Month (e.g. 5Min, 4Hour, 1Week, 3Month)", field="timeframe")


def parse_bar_timeframe(value: str) -> BarSpec:
    """Return the ``BarSpec`` of an Alpaca timeframe ('2Min', '4Hour', '1Week', '3Month', also
    '5T', '1H', '1D', '1W', '1M') or of the suite's names ('1m', '5m', '1h', '1d').

    Raises:
        UnprocessableError: an unknown unit or an amount Alpaca does not take for it (422).
    """
    text = str(value).strip()
    m = _RE.match(text)
    if m is None:
        try:  # the suite's own names; lower case 'm' is a minute here, 'M' a month above
            tf = parse_timeframe(text)
        except ValidationError:
            raise _invalid(value, "unknown unit") from None
        return {"1m": BarSpec(1, "Min"), "5m": BarSpec(5, "Min"), "15m": BarSpec(15, "Min"),
                "1h": BarSpec(1, "Hour"), "1d": BarSpec(1, "Day")}[tf.name]
    n, unit = int(m.group(1)), _UNIT[m.group(2)]
    ok = {"Min": 1 <= n <= 59, "Hour": 1 <= n <= 23, "Day": n == 1, "Week": n == 1,
          "Month": n in MONTHS}[unit]
    if not ok:
        raise _invalid(value, f"{n} is not an amount of {unit} Alpaca takes")
    return BarSpec(n, unit)


def price(micros: int) -> float:
    """Return a micro-unit price as the JSON number Alpaca sends.

    ``micros / 1e6`` is one correctly rounded IEEE division of two exact values, so this is the
    double nearest the exact decimal (what ``float(Decimal)`` gives), with no arithmetic on money.
    """
    return int(micros) / 1e6


def iso_z(ts_ns: int) -> str:
    return pd.Timestamp(int(ts_ns), tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def db_ts(ts_ns: int) -> str:
    """Return a time in the ``bars.ts`` text format (floored to the second)."""
    return pd.Timestamp(int(ts_ns), tz="UTC").strftime("%Y-%m-%dT%H:%M:%S+00:00")


def empty_frame() -> pd.DataFrame:
    return pd.DataFrame({k: pd.Series(dtype="int64") for k in COLUMNS},
                        index=pd.Index([], dtype="int64"))


_SELECT = ("SELECT ts, open_micros, high_micros, low_micros, close_micros, volume, vwap_micros, "
           "trade_count FROM bars WHERE symbol = ? AND timeframe = ? AND ts >= ? AND ts <= ?")
#: every statement read_bars may run, fixed text (the values are always bound parameters)
_SQL = {(desc, traded, limited): _SELECT + (" AND volume > 0" if traded else "")
        + (" ORDER BY ts DESC" if desc else " ORDER BY ts ASC") + (" LIMIT ?" if limited else "")
        for desc in (False, True) for traded in (False, True) for limited in (False, True)}


def read_bars(db: Database, symbol: str, timeframe: str, lo_ns: int, hi_ns: int, *,
              desc: bool = False, limit: int | None = None,
              traded_only: bool = False) -> pd.DataFrame:
    """Return the stored bars opening in ``[lo_ns, hi_ns]`` as a frame indexed by open time
    (int64 ns): o, h, l, c (int micros), v, vw (float micros, NaN when unknown), n."""
    sql = _SQL[(desc, traded_only, limit is not None)]
    params: list[Any] = [symbol, timeframe, db_ts(lo_ns), db_ts(hi_ns)]
    if limit is not None:
        params.append(int(limit))
    rows = db.fetch_all(sql, params)
    if not rows:
        return empty_frame()
    cols = list(zip(*rows, strict=True))
    idx = pd.to_datetime(list(cols[0]), utc=True, format="ISO8601").as_unit("ns").asi8
    return pd.DataFrame({
        "o": np.array(cols[1], dtype="int64"), "h": np.array(cols[2], dtype="int64"),
        "l": np.array(cols[3], dtype="int64"), "c": np.array(cols[4], dtype="int64"),
        "v": np.array(cols[5], dtype="int64"),
        "vw": np.array([np.nan if x is None else float(x) for x in cols[6]], dtype="float64"),
        "n": np.array([np.nan if x is None else float(x) for x in cols[7]], dtype="float64"),
    }, index=pd.Index(idx, dtype="int64"))


def _local_ns(ts_ns: np.ndarray, tz: str) -> np.ndarray:
    idx = pd.DatetimeIndex(np.asarray(ts_ns, dtype="int64").astype("datetime64[ns]"))
    return idx.tz_localize("UTC").tz_convert(tz).tz_localize(None).as_unit("ns").asi8


def _to_utc_ns(local_ns: np.ndarray, tz: str) -> np.ndarray:
    idx = pd.DatetimeIndex(np.asarray(local_ns, dtype="int64").astype("datetime64[ns]"))
    return idx.tz_localize(tz).tz_convert("UTC").as_unit("ns").asi8


def buckets(ts_ns: np.ndarray, spec: BarSpec, *, crypto: bool = False
            ) -> tuple[np.ndarray, np.ndarray]:
    """Return each bar's bucket (start, end) in int64 ns UTC for ``spec`` (see the module)."""
    tz = "UTC" if crypto else NEW_YORK
    ts_ns = np.asarray(ts_ns, dtype="int64")
    local = _local_ns(ts_ns, tz)
    day0 = local - local % DAY_NS
    if spec.unit in ("Min", "Hour", "Day"):
        # the stored New York offset of a bar's own day: sessions never span a DST change
        offset = local - ts_ns
        size = spec.amount * (60 * MIN_NS if spec.unit == "Hour" else MIN_NS)
        if spec.unit == "Day":
            size = DAY_NS
        start = day0 + (local - day0) // size * size
        end = np.minimum(start + size, day0 + DAY_NS)
        return start - offset, end - offset
    days = pd.DatetimeIndex(day0.astype("datetime64[ns]"))
    if spec.unit == "Week":
        monday = day0 - days.day_of_week.to_numpy().astype("int64") * DAY_NS
        return _to_utc_ns(monday, tz), _to_utc_ns(monday + 7 * DAY_NS, tz)
    month = days.year.to_numpy().astype("int64") * 12 + days.month.to_numpy() - 1
    m0 = month // spec.amount * spec.amount

    def first_of(m: np.ndarray) -> np.ndarray:
        return pd.to_datetime(pd.DataFrame({"year": m // 12, "month": m % 12 + 1, "day": 1})
                              ).to_numpy().astype("datetime64[ns]").astype("int64")

    return _to_utc_ns(first_of(m0), tz), _to_utc_ns(first_of(m0 + spec.amount), tz)


def aggregate(df: pd.DataFrame, start: np.ndarray) -> pd.DataFrame:
    """Return ``df`` (bars sorted by time) combined per bucket ``start`` (see the module)."""
    work = pd.DataFrame({
        "b": start, "o": df["o"].to_numpy(), "h": df["h"].to_numpy(), "l": df["l"].to_numpy(),
        "c": df["c"].to_numpy(), "v": df["v"].to_numpy(),
        "pv": df["vw"].to_numpy() * df["v"].to_numpy(), "vwnan": np.isnan(df["vw"].to_numpy()),
        "n": df["n"].to_numpy(), "nnan": np.isnan(df["n"].to_numpy())})
    g = work.groupby("b", sort=True).agg(
        o=("o", "first"), h=("h", "max"), l=("l", "min"), c=("c", "last"), v=("v", "sum"),
        pv=("pv", "sum"), vwnan=("vwnan", "any"), n=("n", "sum"), nnan=("nnan", "any"))
    vol = g["v"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        vw = np.where(g["vwnan"].to_numpy() | (vol == 0), np.nan, g["pv"].to_numpy() / vol)
    return pd.DataFrame({"o": g["o"].to_numpy("int64"), "h": g["h"].to_numpy("int64"),
                         "l": g["l"].to_numpy("int64"), "c": g["c"].to_numpy("int64"),
                         "v": vol.astype("int64"), "vw": vw,
                         "n": np.where(g["nnan"].to_numpy(), np.nan, g["n"].to_numpy())},
                        index=pd.Index(g.index.to_numpy("int64"), dtype="int64"))


def _complete(end_ns: np.ndarray, cal: MarketCalendar, now_ns: int, crypto: bool) -> np.ndarray:
    """Return which buckets (by end) nothing can be added to at ``now``."""
    done = end_ns <= now_ns
    if not crypto and not cal.is_open(pd.Timestamp(now_ns, tz="UTC")):
        try:
            nxt = cal.next_open(pd.Timestamp(now_ns, tz="UTC")).value
        except ValidationError:  # past the calendar's last session: nothing more will trade
            nxt = np.iinfo("int64").max
        done |= end_ns <= nxt
    return done


def bars_frame(db: Database, cal: MarketCalendar, symbol: str, spec: BarSpec, lo_ns: int,
               hi_ns: int, now_ns: int) -> pd.DataFrame:
    """Return ``symbol``'s complete ``spec`` bars stamped in ``[lo_ns, hi_ns]`` (ascending)."""
    crypto = "/" in symbol
    if lo_ns > hi_ns:
        return empty_frame()
    stored = spec.stored
    if stored is not None:
        df = read_bars(db, symbol, stored, lo_ns, hi_ns)
        ts = df.index.to_numpy()
        return df[(ts >= lo_ns) & (ts <= hi_ns)
                  & bar_visible(ts, stored, cal, now_ns, crypto=crypto)]
    src = spec.source
    df = read_bars(db, symbol, src, lo_ns, min(hi_ns + spec.span_ns, now_ns))
    df = df[bar_visible(df.index.to_numpy(), src, cal, now_ns, crypto=crypto)]
    if df.empty:
        return df
    start, end = buckets(df.index.to_numpy(), spec, crypto=crypto)
    out = aggregate(df, start)
    ends = pd.Series(end).groupby(start).max()
    keep = ((out.index >= lo_ns) & (out.index <= hi_ns)
            & _complete(ends.reindex(out.index).to_numpy("int64"), cal, now_ns, crypto))
    return out[keep]


def bar_json(ts_ns: int, r: Any) -> dict[str, Any]:
    """Return Alpaca's bar object (``n`` and ``vw`` always present, null when unknown)."""
    return {"t": iso_z(ts_ns), "o": price(r.o), "h": price(r.h), "l": price(r.l),
            "c": price(r.c), "v": int(r.v), "n": None if pd.isna(r.n) else int(r.n),
            "vw": None if pd.isna(r.vw) else round(float(r.vw) / 1e6, 6)}


# -- page tokens ----------------------------------------------------------------------------
def make_token(symbol: str, cursor: int | None) -> str:
    """Return a page token resuming at ``symbol`` after ``cursor`` (None: from its start)."""
    return base64.urlsafe_b64encode(json.dumps({"s": symbol, "c": cursor}).encode()).decode()


def read_token(token: str | None, symbols: list[str]) -> tuple[int, int | None]:
    """Return (index of the symbol to resume at, cursor) of a page token.

    Raises:
        ValidationError: a token this server did not issue for these symbols (400).
    """
    if not token:
        return 0, None
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        sym, cur = str(data["s"]), data["c"]
        return symbols.index(sym), None if cur is None else int(cur)
    except (ValueError, TypeError, KeyError, AttributeError):
        raise ValidationError("page_token is not valid for this request",
                              field="page_token") from None


def window(start: str | None, end: str | None, now: datetime, timeframe: str
           ) -> tuple[int, int]:
    """Return the request's [start, end] in int64 ns: end at most ``now``, start a day before
    the end when not given.

    Raises:
        ValidationError: an unparsable time, a start before 1990 or after the end, a span wider
            than ``timeframe`` (stored) allows.
    """
    now_ts = pd.Timestamp(now)
    check_range(timeframe, start, end, now=now_ts)
    end_ts = min(to_utc(end), now_ts) if end else now_ts
    start_ts = to_utc(start) if start else end_ts - pd.Timedelta(days=1)
    return start_ts.value, end_ts.value


def stock_bars(db: Database, cal: MarketCalendar, now: datetime, symbols: list[str],
               timeframe: str, start: str | None, end: str | None, limit: int,
               page_token: str | None, sort: str = "asc") -> dict[str, Any]:
    """Return one page of Alpaca's ``{"bars": {SYM: [...]}, "next_page_token"}``.

    Symbols are paged in alphabetical order, as Alpaca's; the token names the symbol and the
    last bar served, so following it ends with a null token even while the clock moves.

    Raises:
        UnprocessableError: a timeframe Alpaca does not take (422).
        ValidationError: a bad time, range or page token (400).
    """
    spec = parse_bar_timeframe(timeframe)
    lo, hi = window(start, end, now, spec.source)
    now_ns = pd.Timestamp(now).value
    syms = sorted(set(symbols))
    first, cursor = read_token(page_token, syms)
    out: dict[str, list[dict[str, Any]]] = {}
    remaining, token = limit, None
    for i in range(first, len(syms)):
        sym = syms[i]
        a, b = lo, hi
        if i == first and cursor is not None:
            a, b = (cursor + 1, hi) if sort == "asc" else (lo, cursor - 1)
        df = bars_frame(db, cal, sym, spec, a, b, now_ns)
        if sort == "desc":
            df = df.iloc[::-1]
        page = df.iloc[:remaining]
        if len(page):
            out[sym] = [bar_json(ts, r) for ts, r in zip(page.index, page.itertuples(),
                                                         strict=True)]
        remaining -= len(page)
        if remaining <= 0:
            if len(df) > len(page):
                token = make_token(sym, int(page.index[-1]))
            elif i + 1 < len(syms):
                token = make_token(syms[i + 1], None)
            break
    return {"bars": out, "next_page_token": token}


def latest_bar_row(db: Database, symbol: str, now: datetime) -> pd.DataFrame:
    """Return the last one-minute bar closed by ``now`` (an empty frame when none)."""
    now_ns = pd.Timestamp(now).value
    return read_bars(db, symbol, "1m", 0, now_ns - MIN_NS, desc=True, limit=1)


def latest_bars(db: Database, now: datetime, symbols: list[str]) -> dict[str, Any]:
    """Return Alpaca's ``{"bars": {SYM: bar}}``: each symbol's last closed one-minute bar."""
    out = {}
    for sym in symbols:
        df = latest_bar_row(db, sym, now)
        if len(df):
            out[sym] = bar_json(int(df.index[0]), next(df.itertuples()))
    return {"bars": out}


def daily_bars(db: Database, cal: MarketCalendar, symbol: str, now: datetime,
               minute_ts: int | None) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Return the (daily, previous daily) bars of a snapshot at ``now``.

    The daily bar is the running session's (its one-minute bars closed by ``now``) once the
    session has traded, else the last stored session; the previous is the session before it.
    """
    crypto = "/" in symbol
    now_ns = pd.Timestamp(now).value
    stored = read_bars(db, symbol, "1d", 0, now_ns, desc=True, limit=3)
    stored = stored[bar_visible(stored.index.to_numpy(), "1d", cal, now_ns, crypto=crypto)]
    rows = [(int(ts), r) for ts, r in zip(stored.index, stored.itertuples(), strict=True)]
    if minute_ts is not None:
        day = (buckets(np.array([minute_ts]), BarSpec(1, "Day"), crypto=crypto)[0][0])
        if not rows or day > rows[0][0]:
            part = read_bars(db, symbol, "1m", int(day), now_ns - MIN_NS)
            if len(part):
                agg = aggregate(part, np.full(len(part), day, dtype="int64"))
                rows.insert(0, (int(day), next(agg.itertuples())))
    daily = bar_json(*rows[0]) if rows else None
    prev = bar_json(*rows[1]) if len(rows) > 1 else None
    return daily, prev


__all__ = ["BarSpec", "aggregate", "bar_json", "bars_frame", "buckets", "daily_bars",
           "latest_bar_row", "latest_bars", "make_token", "parse_bar_timeframe", "price",
           "read_bars", "read_token", "stock_bars", "window"]
