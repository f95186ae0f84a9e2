-- Technical analysis's strategies selected and weighted at run time (issue 17).  The settings
-- (technical.strategies) stay the defaults; a row here overrides one strategy's enabled flag,
-- weight and parameters, or adds a user strategy from an allowed file.  Technical analysis is
-- the only writer of these three tables; each write bumps the version its workers poll.
CREATE TABLE ta_strategy_overrides (
    name TEXT PRIMARY KEY,
    file TEXT,                         -- path.py:Class of a user strategy added here, else NULL
    enabled INTEGER,                   -- NULL: the settings' value
    weight REAL,                       -- NULL: the settings' value (0-100)
    params TEXT,                       -- JSON object, NULL: the settings' parameters
    updated_at TEXT NOT NULL,          -- wall clock, UTC
    updated_by TEXT NOT NULL
);

CREATE TABLE ta_strategy_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('add', 'update', 'delete')),
    old TEXT,                          -- JSON: the strategy's row before, NULL when added
    new TEXT,                          -- JSON: after, NULL when deleted
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL           -- wall clock, UTC
);
CREATE INDEX ix_ta_strategy_changes_name ON ta_strategy_changes (name, id);

CREATE TABLE ta_strategy_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO ta_strategy_version (id, version) VALUES (1, 0);
