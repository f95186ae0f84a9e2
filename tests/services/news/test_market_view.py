"""The sessions view keeps its frames between refreshes yet always equals a fresh read."""
from __future__ import annotations

import pandas as pd

from services.news.market import MarketView
from shared.db import Database, migrate
from tests.conftest import make_settings, replay_market


def test_kept_session_frames_equal_fresh_reads_at_every_step(tmp_path):
    settings = make_settings(tmp_path, market__universe_size=20)
    db = Database.from_settings(settings)
    migrate(db)
    ctl, dm = replay_market(settings, db, "2024-03-04", "2024-03-08")
    kept = MarketView(settings, dm)
    sym = next(iter(dm.universe))
    reads = []
    real = dm.get_ohlcv
    dm.get_ohlcv = lambda *a, **k: reads.append(a[1]) or real(*a, **k)  # type: ignore[method-assign]
    try:
        seen = set()
        for t in ("2024-03-05T14:30Z", "2024-03-05T14:31Z", "2024-03-05T15:00Z",
                  "2024-03-05T15:01Z", "2024-03-05T21:00Z", "2024-03-06T14:31Z",
                  "2024-03-06T14:32Z"):
            ctl.advance(t)
            now = pd.Timestamp(t)
            for start in (now - pd.Timedelta(days=6), now - pd.Timedelta(days=6, minutes=1)):
                got = kept.sessions(sym, start, now + pd.Timedelta(days=1))
                fresh = MarketView(settings, dm).sessions(sym, start, now + pd.Timedelta(days=1))
                pd.testing.assert_frame_equal(got, fresh)
                seen.add((t, len(got), bool(got["close"].isna().any())))
        # today's open appears one minute after the open, with no close until the close
        assert any(t == "2024-03-05T14:31Z" and c for t, _, c in seen)
        assert any(t == "2024-03-05T21:00Z" and not c for t, _, c in seen)
        n = len(reads)
        kept.sessions(sym, pd.Timestamp("2024-03-06T14:33Z") - pd.Timedelta(days=6),
                      pd.Timestamp("2024-03-07T14:33Z"))
        assert len(reads) == n  # the same sessions as the step before: nothing read
    finally:
        dm.close()
        db.close()


def test_frames_of_an_earlier_moment_are_dropped(tmp_path):
    settings = make_settings(tmp_path, market__universe_size=20)
    db = Database.from_settings(settings)
    migrate(db)
    ctl, dm = replay_market(settings, db, "2024-03-04", "2024-03-08")
    kept = MarketView(settings, dm)
    syms = list(dm.universe)[:3]
    try:
        sizes = []
        for t in ("2024-03-05T15:00Z", "2024-03-05T15:05Z", "2024-03-06T15:00Z",
                  "2024-03-07T15:00Z"):
            ctl.advance(t)
            now = pd.Timestamp(t)
            for sym in syms:
                kept.sessions(sym, now - pd.Timedelta(days=6), now + pd.Timedelta(days=1))
            sizes.append(len(kept._frames))  # noqa: SLF001
        # one frame per symbol and window at each moment, not one more every session
        assert sizes == [len(syms)] * 4
    finally:
        dm.close()
        db.close()
