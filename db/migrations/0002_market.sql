-- Market data: bars, the symbol universe, ingest log and rejects, fetched ranges, the clock.
-- Written by whichever process's data manager fetched the data (shared.market); the clock row
-- is written only by coordination (ClockController).

-- One row per (symbol, timeframe, bar open time); prices in micro-units.
CREATE TABLE bars (
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL CHECK (timeframe IN ('1m', '5m', '15m', '1h', '1d')),
    ts TEXT NOT NULL,
    open_micros INTEGER NOT NULL,
    high_micros INTEGER NOT NULL,
    low_micros INTEGER NOT NULL,
    close_micros INTEGER NOT NULL,
    volume INTEGER NOT NULL CHECK (volume >= 0),
    vwap_micros INTEGER,
    trade_count INTEGER,
    source TEXT NOT NULL,
    PRIMARY KEY (symbol, timeframe, ts)
) WITHOUT ROWID;

-- The universe the scanner and the dashboard list.
CREATE TABLE symbols (
    symbol TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    sector TEXT NOT NULL,
    asset_class TEXT NOT NULL CHECK (asset_class IN ('equity', 'crypto')),
    exchange TEXT NOT NULL,
    regime TEXT,
    shortable INTEGER NOT NULL DEFAULT 1,
    fractionable INTEGER NOT NULL DEFAULT 1,
    tradable INTEGER NOT NULL DEFAULT 1,
    source TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX ix_symbols_class_sector ON symbols (asset_class, sector);

-- Every batch that was validated and stored: counts and its quality score.
CREATE TABLE market_ingest_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    source TEXT NOT NULL,
    start_ts TEXT,
    end_ts TEXT,
    rows_in INTEGER NOT NULL,
    rows_stored INTEGER NOT NULL,
    rows_rejected INTEGER NOT NULL,
    gaps INTEGER NOT NULL DEFAULT 0,
    quality REAL NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX ix_market_ingest_log_symbol ON market_ingest_log (symbol, timeframe, at);

-- Rows that failed validation, with the reason (never silently dropped).
CREATE TABLE bar_rejects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    ingest_id INTEGER REFERENCES market_ingest_log (id),
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    ts TEXT,
    reason TEXT NOT NULL,
    raw TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX ix_bar_rejects_symbol ON bar_rejects (symbol, timeframe);

-- Time ranges already fetched from a provider, so updates fetch only what is missing.
CREATE TABLE bar_coverage (
    symbol TEXT NOT NULL,
    timeframe TEXT NOT NULL,
    start_ts TEXT NOT NULL,
    end_ts TEXT NOT NULL,
    source TEXT NOT NULL,
    fetched_at TEXT NOT NULL,
    PRIMARY KEY (symbol, timeframe, start_ts)
) WITHOUT ROWID;

-- The suite's one market clock (a single row).  In replay at N-times speed "now" is
-- sim_anchor + (wall now - wall_anchor) * speed, so reading it needs no writes.
CREATE TABLE market_clock (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    mode TEXT NOT NULL CHECK (mode IN ('live', 'replay')),
    pace TEXT NOT NULL CHECK (pace IN ('realtime', 'multiplier', 'max', 'step')),
    speed REAL NOT NULL CHECK (speed > 0),
    replay_start TEXT,
    replay_end TEXT,
    sim_anchor TEXT,
    wall_anchor TEXT,
    paused INTEGER NOT NULL DEFAULT 0,
    step_minutes INTEGER NOT NULL DEFAULT 1 CHECK (step_minutes > 0),
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
