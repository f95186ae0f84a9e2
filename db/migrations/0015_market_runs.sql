-- Market runs (issue 18): rewinding the replay clock starts a new run.  The run number lives
-- in the clock's row and moves in the same transaction as the clock (coordination); every
-- owner keeps only the current run in its live tables and archives the older runs' rows
-- (docs/ARCHITECTURE.md, "Market runs").

-- coordination: the run beside the clock, one row per run, workflow rows tagged by trigger
ALTER TABLE market_clock ADD COLUMN run INTEGER NOT NULL DEFAULT 1;

CREATE TABLE market_runs (
    run INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,          -- wall clock
    clock_start TEXT,                  -- market time the run began at
    ended_at TEXT,                     -- wall clock of the rewind that closed it
    clock_end TEXT,                    -- market time when it was closed
    speed REAL,                        -- the clock's speed and mode when it was closed
    mode TEXT
);
INSERT INTO market_runs (run, started_at, clock_start)
    VALUES (1, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'),
            (SELECT sim_anchor FROM market_clock WHERE id = 1));

ALTER TABLE coord_runs ADD COLUMN market_run INTEGER NOT NULL DEFAULT 1;
CREATE INDEX ix_coord_runs_market_run ON coord_runs (market_run, clock_ts);
CREATE TRIGGER tr_coord_runs_market_run AFTER INSERT ON coord_runs BEGIN
    UPDATE coord_runs SET market_run = COALESCE((SELECT run FROM market_clock WHERE id = 1), 1)
    WHERE id = NEW.id;
END;
ALTER TABLE decision_ledger ADD COLUMN market_run INTEGER NOT NULL DEFAULT 1;
CREATE TRIGGER tr_decision_ledger_market_run AFTER INSERT ON decision_ledger BEGIN
    UPDATE decision_ledger
    SET market_run = COALESCE((SELECT run FROM market_clock WHERE id = 1), 1)
    WHERE decision_id = NEW.decision_id;
END;

-- paper trading: the run its live pt_* rows belong to, and the older runs' rows (one JSON
-- object per row, as it was when the run closed)
CREATE TABLE pt_market_run (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    run INTEGER NOT NULL,
    started_at TEXT NOT NULL           -- wall clock
);
INSERT INTO pt_market_run (id, run, started_at)
    VALUES (1, 1, strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now'));

CREATE TABLE pt_archive (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run INTEGER NOT NULL,
    account INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('account', 'order', 'order_event', 'fill', 'ledger',
                                       'position', 'session', 'day_trade', 'event')),
    body TEXT NOT NULL
);
CREATE INDEX ix_pt_archive_run ON pt_archive (run, account, kind, id);

-- reporting: each closed run's report per account, frozen when the run closed
CREATE TABLE report_runs (
    run INTEGER NOT NULL,
    account INTEGER NOT NULL,
    epoch INTEGER NOT NULL,            -- the account's epoch in that run (its snapshots)
    closed_at TEXT NOT NULL,           -- wall clock
    summary TEXT NOT NULL,             -- JSON, as GET /report/summary returned it
    trades TEXT NOT NULL,              -- JSON
    metrics TEXT NOT NULL,             -- JSON
    PRIMARY KEY (run, account)
);
