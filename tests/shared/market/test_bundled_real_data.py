"""Real market history reaches the suite offline: backtesting.py's GOOG daily bars (2004-2013).

``backtesting`` is pinned in requirements.txt, so every install carries these real bars; the CSV
provider finds them without configuration and they pass the same validation as any batch.
"""
from __future__ import annotations

import pandas as pd

from shared.market import CsvProvider
from shared.market.csv_provider import bundled_datasets
from shared.market.validation import validate_bars


def test_real_goog_history_is_found_read_and_valid(calendar) -> None:
    names = {p.name for p in bundled_datasets()}
    assert "GOOG.csv" in names
    prov = CsvProvider([], calendar)
    assert "GOOG" in prov.symbols()
    bars = prov.fetch_bars("GOOG", "1d", "2004-01-01", "2014-01-01")
    assert len(bars) == 2148
    assert bars.index.tz is not None and bars.index.is_monotonic_increasing
    first = bars.iloc[0]
    # Google's first trading day, 2004-08-19: open 100.00, close 100.34 (split-adjusted file).
    assert bars.index[0].tz_convert("America/New_York").date() == pd.Timestamp("2004-08-19").date()
    assert (first["open"], first["close"]) == (100.0, 100.34)
    report = validate_bars(bars, "1d", calendar)
    quality = report.quality if hasattr(report, "quality") else report[1].quality
    assert quality > 0.95
