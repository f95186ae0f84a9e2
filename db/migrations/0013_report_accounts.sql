-- Reporting per paper account (see 0012): each equity-curve step belongs to one account.
-- Written only by the reporting service.
CREATE TABLE report_snapshots_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account INTEGER NOT NULL DEFAULT 1,
    epoch INTEGER NOT NULL DEFAULT 0,
    ts TEXT NOT NULL,
    equity_micros INTEGER NOT NULL,
    cash_micros INTEGER NOT NULL,
    long_value_micros INTEGER NOT NULL DEFAULT 0,
    short_value_micros INTEGER NOT NULL DEFAULT 0,
    unrealized_pnl_micros INTEGER NOT NULL DEFAULT 0,
    open_positions INTEGER NOT NULL DEFAULT 0 CHECK (open_positions >= 0),
    run_id TEXT,
    source TEXT NOT NULL DEFAULT 'api',
    created_at TEXT NOT NULL,
    UNIQUE (account, epoch, ts)
);
INSERT INTO report_snapshots_new (id, account, epoch, ts, equity_micros, cash_micros,
    long_value_micros, short_value_micros, unrealized_pnl_micros, open_positions, run_id,
    source, created_at)
SELECT id, 1, epoch, ts, equity_micros, cash_micros, long_value_micros, short_value_micros,
    unrealized_pnl_micros, open_positions, run_id, source, created_at FROM report_snapshots;
DROP TABLE report_snapshots;
ALTER TABLE report_snapshots_new RENAME TO report_snapshots;
CREATE INDEX ix_report_snapshots_ts ON report_snapshots (ts);
