-- Coordination: workflow runs and their steps, the decision ledger, the live strategy
-- settings with their change log, and the lease that keeps the workflow loop in one process.
-- Written only by the coordination service; reporting reads decision_ledger
-- (order_id, decision_id, strategy, pattern).

CREATE TABLE coord_runs (
    id TEXT PRIMARY KEY,                      -- uuid hex
    trigger TEXT NOT NULL,                    -- loop | manual | replay
    clock_ts TEXT NOT NULL,                   -- market clock time of the cycle
    started_at TEXT NOT NULL,                 -- wall clock
    duration_ms REAL,
    status TEXT NOT NULL CHECK (status IN ('running', 'ok', 'degraded', 'failed')),
    degraded TEXT,                            -- JSON list of services that failed (non-critical)
    summary TEXT,                             -- JSON: candidates, intents, orders, exits
    error TEXT
);
CREATE INDEX ix_coord_runs_clock ON coord_runs (clock_ts);

CREATE TABLE coord_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES coord_runs (id),
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,                       -- scan, analyze, decide, exits, orders, snapshot
    started_at TEXT NOT NULL,
    duration_ms REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'degraded', 'failed', 'skipped')),
    inputs TEXT,                              -- JSON
    outputs TEXT,                             -- JSON
    error TEXT,
    UNIQUE (run_id, seq)
);

-- One row per order coordination sent: why it was placed.
CREATE TABLE decision_ledger (
    decision_id TEXT PRIMARY KEY,             -- uuid hex
    client_order_id TEXT NOT NULL UNIQUE,
    order_id TEXT,                            -- paper trading's id (NULL when rejected)
    run_id TEXT REFERENCES coord_runs (id),
    clock_ts TEXT NOT NULL,
    symbol TEXT NOT NULL,
    action TEXT NOT NULL,                     -- enter_long, enter_short, exit, flatten, time_exit
    side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    qty_micros INTEGER NOT NULL CHECK (qty_micros > 0),
    est_price_micros INTEGER,
    stop_micros INTEGER,
    take_profit_micros INTEGER,
    score REAL,
    strategy TEXT,
    pattern TEXT,
    scan TEXT,                                -- JSON: the scan match (rank, score, explanation)
    signals TEXT,                             -- JSON: technical signals and blend
    patterns TEXT,                            -- JSON: chart + candlestick patterns used
    sentiment TEXT,                           -- JSON
    sizing TEXT,                              -- JSON: method, inputs, shares
    risk_verdict TEXT NOT NULL,               -- accepted | rejected:<code>
    risk_message TEXT,
    order_status TEXT,
    degraded TEXT,                            -- JSON list of missing sources
    created_at TEXT NOT NULL
);
CREATE INDEX ix_decision_ledger_order ON decision_ledger (order_id);
CREATE INDEX ix_decision_ledger_clock ON decision_ledger (clock_ts);

CREATE TABLE coord_strategy (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    settings TEXT NOT NULL,                   -- JSON of the Strategy model
    updated_at TEXT NOT NULL
);

CREATE TABLE coord_settings_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,                        -- dotted path, e.g. sizing.method
    old_value TEXT,                           -- JSON
    new_value TEXT,                           -- JSON
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL
);

-- The automation's wanted state (start/stop/pause), read by the loop in every process.
CREATE TABLE coord_automation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    state TEXT NOT NULL CHECK (state IN ('running', 'paused', 'stopped')),
    last_step_ts TEXT,                        -- market time of the last cycle
    updated_at TEXT NOT NULL
);

-- Whoever holds an unexpired lease runs the loop; the holder renews it each poll.
CREATE TABLE coord_lease (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,                     -- host:pid:uuid
    expires_at REAL NOT NULL                  -- unix seconds (wall clock: a lease is real time)
);
