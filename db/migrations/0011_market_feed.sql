-- The market-data owner's progress (one row, written only by the ingest owner in
-- coordination): every universe symbol's bars are stored up to `through_ts` (market time).
-- Readers compare it with the market clock to tell whether what they serve is stale.
CREATE TABLE market_feed (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    through_ts TEXT NOT NULL,
    symbols INTEGER NOT NULL,
    backfill TEXT NOT NULL,
    owner TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
