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
from dataclasses import dataclass

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
