"""A scan every clock step reads its symbols' bars in one batch, and stores exactly what
updates reading one symbol at a time store."""
from __future__ import annotations

from services.pattern_recognition.feed import MarketFeed
from services.pattern_recognition.service import CandlestickService
from tests.services.pattern_recognition.factories import simulated_market


class OneByOne(MarketFeed):
    # the scan falls back to per-symbol reads
    bars_many = None  # type: ignore[assignment]


def _run(tmp_path, feed_cls, batches: list[int], singles: list[str] | None = None):  # type: ignore[no-untyped-def]
    settings, db, ctl, dm = simulated_market(tmp_path)
    many = dm.get_bars_many  # the batches: windows of unheld symbols, new bars of held ones
    dm.get_bars_many = lambda *a, **k: batches.append(len(a[0])) or many(*a, **k)  # type: ignore[method-assign]
    one = dm.get_bars
    step = [""]
    seen = singles if singles is not None else []
    dm.get_bars = lambda *a, **k: seen.append(step[0]) or one(*a, **k)  # type: ignore[method-assign]
    svc = CandlestickService(settings, db, feed_cls(settings, dm))
    syms = sorted(dm.universe)[:4]
    try:
        for t in ("2024-03-05T14:35Z", "2024-03-05T15:20Z", "2024-03-05T15:21Z",
                  "2024-03-05T15:22Z", "2024-03-05T20:59Z", "2024-03-06T14:40Z"):
            ctl.advance(t)
            step[0] = t
            svc.scan(syms, "1m")
        return [tuple(r) for r in db.fetch_all(
            "SELECT symbol, ts, pattern, value, visible_at FROM candle_detections "
            "ORDER BY 1, 2, 3")], [tuple(r) for r in db.fetch_all(
                "SELECT detection_id, horizon, round(ret, 12), available_at FROM candle_outcomes "
                "ORDER BY 1, 2")]
    finally:
        dm.close()
        db.close()


def test_batched_scan_stores_what_one_by_one_updates_store(tmp_path):
    batched: list[int] = []
    singles: list[str] = []
    got = _run(tmp_path / "a", MarketFeed, batched, singles)
    # a step after a step reads nothing more than the batch
    assert "2024-03-05T14:35Z" in singles  # the first scan backfills symbol by symbol
    assert "2024-03-05T15:21Z" not in singles and "2024-03-05T15:22Z" not in singles
    one: list[int] = []
    want = _run(tmp_path / "b", OneByOne, one)
    # one batch of all four per step, and a second one of those whose last bars hold too
    # few for the warm-up (early in a session: read again across the night)
    assert batched and batched.count(4) == 6 and set(batched) <= {1, 2, 3, 4} and not one
    assert len(batched) < 12
    assert got == want and len(got[0]) > 20 and len(got[1]) > 20
