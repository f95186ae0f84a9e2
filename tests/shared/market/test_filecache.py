"""The gzip bar cache: exact round trip, metadata, providers apart, atomic writes, the old CSV
layout, and fetching only what it lacks (a fake provider counts its calls)."""
from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.db import Database, migrate
from shared.market import ClockController, DataManager, barfile
from shared.market.filecache import FileCache
from shared.market.frames import BarArrays, make_frame
from tests.conftest import make_settings

SESSION_MINUTES = 390


def bars(calendar, start: str, end: str, base: float = 100.0, seed: int = 1) -> pd.DataFrame:
    """Return one-minute bars of every session minute in ``[start, end)`` (awkward prices)."""
    idx = calendar.minutes_in_range(start, pd.Timestamp(end) - pd.Timedelta(minutes=1))
    rng = np.random.default_rng(seed)
    c = base + np.cumsum(rng.normal(0, 0.05, len(idx)))  # not cents: every float bit counts
    tc = rng.integers(1, 90, len(idx))
    tc[::7] = -1  # unknown trade counts stay unknown
    df = make_frame(idx.as_unit("ns").asi8, c, c + 0.01, c - 0.02, c,
                    rng.integers(0, 9000, len(idx)), c + 0.001, tc)
    df["trade_count"] = df["trade_count"].mask(tc < 0)
    return df


def test_round_trip_is_exact_with_the_frames_dtypes(tmp_path, calendar):
    df = bars(calendar, "2024-03-04", "2024-03-09")
    df.iloc[5, df.columns.get_loc("vwap")] = np.nan
    fc = FileCache(tmp_path)
    fc.write("BTC/USD", "1m", df, provider="binance", quality=0.9)
    got = fc.read("BTC/USD", "1m", "2024-03-01", "2024-04-01")
    pd.testing.assert_frame_equal(got, df, check_exact=True, check_freq=False)
    assert got.dtypes.astype(str).to_dict() == {
        "open": "float64", "high": "float64", "low": "float64", "close": "float64",
        "volume": "int64", "vwap": "float64", "trade_count": "Int64"}
    assert str(got.index.tz) == "UTC" and got.index.name == "ts"
    assert got.attrs["source"] == "binance" and got.attrs["providers"] == ["binance"]
    # the crypto pair's folder, columnar payload, a standard gzip stream
    path = tmp_path / "BTC-USD" / "bars" / "1m" / "binance" / "2024.bars.gz"
    assert fc.path("BTC/USD", "1m", 2024, "binance") == path
    assert gzip.decompress(path.read_bytes())[:6] == b"\x93NUMPY"
    # a window inside the year
    part = fc.read("BTC/USD", "1m", "2024-03-05T15:00Z", "2024-03-05T15:10Z")
    assert len(part) == 10 and part.index[0] == pd.Timestamp("2024-03-05T15:00Z")


def test_metadata_says_what_the_file_holds(tmp_path, calendar):
    fc = FileCache(tmp_path)
    df = bars(calendar, "2024-03-04", "2024-03-06")
    fc.write("ACME", "1m", df, provider="polygon", quality=0.5,
             covered=("2024-03-04T00:00Z", "2024-03-06T00:00Z"))
    meta = fc.metadata("ACME", "1m", 2024)
    assert meta["provider"] == meta["source"] == "polygon"
    assert meta["rows"] == 2 * SESSION_MINUTES and meta["quality"] == 0.5
    assert meta["first_bar"] == "2024-03-04T14:30:00+00:00"
    assert meta["last_bar"] == "2024-03-05T20:59:00+00:00"
    assert pd.Timestamp(meta["fetched_at"]).tzinfo is not None
    assert meta["covered"] == [["2024-03-04T00:00:00+00:00", "2024-03-06T00:00:00+00:00"]]
    # a second batch: newer rows win, spans join, quality is the row-weighted mean
    newer = df.iloc[:SESSION_MINUTES].copy()
    newer["close"] += 1.0
    newer["high"] += 1.0
    fc.write("ACME", "1m", newer, provider="polygon", quality=1.0,
             covered=("2024-03-04T00:00Z", "2024-03-05T00:00Z"))
    meta = fc.metadata("ACME", "1m", 2024)
    assert meta["rows"] == 2 * SESSION_MINUTES and meta["quality"] == 0.75
    assert meta["covered"] == [["2024-03-04T00:00:00+00:00", "2024-03-06T00:00:00+00:00"]]
    got = fc.read("ACME", "1m", "2024-03-04", "2024-03-06")
    assert (got["close"].iloc[:SESSION_MINUTES] == newer["close"]).all()
    assert (got["close"].iloc[SESSION_MINUTES:] == df["close"].iloc[SESSION_MINUTES:]).all()
    # a span across the new year is split between the two year files
    fc.write("ACME", "1d", df.iloc[:0], provider="polygon",
             covered=("2023-12-20T00:00Z", "2024-01-10T00:00Z"))
    assert fc.metadata("ACME", "1d", 2023)["covered"] == [
        ["2023-12-20T00:00:00+00:00", "2024-01-01T00:00:00+00:00"]]
    assert fc.metadata("ACME", "1d", 2024)["rows"] == 0


def test_providers_are_kept_apart_and_the_route_order_wins(tmp_path, calendar):
    fc = FileCache(tmp_path)
    yahoo = bars(calendar, "2024-03-04", "2024-03-06", base=100.0)   # Mon + Tue
    polygon = bars(calendar, "2024-03-05", "2024-03-07", base=200.0)  # Tue + Wed
    fc.write("ACME", "1m", yahoo, provider="yahoo")
    fc.write("ACME", "1m", polygon, provider="polygon")
    assert fc.providers("ACME", "1m") == ["polygon", "yahoo"]
    assert fc.metadata("ACME", "1m", 2024, "yahoo")["rows"] == 2 * SESSION_MINUTES
    first = fc.read("ACME", "1m", "2024-03-04", "2024-03-07", ["yahoo", "polygon"])
    assert len(first) == 3 * SESSION_MINUTES and first.attrs["source"] == "yahoo"
    assert first.attrs["providers"] == ["polygon", "yahoo"]
    tue = first.loc["2024-03-05"]
    assert (tue["close"] == yahoo.loc["2024-03-05", "close"]).all()  # yahoo first: its Tuesday
    assert (first.loc["2024-03-06", "close"] == polygon.loc["2024-03-06", "close"]).all()
    other = fc.read("ACME", "1m", "2024-03-05", "2024-03-06", ["polygon", "yahoo"])
    assert other.attrs["source"] == "polygon"
    assert (other["close"] == polygon.loc["2024-03-05", "close"]).all()
    # coverage per provider and together
    assert fc.covered("ACME", "1m", "2024-03-01", "2024-04-01", ["yahoo"]) == [
        (pd.Timestamp("2024-03-04T14:30Z"), pd.Timestamp("2024-03-05T21:00Z"))]
    assert fc.covered("ACME", "1m", "2024-03-01", "2024-04-01") == [
        (pd.Timestamp("2024-03-04T14:30Z"), pd.Timestamp("2024-03-06T21:00Z"))]


def test_a_reader_never_sees_a_half_written_file(tmp_path, calendar, monkeypatch):
    fc = FileCache(tmp_path)
    frames = [bars(calendar, "2024-01-02", f"2024-0{m}-01", seed=m) for m in (2, 3, 4)]
    fc.write("ACME", "1m", frames[0], provider="yahoo")
    sizes = {len(f) for f in frames}
    seen, errors, stop = set(), [], threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                seen.add(len(fc.read_arrays("ACME", "1m", "2024-01-01", "2025-01-01")))
            except Exception as exc:  # noqa: BLE001 - the assertion reports it
                errors.append(exc)

    t = threading.Thread(target=reader)
    t.start()
    try:
        for _ in range(3):
            for f in frames:
                fc.write("ACME", "1m", f, provider="yahoo")
    finally:
        stop.set()
        t.join(10)
    assert not errors and seen <= sizes and seen
    # a write that dies before its rename leaves the old file whole and no temp file behind
    before = fc.path("ACME", "1m", 2024, "yahoo").read_bytes()

    def boom(fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(barfile.os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        fc.write("ACME", "1m", bars(calendar, "2024-05-01", "2024-05-03"), provider="yahoo")
    assert fc.path("ACME", "1m", 2024, "yahoo").read_bytes() == before
    assert not list(tmp_path.rglob("*.tmp"))


def test_old_csv_files_are_read_and_rewritten_once(tmp_path, calendar):
    df = bars(calendar, "2024-03-04", "2024-03-06")
    old_dir = tmp_path / "ACME" / "1m"
    old_dir.mkdir(parents=True)
    out = df.round(4)  # what the first layout wrote: CSV text, ts as ISO UTC
    out.insert(0, "ts", out.index.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    out.to_csv(old_dir / "2024.csv.gz", index=False, compression="gzip")
    (old_dir / "2024.json").write_text(json.dumps({"source": "alpaca", "quality": 0.8,
                                                   "rows": len(df)}))
    fc = FileCache(tmp_path)
    got = fc.read("ACME", "1m", "2024-03-01", "2024-04-01")
    assert len(got) == len(df) and got.attrs["source"] == "alpaca"
    assert np.allclose(got["close"], df["close"], atol=1e-4)
    assert got["trade_count"].isna().sum() == df["trade_count"].isna().sum()
    assert not old_dir.exists()  # rewritten in the new layout, the CSV gone
    meta = fc.metadata("ACME", "1m", 2024, "alpaca")
    assert meta["rows"] == len(df) and meta["quality"] == 0.8
    assert meta["covered"] == [["2024-03-04T14:30:00+00:00", "2024-03-05T21:00:00+00:00"]]
    assert FileCache(tmp_path).read("ACME", "1m", "2024-03-01", "2024-04-01").equals(got)


# -- the data manager: fetch only what the cache lacks --------------------------------------
class CountingProvider:
    """A network source's stand-in: bars of every session minute asked, calls recorded."""

    name = "polygon"

    def __init__(self, calendar) -> None:
        self.calendar, self.calls = calendar, []

    def fetch_bars(self, symbol, timeframe, start, end):
        self.calls.append((pd.Timestamp(start), pd.Timestamp(end)))
        df = bars(self.calendar, start, end, base=50.0)
        df.attrs["source"] = self.name
        return df

    def health(self):
        return {"provider": self.name, "ok": True}


def manager_on_fresh_db(root: Path, cache: Path, provider: CountingProvider,
                        asset_class: str = "equity", now: str = "2024-03-13T00:00Z"):
    """Return (owner data manager, db) on a new database sharing the file cache ``cache``,
    routing ``asset_class`` to ``provider`` alone, the clock at ``now``."""
    name = provider.name
    settings = make_settings(root, market__universe_size=20, market__data_cache_dir=str(cache),
                             market__routes={"equity": ["simulated"], "crypto": ["simulated"],
                                             asset_class: [name]},
                             market__file_cache_sources=[name])
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="max", replay_start="2024-03-04", replay_end="2024-03-15")
    dm = DataManager(settings, db, clock=ctl.clock, owner=True,
                     extra_providers={name: lambda: provider})
    ctl.advance(now)
    return dm, db


def test_a_second_fetch_of_a_cached_range_asks_no_provider(tmp_path, calendar):
    prov = CountingProvider(calendar)
    cache = tmp_path / "data-cache"
    dm, db = manager_on_fresh_db(tmp_path / "a", cache, prov)
    first = dm.get_historical_data("ACME", "1m", start="2024-03-04", end="2024-03-07")
    assert len(first) == 3 * SESSION_MINUTES and len(prov.calls) == 1
    assert prov.calls[0] == (pd.Timestamp("2024-03-04T14:30Z"), pd.Timestamp("2024-03-06T21:00Z"))
    assert dm.files.metadata("ACME", "1m", 2024, "polygon")["rows"] == 3 * SESSION_MINUTES
    db.close()
    # another database (a restart on a fresh file): the same range comes from the cache
    dm2, db2 = manager_on_fresh_db(tmp_path / "b", cache, prov)
    again = dm2.get_historical_data("ACME", "1m", start="2024-03-04", end="2024-03-07")
    assert len(prov.calls) == 1, prov.calls
    assert again.attrs["source"] == "polygon"
    pd.testing.assert_frame_equal(again, first, check_exact=True,
                                  check_freq=False)
    # a wider range: only Thursday-Friday and Monday are asked (the weekend is not missing)
    wider = dm2.get_historical_data("ACME", "1m", start="2024-03-04", end="2024-03-12")
    assert len(wider) == 6 * SESSION_MINUTES
    assert prov.calls[1:] == [(pd.Timestamp("2024-03-07T14:30Z"),
                               pd.Timestamp("2024-03-11T20:00Z"))]  # DST: Monday closes 20:00
    assert dm2.counters["file_cache_hits"] >= 1
    db2.close()


class FailingProvider(CountingProvider):
    def fetch_bars(self, symbol, timeframe, start, end):
        self.calls.append((pd.Timestamp(start), pd.Timestamp(end)))
        raise ConnectionError("polygon is down")


def test_what_the_cache_holds_is_served_stale_when_the_provider_fails(tmp_path, calendar):
    cache = tmp_path / "data-cache"
    FileCache(cache).write("ACME", "1m", bars(calendar, "2024-03-04", "2024-03-06"),
                           provider="polygon", covered=("2024-03-04", "2024-03-06"))
    prov = FailingProvider(calendar)
    dm, db = manager_on_fresh_db(tmp_path / "a", cache, prov)
    got = dm.get_historical_data("ACME", "1m", start="2024-03-04", end="2024-03-07")
    assert len(got) == 2 * SESSION_MINUTES and got.attrs["stale"] is True
    assert got.attrs["source"] == "polygon"
    assert prov.calls == [(pd.Timestamp("2024-03-06T14:30Z"), pd.Timestamp("2024-03-06T21:00Z"))]
    assert any("polygon is down" in e for e in got.attrs["errors"])
    db.close()


class CryptoProvider(CountingProvider):
    """Bars at every minute asked: a pair trades around the clock."""

    name = "binance"

    def fetch_bars(self, symbol, timeframe, start, end):
        self.calls.append((pd.Timestamp(start), pd.Timestamp(end)))
        idx = pd.date_range(start, end, freq="1min", inclusive="left")
        c = np.full(len(idx), 60_000.5)
        return make_frame(idx.as_unit("ns").asi8, c, c, c, c, np.ones(len(idx), "int64"))


def test_a_crypto_pair_is_fetched_across_the_weekend_then_from_the_cache(tmp_path, calendar):
    prov = CryptoProvider(calendar)
    cache = tmp_path / "data-cache"
    dm, db = manager_on_fresh_db(tmp_path / "a", cache, prov, "crypto")
    got = dm.get_historical_data("BTC/USD", "1m", start="2024-03-09", end="2024-03-11")
    assert len(got) == 2 * 1440 and prov.calls == [
        (pd.Timestamp("2024-03-09T00:00Z"), pd.Timestamp("2024-03-11T00:00Z"))]
    assert (cache / "BTC-USD" / "bars" / "1m" / "binance" / "2024.bars.gz").exists()
    db.close()
    # a new database, a wider range: only Friday afternoon is asked for
    dm2, db2 = manager_on_fresh_db(tmp_path / "b", cache, prov, "crypto")
    again = dm2.get_historical_data("BTC/USD", "1m", start="2024-03-08T12:00Z",
                                    end="2024-03-11")
    assert len(again) == 2 * 1440 + 720 and again.attrs["source"] == "binance"
    assert prov.calls[1:] == [(pd.Timestamp("2024-03-08T12:00Z"),
                               pd.Timestamp("2024-03-09T00:00Z"))]
    db2.close()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(1e-8, 1e9, allow_nan=False), st.integers(0, 2**62),
                          st.floats(allow_infinity=False), st.integers(-1, 2**40)),
                min_size=0, max_size=50))
def test_any_bars_come_back_bit_for_bit(rows):
    n = len(rows)
    price = np.array([r[0] for r in rows], dtype="float64")
    arr = BarArrays(np.arange(n, dtype="int64") * 60_000_000_000 + 1_700_000_000_000_000_000,
                    price, price * 1.5, price / 3, price, np.array([r[1] for r in rows], "int64"),
                    np.array([r[2] for r in rows], "float64"),  # NaN vwaps among them
                    np.array([r[3] for r in rows], "int64"))
    back = barfile.decode(barfile.encode(arr), "x")
    for f in barfile.COLUMNS:
        a, b = getattr(arr, f), getattr(back, f)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes(), f


def test_the_open_session_stays_out_of_the_file_cache(tmp_path, calendar):
    prov = CountingProvider(calendar)
    cache = tmp_path / "data-cache"
    now = "2024-03-06T16:00Z"  # Wednesday, an hour and a half after the open
    dm, db = manager_on_fresh_db(tmp_path / "a", cache, prov, now=now)
    got = dm.get_historical_data("ACME", "1m", start="2024-03-05", end="2024-03-07")
    assert len(got) == SESSION_MINUTES + 90
    assert prov.calls == [(pd.Timestamp("2024-03-05T14:30Z"), pd.Timestamp(now))]
    meta = dm.files.metadata("ACME", "1m", 2024, "polygon")
    assert meta["rows"] == SESSION_MINUTES and meta["last_bar"] == "2024-03-05T20:59:00+00:00"
    assert meta["covered"] == [["2024-03-05T14:30:00+00:00", "2024-03-05T21:00:00+00:00"]]
    db.close()
    dm2, db2 = manager_on_fresh_db(tmp_path / "b", cache, prov, now=now)
    again = dm2.get_historical_data("ACME", "1m", start="2024-03-05", end="2024-03-07")
    assert len(again) == SESSION_MINUTES + 90
    assert prov.calls[1:] == [(pd.Timestamp("2024-03-06T14:30Z"), pd.Timestamp(now))]
    db2.close()
