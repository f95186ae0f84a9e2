-- Chart patterns (pattern_analysis, port 5002, is the one writer of these tables).
-- Prices are INTEGER micro-units of values rounded to the cent; times ISO-8601 UTC TEXT.

-- One row per detected pattern; `id` is stable for the same pattern on the same pivots, so a
-- re-detection on newer bars updates the row (status, end, confidence) instead of adding one.
CREATE TABLE chart_patterns (
    id TEXT PRIMARY KEY,
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL CHECK (timeframe IN ('1m', '5m', '15m', '1h', '1d')),
    pattern TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('bullish', 'bearish', 'neutral')),
    status TEXT NOT NULL CHECK (status IN ('forming', 'active', 'confirmed', 'completed',
                                           'broken', 'invalidated', 'expired')),
    start_ts TEXT NOT NULL,
    end_ts TEXT NOT NULL,
    confirmed_ts TEXT,
    resolved_ts TEXT,
    pivots TEXT NOT NULL,            -- JSON [{"name", "ts", "price_micros"}]
    neckline_micros INTEGER,
    breakout_micros INTEGER,
    target_micros INTEGER,
    invalidation_micros INTEGER,
    upper_micros INTEGER,
    lower_micros INTEGER,
    confidence REAL NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
    measurements TEXT NOT NULL,      -- JSON {name: number}: what the confidence is built from
    first_seen_at TEXT NOT NULL,     -- market time of the analysis that first found it
    updated_at TEXT NOT NULL
);
CREATE INDEX ix_chart_patterns_symbol ON chart_patterns (symbol, timeframe, start_ts);
CREATE INDEX ix_chart_patterns_open ON chart_patterns (symbol, timeframe, status);

-- The current support/resistance levels of each (symbol, timeframe), replaced on each analysis.
CREATE TABLE chart_levels (
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    rank INTEGER NOT NULL CHECK (rank >= 1),
    kind TEXT NOT NULL CHECK (kind IN ('support', 'resistance')),
    price_micros INTEGER NOT NULL,
    low_micros INTEGER NOT NULL,
    high_micros INTEGER NOT NULL,
    touches INTEGER NOT NULL CHECK (touches >= 1),
    strength REAL NOT NULL CHECK (strength >= 0 AND strength <= 1),
    first_ts TEXT NOT NULL,
    last_ts TEXT NOT NULL,
    touch_ts TEXT NOT NULL,          -- JSON list of ISO times
    measurements TEXT NOT NULL,
    as_of TEXT NOT NULL,
    PRIMARY KEY (symbol, timeframe, rank)
) WITHOUT ROWID;

-- The last bar each (symbol, timeframe) was analysed through, so reads re-analyse only when
-- a newer bar has become visible.
CREATE TABLE chart_scan_state (
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    last_bar_ts TEXT,
    bars INTEGER NOT NULL,
    last_close_micros INTEGER,
    detections INTEGER NOT NULL,
    analyzed_at TEXT NOT NULL,
    PRIMARY KEY (symbol, timeframe)
) WITHOUT ROWID;
