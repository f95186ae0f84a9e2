-- Reporting: the equity curve, one row per market-clock step (coordination asks for a
-- snapshot each cycle).  Written only by the reporting service; the trade journal and the
-- metrics are computed from paper trading's pt_fills / pt_ledger, which reporting only reads.
-- Coordination appends its own tables in 0009.

CREATE TABLE report_snapshots (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    epoch INTEGER NOT NULL DEFAULT 0,         -- paper trading account epoch (a reset starts anew)
    ts TEXT NOT NULL,                         -- market clock time of the step
    equity_micros INTEGER NOT NULL,
    cash_micros INTEGER NOT NULL,
    long_value_micros INTEGER NOT NULL DEFAULT 0,
    short_value_micros INTEGER NOT NULL DEFAULT 0,   -- <= 0
    unrealized_pnl_micros INTEGER NOT NULL DEFAULT 0,
    open_positions INTEGER NOT NULL DEFAULT 0 CHECK (open_positions >= 0),
    run_id TEXT,                              -- coordination's run, when it asked
    source TEXT NOT NULL DEFAULT 'api',
    created_at TEXT NOT NULL,                 -- wall clock, for audit only
    UNIQUE (epoch, ts)
);
CREATE INDEX ix_report_snapshots_ts ON report_snapshots (ts);
