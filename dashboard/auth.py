"""Login, session cookie and CSRF for the dashboard's actions when an API key is configured.

Reads stay open (the suite binds to loopback).  With ``security.api_key`` set, every mutating
dashboard route needs either the ``X-API-Key`` header (scripts) or a logged-in session plus
the session's CSRF token in ``X-CSRF-Token`` (the browser).  The session is Flask's cookie,
signed with itsdangerous, HttpOnly and SameSite=Strict.  We check one per-session token in a
header instead of installing flask-wtf: every action is a ``fetch`` from our own JS (no HTML
form posts except the login), so a 20-line check covers it without another dependency.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, request, session

from shared.config import Settings
from shared.errors import AuthError, Forbidden

CSRF_HEADER = "X-CSRF-Token"
_MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Routes that check their own credentials (the login form posts the key itself).
_SELF_CHECKED = frozenset({"/login"})


def api_key(settings: Settings) -> str | None:
    key = settings.security.api_key
    return key.get_secret_value() if key is not None and key.get_secret_value() else None


def configure_sessions(app: Flask, settings: Settings) -> None:
    """Set the session secret and cookie flags.

    The secret is ``dashboard.secret_key`` or derived from the API key, so every gunicorn
    worker signs and checks cookies alike; with neither, a per-process random one (sessions
    then only carry the CSRF token, which nothing requires without a key).
    """
    key = api_key(settings)
    if settings.dashboard.secret_key:
        secret = settings.dashboard.secret_key
    elif key:
        secret = hmac.new(key.encode(), b"dashboard-session-v1", hashlib.sha256).hexdigest()
    else:
        secret = secrets.token_hex(32)
    app.secret_key = secret
    app.config.update(
        SESSION_COOKIE_NAME="dashboard_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=settings.dashboard.session_hours),
    )


def csrf_token() -> str:
    """Return this session's CSRF token, creating it on first use."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def login_required(settings: Settings) -> bool:
    return api_key(settings) is not None


def logged_in(settings: Settings) -> bool:
    return not login_required(settings) or bool(session.get("auth"))


def check_login(settings: Settings, given: str) -> None:
    """Start an authenticated session when ``given`` is the API key.

    Raises:
        AuthError: the key is wrong (field ``api_key``).
    """
    key = api_key(settings)
    if key is None:
        return
    if not hmac.compare_digest(given.encode(), key.encode()):
        raise AuthError("that API key is not the one this suite is configured with",
                        field="api_key")
    session.clear()  # a fresh session on login: no fixation of a pre-login cookie
    session.permanent = True
    session["auth"] = True
    csrf_token()


def logout() -> None:
    session.clear()


def guard(settings: Settings) -> None:
    """Check a dashboard request: mutating ones need the key header or session + CSRF token.

    Raises:
        AuthError: not logged in (401).
        Forbidden: logged in but the CSRF token is missing or wrong (403).
    """
    key = api_key(settings)
    if key is None or request.method not in _MUTATING or request.path in _SELF_CHECKED:
        return
    header_key = request.headers.get("X-API-Key")
    if header_key is not None:
        if hmac.compare_digest(header_key.encode(), key.encode()):
            return
        raise AuthError("a valid X-API-Key header is required for this request",
                        field="X-API-Key")
    if not session.get("auth"):
        raise AuthError("log in to the dashboard first (POST /login with the API key)",
                        field="session")
    # fetch() sends the header; the one plain HTML form (log out) sends a hidden field.
    sent = request.headers.get(CSRF_HEADER) or (
        request.form.get("csrf_token", "") if request.mimetype.startswith("application/x-www-form")
        else "")
    expected = session.get("csrf", "")
    if not sent or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden("missing or wrong CSRF token; reload the page", field=CSRF_HEADER)


def session_info(settings: Settings) -> dict[str, Any]:
    return {"login_required": login_required(settings), "logged_in": logged_in(settings),
            "csrf_token": csrf_token()}
