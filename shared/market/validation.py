"""Validate every batch of bars before it is stored.

Checks: required columns and numeric types, no missing values, positive prices,
high >= max(open, close), low <= min(open, close), high >= low, volume >= 0, unique and
ordered timestamps, bars inside sessions (equities) and gaps against the session calendar.
Bad rows are returned with their reason (never silently dropped); the caller logs and counts
them.  A batch gets a quality score in [0, 1]: the share of valid rows times the share of
expected minutes present (for one-minute bars).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from shared.errors import ValidationError
from shared.market.calendar import MarketCalendar
from shared.market.frames import BAR_COLUMNS, PRICE_COLUMNS
from shared.market.resample import bar_stamps
from shared.market.timeframes import parse_timeframe

log = logging.getLogger("market.validation")

REASONS = (
    "missing_value", "non_numeric", "non_positive_price", "high_below_open_close",
    "low_above_open_close", "high_below_low", "negative_volume", "duplicate_timestamp",
    "outside_session", "misaligned_timestamp",
)


@dataclass
class ValidationReport:
    """The outcome of one batch: the good rows, the rejected ones with reasons, and scores."""

    valid: pd.DataFrame
    rejects: pd.DataFrame  # the rejected rows plus a 'reason' column
    rows_in: int
    gaps: int = 0
    expected: int = 0
    out_of_order: int = 0
    quality: float = 1.0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def rows_rejected(self) -> int:
        return len(self.rejects)

    def summary(self) -> dict[str, object]:
        return {"rows_in": self.rows_in, "rows_valid": len(self.valid),
                "rows_rejected": self.rows_rejected, "reasons": dict(self.counts),
                "gaps": self.gaps, "expected": self.expected,
                "out_of_order": self.out_of_order, "quality": round(self.quality, 4)}


def validate_bars(df: pd.DataFrame, timeframe: str, calendar: MarketCalendar, *,
                  crypto: bool = False, symbol: str = "") -> ValidationReport:
    """Return a ``ValidationReport`` for a batch of bars with a UTC DatetimeIndex.

    Raises:
        ValidationError: when a required column is missing or the index is not made of times
            (the whole batch is unusable, so nothing in it can be stored).
    """
    tf = parse_timeframe(timeframe)
    missing = [c for c in BAR_COLUMNS if c not in df.columns]
    if missing:
        raise ValidationError(f"bars for {symbol or '?'} lack column(s) {missing}; "
                              f"need {list(BAR_COLUMNS)}", field="columns")
    if not isinstance(df.index, pd.DatetimeIndex) or df.index.tz is None:
        raise ValidationError("bars need a timezone-aware DatetimeIndex of open times",
                              field="ts")
    rows_in = len(df)
    work = df.copy()
    if work.index.tz != "UTC":
        work.index = work.index.tz_convert("UTC")
    out_of_order = int((np.diff(work.index.as_unit("ns").asi8) < 0).sum()) if rows_in > 1 else 0
    if out_of_order:
        work = work.sort_index(kind="stable")
    reason = np.full(rows_in, "", dtype=object)

    def flag(mask: np.ndarray, why: str) -> None:
        m = np.asarray(mask, dtype=bool) & (reason == "")
        reason[m] = why

    raw_na = work[list(BAR_COLUMNS)].isna().to_numpy().any(axis=1)
    nums = {}
    for c in BAR_COLUMNS:
        nums[c] = pd.to_numeric(work[c], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    coerced_na = np.column_stack([np.isnan(nums[c]) for c in BAR_COLUMNS]).any(axis=1)
    flag(raw_na, "missing_value")
    flag(coerced_na, "non_numeric")
    o, h, lo, c, v = (nums[k] for k in BAR_COLUMNS)
    with np.errstate(invalid="ignore"):
        flag((o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0), "non_positive_price")
        flag(h < np.maximum(o, c), "high_below_open_close")
        flag(lo > np.minimum(o, c), "low_above_open_close")
        flag(h < lo, "high_below_low")
        flag(v < 0, "negative_volume")
    ts = work.index.as_unit("ns").asi8
    dup = np.zeros(rows_in, dtype=bool)
    if rows_in > 1:
        dup[1:] = ts[1:] == ts[:-1]
    flag(dup, "duplicate_timestamp")
    # each bar's session and stamp from its open time: a daily bar at 00:00 New York of its
    # session's date, the 09:00 hour bar holding 09:30-10:00 (as Alpaca stamps them)
    stamps = bar_stamps(ts, tf.name, calendar, crypto)
    if not crypto:
        flag(stamps < 0, "outside_session")
    if tf.name != "1m" and rows_in:
        flag((stamps >= 0) & (stamps != ts), "misaligned_timestamp")

    bad = reason != ""
    valid = work.loc[~bad].copy()
    for col in PRICE_COLUMNS:
        valid[col] = nums[col][~bad]
    valid["volume"] = nums["volume"][~bad].astype("int64")
    rejects = work.loc[bad].copy()
    rejects["reason"] = reason[bad]
    counts = {str(k): int(n) for k, n in zip(*np.unique(reason[bad].astype(str), return_counts=True), strict=False)}
    gaps = expected = 0
    if tf.name == "1m" and len(valid):
        first, last = valid.index[0], valid.index[-1]
        if crypto:
            expected = int((last - first) // pd.Timedelta(minutes=1)) + 1
        else:
            expected = len(calendar.minutes_in_range(first, last))
        gaps = max(expected - len(valid), 0)
    share_valid = (len(valid) / rows_in) if rows_in else 1.0
    coverage = (1 - gaps / expected) if expected else 1.0
    report = ValidationReport(valid, rejects, rows_in, gaps, expected, out_of_order,
                              share_valid * coverage, counts)
    valid.attrs.update(df.attrs)
    valid.attrs["quality"] = report.quality
    if len(rejects):
        log.warning("bars rejected", extra={"symbol": symbol, "timeframe": tf.name,
                                            "rejected": len(rejects), "reasons": counts})
    return report
