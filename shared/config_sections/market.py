"""Settings of the market area (see config/default.yaml, section `market`)."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from shared.config_sections._base import StrictModel

#: A provider a route may name (the built-in market, CSV files, Alpaca and the six sources).
ProviderName = Literal["simulated", "csv", "alpaca", "yahoo", "binance", "alphavantage",
                       "polygon", "tiingo", "fmp"]
PROVIDERS: tuple[str, ...] = ProviderName.__args__  # type: ignore[attr-defined]
ROUTE_CLASSES = ("equity", "etf", "crypto", "fx")
ROUTE_SUFFIXES = ("1m", "5m", "15m", "1h", "1d", "intraday", "daily")


def check_route_key(key: str) -> None:
    """Check one ``market.routes`` key (shared/market/routing.py resolves them).

    Raises:
        ValueError: naming the key and the forms a key may take.
    """
    cls, sep, tf = key.partition(":")
    if cls not in ROUTE_CLASSES or (sep and tf not in ROUTE_SUFFIXES):
        raise ValueError(f"route key {key!r}: use {'|'.join(ROUTE_CLASSES)}, optionally "
                         f"with :{'|'.join(ROUTE_SUFFIXES)} (e.g. equity:intraday)")


class ClockSection(StrictModel):
    """The suite's one market clock (coordination writes it; everyone reads it)."""

    mode: Literal["live", "replay"] = "replay"
    replay_start: date = date(2024, 1, 2)
    replay_end: date = date(2024, 12, 31)
    # realtime: 1 s per s; multiplier: `speed` x faster; max/step: advances only when told
    pace: Literal["realtime", "multiplier", "max", "step"] = "multiplier"
    speed: float = Field(60.0, gt=0, le=1_000_000)
    step_minutes: int = Field(1, ge=1, le=1440)
    # in realtime/multiplier pace, let time run only through sessions (nights take no time)
    skip_closed: bool = True
    cache_ms: float = Field(5.0, ge=0, le=5000)

    @model_validator(mode="after")
    def _ordered(self) -> ClockSection:
        if self.replay_end < self.replay_start:
            raise ValueError("clock.replay_end is before clock.replay_start")
        return self


class IngestSection(StrictModel):
    """The market-data owner (coordination's ``MarketFeed``): what it stores and how."""

    # calendar days of history stored per timeframe (the readers' deepest default windows:
    # technical analysis reads 1m 5 days, 15m 30, 1h 90, 1d 500; the scanner's relative
    # volume 5m bars of 10 sessions, 20 days)
    history_days: dict[Literal["1m", "5m", "15m", "1h", "1d"], int] = {
        "1m": 5, "5m": 24, "15m": 30, "1h": 90, "1d": 500}
    chunk_rows: int = Field(40_000, ge=100, le=1_000_000)  # rows per write transaction
    poll_s: float = Field(0.05, gt=0, le=10)
    # readers call their data stale when the store is this far behind the clock (market
    # minutes), or what a fast clock covers in stale_after_s of wall time, if more
    stale_after_minutes: float = Field(3.0, gt=0)
    stale_after_s: float = Field(5.0, gt=0)
    # SQLite's soft heap limit in the owner's process (all its connections; 0: none): each
    # connection's page cache (database.cache_size_kib) otherwise fills with every page the
    # feed writes, ~25 MB a simulated day, up to its cap
    sqlite_heap_mb: int = Field(16, ge=0, le=4096)
    # on SQLite, the feed runs PASSIVE WAL checkpoints in a thread of its own, at most this
    # many seconds apart (sooner while the WAL grows fast; 0: none, SQLite then checkpoints
    # at database.wal_autocheckpoint_pages, inside a commit). Every minute of bars rewrites
    # the same leaf pages (one per symbol): checkpointed every second or two instead of every
    # other minute of a fast replay, each page is copied once for several minutes
    checkpoint_s: float = Field(2.0, ge=0, le=3600)

    @field_validator("history_days")
    @classmethod
    def _depths(cls, v: dict[str, int]) -> dict[str, int]:
        for tf, days in v.items():
            if not 1 <= days <= 20_000:
                raise ValueError(f"history_days.{tf} must be 1..20000, was {days}")
        return v


class Section(StrictModel):
    """Every market setting with its default."""

    seed: int = 42
    universe_size: int = Field(500, ge=1, le=5000)
    crypto_symbols: list[str] = ["BTC/USD", "ETH/USD", "SOL/USD", "LTC/USD"]
    calendar: str = "XNYS"
    # provider chains by asset class (equity|etf|crypto|fx), optionally per timeframe
    # ("equity:1d") or span ("equity:intraday"/"equity:daily"); failover in order, a provider
    # without its keys is skipped (shared/market/routing.py; config/providers.example.yaml)
    routes: dict[str, list[ProviderName]] = {
        "equity": ["simulated"], "crypto": ["simulated"]}
    # tickers routed as ETFs beside the built-in universe's funds (SPY, QQQ, ...)
    etf_symbols: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9.]{0,9}$")]] = [
        "VTI", "IVV", "VEA", "VWO", "EFA", "EEM", "AGG", "BND", "LQD", "HYG", "ARKK", "SMH",
        "SOXX", "XLY", "XLP", "XLI", "XLU", "XLB", "XLRE", "XLC", "SLV", "USO", "VNQ", "SCHD"]
    csv_paths: list[str] = ["data/market"]
    csv_timezone: str = "America/New_York"
    data_cache_dir: str = "data-cache"
    # fundamentals (shared/market/fundamentals): one JSON per provider and fetch under
    # <data_cache_dir>/<SYMBOL>/fundamentals/, valid this many days; each field from the first
    # provider of the priority list that has it (a network source only with its key; Yahoo,
    # which needs none, only when a route names it); numbers further apart than the relative
    # tolerance are reported as disagreements
    fundamentals_ttl_days: float = Field(7.0, gt=0, le=366)
    fundamentals_priority: list[Annotated[str, StringConstraints(
        pattern=r"^[a-z][a-z0-9]{0,31}$")]] = Field(
        ["fmp", "yahoo", "alphavantage", "polygon", "tiingo", "simulated"], min_length=1)
    fundamentals_tolerance: float = Field(0.05, ge=0, le=10)
    fundamentals_memory_size: int = Field(8192, ge=1, le=1_000_000)
    # providers whose bars are kept in data-cache/<SYMBOL>/bars/ (every one fetched from
    # outside the process): a range cached once is never fetched again, even on a new database
    file_cache_sources: list[ProviderName] = ["csv", "alpaca", "yahoo", "binance", "alphavantage",
                                              "polygon", "tiingo", "fmp"]
    memory_cache_size: int = Field(4096, ge=1)
    memory_cache_ttl_s: float = Field(300.0, gt=0)
    breaker_fail_max: int = Field(3, ge=1)
    breaker_reset_s: float = Field(30.0, gt=0)
    stale_fallback: bool = True
    min_quality: float = Field(0.0, ge=0, le=1)
    stream_poll_s: float = Field(1.0, gt=0)
    alpaca_sdk_retries: int = Field(1, ge=0, le=5)
    alpaca_sdk_retry_wait_s: int = Field(1, ge=0, le=30)
    clock: ClockSection = ClockSection()
    ingest: IngestSection = IngestSection()

    @field_validator("routes")
    @classmethod
    def _routes(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        for key, chain in v.items():
            check_route_key(key)
            if not chain:
                raise ValueError(f"route {key!r} names no provider")
        return v
