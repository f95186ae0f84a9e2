-- The market-data owner's progress (one row, written only by the ingest owner in
-- coordination): every universe symbol's bars are stored up to `through_ts` (market time).
-- Readers compare it with the market clock to tell whether what they serve is stale.
CREATE TABLE market_feed (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    through_ts TEXT NOT NULL,
    symbols INTEGER NOT NULL,
    backfill TEXT NOT NULL,
    -- counts backfill writes: readers that keep bars drop them when it moves (older bars
    -- arrived behind what they read)
    history_epoch INTEGER NOT NULL DEFAULT 0,
    owner TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- Hourly bars are now stamped on the clock hour and daily bars at the session date's New York
-- midnight (as Alpaca stamps them); those stored under the old stamps (the session's open)
-- go, with their coverage, and the owner stores them again.
DELETE FROM bars WHERE timeframe IN ('1h', '1d');
DELETE FROM bar_coverage WHERE timeframe IN ('1h', '1d');
