"""The csv provider replays user files: flexible columns and dates, clear errors."""
from __future__ import annotations

import pandas as pd
import pytest

from shared.errors import NotFound, ValidationError
from shared.market import CsvProvider, read_ohlcv_file


def test_daily_csv_with_odd_names_and_us_dates(tmp_path, calendar):
    p = tmp_path / "ACME.csv"
    p.write_text("Date,Open,High,Low,Close,Adj Close,Volume\n"
                 "01/02/2024,10,11,9.5,10.5,10.4,1000\n"
                 "01/03/2024,10.5,10.9,10.1,10.2,10.1,1200\n")
    df = read_ohlcv_file(p, calendar=calendar)
    assert df.attrs["timeframe"] == "1d"
    # Alpaca's 1Day stamp: the date at 00:00 New York
    assert list(df.index) == [pd.Timestamp("2024-01-02T05:00Z"), pd.Timestamp("2024-01-03T05:00Z")]
    assert df["close"].tolist() == [10.5, 10.2]


def test_intraday_epoch_ms_semicolon_and_parquet(tmp_path, calendar):
    t0 = pd.Timestamp("2024-03-05T14:30Z")
    ts = [int((t0 + pd.Timedelta(minutes=5 * i)).timestamp() * 1000) for i in range(4)]
    p = tmp_path / "XYZ_5m.csv"
    p.write_text("t;o;h;l;c;v\n" + "\n".join(f"{t};1;2;0.5;1.5;10" for t in ts))
    df = read_ohlcv_file(p, calendar=calendar)
    assert df.attrs["timeframe"] == "5m" and df.index[0] == t0
    q = tmp_path / "XYZ.parquet"
    df[["open", "high", "low", "close", "volume"]].to_parquet(q)
    back = read_ohlcv_file(q, calendar=calendar)
    assert (back["close"] == df["close"]).all()


def test_errors_say_what_is_wrong(tmp_path, calendar):
    bad = tmp_path / "BAD.csv"
    bad.write_text("when,price_a,price_b\n2024-01-02,1,2\n")
    with pytest.raises(ValidationError, match="no column for"):
        read_ohlcv_file(bad, calendar=calendar)
    with pytest.raises(ValidationError, match="no such file"):
        read_ohlcv_file(tmp_path / "missing.csv")
    dates = tmp_path / "DATES.csv"
    dates.write_text("date,open,high,low,close,volume\nnot-a-date,1,1,1,1,1\n")
    with pytest.raises(ValidationError, match="time"):
        read_ohlcv_file(dates, calendar=calendar)


def test_provider_replays_and_resamples_and_feeds_the_manager(tmp_path, calendar, db,
                                                              market_settings, controller):
    from shared.market import DataManager

    d = tmp_path / "csv"
    d.mkdir()
    idx = calendar.session_minutes("2024-03-05")
    pd.DataFrame({"timestamp": idx.strftime("%Y-%m-%d %H:%M:%S+00:00"), "open": 10.0,
                  "high": 10.5, "low": 9.5, "close": 10.0, "volume": 7}).to_csv(
        d / "ACME.csv.gz", index=False, compression="gzip")
    prov = CsvProvider([d], calendar, include_bundled=False)
    h = prov.fetch_bars("ACME", "1h", "2024-03-05", "2024-03-06")
    # on the clock hour: the 09:00 bar holds 09:30-10:00 (30 minutes), then whole hours
    assert len(h) == 7 and list(h["volume"].iloc[:2]) == [210, 420]
    assert h.index[0] == pd.Timestamp("2024-03-05T14:00Z")
    with pytest.raises(NotFound):
        prov.fetch_bars("NOPE", "1m", "2024-03-05", "2024-03-06")
    s = market_settings.model_copy(update={"market": market_settings.market.model_copy(
        update={"routes": {"equity": ["csv", "simulated"], "crypto": ["simulated"]}})})
    dm = DataManager(s, db, clock=controller.clock, owner=True)
    controller.advance("2024-03-06T00:00Z")
    got = dm.get_historical_data("ACME", "1m", start="2024-03-05")
    assert len(got) == 390 and got.attrs["source"] == "csv"
    meta = dm.files.metadata("ACME", "1m", 2024)
    assert meta["rows"] == 390 and meta["source"] == "csv" and meta["quality"] == 1.0
    other = dm.get_historical_data(next(iter(dm.universe)), "1m", start="2024-03-05")
    assert other.attrs["source"] == "simulated"  # not in the files: failed over
