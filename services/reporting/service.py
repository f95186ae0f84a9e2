"""Use cases of the reporting service: snapshots, the journal, metrics and exports."""
from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pandas as pd

from services.reporting.repository import ReportRepository, Snapshot
from services.reporting.runs import check_snapshot
from shared import analytics as d
from shared.analytics.export import daily_rows, equity_rows, to_csv
from shared.config import Settings
from shared.db import Database, DatabaseServiceMixin
from shared.domain.money import from_micros
from shared.errors import AppError, UnprocessableError, ValidationError

log = logging.getLogger("reporting")
CENT = Decimal("0.01")
PriceSource = Callable[[str, datetime], Decimal]
BarSource = Callable[[str, str, datetime, datetime], pd.DataFrame]
_TF = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": 1440}


@dataclass(frozen=True)
class ExportFile:
    """An export ready to send."""

    content: str
    mimetype: str
    filename: str


class ReportingService(DatabaseServiceMixin):
    """Builds reports from paper trading's fills and this service's equity snapshots.

    ``clock``, ``prices`` and ``bars`` default to the market data manager (the market clock's
    "now", the last visible price, visible bars); tests and replay may pass their own.
    """

    def __init__(self, settings: Settings, db: Database | None = None, *,
                 clock: Callable[[], datetime] | None = None,
                 prices: PriceSource | None = None,
                 bars: BarSource | None = None) -> None:
        self.settings = settings
        self.cfg = settings.reporting
        self.init_database(db or settings)
        self.repo = ReportRepository(self.db)
        self._clock = clock
        self._prices = prices
        self._bars = bars
        self.options = d.ReportOptions(
            risk_free_rate=self.cfg.risk_free_rate, periods_per_year=self.cfg.periods_per_year,
            annualize_min_days=self.cfg.annualize_min_days, tz=self.cfg.timezone,
            time_bucket_minutes=self.cfg.time_bucket_minutes)

    # -- market data (the data manager unless given) ---------------------------------------
    def _dm(self) -> Any:
        from shared.market import get_data_manager  # heavy: only when first needed

        return get_data_manager(self.settings)

    def now(self) -> datetime:
        """Return the market clock's now."""
        return self._clock() if self._clock else self._dm().clock.now()

    def _price(self, symbol: str, as_of: datetime) -> Decimal:
        if self._prices:
            return self._prices(symbol, as_of)
        return self._dm().get_latest_price(symbol, as_of=as_of).price

    def _bar_frame(self, symbol: str, tf: str, start: datetime, end: datetime) -> pd.DataFrame:
        if self._bars:
            return self._bars(symbol, tf, start, end)
        return self._dm().get_historical_data(symbol, tf, start, end, as_of=end)

    def for_account(self, account: int) -> ReportingService:
        """Return this service reading and writing paper account ``account``."""
        if account == self.repo.account_id:
            return self
        other = copy.copy(self)
        other.repo = ReportRepository(self.db, account)
        return other

    # -- snapshots -------------------------------------------------------------------------
    def snapshot_all(self, ts: datetime | None = None, run_id: str | None = None,
                     source: str = "api") -> dict[str, Any]:
        """Snapshot the automation's account and every account that has traded; return the
        automation's snapshot with the others under ``accounts``."""
        out = self.snapshot(ts, run_id, source)
        others = {}
        for acct in self.repo.active_accounts():
            if acct != self.repo.account_id:
                others[str(acct)] = self.for_account(acct).snapshot(ts, run_id, source)
        return {**out, "accounts": others}

    def epoch(self) -> int:
        """Return the paper account's current epoch (0 before it exists)."""
        row = self.repo.account()
        return int(row["epoch"]) if row is not None else 0

    def snapshot(self, ts: datetime | None = None, run_id: str | None = None,
                 source: str = "api") -> dict[str, Any]:
        """Record the account's equity at clock step ``ts`` (default: the clock's now).

        A second snapshot of the same step replaces the first.  A position without a visible
        price is valued at its average entry price and listed under ``unpriced``.

        Raises:
            ValidationError: when ``ts`` is after the market clock's now (look-ahead).
            UnprocessableError: when paper trading has not created its account yet.
            ServiceUnavailable: a new market run started meanwhile (retry).
        """
        clock_run = None if self._clock else self._dm().clock.state().run  # before "now"
        now = self.now()
        if ts is None:
            ts = now
        elif ts > now:
            raise ValidationError(f"ts {ts.isoformat()} is after the market clock's now "
                                  f"{now.isoformat()}", field="ts")
        account = self.repo.account()
        if account is None:
            raise UnprocessableError("paper trading has no account yet; nothing to snapshot",
                                     field="account")
        cash = from_micros(account["cash_micros"])
        long_v = short_v = unreal = Decimal(0)
        unpriced = []
        positions = self.repo.positions()
        for symbol, qty, avg in positions:
            try:
                price = self._price(symbol, ts)
            except AppError as exc:  # a symbol with no visible bar must not stop the cycle
                log.warning("no price for snapshot", extra={"symbol": symbol, "error": str(exc)})
                price = avg
                unpriced.append(symbol)
            value = qty * price
            if qty > 0:
                long_v += value
            else:
                short_v += value
            unreal += qty * (price - avg)
        equity = (cash + long_v + short_v).quantize(CENT, rounding=ROUND_HALF_EVEN)
        snap = Snapshot(int(account["epoch"]), ts.astimezone(UTC), equity, cash, long_v,
                        short_v, unreal, len(positions), run_id, source)
        with self.transaction("report_snapshot") as conn:
            check_snapshot(conn, self.repo.account_id, snap.epoch, clock_run)
            self.repo.save_snapshot(conn, snap, datetime.now(UTC))
        return {**snapshot_dict(snap), "unpriced": unpriced}

    def equity(self, epoch: int | None = None, start: datetime | None = None,
               end: datetime | None = None) -> pd.Series:
        """Return the equity curve of ``epoch`` (default: current) between start and end."""
        epoch = self.epoch() if epoch is None else epoch
        snaps = self.repo.snapshots(epoch, start, end)
        return d.equity_series((s.ts, s.equity) for s in snaps)

    def equity_view(self, epoch: int | None = None, start: datetime | None = None,
                    end: datetime | None = None) -> dict[str, Any]:
        """Return the equity curve with drawdown per step, the daily P&L and drawdown figures."""
        epoch = self.epoch() if epoch is None else epoch
        eq = self.equity(epoch, start, end)
        return {"epoch": epoch, "points": equity_rows(eq),
                "daily": daily_rows(d.daily_pnl(eq, self.cfg.timezone)),
                "drawdown": d.jsonable(d.drawdown_stats(eq))}

    # -- journal and report ----------------------------------------------------------------
    def trips(self, epoch: int | None = None, start: datetime | None = None,
              end: datetime | None = None) -> list[d.RoundTrip]:
        """Return the round trips as of ``end`` that were entered at or after ``start``.

        Trips are built from every fill up to ``end`` (so a trip entered before ``start`` is
        never mistaken for one opened by its closing fill), with decisions and excursions.
        """
        epoch = self.epoch() if epoch is None else epoch
        fills = self.repo.fills(epoch, None, end)
        decisions = self.repo.decisions(f.order_id for f in fills if f.order_id)
        trips = d.build_round_trips(fills, decisions)
        if start is not None:
            trips = [t for t in trips if t.entry_time >= start]
        return self._with_excursions(trips)

    def _with_excursions(self, trips: list[d.RoundTrip]) -> list[d.RoundTrip]:
        if not trips:
            return trips
        tf = self.cfg.excursion_timeframe
        bar = timedelta(minutes=_TF[tf])
        now = self.now()
        frames: dict[str, pd.DataFrame] = {}
        for symbol in sorted({t.symbol for t in trips}):
            mine = [t for t in trips if t.symbol == symbol]
            start = min(t.entry_time for t in mine) - bar
            end = now if any(t.is_open for t in mine) else max(t.exit_time for t in mine) + bar
            try:
                frames[symbol] = self._bar_frame(symbol, tf, start, min(end, now))
            except AppError as exc:  # excursions are optional: the journal still stands
                log.warning("no bars for excursions", extra={"symbol": symbol, "error": str(exc)})
        return d.add_excursions(trips, frames, bar)

    def report(self, epoch: int | None = None, start: datetime | None = None,
               end: datetime | None = None) -> d.Report:
        """Return the whole report of ``epoch`` (default: the current one)."""
        epoch = self.epoch() if epoch is None else epoch
        return d.report_from_trips(self.trips(epoch, start, end),
                                   self.equity(epoch, start, end), self.options)

    def summary(self, epoch: int | None = None) -> dict[str, Any]:
        """Return the headline figures, the account and the ledger cross-check."""
        epoch = self.epoch() if epoch is None else epoch
        rep = self.report(epoch)
        closed = [t for t in rep.trades if not t.is_open]
        open_trips = [t for t in rep.trades if t.is_open]
        marks = self.last_prices(t.symbol for t in open_trips)
        keys = ("start", "end", "trading_days", "start_equity", "end_equity", "pnl",
                "total_return", "annualized_return", "sharpe", "sortino", "max_drawdown", "win_rate",
                "profit_factor", "expectancy", "trades", "open_trades", "exposure",
                "trades_per_day", "notes", "minimums", "unavailable")
        return d.jsonable({
            "epoch": epoch,
            **{k: rep.stats[k] for k in keys},
            "realized_pnl": sum((t.net_pnl for t in closed), Decimal(0)),
            "open_realized_pnl": sum((t.net_pnl for t in open_trips), Decimal(0)),
            "unrealized_pnl": sum((t.unrealized_pnl(marks[t.symbol]) for t in open_trips
                                   if t.symbol in marks), Decimal(0)),
            "fees": sum((t.fees for t in rep.trades), Decimal(0)),
            "ledger_cash_flow": self.repo.ledger_cash_flow(epoch),
            "last_snapshot": snapshot_dict(s[-1]) if (s := self.repo.snapshots(epoch)) else None,
            "daily": daily_rows(rep.daily[-10:]),
        })

    def trades(self, *, epoch: int | None = None, status: str = "all",
               symbol: str | None = None, strategy: str | None = None, limit: int = 100,
               offset: int = 0) -> dict[str, Any]:
        """Return one page of the journal, newest first, filtered."""
        trips = self.trips(epoch)
        if status != "all":
            trips = [t for t in trips if t.is_open == (status == "open")]
        if symbol:
            trips = [t for t in trips if t.symbol == symbol.upper()]
        if strategy:
            trips = [t for t in trips if t.strategy == strategy]
        trips = list(reversed(trips))
        page = trips[offset:offset + min(limit, self.cfg.max_trades)]
        marks = self.last_prices(t.symbol for t in page if t.is_open)
        return {"total": len(trips), "offset": offset,
                "trades": [d.trip_row(t, marks.get(t.symbol)) for t in page]}

    def last_prices(self, symbols: Iterable[str]) -> dict[str, Decimal]:
        """Return the last visible price of each symbol at the clock's now (a symbol without
        one is left out: its open trips show no unrealized P&L rather than a wrong one)."""
        out: dict[str, Decimal] = {}
        wanted = sorted(set(symbols))
        if not wanted:
            return out
        now = self.now()
        for symbol in wanted:
            try:
                out[symbol] = self._price(symbol, now)
            except AppError as exc:
                log.warning("no price for an open trade", extra={"symbol": symbol,
                                                                 "error": str(exc)})
        return out

    def metrics(self, group_by: str | None = None, epoch: int | None = None,
                start: datetime | None = None, end: datetime | None = None) -> dict[str, Any]:
        """Return every figure, or the trade figures per group.

        Raises:
            ValidationError: for an unknown ``group_by``.
        """
        if group_by is not None and group_by not in d.GROUPS:
            raise ValidationError(f"group_by must be one of {list(d.GROUPS)}, was {group_by!r}",
                                  field="group_by")
        rep = self.report(epoch, start, end)
        if group_by is None:
            return d.jsonable(rep.stats)
        return {"group_by": group_by, "groups": d.jsonable(rep.breakdowns[group_by])}

    def export(self, fmt: str, what: str = "trades", epoch: int | None = None) -> ExportFile:
        """Return the report as CSV (``what``: trades, equity or daily), JSON or HTML.

        Raises:
            ValidationError: for an unknown format or CSV table (an empty report exports
                empty tables).
        """
        rep = self.report(epoch)
        if fmt == "csv":
            if what == "trades":
                text = d.trades_csv(rep.trades)
            elif what == "equity":
                text = d.equity_csv(rep.equity)
            elif what == "daily":
                text = to_csv(daily_rows(rep.daily), (
                    "day", "open_equity", "close_equity", "pnl", "ret"))
            else:
                raise ValidationError("what must be trades, equity or daily", field="what")
            return ExportFile(text, "text/csv", export_filename(fmt, what))
        files = d.export_files(rep, title=self.cfg.report_title,
                               generated_at=self.now().isoformat(),
                               periods_per_year=self.cfg.periods_per_year)
        if fmt == "json":
            return ExportFile(files["report.json"], "application/json",
                              export_filename(fmt, what))
        if fmt == "html":
            return ExportFile(files["report.html"], "text/html", export_filename(fmt, what))
        raise ValidationError("format must be csv, json or html", field="format")


def export_filename(fmt: str, what: str = "trades") -> str:
    """Return the download name of an export: ``report-<table>.csv`` for a CSV table, else
    ``report.json`` / ``report.html`` (the whole report; ``what`` does not apply)."""
    return f"report-{what}.csv" if fmt == "csv" else f"report.{fmt}"


def snapshot_dict(s: Snapshot) -> dict[str, Any]:
    """Return a snapshot as JSON-ready data."""
    return d.jsonable({"epoch": s.epoch, "ts": s.ts, "equity": s.equity, "cash": s.cash,
                       "long_value": s.long_value, "short_value": s.short_value,
                       "unrealized_pnl": s.unrealized_pnl, "open_positions": s.open_positions,
                       "run_id": s.run_id, "source": s.source})


__all__ = ["ExportFile", "ReportingService", "export_filename", "snapshot_dict"]
