"""``create_service_app``: the skeleton every service's ``create_app`` builds on.

It gives a service the JSON envelope, one error handler for everything, API-key checks on
mutating routes, request size limits, secure headers, ``/health``, ``/ready``, ``/metrics``,
``/openapi.json`` and ``/docs``.  The service adds its blueprints and its service object.
Every response says where prices come from (header ``X-Market-Data``, and ``market`` in the
envelope; raw bodies such as the Alpaca-compatible ones keep their shape and get the header).
"""
from __future__ import annotations

import hmac
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterable
from inspect import CO_COROUTINE
from types import FunctionType, MethodType
from typing import Any

from flask import Blueprint, Flask, Request, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from shared.config import Settings, load_settings
from shared.db import Database, get_database
from shared.db.ownership import MARKET_OWNER, MARKET_TABLES
from shared.errors import AppError, AuthError, PayloadTooLarge
from shared.http import breaker_states
from shared.logging import configure_logging
from shared.web.envelope import MARKET_KEY, SuiteJSONProvider, error_body, market_label, ok
from shared.web.headers import MARKET_HEADER, REQUEST_ID_KEY, SecureHeaders, new_request_id
from shared.web.metrics import add_metrics
from shared.web.openapi import build_openapi, docs_html
from shared.web.ratelimit import RequestRateLimit
from shared.web.validation import check_json_depth

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ErrorFormatter = Callable[[str, str, Any, int], Any]
AuthChecker = Callable[[Settings], None]


class SuiteRequest(Request):
    """A request whose JSON body is refused (400 naming ``body``) when nested deeper than
    ``MAX_JSON_DEPTH``, before the recursive parser runs: every ``get_json`` a view makes."""

    def get_json(self, force: bool = False, silent: bool = False,
                 cache: bool = True) -> Any:
        if force or self.is_json:
            check_json_depth(self.get_data(cache=True))
        return super().get_json(force=force, silent=silent, cache=cache)


class SuiteFlask(Flask):
    """Flask with a cheaper ``ensure_sync`` (the override point Flask documents for it)."""

    request_class = SuiteRequest

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Return ``func`` itself when it is a plain ``def`` function or a method of one.

        Flask asks ``inspect.iscoroutinefunction`` about every hook and view on every request.
        For a Python function that question is its code's coroutine flag plus (Python 3.12+)
        ``inspect.markcoroutinefunction``'s mark, both read here directly; anything else
        (partials, callables, marked or ``async def`` functions) goes to Flask as before.
        Not a cache keyed by function: ``after_this_request`` adds new closures every request.
        """
        f = func.__func__ if type(func) is MethodType else func
        if (type(f) is FunctionType and not f.__code__.co_flags & CO_COROUTINE
                and getattr(f, "_is_coroutine_marker", None) is None):
            return func
        return super().ensure_sync(func)


def _api(view: Callable[..., Any], summary: str, response: Any = None, raw: bool = False,
         mimetype: str = "application/json") -> Callable[..., Any]:
    view._api = {"summary": summary, "tags": ["system"], "response": response,  # type: ignore[attr-defined]
                 "raw": raw, "mimetype": mimetype}
    return view


def check_api_key(settings: Settings) -> None:
    """Require ``X-API-Key`` to equal the configured key (constant-time).

    Raises:
        AuthError: when a key is configured and the header is missing or wrong.
    """
    key = settings.security.api_key
    if key is None or not key.get_secret_value():
        return
    given = request.headers.get("X-API-Key", "")
    if not hmac.compare_digest(given.encode(), key.get_secret_value().encode()):
        logging.getLogger("auth").warning(
            "rejected request: bad or missing API key",
            extra={"path": request.path, "method": request.method,
                   "remote": request.remote_addr, "key_given": bool(given)})
        raise AuthError("a valid X-API-Key header is required for this request",
                        field="X-API-Key")


def create_service_app(
    name: str,
    settings: Settings | None = None,
    *,
    blueprints: Iterable[Blueprint] = (),
    service: Any = None,
    description: str = "",
    ready_check: Callable[[], bool] | None = None,
    health_extra: Callable[[], dict[str, Any]] | None = None,
    error_formatters: dict[str, ErrorFormatter] | None = None,
    auth_overrides: dict[str, AuthChecker] | None = None,
    database: Database | None = None,
    raw_prefixes: dict[str, Any] | None = None,
) -> Flask:
    """Return a Flask app for service ``name`` with the whole shared skeleton.

    ``error_formatters`` and ``auth_overrides`` map a path prefix (e.g. ``"/v2"``) to another
    error body shape or key check, for APIs that mimic a third party (Alpaca).
    ``raw_prefixes`` maps such a prefix to the JSON schema of its error body, so that
    ``/openapi.json`` documents those routes with raw (unenveloped) bodies.
    """
    settings = settings or load_settings()
    log = configure_logging(name, settings)
    db = database or get_database(settings)
    if name != MARKET_OWNER:
        # one owner per table: only coordination's market feed writes market data; SQLite
        # refuses any write to those tables from this process's connections
        db.protect(MARKET_TABLES)
    else:
        db.claim_ownership()
    app = SuiteFlask(name)
    app.json = SuiteJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = settings.security.max_body_bytes
    app.url_map.strict_slashes = False
    app.extensions["settings"] = settings
    app.extensions["db"] = db
    app.extensions["service"] = service
    app.extensions["service_name"] = name
    app.extensions["openapi_raw_prefixes"] = dict(raw_prefixes or {})
    market = market_label(settings)
    app.extensions[MARKET_KEY] = market
    started = time.time()
    formatters = dict(error_formatters or {})
    overrides = dict(auth_overrides or {})
    rate = settings.security.rate_limit
    # Mutating routes only, per client address and route; memory storage is per process, so
    # with N gunicorn workers the effective ceiling is up to N times the configured rate.
    limiter = RequestRateLimit(app, rate, hooks=False) if rate else None

    def formatter_for(path: str) -> ErrorFormatter | None:
        for prefix, fmt in formatters.items():
            if path.startswith(prefix):
                return fmt
        return None

    def error_response(status: int, code: str, message: str, details: Any = None,
                       headers: dict[str, str] | None = None) -> Response:
        fmt = formatter_for(request.path)
        body = (fmt(code, message, details, status) if fmt
                else error_body(code, message, details, market))
        resp = jsonify(body)
        resp.status_code = status
        for k, v in (headers or {}).items():
            resp.headers[k] = v
        return resp

    @app.errorhandler(AppError)
    def _app_error(exc: AppError) -> Response:
        if exc.http_status >= 500:
            log.error("request failed", extra={"path": request.path, "code": exc.code,
                                               "error": exc.message})
        d = exc.to_dict()
        headers = {"Retry-After": "1"} if exc.retryable else None
        return error_response(exc.http_status, d["code"], d["message"], d["details"], headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        headers = {}
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        retry_after = getattr(exc, "retry_after", None)
        if exc.code == 429:
            headers["Retry-After"] = str(retry_after or 1)
        return error_response(exc.code or 500, code, exc.description or exc.name, None, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        error_id = uuid.uuid4().hex[:12]
        log.exception("unhandled error", extra={"error_id": error_id, "path": request.path,
                                                "method": request.method})
        return error_response(500, "internal_error",
                              f"unexpected error; quote error id {error_id} when reporting it",
                              {"error_id": error_id})

    def _authenticate(req: Request) -> None:
        # Flask only enforces MAX_CONTENT_LENGTH when a view reads the body; refuse an
        # oversized declared body on every route, before any work is done.
        length = req.content_length
        if length is not None and length > settings.security.max_body_bytes:
            raise PayloadTooLarge(
                f"the request body is {length} bytes; the limit is "
                f"{settings.security.max_body_bytes}", field="body")
        if overrides:
            path = req.path
            for prefix, checker in overrides.items():
                if path.startswith(prefix):
                    checker(settings)
                    return
        if req.method in MUTATING:
            check_api_key(settings)

    # One before and one after hook for the request id, the key check, the metrics timer and
    # the rate limit, in that order (a 401/413 is neither timed nor counted, a 429 is both):
    # Flask calls each hook through ``ensure_sync`` and each ``request``/``g`` access through
    # a context-local proxy, so one hook that looks both up once costs less than five.
    @app.before_request
    def _before() -> None:
        req = request._get_current_object()  # type: ignore[attr-defined]
        state = g._get_current_object()  # type: ignore[attr-defined]
        state.request_id = req.environ.get(REQUEST_ID_KEY) or new_request_id()
        if req.routing_exception is None:  # 404/405 answer as such, key or not
            _authenticate(req)
        state._t0 = time.perf_counter()
        if limiter is not None:
            counted = limiter.count(req)
            if counted is not None:
                state._rate_limit = counted
                limiter.enforce(counted)

    @app.after_request
    def _after(resp: Response) -> Response:
        state = g._get_current_object()  # type: ignore[attr-defined]
        if limiter is not None:
            counted = state.pop("_rate_limit", None)
            if counted is not None:
                limiter.add_headers(resp, counted)
        t0 = getattr(state, "_t0", None)
        if t0 is not None:
            metrics.observe(request._get_current_object(), resp, t0)  # type: ignore[attr-defined]
        return resp

    app.wsgi_app = SecureHeaders(  # type: ignore[method-assign]
        app.wsgi_app, settings.security.cors_origins, ((MARKET_HEADER, market["source"]),))

    def health() -> Response:
        """Process, database, version, uptime and circuit-breaker states."""
        t0 = time.perf_counter()
        reachable = db.ping()
        # healthy = can do its job: writes that keep failing (a read-only or failing disk)
        # are unhealthy once a probe write fails too, so the manager restarts the service
        writes = db.write_health()
        good = reachable and writes["ok"]
        data = {
            "service": name,
            "status": "healthy" if good else "unhealthy",
            "version": settings.version,
            "pid": os.getpid(),
            "uptime_s": round(time.time() - started, 3),
            "database": {"reachable": reachable,
                         "latency_ms": round((time.perf_counter() - t0) * 1000, 3),
                         "writes": writes},
            "circuit_breakers": breaker_states(),
            "environment": settings.env,
        }
        if health_extra is not None:
            data.update(health_extra())
        return ok(data, status=200 if good else 503)

    def ready() -> Response:
        """200 once the service can take traffic (database reachable, own checks pass)."""
        reachable = db.ping()
        own = ready_check() if ready_check is not None else True
        data = {"service": name, "ready": bool(reachable and own), "database": reachable}
        if reachable:
            # whether the market-data owner has stored up to the clock (stale: it has not,
            # and this service serves what is stored)
            from shared.market.feed import market_data_status

            data["market_data"] = market_data_status(db, settings)
        return ok(data, status=200 if data["ready"] else 503)

    def openapi() -> Response:
        """The OpenAPI 3.1 document of this service."""
        spec = current_app.extensions.get("openapi_spec")
        if spec is None:
            spec = build_openapi(current_app, f"{name} service", settings.version, description)
            current_app.extensions["openapi_spec"] = spec
        return jsonify(spec)

    def docs() -> Response:
        """Human-readable API documentation."""
        spec = build_openapi(current_app, f"{name} service", settings.version, description)
        return Response(docs_html(spec), mimetype="text/html")

    app.add_url_rule("/health", "health", _api(health, "Health: process, database, breakers"))
    app.add_url_rule("/ready", "ready", _api(ready, "Readiness"))
    app.add_url_rule("/openapi.json", "openapi", _api(openapi, "OpenAPI document", raw=True,
                                                      response={"type": "object"}))
    app.add_url_rule("/docs", "docs", _api(docs, "API documentation", raw=True,
                                           mimetype="text/html", response={"type": "string"}))
    metrics = add_metrics(app, name, db.stats.snapshot, breaker_states)
    app.extensions["metrics"] = metrics
    app.extensions["limiter"] = limiter
    for bp in blueprints:
        app.register_blueprint(bp)
    log.info("app created", extra={"service": name, "pid": os.getpid(),
                                   "port": settings.port(name) if name in settings.services else None})
    return app


def current_service() -> Any:
    """Return the service object the running app was created with."""
    return current_app.extensions["service"]


def current_settings() -> Settings:
    return current_app.extensions["settings"]


def current_market() -> dict[str, Any]:
    """Return the running app's market label: ``{"source": ..., "simulated": bool}``."""
    return current_app.extensions[MARKET_KEY]
