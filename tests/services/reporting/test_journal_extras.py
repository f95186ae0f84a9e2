"""MAE/MFE from bars, breakdowns, and the CSV / JSON / HTML exports."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest

from shared.analytics import (
    ReportOptions,
    add_excursions,
    breakdown,
    build_report,
    build_round_trips,
    equity_series,
    export_files,
    trades_csv,
)
from tests.services.reporting.factories import T0, fill

D = Decimal
MIN = timedelta(minutes=1)


def bars(rows: list[tuple[float, float]], start=T0) -> pd.DataFrame:
    """Minute bars from (high, low) pairs, opening at ``start``."""
    idx = pd.date_range(start, periods=len(rows), freq="min")
    hi = [h for h, _ in rows]
    lo = [lo for _, lo in rows]
    return pd.DataFrame({"open": lo, "high": hi, "low": lo, "close": hi, "volume": 100},
                        index=idx)


def test_long_excursions_use_bars_between_entry_and_exit() -> None:
    # entry at minute 1 @100, exit at minute 3 @101; bars 0..5
    frame = bars([(200, 50), (102, 99), (104, 97), (300, 10), (300, 10)])
    t, = add_excursions(build_round_trips([fill(1, "buy", 10, "100"), fill(3, "sell", 10,
                                                                           "101")]),
                        {"AAA": frame}, MIN)
    # bars opening at minutes 1 and 2 overlap the trade; bar 0 closed at the entry and
    # bar 3 opened at the exit
    assert t.mfe == D("40") and t.mae == D("-30")
    assert t.mfe_pct == pytest.approx(0.04) and t.mae_pct == pytest.approx(-0.03)


def test_short_excursions_and_fill_prices_bound_them() -> None:
    frame = bars([(100.5, 99.5)] * 5)
    t, = add_excursions(build_round_trips([fill(1, "sell", 2, "100"), fill(2, "buy", 2, "99")]),
                        {"AAA": frame}, MIN)
    assert t.mfe == D("2") and t.mae == D("-1")  # 99 fill beats the bars' low of 99.5
    none, = add_excursions(build_round_trips([fill(1, "buy", 1, "10"), fill(2, "sell", 1,
                                                                           "9")]), {}, MIN)
    assert none.mfe == 0 and none.mae == D("-1")


def test_open_trip_excursions_run_to_the_last_visible_bar() -> None:
    frame = bars([(10, 10), (11, 9), (15, 8)])
    t, = add_excursions(build_round_trips([fill(1, "buy", 1, "10")]), {"AAA": frame}, MIN)
    assert t.mfe == D("5") and t.mae == D("-2")


def test_breakdowns_by_each_group() -> None:
    fills = [fill(0, "buy", 1, "10", symbol="A", strategy="mom"),
             fill(5, "sell", 1, "12", symbol="A"),
             fill(40, "sell", 1, "10", symbol="B", strategy="rev"),
             fill(45, "buy", 1, "11", symbol="B"),
             fill(70, "buy", 1, "10", symbol="A", strategy="mom"),
             fill(75, "sell", 1, "13", symbol="A")]
    trips = build_round_trips(fills)
    by_strategy = breakdown(trips, "strategy")
    assert list(by_strategy) == ["mom", "rev"]
    assert by_strategy["mom"]["net_pnl"] == D("5") and by_strategy["mom"]["trades"] == 2
    assert by_strategy["rev"]["net_pnl"] == D("-1") and by_strategy["rev"]["win_rate"] == 0
    assert set(breakdown(trips, "symbol")) == {"A", "B"}
    assert set(breakdown(trips, "side")) == {"long", "short"}
    # entries at 09:30, 10:10 and 10:40 New York time in 30-minute buckets
    assert list(breakdown(trips, "time_of_day")) == ["09:30", "10:00", "10:30"]
    assert list(breakdown(trips, "time_of_day", bucket_minutes=60)) == ["09:00", "10:00"]
    assert list(breakdown(trips, "pattern")) == ["(none)"]
    with pytest.raises(ValueError, match="group_by"):
        breakdown(trips, "weekday")


def _report():
    fills = [fill(0, "buy", 10, "100", "1", strategy="s", order="e1"),
             fill(30, "sell", 10, "101.25", "1", order="x1"),
             fill(60, "sell", 5, "101", "0.5", order="e2")]
    idx = pd.date_range(T0, periods=90, freq="min")
    eq = equity_series((t, D(10000) + D(i) / 4) for i, t in enumerate(idx))
    frame = bars([(102, 99)] * 90)
    return build_report(fills, eq, bars={"AAA": frame}, bar_duration=MIN,
                        options=ReportOptions())


def test_csv_export_round_trips_exact_money() -> None:
    rep = _report()
    rows = list(csv.DictReader(io.StringIO(trades_csv(rep.trades))))
    assert len(rows) == 2
    assert rows[0]["net_pnl"] == "10.5" and rows[0]["fees"] == "2"
    assert rows[0]["entry_order_id"] == "e1" and rows[0]["decision_id"] == ""
    assert rows[1]["exit_time"] == "" and rows[1]["side"] == "short"
    assert rows[0]["mfe"] == "20" and rows[0]["mae"] == "-10"


def test_json_and_html_exports() -> None:
    files = export_files(_report(), title="Test <report>", generated_at="now")
    data = json.loads(files["report.json"])
    assert data["stats"]["net_pnl"] == "10.5"
    assert len(data["equity"]) == 90 and data["equity"][0]["drawdown"] == 0.0
    assert data["breakdowns"]["strategy"]["s"]["trades"] == 1
    eq_rows = list(csv.DictReader(io.StringIO(files["equity.csv"])))
    assert eq_rows[-1]["equity"] == "10022.25"
    html = files["report.html"]
    # equity, drawdown, P&L per trade, daily P&L (no price chart: no bars were given)
    assert html.count("<svg") == 4 and "Test &lt;report&gt;" in html
    assert "<script" not in html
    # self-contained: no external resource (only the SVG namespace URI)
    assert re.findall(r"(?:src|href)\s*=", html) == []
    assert [u for u in re.findall(r"https?://[^\"' ]+", html)
            if u != "http://www.w3.org/2000/svg"] == []
    assert "<polyline" in html and "<polygon" in html and "<rect" in html
