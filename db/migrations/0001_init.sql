-- Foundation: the service registry, heartbeats and supervision events.
-- Conventions for every migration: timestamps are ISO-8601 UTC TEXT ('...+00:00');
-- money and fractional quantities are INTEGER micro-units (column suffix _micros), never REAL.

CREATE TABLE service_registry (
    name TEXT PRIMARY KEY,
    port INTEGER NOT NULL,
    pid INTEGER NOT NULL,
    version TEXT NOT NULL,
    host TEXT NOT NULL DEFAULT '127.0.0.1',
    started_at TEXT NOT NULL,
    last_heartbeat TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'starting'
        CHECK (status IN ('starting', 'running', 'degraded', 'stopping', 'stopped', 'failed')),
    restarts INTEGER NOT NULL DEFAULT 0,
    last_exit_code INTEGER,
    last_reason TEXT,
    health_latency_ms REAL
);

-- Every start, exit, restart and failure the manager saw, with its reason.
CREATE TABLE service_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    service TEXT NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('start', 'ready', 'exit', 'restart', 'unhealthy',
                                         'failed', 'stop')),
    pid INTEGER,
    exit_code INTEGER,
    reason TEXT,
    at TEXT NOT NULL
);
CREATE INDEX ix_service_events_service_at ON service_events (service, at);

-- A small key/value store for suite-wide state that belongs to no single table.
CREATE TABLE suite_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
