"""Login, server-side sessions and CSRF for the dashboard's actions when an API key is set.

Reads stay open (the suite binds to loopback).  With ``security.api_key`` set, every mutating
dashboard route needs either the ``X-API-Key`` header (scripts) or a logged-in session plus
the session's CSRF token in ``X-CSRF-Token`` (the browser).

- The cookie (HttpOnly, SameSite=Strict) is Flask's, signed with a random per-installation
  secret (``dashboard._secret``), and holds only a random session id.  Nothing sent to a
  client is derived from the API key, and an anonymous visitor gets no cookie at all.
- The session itself is a row (``dashboard.sessions``): logout deletes it, a rotated key
  invalidates it, and it ends after ``session_idle_minutes`` idle or ``session_hours``.
- The login form's key checks go through a per-client limiter shared by every worker: 429
  with ``Retry-After`` after ``login_max_failures`` wrong keys, each lockout twice the last.

We check one per-session token in a header instead of installing flask-wtf: every action is a
``fetch`` from our own JS (no HTML form posts except login and logout), so a short check
covers it without another dependency.
"""
from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, g, request, session

from dashboard._secret import session_secret
from dashboard.sessions import Session, SessionStore
from shared.config import Settings
from shared.db import Database
from shared.errors import AuthError, Forbidden

CSRF_HEADER = "X-CSRF-Token"
_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Routes that check their own credentials (the login form posts the key itself).
_SELF_CHECKED = frozenset({"/login"})
_STORE = "dashboard_sessions"


class LoginLocked(AuthError):
    """Too many wrong keys from this client: locked out for ``retry_after`` seconds (429)."""

    http_status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many wrong API keys from your address; try again in "
                         f"{retry_after} s", field="api_key", details={"retry_after": retry_after})
        self.retry_after = retry_after


def api_key(settings: Settings) -> str | None:
    key = settings.security.api_key
    return key.get_secret_value() if key is not None and key.get_secret_value() else None


def configure_sessions(app: Flask, settings: Settings, db: Database) -> None:
    """Set the session secret, the cookie flags and the server-side store.

    Raises:
        ConfigError: the installation's secret file is damaged (see ``dashboard._secret``).
    """
    secret = session_secret(settings)
    app.secret_key = secret
    app.extensions[_STORE] = SessionStore(db, settings.dashboard, secret, api_key(settings))
    app.config.update(
        SESSION_COOKIE_NAME="dashboard_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.dashboard.session_hours),
    )


def _store() -> SessionStore:
    return current_app.extensions[_STORE]


def _client() -> str:
    return request.remote_addr or "unknown"


def current_session(settings: Settings) -> Session | None:
    """Return this request's live login session (looked up once per request), else ``None``;
    a cookie whose session ended is cleared."""
    if "dash_session" in g:
        return g.dash_session
    found = None
    sid = session.get("sid") if api_key(settings) else None
    if isinstance(sid, str):
        found = _store().load(sid)
    if found is None and session:
        session.clear()  # an ended or foreign session: the browser drops the cookie
    g.dash_session = found
    return found


def csrf_token() -> str:
    """Return this session's CSRF token ("" without a login: no action would take it)."""
    from shared.web import current_settings

    found = current_session(current_settings())
    return found.csrf_token if found else ""


def login_required(settings: Settings) -> bool:
    return api_key(settings) is not None


def logged_in(settings: Settings) -> bool:
    return not login_required(settings) or current_session(settings) is not None


def check_login(settings: Settings, given: str) -> None:
    """Start a server-side session when ``given`` is the API key.

    Raises:
        LoginLocked: this client gave too many wrong keys lately (429, ``retry_after``).
        AuthError: the key is wrong (field ``api_key``).
    """
    if api_key(settings) is None:
        return
    result = _store().log_in(given, _client())
    if result.locked:
        raise LoginLocked(result.retry_after)
    if not result.ok:
        more = (f"; too many wrong keys: try again in {result.retry_after} s"
                if result.retry_after else "")
        raise AuthError("that API key is not the one this suite is configured with" + more,
                        field="api_key")
    session.clear()  # a fresh cookie on login: no fixation of a pre-login cookie
    session.permanent = True
    session["sid"] = result.session_id
    g.pop("dash_session", None)


def logout() -> None:
    """End the session server-side (its cookie and CSRF token stop working) and drop the cookie."""
    sid = session.get("sid")
    if isinstance(sid, str):
        _store().end(sid)
    session.clear()
    g.pop("dash_session", None)


def guard(settings: Settings) -> None:
    """Check a dashboard request: mutating ones need the key header or session + CSRF token.

    Raises:
        AuthError: not logged in, or a wrong key header (401).
        Forbidden: logged in but the CSRF token is missing or wrong (403).
    """
    key = api_key(settings)
    if key is None or request.method not in _MUTATING or request.path in _SELF_CHECKED:
        return
    header_key = request.headers.get("X-API-Key")
    if header_key is not None:
        # Like every service's key check (shared.web): the shared rate limiter bounds it; the
        # login limiter guards the form, the one way in that hands out a session.
        if hmac.compare_digest(header_key.encode(), key.encode()):
            return
        raise AuthError("a valid X-API-Key header is required for this request",
                        field="X-API-Key")
    found = current_session(settings)
    if found is None:
        raise AuthError("log in to the dashboard first (POST /login with the API key)",
                        field="session")
    # fetch() sends the header; the one plain HTML form (log out) sends a hidden field.
    sent = request.headers.get(CSRF_HEADER) or (
        request.form.get("csrf_token", "") if request.mimetype.startswith("application/x-www-form")
        else "")
    if not sent or not hmac.compare_digest(sent.encode(), found.csrf_token.encode()):
        raise Forbidden("missing or wrong CSRF token; reload the page", field=CSRF_HEADER)


def session_info(settings: Settings) -> dict[str, Any]:
    return {"login_required": login_required(settings), "logged_in": logged_in(settings),
            "csrf_token": csrf_token()}
