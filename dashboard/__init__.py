"""Dashboard: the web UI a trader watches all day (port 5010)."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings, load_settings
from shared.web import create_service_app

NAME = "dashboard"


def create_app(settings: Settings | None = None) -> Flask:
    """Return the dashboard's Flask app."""
    settings = settings or load_settings()
    return create_service_app(NAME, settings, description="Dashboard: the trader's web UI")
