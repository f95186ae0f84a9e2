"""Load a user's OHLCV file for a backtest, refusing what would change results silently.

``shared.market.read_ohlcv_file`` reads the columns and times; this module adds the checks a
backtest needs before any bar is replayed, each failing with a message that names the file's
lines and the option that fixes it:

- a missing or non-positive price (common in downloaded files): ``--drop-missing`` drops them;
- two rows with the same time (a re-download appended to a file): ``--dedupe`` keeps the last;
- times that do not exist in the file's zone (naive 24/7 data over a daylight-saving change):
  ``--tz UTC`` (raised by the reader).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from shared.errors import ValidationError
from shared.market import read_ohlcv_file

PRICES = ("open", "high", "low", "close")


@dataclass(frozen=True)
class LoadOptions:
    """How to read a file: its zone for naive times, and which repairs the user allowed."""

    symbol: str | None = None
    tz: str = "America/New_York"
    dedupe: bool = False
    drop_missing: bool = False


def _where(frame: pd.DataFrame, mask: np.ndarray, limit: int = 5) -> str:
    rows = frame[mask]
    shown = ", ".join(f"line {int(ln)} ({ts.isoformat()})"
                      for ts, ln in zip(rows.index[:limit], rows["line"][:limit], strict=True))
    more = f" and {len(rows) - limit} more" if len(rows) > limit else ""
    return shown + more


def check_frame(frame: pd.DataFrame, path: str, opts: LoadOptions) -> pd.DataFrame:
    """Return ``frame`` (with a ``line`` column) checked and repaired as ``opts`` allows.

    Raises:
        ValidationError: a missing price or a repeated time the options do not repair, or no
            bars left.
    """
    prices = frame[list(PRICES)].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(prices).all(axis=1) | (prices <= 0).any(axis=1)
    if bad.any():
        if not opts.drop_missing:
            raise ValidationError(f"{path}: {int(bad.sum())} row(s) have a missing or "
                                  f"non-positive price: {_where(frame, bad)}; fix the file, or "
                                  "pass --drop-missing to leave those rows out", field="data")
        frame = frame[~bad]
    dup = frame.index.duplicated(keep=False)
    if dup.any():
        if not opts.dedupe:
            n = int(frame.index.duplicated().sum())
            raise ValidationError(f"{path}: {n} time(s) appear more than once: "
                                  f"{_where(frame, dup)}; fix the file, or pass --dedupe to "
                                  "keep the last row of each time", field="data")
        frame = frame[~frame.index.duplicated(keep="last")]
    if frame.empty:
        raise ValidationError(f"{path}: no bars left to replay", field="data")
    frame = frame.copy()
    frame["volume"] = frame["volume"].fillna(0)
    return frame


def load_bars(path: str | os.PathLike[str], opts: LoadOptions) -> pd.DataFrame:
    """Return the file's bars (UTC index; open, high, low, close, volume), checked.

    Raises:
        ValidationError: the file cannot be read, or a check above fails; the message names
            the lines and the option that fixes it.
    """
    frame = read_ohlcv_file(path, tz=opts.tz, symbol=opts.symbol, lines=True)
    out = check_frame(frame, str(path), opts)
    attrs = dict(frame.attrs)
    out = out.drop(columns=["line"])
    out.attrs.update(attrs)
    return out


_EXTS = (".csv", ".csv.gz", ".parquet", ".pq", ".txt")


def load_many(path: str | os.PathLike[str], opts: LoadOptions,
              symbols: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Return ``{symbol: bars}`` of a folder of files (one symbol per file, named by its
    stem) or of one file with a symbol column (every symbol, or ``symbols``), each checked
    like ``load_bars``.

    Raises:
        ValidationError: nothing to read, or a file/symbol fails a check (named).
    """
    p = Path(path)
    out: dict[str, pd.DataFrame] = {}
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.name.lower().endswith(_EXTS))
        for f in files:
            sym = f.name.split(".")[0].upper()
            if symbols and sym not in symbols:
                continue
            out[sym] = load_bars(f, replace(opts, symbol=sym))
    elif p.is_file():
        head = pd.read_csv(p, nrows=0, sep=None, engine="python") if not p.name.endswith(
            (".parquet", ".pq")) else pd.read_parquet(p).iloc[:0]
        col = next((c for c in head.columns if str(c).strip().lower() == "symbol"), None)
        if col is None:
            raise ValidationError(f"{p}: a portfolio needs a folder of files or a file with a "
                                  "symbol column", field="data")
        names = (symbols or sorted(pd.read_csv(p, usecols=[col], sep=None, engine="python")[col]
                                   .astype(str).str.upper().unique().tolist()))
        for sym in names:
            out[sym] = load_bars(p, replace(opts, symbol=sym))
    else:
        raise ValidationError(f"{p}: no such file or folder", field="data")
    if not out:
        raise ValidationError(f"{p}: no files of bars" + (f" for {symbols}" if symbols else ""),
                              field="data")
    return out


def market_bars(start: str, end: str, timeframe: str, universe: int,
                symbols: list[str] | None = None, seed: int | None = None) -> dict[str, pd.DataFrame]:
    """Return the built-in market's bars for ``[start, end]`` (dates, New York sessions):
    the first ``universe`` symbols of its universe, or ``symbols``.  The same deterministic
    market the live suite trades, generated in this process (no services needed).

    Raises:
        ValidationError: a bad date range or timeframe.
    """
    from shared.config import load_settings
    from shared.market.calendar import get_calendar
    from shared.market.simulated import SimulatedProvider
    from shared.market.symbols import universe_map

    cfg = load_settings().market
    seed = cfg.seed if seed is None else seed
    try:
        s = pd.Timestamp(start, tz="America/New_York")
        e = pd.Timestamp(end, tz="America/New_York") + pd.Timedelta(days=1)
    except ValueError:
        raise ValidationError(f"--market needs START:END dates (YYYY-MM-DD), was "
                              f"{start}:{end}", field="market") from None
    if e <= s or (e - s).days > 3660:
        raise ValidationError("--market: END must follow START, at most ten years apart",
                              field="market")
    uni = universe_map(seed, max(cfg.universe_size, universe), tuple(cfg.crypto_symbols))
    sim = SimulatedProvider(seed, uni, get_calendar(cfg.calendar))
    names = symbols or [k for k, v in uni.items() if v.asset_class == "equity"][:universe]
    out = {}
    for sym in names:
        df = sim.fetch_bars(sym, timeframe, s.tz_convert("UTC"), e.tz_convert("UTC"))
        if len(df):
            out[sym] = df[["open", "high", "low", "close", "volume"]].astype("float64")
    if not out:
        raise ValidationError(f"the built-in market has no {timeframe} bars from {start} to "
                              f"{end}", field="market")
    return out
