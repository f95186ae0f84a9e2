"""The one bar DataFrame shape used everywhere, and its conversions to and from micro-units.

A bar frame has a UTC ``DatetimeIndex`` named ``ts`` (the bar's *open* time) and the columns
``open, high, low, close`` (float64, cents-exact), ``volume`` (int64), ``vwap`` (float64, NaN when
unknown) and ``trade_count`` (Int64, missing when unknown).  ``attrs`` carry ``symbol``,
``timeframe``, ``source`` and ``stale``.  ``BarArrays`` is the same data as read-only
numpy arrays: what the data manager caches and hands to the services.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PRICE_COLUMNS = ("open", "high", "low", "close")
BAR_COLUMNS = ("open", "high", "low", "close", "volume")
ALL_COLUMNS = (*BAR_COLUMNS, "vwap", "trade_count")


def empty_frame(symbol: str = "", timeframe: str = "", source: str = "") -> pd.DataFrame:
    df = pd.DataFrame(
        {"open": pd.Series(dtype="float64"), "high": pd.Series(dtype="float64"),
         "low": pd.Series(dtype="float64"), "close": pd.Series(dtype="float64"),
         "volume": pd.Series(dtype="int64"), "vwap": pd.Series(dtype="float64"),
         "trade_count": pd.Series(dtype="Int64")},
        index=pd.DatetimeIndex([], tz="UTC", name="ts"))
    df.attrs.update(symbol=symbol, timeframe=timeframe, source=source, stale=False)
    return df


def make_frame(ts_ns: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray,
               v: np.ndarray, vwap: np.ndarray | None = None, n: np.ndarray | None = None,
               *, symbol: str = "", timeframe: str = "", source: str = "") -> pd.DataFrame:
    """Return a bar frame from plain arrays (times as int64 nanoseconds since the epoch, UTC)."""
    idx = pd.DatetimeIndex(pd.to_datetime(np.asarray(ts_ns, dtype="int64"), unit="ns", utc=True),
                           name="ts").as_unit("ns")
    df = pd.DataFrame({
        "open": np.asarray(o, dtype="float64"), "high": np.asarray(h, dtype="float64"),
        "low": np.asarray(lo, dtype="float64"), "close": np.asarray(c, dtype="float64"),
        "volume": np.asarray(v, dtype="int64"),
        "vwap": np.full(len(idx), np.nan) if vwap is None else np.asarray(vwap, dtype="float64"),
        "trade_count": pd.array([pd.NA] * len(idx) if n is None else n, dtype="Int64"),
    }, index=idx)
    df.attrs.update(symbol=symbol, timeframe=timeframe, source=source, stale=False)
    return df


def micros(values: np.ndarray) -> np.ndarray:
    """Return float prices as int64 micro-units (prices are cents-exact, so this is exact)."""
    return np.round(np.asarray(values, dtype="float64") * 1e6).astype("int64")


def from_micros_array(values: np.ndarray) -> np.ndarray:
    """Return int64 micro-units as float64 prices rounded to the micro-unit."""
    return np.round(np.asarray(values, dtype="float64") / 1e6, 6)


def iso(ts_ns: np.ndarray) -> list[str]:
    """Return int64 ns times as ISO-8601 UTC strings with ``+00:00`` (the database format)."""
    # numpy's formatter, not pandas' strftime: the same text, many times faster on the few
    # bars a per-step update writes (pandas' fixed cost per call dominated there).
    secs = np.asarray(ts_ns, dtype="int64").astype("datetime64[ns]").astype("datetime64[s]")
    return [t + "+00:00" for t in np.datetime_as_string(secs, unit="s").tolist()]


@dataclass(frozen=True)
class BarArrays:
    """One symbol's bars as aligned numpy arrays: the suite's one array form of bars.

    The data manager returns it (``get_bars``/``get_bars_many``, see
    ``shared.market.reader.BarReader``), caches it, and every service computes on it.

    * ``ts``: int64, the bar's *open* time in nanoseconds since the epoch, UTC, ascending;
    * ``open``, ``high``, ``low``, ``close``: float64 prices (cents-exact);
    * ``volume``: int64 (``ohlcv()`` gives it as float64, for float maths);
    * ``vwap``: float64, NaN when unknown;
    * ``trade_count``: int64, -1 when unknown.

    ``source`` names the provider and ``stale`` is True when every provider failed and the
    bars came from a cache.  Every array is flagged read-only (set here, on whatever is
    passed in), so a cached copy can be handed to many callers without copying: code that
    writes in place must copy first (``np.array(a)`` or ``a.copy()``).  The helpers below
    return views where they can (slices) and never write.
    """

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    vwap: np.ndarray
    trade_count: np.ndarray
    source: str = ""
    stale: bool = False

    def __post_init__(self) -> None:
        for f in _ARRAY_FIELDS:
            getattr(self, f).flags.writeable = False

    def __len__(self) -> int:
        return int(self.ts.size)

    @property
    def nbytes(self) -> int:
        """Bytes of the eight arrays (a view counts its own length, not its base's)."""
        return int(sum(getattr(self, f).nbytes for f in _ARRAY_FIELDS))

    def take(self, keep: np.ndarray | slice) -> BarArrays:
        """Return the bars selected by a boolean mask or a slice."""
        return BarArrays(*(getattr(self, f)[keep] for f in _ARRAY_FIELDS), self.source,
                         self.stale)

    def tail(self, n: int) -> BarArrays:
        """Return the last ``n`` bars (all of them when there are fewer; views, no copy)."""
        return self if len(self) <= n else self.take(slice(len(self) - n, None))

    def since(self, ts_ns: int) -> BarArrays:
        """Return the bars opening at or after ``ts_ns`` (views, no copy)."""
        i = int(np.searchsorted(self.ts, ts_ns, side="left"))
        return self if i == 0 else self.take(slice(i, None))

    def then(self, other: BarArrays) -> BarArrays:
        """Return these bars followed by ``other`` (all of whose bars open later).

        An empty side is left out; otherwise ``source`` is this one's, stale if either is.
        """
        if not len(other):
            return self
        if not len(self):
            return other
        return BarArrays(*(np.concatenate([getattr(self, f), getattr(other, f)])
                           for f in _ARRAY_FIELDS), self.source, self.stale or other.stale)

    def ohlcv(self) -> dict[str, np.ndarray]:
        """Return open/high/low/close/volume as float64 arrays (volume converted)."""
        return {"open": self.open, "high": self.high, "low": self.low, "close": self.close,
                "volume": self.volume.astype("float64")}

    def frame(self, symbol: str = "", timeframe: str = "", *, ohlcv_only: bool = False
              ) -> pd.DataFrame:
        """Return a new bar frame (its own copy of the data)."""
        idx = pd.DatetimeIndex(self.ts.astype("M8[ns]"), name="ts").tz_localize("UTC")
        cols: dict[str, object] = {"open": self.open.copy(), "high": self.high.copy(),
                                   "low": self.low.copy(), "close": self.close.copy(),
                                   "volume": self.volume.copy()}
        if not ohlcv_only:
            cols["vwap"] = self.vwap.copy()
            cols["trade_count"] = pd.arrays.IntegerArray(self.trade_count.copy(),
                                                         self.trade_count < 0)
        df = pd.DataFrame(cols, index=idx, copy=False)
        df.attrs.update(symbol=symbol, timeframe=timeframe, source=self.source,
                        stale=self.stale)
        return df

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> BarArrays:
        """Return a bar frame's data as arrays."""
        n = len(df)
        vw = (df["vwap"].to_numpy(dtype="float64", na_value=np.nan) if "vwap" in df
              else np.full(n, np.nan))
        tc = (df["trade_count"].to_numpy(dtype="float64", na_value=-1.0).astype("int64")
              if "trade_count" in df else np.full(n, -1, dtype="int64"))
        return cls(np.asarray(df.index.as_unit("ns").asi8, dtype="int64").copy(),
                   *(df[c].to_numpy(dtype="float64").copy() for c in PRICE_COLUMNS),
                   df["volume"].to_numpy(dtype="int64").copy(), vw.copy(), tc,
                   str(df.attrs.get("source", "")), bool(df.attrs.get("stale", False)))


_ARRAY_FIELDS = ("ts", "open", "high", "low", "close", "volume", "vwap", "trade_count")


def empty_arrays(source: str = "") -> BarArrays:
    f, i = np.empty(0, dtype="float64"), np.empty(0, dtype="int64")
    return BarArrays(i, f, f.copy(), f.copy(), f.copy(), i.copy(), f.copy(), i.copy(), source)
