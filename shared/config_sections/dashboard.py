"""Settings of the dashboard area (see config/default.yaml, section `dashboard`)."""
from __future__ import annotations

from pydantic import Field

from shared.config_sections._base import StrictModel


class Section(StrictModel):
    """Every dashboard setting with its default."""

    # How often the live-update poller asks the services and the database for changes.
    poll_interval_s: float = Field(1.0, gt=0, le=60)
    # A stream closes after this long so a gthread worker's thread is not held forever; the
    # browser's EventSource reconnects at once (and after a dashboard restart) by itself.
    stream_max_s: float = Field(300.0, gt=0)
    stream_heartbeat_s: float = Field(15.0, gt=0)
    # Upstream calls made by the dashboard: short, so one dead service cannot stall a page.
    upstream_timeout_s: float = Field(2.0, gt=0)
    upstream_retries: int = Field(0, ge=0, le=5)
    log_tail_lines: int = Field(50, ge=1, le=1000)
    chart_bars: int = Field(300, ge=10, le=5000)
    session_hours: float = Field(12.0, gt=0)
    # Secret for the session cookie; null derives one from the API key (same on every worker).
    secret_key: str | None = None
