-- Technical analysis signals (written only by technical_analysis) and scanner runs and
-- results (written only by scanner).

-- One strategy's signal (or the weighted 'combined' one) on one bar of one symbol.
CREATE TABLE signals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL CHECK (timeframe IN ('1m', '5m', '15m', '1h', '1d')),
    strategy TEXT NOT NULL,
    kind TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('long', 'short', 'flat')),
    score REAL NOT NULL CHECK (score >= -1 AND score <= 1),
    rule TEXT NOT NULL,
    indicators TEXT NOT NULL,          -- JSON: the indicator values behind the signal
    bar_ts TEXT NOT NULL,              -- open time of the bar the signal was read on
    clock_ts TEXT NOT NULL,            -- market clock when it was computed
    created_at TEXT NOT NULL,
    UNIQUE (symbol, timeframe, strategy, bar_ts)
);
CREATE INDEX ix_signals_symbol_bar ON signals (symbol, bar_ts);

-- One scan: its filters, the market-clock time it ran at, and counts.
CREATE TABLE scan_runs (
    id TEXT PRIMARY KEY,
    clock_ts TEXT NOT NULL,
    preset TEXT,
    filters TEXT NOT NULL,             -- JSON of the validated filters
    universe_size INTEGER NOT NULL,
    matched INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    created_at TEXT NOT NULL
);
CREATE INDEX ix_scan_runs_clock ON scan_runs (clock_ts);

-- The ranked matches of a scan with the values behind every filter that passed.
CREATE TABLE scan_results (
    run_id TEXT NOT NULL REFERENCES scan_runs (id) ON DELETE CASCADE,
    rank INTEGER NOT NULL CHECK (rank >= 1),
    symbol TEXT NOT NULL,
    score REAL NOT NULL,
    price_micros INTEGER NOT NULL,
    metrics TEXT NOT NULL,             -- JSON: every computed metric
    explanation TEXT NOT NULL,         -- JSON: [{filter, passed, value, threshold}]
    PRIMARY KEY (run_id, rank)
) WITHOUT ROWID;
CREATE INDEX ix_scan_results_symbol ON scan_results (symbol);
