"""Server-side login sessions and the login limiter (tables of migration 0014).

The cookie carries a random session id only; the row (looked up by the id's SHA-256) holds
the CSRF token, the client, the API-key fingerprint and the times.  So logout ends a session
(the row goes), a rotated key ends all of them (another fingerprint), and sessions end
``session_idle_minutes`` after their last request or ``session_hours`` after the login.

The limiter keeps one row per client address in the same database, so the counts hold across
every gunicorn worker and a restart (a per-process counter let N workers each allow their
own 5 tries); a row is read and written in one ``BEGIN IMMEDIATE`` transaction per attempt,
so concurrent wrong keys are each counted.  A file lock would have done the same with a file
format of our own; the dashboard already has the database, its lock retries and WAL.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import sqlite3
import time
from dataclasses import dataclass

from shared.config_sections.dashboard import Section
from shared.db import Database


@dataclass(frozen=True)
class Session:
    """One live login: its CSRF token and when it began."""

    csrf_token: str
    created_at: float


@dataclass(frozen=True)
class Attempt:
    """The outcome of one key check: ``ok`` (with the new session's id on a login);
    ``locked`` out for ``retry_after`` more seconds (the key was not compared); or a wrong
    key (neither), ``retry_after`` then being the lockout this failure started, if any."""

    ok: bool
    retry_after: int = 0
    locked: bool = False
    session_id: str | None = None


def lockout_s(cfg: Section, failures: int) -> float:
    """Return how long ``failures`` consecutive failures lock a client out (0: not yet)."""
    if failures < cfg.login_max_failures:
        return 0.0
    return min(cfg.login_lockout_max_s,
               cfg.login_lockout_s * 2.0 ** (failures - cfg.login_max_failures))


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


class SessionStore:
    """Sessions and login failures in the dashboard's own tables."""

    def __init__(self, db: Database, cfg: Section, secret: bytes, api_key: str | None) -> None:
        self.db = db
        self.cfg = cfg
        self._key = api_key
        # Server-side only: ties a session to the key it was made under.
        self.key_fp = (hmac.new(secret, b"dashboard-api-key\0" + api_key.encode(),
                                hashlib.sha256).hexdigest() if api_key else "")
        self.idle_s = cfg.session_idle_minutes * 60
        self.absolute_s = cfg.session_hours * 3600
        # Sliding renewal writes last_seen at most this often per session (the pages poll).
        self.renew_s = min(60.0, self.idle_s / 10)

    # -- key checks, limited per client ---------------------------------------------------
    def _key_matches(self, given: str) -> bool:
        return self._key is not None and hmac.compare_digest(given.encode(), self._key.encode())

    def log_in(self, given: str, client: str, now: float | None = None) -> Attempt:
        """Check ``given`` for ``client`` and, when right, create a session.

        A locked-out client's key is not even compared (no oracle while locked).
        """
        def attempt(conn: sqlite3.Connection) -> Attempt:
            # the time once the write lock is held: a worker that waited for it must not
            # compare an earlier "now" with a lockout another worker wrote meanwhile
            t = time.time() if now is None else now
            locked = self._locked(conn, client, t)
            if locked:
                return Attempt(ok=False, locked=True, retry_after=locked)
            if not self._key_matches(given):
                return self._fail(conn, client, t)
            conn.execute("DELETE FROM dashboard_login_failures WHERE client = ?", (client,))
            self._prune(conn, t)
            sid = secrets.token_urlsafe(32)
            conn.execute(
                "INSERT INTO dashboard_sessions (id_hash, csrf_token, key_fp, client, created_at,"
                " last_seen) VALUES (?, ?, ?, ?, ?, ?)",
                (_hash(sid), secrets.token_urlsafe(32), self.key_fp, client, t, t))
            return Attempt(ok=True, session_id=sid)

        return self.db.run_in_transaction(attempt, "dashboard_login")

    def _locked(self, conn: sqlite3.Connection, client: str, t: float) -> int:
        row = conn.execute("SELECT locked_until FROM dashboard_login_failures WHERE client = ?",
                           (client,)).fetchone()
        return math.ceil(row[0] - t) if row is not None and row[0] > t else 0

    def _fail(self, conn: sqlite3.Connection, client: str, t: float) -> Attempt:
        row = conn.execute(
            "SELECT failures, last_failure, locked_until FROM dashboard_login_failures "
            "WHERE client = ?", (client,)).fetchone()
        failures = 0
        if row is not None and t < max(row[1], row[2]) + self.cfg.login_lockout_max_s:
            failures = row[0]  # else forgotten: quiet for longer than the longest lockout
        failures += 1
        lock = lockout_s(self.cfg, failures)
        conn.execute(
            "INSERT INTO dashboard_login_failures (client, failures, last_failure, locked_until)"
            " VALUES (?, ?, ?, ?) ON CONFLICT (client) DO UPDATE SET failures = excluded.failures,"
            " last_failure = excluded.last_failure, locked_until = excluded.locked_until",
            (client, failures, t, t + lock if lock else 0.0))
        return Attempt(ok=False, retry_after=math.ceil(lock))

    # -- sessions ---------------------------------------------------------------------------
    def load(self, session_id: str, now: float | None = None) -> Session | None:
        """Return the live session of ``session_id``, sliding its idle deadline on; ``None``
        (and the row deleted) when it is unknown, expired or made under another API key."""
        t = time.time() if now is None else now
        h = _hash(session_id)
        row = self.db.fetch_one(
            "SELECT csrf_token, key_fp, created_at, last_seen FROM dashboard_sessions "
            "WHERE id_hash = ?", (h,))
        if row is None:
            return None
        if (not hmac.compare_digest(row["key_fp"].encode(), self.key_fp.encode())
                or t - row["created_at"] > self.absolute_s or t - row["last_seen"] > self.idle_s):
            self.db.execute_with_retry("DELETE FROM dashboard_sessions WHERE id_hash = ?", (h,))
            return None
        if t - row["last_seen"] >= self.renew_s:
            self.db.execute_with_retry(
                "UPDATE dashboard_sessions SET last_seen = ? WHERE id_hash = ? AND last_seen < ?",
                (t, h, t))
        return Session(csrf_token=row["csrf_token"], created_at=row["created_at"])

    def end(self, session_id: str) -> None:
        """Delete the session (logout): its cookie and CSRF token stop working at once."""
        self.db.execute_with_retry("DELETE FROM dashboard_sessions WHERE id_hash = ?",
                                   (_hash(session_id),))

    def _prune(self, conn: sqlite3.Connection, t: float) -> None:
        conn.execute(
            "DELETE FROM dashboard_sessions WHERE created_at < ? OR last_seen < ? OR key_fp <> ?",
            (t - self.absolute_s, t - self.idle_s, self.key_fp))
        conn.execute("DELETE FROM dashboard_login_failures WHERE locked_until < ? "
                     "AND last_failure < ?", (t, t - self.cfg.login_lockout_max_s))
