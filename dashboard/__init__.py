"""Dashboard: the web UI a trader watches all day (port 5010).

Pages (templates/ + static/js, no build step) over a small JSON API that aggregates the other
services through ``ServiceClient`` and relays live updates as Server-Sent Events.
"""
from __future__ import annotations

from flask import Flask

from shared.config import Settings, load_settings
from shared.web import create_service_app

NAME = "dashboard"


def create_app(settings: Settings | None = None) -> Flask:
    """Return the dashboard's Flask app."""
    from dashboard import auth
    from dashboard.api import blueprints as api_blueprints
    from dashboard.backend import Backend
    from dashboard.live import Poller
    from dashboard.pages import blueprints as page_blueprints
    from dashboard.sources import live_sources
    from shared.db import get_database

    settings = settings or load_settings()
    db = get_database(settings)
    backend = Backend(settings, db)
    app = create_service_app(
        NAME, settings, blueprints=[*api_blueprints(), *page_blueprints()], service=backend,
        description="Dashboard: the trader's web UI",
        # Every dashboard route: mutating ones need the X-API-Key header, or a logged-in
        # session plus its CSRF token (see dashboard/auth.py).
        auth_overrides={"/": auth.guard}, database=db)
    auth.configure_sessions(app, settings)
    app.extensions["dashboard_poller"] = Poller(live_sources(backend),
                                                settings.dashboard.poll_interval_s)
    return app
