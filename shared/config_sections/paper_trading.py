"""Settings of the paper trading area (see config/default.yaml, section `paper_trading`)."""
from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import Field, model_validator

from shared.config_sections._base import StrictModel


class FillsSection(StrictModel):
    """How bars turn into fills: slippage, commission, volume participation."""

    # slippage is either basis points of the reference price or a fraction of the bar's range
    slippage_model: Literal["bps", "range_fraction"] = "bps"
    slippage_bps: Decimal = Field(Decimal("0"), ge=0, le=1000)
    slippage_range_fraction: Decimal = Field(Decimal("0"), ge=0, le=1)
    commission_per_share: Decimal = Field(Decimal("0"), ge=0)
    commission_per_order: Decimal = Field(Decimal("0"), ge=0)
    commission_percent: Decimal = Field(Decimal("0"), ge=0, le=10)
    commission_minimum: Decimal = Field(Decimal("0"), ge=0)
    # cap each bar's fill at this fraction of the bar's volume (null = no cap)
    volume_participation: Decimal | None = Field(None, gt=0, le=1)


class RiskSection(StrictModel):
    """Pre-trade risk limits (null switches a limit off)."""

    max_position_pct: Decimal | None = Field(None, gt=0, le=1000)
    max_order_notional: Decimal | None = Field(None, gt=0)
    max_open_positions: int | None = Field(None, ge=1)
    daily_loss_limit_usd: Decimal | None = Field(None, gt=0)
    daily_loss_limit_pct: Decimal | None = Field(None, gt=0, le=100)
    flatten_on_daily_loss: bool = False
    max_trades_per_day: int | None = Field(None, ge=1)
    no_entry_minutes_before_close: int = Field(0, ge=0, le=390)
    flatten_minutes_before_close: int = Field(0, ge=0, le=390)
    non_shortable: list[str] = []
    non_tradable: list[str] = []


class StreamsSection(StrictModel):
    """The Alpaca websocket streams and the SSE feeds (the ``paper_streams`` process)."""

    # how often the one poller per process reads the database for new rows
    poll_s: float = Field(0.01, gt=0, le=5)
    # PostgreSQL: the poller waits for writers' notifications instead, at most this long
    # (and never past the market clock's next minute); a backstop, not a latency
    listen_fallback_s: float = Field(1.0, gt=0, le=60)
    # a client that has not authenticated by then gets Alpaca's "auth timeout" and is closed
    auth_timeout_s: float = Field(10.0, gt=0, le=300)
    # a client whose socket holds more unsent bytes than this is closed as too slow
    max_pending_bytes: int = Field(524_288, ge=65_536)
    # events an SSE client may have waiting before it is closed as too slow
    sse_queue: int = Field(10_000, ge=10)
    max_message_bytes: int = Field(65_536, ge=1024)   # a client's frame, reassembled
    # connections held open at once (websockets and SSE together): over it a new one is
    # refused (Alpaca's 406 "connection limit exceeded" on a websocket, 503 on SSE)
    max_clients: int = Field(20_000, ge=1)
    # the same from one client address.  Loopback tests and benches open many from 127.0.0.1
    # (500 in tests/e2e/test_streams.py, 1,001 in bench/streams_bench.py), so the default
    # leaves them room; behind a proxy every client has the proxy's address (raise it there)
    max_clients_per_ip: int = Field(2_000, ge=1)
    # after a clock jump, bars of at most this many minutes back are streamed
    max_bar_catchup_minutes: int = Field(30, ge=1, le=10_000)

    @model_validator(mode="after")
    def _per_ip_within_total(self) -> StreamsSection:
        if self.max_clients_per_ip > self.max_clients:
            raise ValueError(f"max_clients_per_ip ({self.max_clients_per_ip}) must not exceed "
                             f"max_clients ({self.max_clients})")
        return self


class Section(StrictModel):
    """Every paper trading setting with its default."""

    broker: Literal["paper", "alpaca"] = "paper"
    account_type: Literal["cash", "margin"] = "margin"
    starting_cash: Decimal = Field(Decimal("100000"), gt=0)
    margin_overnight: Decimal = Field(Decimal("2"), ge=1, le=10)
    margin_intraday: Decimal = Field(Decimal("4"), ge=1, le=10)
    pdt_equity_threshold: Decimal = Field(Decimal("25000"), ge=0)
    pdt_max_day_trades: int = Field(3, ge=0)
    # run fill processing before answering reads, at most once per clock minute per process
    process_on_request: bool = True
    events_poll_s: float = Field(0.5, gt=0, le=30)
    events_heartbeat_s: float = Field(15.0, gt=0, le=300)
    # checkpoint the WAL after every N-th write of a worker, outside the writer gate, instead of
    # inside the commit that fills it (0: none of its own, the market owner's and SQLite's at
    # database.wal_autocheckpoint_pages remain; see services/.../gate.py)
    wal_checkpoint_every: int = Field(100, ge=0, le=100_000)
    fills: FillsSection = FillsSection()
    streams: StreamsSection = StreamsSection()
    risk: RiskSection = RiskSection()
