"""Dashboard: the web UI a trader watches all day (port 5010).

Pages (templates/ + static/js, no build step) over a small JSON API that aggregates the other
services through ``ServiceClient``.  The live updates (Server-Sent Events, ``dashboard.live``)
are served by the stream server (``services.paper_trading.streaming``): ``/api/v1/stream``
answers 307 there, and every page's CSP lets the page connect to it.
"""
from __future__ import annotations

from flask import Flask, Response, request

from shared.config import Settings, load_settings
from shared.web import create_service_app

NAME = "dashboard"


def create_app(settings: Settings | None = None) -> Flask:
    """Return the dashboard's Flask app."""
    from dashboard import auth
    from dashboard.api import blueprints as api_blueprints
    from dashboard.backend import Backend
    from dashboard.backtests import blueprints as backtest_blueprints
    from dashboard.pages import blueprints as page_blueprints
    from shared.db import get_database
    from shared.web.headers import STATIC_HEADERS
    from shared.web.stream_urls import stream_location

    settings = settings or load_settings()
    db = get_database(settings)
    backend = Backend(settings, db)
    app = create_service_app(
        NAME, settings, blueprints=[*api_blueprints(), *backtest_blueprints(),
                                 *page_blueprints()], service=backend,
        description="Dashboard: the trader's web UI",
        # Every dashboard route: mutating ones need the X-API-Key header, or a logged-in
        # session plus its CSRF token (see dashboard/auth.py).
        auth_overrides={"/": auth.guard}, database=db)
    auth.configure_sessions(app, settings, db)
    base_csp = dict(STATIC_HEADERS)["Content-Security-Policy"]

    @app.after_request
    def _csp(resp: Response) -> Response:
        # a page may connect to the stream server (the live stream's 307 leads there)
        if resp.mimetype == "text/html" and "Content-Security-Policy" not in resp.headers:
            streams = stream_location(settings, request.host, request.scheme, "", {})
            resp.headers["Content-Security-Policy"] = f"{base_csp}; connect-src 'self' {streams}"
        return resp

    return app
