-- The dashboard's logins; written only by the dashboard (dashboard/sessions.py).
-- Times are unix seconds (REAL) so expiry is plain arithmetic in SQL.

-- Server-side sessions: the signed cookie carries only a random session id; its SHA-256 is
-- the key here, so a copy of the database does not hand out usable cookies.  key_fp is an
-- HMAC of the API key under the installation's secret (never the key, never sent to a
-- client): a session made under another key (the key was rotated) is refused.
CREATE TABLE dashboard_sessions (
    id_hash TEXT PRIMARY KEY,
    csrf_token TEXT NOT NULL,
    key_fp TEXT NOT NULL,
    client TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL
);
CREATE INDEX ix_dashboard_sessions_last_seen ON dashboard_sessions (last_seen);

-- The login limiter, one row per client address with failed key checks (every worker sees
-- the same counts): failures since the last success, and the end of the current lockout.
CREATE TABLE dashboard_login_failures (
    client TEXT PRIMARY KEY,
    failures INTEGER NOT NULL CHECK (failures >= 0),
    last_failure REAL NOT NULL,
    locked_until REAL NOT NULL DEFAULT 0
);
