"""Storage, incremental updates and the walk-forward rule of the candlestick statistics."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.pattern_recognition.domain import detect_frame, summarize
from services.pattern_recognition.feed import FrameFeed, bar_end_ns, ts_ns
from services.pattern_recognition.service import CandlestickService
from shared.errors import ValidationError
from tests.conftest import make_settings
from tests.services.pattern_recognition.factories import session_frame

SESSIONS = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07"]


@pytest.fixture
def frame() -> pd.DataFrame:
    return session_frame(SESSIONS, seed=21)


def _service(db, settings, frame, now) -> CandlestickService:
    feed = FrameFeed({("ABC", "5m"): frame}, now=now)
    return CandlestickService(settings, db, feed)


def _expected_outcomes(frame: pd.DataFrame, as_of: pd.Timestamp, horizon: int,
                       pattern: str | None = None) -> np.ndarray:
    """Recompute by hand, from the full frame, the signed returns known at ``as_of``."""
    ends = bar_end_ns(ts_ns(frame.index), "5m")
    dets = detect_frame("ABC", "5m", frame, ends)
    pos = {t: i for i, t in enumerate(frame.index)}
    close = frame["close"].to_numpy()
    out = []
    for d in dets:
        if pattern and d.pattern != pattern:
            continue
        j = pos[pd.Timestamp(d.ts)] + horizon
        if j < len(frame) and ends[j] <= as_of.value:
            out.append((close[j] / d.close - 1) * d.direction)
    return np.array(out)


def test_update_stores_only_visible_bars_and_records_progress(db, settings, frame):
    now = pd.Timestamp("2024-03-05T17:02:00Z")
    svc = _service(db, settings, frame, now)
    r = svc.update("ABC", "5m")
    assert r.last_bar == "2024-03-05T16:55:00+00:00"  # the 16:55 bar closed at 17:00
    assert r.detections > 0
    latest = db.fetch_one("SELECT MAX(ts), MAX(visible_at) FROM candle_detections")
    assert latest[0] <= "2024-03-05T16:55:00+00:00" and latest[1] <= now.isoformat()
    assert db.fetch_one("SELECT MAX(available_at) FROM candle_outcomes")[0] == "2024-03-05T17:00:00+00:00"
    again = svc.update("ABC", "5m")
    assert (again.detections, again.outcomes, again.bars_scanned) == (0, 0, 0)


@pytest.mark.parametrize("freq", ["47min", "7min"])
def test_incremental_updates_equal_one_full_run(tmp_path, frame, freq):
    # 7-minute steps read only the short window before the new bars (see ``_bars``) except
    # at each session's open, where the warm-up bars lie in the session before
    times = pd.date_range("2024-03-04T15:00Z", "2024-03-07T21:00Z", freq=freq)
    step_settings = make_settings(tmp_path / "a")
    full_settings = make_settings(tmp_path / "b")
    from shared.db import Database, migrate

    results = []
    for s, clock in ((step_settings, times), (full_settings, times[-1:])):
        db = Database.from_settings(s)
        migrate(db)
        svc = _service(db, s, frame, clock[0])
        for t in clock:
            svc.feed.set_now(t)  # type: ignore[attr-defined]
            svc.update("ABC", "5m")
        results.append((
            [tuple(r) for r in db.fetch_all(
                "SELECT ts, pattern, value, visible_at, close_micros FROM candle_detections "
                "ORDER BY ts, pattern")],
            [tuple(r) for r in db.fetch_all(
                "SELECT d.ts, d.pattern, o.horizon, round(o.ret, 12), o.available_at FROM "
                "candle_outcomes o JOIN candle_detections d ON d.id = o.detection_id "
                "ORDER BY 1, 2, 3")]))
        db.close()
    assert results[0][0] == results[1][0] and len(results[0][0]) > 100
    assert results[0][1] == results[1][1] and len(results[0][1]) > 100


def test_stats_walk_forward_never_use_a_later_bar(db, settings, frame):
    t1 = pd.Timestamp("2024-03-05T18:00:00Z")
    t2 = pd.Timestamp("2024-03-07T21:00:00Z")
    svc = _service(db, settings, frame, t1)
    svc.update("ABC", "5m")
    first = svc.stats(timeframe="5m", symbol="ABC")
    svc.feed.set_now(t2)  # type: ignore[attr-defined]
    svc.update("ABC", "5m")
    # Stats "as of" t1 after more bars arrived are exactly the ones shown at t1.
    replay = svc.stats(timeframe="5m", symbol="ABC", as_of=t1)
    assert replay["groups"] == first["groups"] and first["groups"]
    later = svc.stats(timeframe="5m", symbol="ABC")
    for as_of, result in ((t1, first), (t2, later)):
        for g in result["groups"]:
            for h, st in g["horizons"].items():
                want = summarize(_expected_outcomes(frame, as_of, int(h), g["pattern"]))
                assert st["samples"] == want.samples > 0
                assert st["hit_rate"] == pytest.approx(want.hit_rate)
                assert st["expectancy"] == pytest.approx(want.expectancy)
    n1, n2 = (sum(g["horizons"].get("20", {}).get("samples", 0) for g in r["groups"])
              for r in (first, later))
    assert n2 > n1


def test_a_detection_gets_its_k_bar_return_only_once_bar_t_plus_k_closed(db, settings, frame):
    ends = bar_end_ns(ts_ns(frame.index), "5m")
    d0 = next(d for d in detect_frame("ABC", "5m", frame, ends)
              if d.ts >= pd.Timestamp("2024-03-05T19:00:00Z").to_pydatetime())
    svc = _service(db, settings, frame, pd.Timestamp(d0.visible_at))
    svc.update("ABC", "5m")
    det = db.fetch_one("SELECT id, ts FROM candle_detections WHERE ts = ? AND pattern = ?",
                       (pd.Timestamp(d0.ts).isoformat(), d0.pattern))
    assert db.fetch_one("SELECT COUNT(*) FROM candle_outcomes WHERE detection_id = ?",
                        (det["id"],))[0] == 0
    i = frame.index.get_loc(pd.Timestamp(det["ts"]))
    for k in (1, 5, 20):
        close_k = frame.index[i + k] + pd.Timedelta(minutes=5)
        for t, present in ((close_k - pd.Timedelta(seconds=1), False), (close_k, True)):
            svc.feed.set_now(t)  # type: ignore[attr-defined]
            svc.update("ABC", "5m")
            row = db.fetch_one("SELECT ret, available_at FROM candle_outcomes WHERE "
                               "detection_id = ? AND horizon = ?", (det["id"], k))
            assert (row is not None) == present, (k, t)
        assert row["available_at"] == close_k.isoformat()
        assert row["ret"] == pytest.approx(frame["close"].iloc[i + k] / frame["close"].iloc[i] - 1)


def test_stats_by_time_of_day_and_universe(db, settings, frame):
    other = session_frame(SESSIONS, seed=99)
    feed = FrameFeed({("ABC", "5m"): frame, ("XYZ", "5m"): other},
                     now=pd.Timestamp("2024-03-07T21:00:00Z"))
    svc = CandlestickService(settings, db, feed)
    svc.scan(["ABC", "XYZ"], "5m")
    uni = svc.stats(pattern="CDLDOJI", timeframe="5m", horizon=5)
    a = svc.stats(pattern="CDLDOJI", timeframe="5m", horizon=5, symbol="ABC")
    x = svc.stats(pattern="CDLDOJI", timeframe="5m", horizon=5, symbol="XYZ")
    n = [r["groups"][0]["horizons"]["5"]["samples"] for r in (uni, a, x)]
    assert n[0] == n[1] + n[2] and n[1] > 0 and n[2] > 0
    tod = svc.stats(pattern="CDLDOJI", timeframe="5m", horizon=5, group_by="time_of_day")
    buckets = [g["tod_bucket"] for g in tod["groups"]]
    assert buckets[0] == "09:30" and "15:30" in buckets and len(buckets) == 13
    assert sum(g["horizons"]["5"]["samples"] for g in tod["groups"]) == n[0]


def test_bad_inputs_are_rejected(db, settings, frame):
    svc = _service(db, settings, frame, pd.Timestamp("2024-03-07T21:00:00Z"))
    with pytest.raises(ValidationError) as e:
        svc.stats(pattern="CDLNOPE")
    assert e.value.field == "pattern"
    with pytest.raises(ValidationError):
        svc.stats(horizon=7)
    with pytest.raises(ValidationError):
        svc.detections("ABC", "7m")
