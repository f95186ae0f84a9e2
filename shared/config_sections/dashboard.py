"""Settings of the dashboard area (see config/default.yaml, section `dashboard`)."""
from __future__ import annotations

from decimal import Decimal

from pydantic import Field, SecretStr, field_validator, model_validator

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
    # A login session ends this long after the login (absolute) ...
    session_hours: float = Field(12.0, gt=0)
    # ... or after this long without a request (each request slides it on).
    session_idle_minutes: float = Field(120.0, gt=0)
    # Secret that signs the session cookie.  null: a random one made once per installation
    # (``<db dir>/run/<db name>/dashboard_secret``, mode 0600) and shared by every worker.
    secret_key: SecretStr | None = None
    # Login limiter, per client address and shared by every worker: after this many wrong
    # keys the address is locked out for login_lockout_s, doubling with each further failure
    # up to login_lockout_max_s; failures are forgotten after login_lockout_max_s of quiet.
    login_max_failures: int = Field(5, ge=1, le=100)
    login_lockout_s: float = Field(30.0, gt=0)
    login_lockout_max_s: float = Field(3600.0, gt=0)
    # The trading page's ticket asks for a confirmation before sending an order whose
    # estimated cost (qty x price) is above this many dollars; 0 asks for every order.
    confirm_notional_above: Decimal = Field(Decimal("10000"), ge=0, le=Decimal("1e12"))
    # The ticket's pause-while-editing hold on a replay clock: the page renews it every few
    # seconds; this long without a renewal (a closed tab) and the dashboard resumes the clock.
    ticket_hold_ttl_s: float = Field(15.0, ge=2, le=600)
    # The Backtests page: its runs live as files in ``<db dir>/backtests/<id>/``.  Strategy
    # files are offered from docs/strategies and this folder (null: ``<db dir>/strategies``);
    # never from a path typed in the browser.
    backtest_strategies_dir: str | None = None
    backtest_max_running: int = Field(2, ge=1, le=4)
    backtest_timeout_s: float = Field(600.0, gt=0, le=86_400)
    backtest_upload_max_mb: float = Field(20.0, gt=0, le=500)

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, v: SecretStr | None) -> SecretStr | None:
        if v is not None and len(v.get_secret_value()) < 32:
            raise ValueError("dashboard.secret_key must be at least 32 characters "
                             "(or null for a random one per installation)")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> Section:
        if self.session_idle_minutes > self.session_hours * 60:
            raise ValueError(f"dashboard.session_idle_minutes ({self.session_idle_minutes}) "
                             f"is longer than dashboard.session_hours ({self.session_hours} h)")
        if self.login_lockout_max_s < self.login_lockout_s:
            raise ValueError(f"dashboard.login_lockout_max_s ({self.login_lockout_max_s}) is "
                             f"shorter than dashboard.login_lockout_s ({self.login_lockout_s})")
        return self
