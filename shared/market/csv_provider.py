"""Replay OHLCV files a user has: CSV (plain or gzipped) or Parquet, daily or intraday.

Column names are matched loosely (``Date``/``datetime``/``timestamp``/``t``, ``Open``/``o``...),
times may be ISO strings, US dates or epoch seconds/milliseconds; naive times are read in the
configured time zone (New York by default).  Daily rows are stamped as Alpaca stamps daily
bars: the row's date at 00:00 New York (00:00 UTC for a crypto pair).
Files are found as ``<dir>/<SYMBOL>.csv`` (or ``.csv.gz``, ``.parquet``), or
``<dir>/<SYMBOL>_<timeframe>.csv``.  What cannot be read raises a ``ValidationError`` that
names the file and says what to fix.
"""
from __future__ import annotations

import csv
import os
import threading
from importlib import util as importlib_util
from pathlib import Path

import numpy as np
import pandas as pd

from shared.errors import NotFound, UnprocessableError, ValidationError
from shared.market.calendar import MarketCalendar, to_utc
from shared.market.frames import make_frame
from shared.market.resample import resample_bars
from shared.market.symbols import classify
from shared.market.timeframes import TIMEFRAMES, parse_timeframe

_ALIASES = {
    "ts": ("ts", "timestamp", "datetime", "date", "time", "t", "date_time", "dt", "unnamed: 0",
           "index", "bar_time", "open_time", "begins_at"),
    "open": ("open", "o", "open_price", "opening_price"),
    "high": ("high", "h", "high_price", "max"),
    "low": ("low", "l", "low_price", "min"),
    "close": ("close", "c", "close_price", "closing_price", "last", "price"),
    "volume": ("volume", "v", "vol", "qty", "shares"),
    "vwap": ("vwap", "vw"),
    "trade_count": ("trade_count", "n", "trades", "count", "number_of_trades"),
}
_EXTS = (".csv", ".csv.gz", ".parquet", ".pq", ".txt")
DATA_DIR = Path(__file__).resolve().parent / "data"


def _norm(name: object) -> str:
    return str(name).strip().lower().replace(" ", "_").replace("<", "").replace(">", "")


def _parse_times(col: pd.Series, tz: str, path: str) -> pd.DatetimeIndex:
    if pd.api.types.is_numeric_dtype(col):
        v = col.to_numpy(dtype="float64")
        mag = np.nanmedian(np.abs(v)) if len(v) else 0
        unit = "s" if mag < 1e11 else "ms" if mag < 1e14 else "us" if mag < 1e17 else "ns"
        if 19_000_000 < mag < 30_000_000:  # YYYYMMDD integers
            return pd.DatetimeIndex(pd.to_datetime(col.astype("int64").astype(str),
                                                   format="%Y%m%d")).tz_localize(tz)
        return pd.DatetimeIndex(pd.to_datetime(v, unit=unit, utc=True))
    text = col.astype(str).str.strip()
    try:
        idx = pd.DatetimeIndex(pd.to_datetime(text, format="mixed"))
    except ValueError as exc:
        if "Mixed timezones" not in str(exc):
            raise ValidationError(f"{path}: cannot read the time column ({exc}); use ISO-8601 "
                                  "(2024-01-02 or 2024-01-02T14:30:00Z) or epoch seconds",
                                  field="ts") from None
        # ISO-8601 stamps whose UTC offset changes with daylight saving time (-05:00 in winter,
        # -04:00 in summer) are valid: each names its own instant, so read them all as UTC
        idx = pd.DatetimeIndex(pd.to_datetime(text, format="mixed", utc=True))
    except TypeError as exc:
        raise ValidationError(f"{path}: cannot read the time column ({exc}); use ISO-8601 "
                              "(2024-01-02 or 2024-01-02T14:30:00Z) or epoch seconds",
                              field="ts") from None
    if idx.tz is None:
        idx = idx.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    return idx.tz_convert("UTC")


def _read_delimited(p: Path) -> pd.DataFrame:
    """Return a delimited text file as read by pandas' C parser, its delimiter sniffed from
    the first lines (the Python engine's own sniffing parses 5-10x slower); a file the
    sniffer cannot place (gzip, whitespace columns) goes to the Python engine as before."""
    if not p.name.endswith(".gz"):
        with p.open(newline="", errors="replace") as f:
            head = f.read(16384)
        try:
            sep = csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
        except csv.Error:
            sep = None
        if sep is not None:
            return pd.read_csv(p, sep=sep)
    return pd.read_csv(p, sep=None, engine="python")


def _line(raw: pd.DataFrame, pos: int) -> int:
    """Return the file line of ``raw``'s row at position ``pos`` (line 1 is the header)."""
    return int(raw.index[pos]) + 2


def _unreadable_times(p: Path, raw: pd.DataFrame, col: str, idx: pd.DatetimeIndex,
                      tz: str) -> str:
    bad = np.flatnonzero(np.asarray(idx.isna()))
    shown = ", ".join(f"line {_line(raw, i)} ({raw[col].iloc[i]})" for i in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    return (f"{p}: {len(bad)} row(s) have a time that does not exist or is ambiguous in {tz} "
            f"(a daylight-saving change) or cannot be read: {shown}{more}; if the file's "
            "times are in UTC or another zone, name it (--tz UTC, --tz Europe/London)")


def read_ohlcv_file(path: str | os.PathLike[str], *, tz: str = "America/New_York",
                    calendar: MarketCalendar | None = None, symbol: str | None = None,
                    lines: bool = False) -> pd.DataFrame:
    """Return the bars of one OHLCV file as a bar frame (sorted, UTC; daily rows at their
    date's 00:00 New York, or 00:00 UTC for a crypto pair).

    ``attrs['timeframe']`` is inferred from the spacing of the rows.  A file with a
    ``symbol`` column must be given ``symbol`` to pick its rows; daily rows are taken as a
    crypto pair's only when ``symbol`` is one.  ``calendar`` is not needed any more (kept for
    callers that pass it).  ``lines`` adds a ``line`` column: each row's line in the file
    (the header is line 1), so a caller's checks can name the row to fix.

    Raises:
        ValidationError: the file is missing, unreadable, or lacks a needed column.
    """
    p = Path(path)
    if not p.exists():
        raise ValidationError(f"{p}: no such file", field="path")
    try:
        if p.suffix in (".parquet", ".pq"):
            raw = pd.read_parquet(p)
            if isinstance(raw.index, pd.DatetimeIndex):
                raw = raw.reset_index()
        else:
            raw = _read_delimited(p)
    except Exception as exc:  # noqa: BLE001 - pandas raises many types for a bad file
        raise ValidationError(f"{p}: cannot read as CSV or Parquet ({type(exc).__name__}: "
                              f"{exc})", field="path") from None
    cols = {_norm(c): c for c in raw.columns}
    if "symbol" in cols:
        if symbol is None:
            raise ValidationError(f"{p}: has a symbol column; say which symbol to read",
                                  field="symbol")
        names = raw[cols["symbol"]].astype(str).str.upper()
        if not (names == symbol.upper()).any():
            have = sorted(names.unique().tolist())
            raise ValidationError(f"{p}: no rows for {symbol.upper()}; its symbols are "
                                  f"{', '.join(have[:20])}" + (" ..." if len(have) > 20 else ""),
                                  field="symbol")
        raw = raw[names == symbol.upper()]
    found: dict[str, str] = {}
    for key, names in _ALIASES.items():
        for n in names:
            if n in cols and cols[n] not in found.values():
                found[key] = cols[n]
                break
    if "close" not in found and "adj_close" in cols:
        found["close"] = cols["adj_close"]
    first = str(raw.columns[0]) if len(raw.columns) else ""
    if "ts" not in found and (first == "" or first.startswith("Unnamed: 0")):
        # A file written by DataFrame.to_csv() keeps its date index as an unnamed first column
        # (backtesting.py's bundled GOOG.csv is one); _parse_times still checks it parses.
        found["ts"] = raw.columns[0]
    need = [k for k in ("ts", "open", "high", "low", "close") if k not in found]
    if need:
        raise ValidationError(f"{p}: no column for {need}; columns are {list(raw.columns)}; "
                              "name them date/open/high/low/close/volume", field="columns")
    if raw.empty:
        raise ValidationError(f"{p}: has a header but no rows of bars"
                              + (f" for {symbol}" if symbol else ""), field="path")
    idx = _parse_times(raw[found["ts"]], tz, str(p))
    if idx.isna().any():
        raise ValidationError(_unreadable_times(p, raw, found["ts"], idx, tz), field="ts")
    local = idx.tz_convert(tz)
    daily = bool(len(idx)) and bool(((local.hour == 0) & (local.minute == 0)).all()) and (
        len(idx) < 2 or np.median(np.diff(idx.as_unit("ns").asi8)) >= 86_400e9 * 0.9)
    name = symbol or p.name.split(".")[0].split("_")[0].upper()
    if daily:
        # the row's date, whatever zone the file is in: a session's bar is stamped with its
        # date at 00:00 New York (Alpaca's 1Day ``t``), a crypto day's at 00:00 UTC
        crypto = symbol is not None and classify(symbol).value == "crypto"
        zone = "UTC" if crypto else "America/New_York"
        idx = pd.DatetimeIndex(local.tz_localize(None).normalize()).tz_localize(zone) \
            .tz_convert("UTC")
    vol = (pd.to_numeric(raw[found["volume"]], errors="coerce") if "volume" in found
           else pd.Series(0, index=raw.index))
    df = pd.DataFrame({k: pd.to_numeric(raw[found[k]], errors="coerce").to_numpy()
                       for k in ("open", "high", "low", "close")}, index=idx)
    df["volume"] = vol.to_numpy()
    df["vwap"] = (pd.to_numeric(raw[found["vwap"]], errors="coerce").to_numpy()
                  if "vwap" in found else np.nan)
    df["trade_count"] = pd.array(pd.to_numeric(raw[found["trade_count"]], errors="coerce")
                                 if "trade_count" in found else [pd.NA] * len(df), dtype="Int64")
    if lines:
        df["line"] = raw.index.to_numpy(dtype="int64") + 2
    df.index.name = "ts"
    df = df.sort_index(kind="stable")
    df.attrs.update(symbol=name, timeframe=infer_timeframe(df.index, daily), source="csv",
                    stale=False, path=str(p))
    return df


def infer_timeframe(idx: pd.DatetimeIndex, daily: bool) -> str:
    """Return the timeframe name closest to the usual spacing of ``idx``."""
    if daily or len(idx) < 2:
        return "1d" if daily or len(idx) < 2 else "1m"
    step = float(np.median(np.diff(idx.as_unit("ns").asi8))) / 60e9
    best = min((t for t in TIMEFRAMES.values() if not t.is_daily),
               key=lambda t: abs(t.minutes - step))
    return best.name


def bundled_datasets() -> list[Path]:
    """Return real OHLCV files shipped in the repo or by an installed package (may be empty)."""
    out = sorted(p for p in DATA_DIR.glob("*") if p.name.endswith(_EXTS)) if DATA_DIR.exists() else []
    spec = importlib_util.find_spec("backtesting")  # backtesting.py ships GOOG.csv, EURUSD.csv
    if spec is not None and spec.submodule_search_locations:
        test_dir = Path(list(spec.submodule_search_locations)[0]) / "test"
        out += sorted(test_dir.glob("*.csv"))
    return out


class CsvProvider:
    """Bars from files in the configured directories (and explicit files)."""

    name = "csv"

    def __init__(self, paths: list[str | os.PathLike[str]], calendar: MarketCalendar,
                 tz: str = "America/New_York", include_bundled: bool = True) -> None:
        self.paths = [Path(p) for p in paths]
        self.calendar = calendar
        self.tz = tz
        self.include_bundled = include_bundled
        self._cache: dict[tuple[str, float], pd.DataFrame] = {}
        self._lock = threading.Lock()

    def files(self) -> list[Path]:
        out: list[Path] = []
        for p in self.paths:
            if p.is_dir():
                out += sorted(f for f in p.iterdir() if f.name.lower().endswith(_EXTS))
            elif p.exists():
                out.append(p)
        return out + (bundled_datasets() if self.include_bundled else [])

    def _find(self, symbol: str, timeframe: str) -> list[Path]:
        key = symbol.replace("/", "-").upper()
        hits = []
        for f in self.files():
            stem = f.name.split(".")[0].upper()
            if stem == key or stem == f"{key}_{timeframe.upper()}" or stem.startswith(key + "_"):
                hits.append(f)
        return hits

    def symbols(self) -> list[str]:
        return sorted({f.name.split(".")[0].split("_")[0].upper() for f in self.files()})

    def load(self, path: Path, symbol: str) -> pd.DataFrame:
        key = (str(path), path.stat().st_mtime)
        with self._lock:
            df = self._cache.get(key)
        if df is None:
            df = read_ohlcv_file(path, tz=self.tz, calendar=self.calendar, symbol=symbol)
            with self._lock:
                self._cache[key] = df
        return df

    def fetch_bars(self, symbol: str, timeframe: str, start: object, end: object) -> pd.DataFrame:
        """Return the file's bars in ``[start, end)``, resampled up when the file is finer.

        Raises:
            NotFound: no file for the symbol.
            UnprocessableError: the files are coarser than the timeframe asked for.
        """
        tf = parse_timeframe(timeframe)
        files = self._find(symbol, tf.name)
        if not files:
            raise NotFound(f"no CSV/Parquet file for {symbol} in {[str(p) for p in self.paths]}",
                           field="symbol")
        frames = [self.load(f, symbol) for f in files]
        exact = [f for f in frames if f.attrs["timeframe"] == tf.name]
        finer = sorted((f for f in frames if parse_timeframe(f.attrs["timeframe"]).minutes
                        < tf.minutes), key=lambda f: -parse_timeframe(f.attrs["timeframe"]).minutes)
        s, e = to_utc(start), to_utc(end)
        if exact:
            df = exact[0]
        elif finer:
            src = finer[0]
            df = resample_bars(src[(src.index >= s) & (src.index < e + tf.duration)], tf.name,
                               self.calendar, crypto=classify(symbol).value == "crypto")
        else:
            raise UnprocessableError(
                f"the files for {symbol} hold {[f.attrs['timeframe'] for f in frames]} bars, "
                f"coarser than {tf.name}", field="timeframe")
        out = df[(df.index >= s) & (df.index < e)].copy()
        out.attrs.update(symbol=symbol, timeframe=tf.name, source=self.name, stale=False)
        return out

    def health(self) -> dict[str, object]:
        return {"provider": self.name, "ok": True, "files": len(self.files())}


__all__ = ["CsvProvider", "bundled_datasets", "make_frame", "read_ohlcv_file"]
