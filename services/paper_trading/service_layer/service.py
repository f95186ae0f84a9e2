"""Use cases of the paper broker.  Every write is one ``BEGIN IMMEDIATE`` unit of work."""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.paper_trading.adapters.gate import Checkpoints, WriterGate
from services.paper_trading.adapters.repository import Repository
from services.paper_trading.service_layer.accounts import AUTOMATION, AccountDirectory
from services.paper_trading.service_layer.engine import FillEngine
from services.paper_trading.service_layer.intake import Intake, asset_id_for, same_request
from services.paper_trading.service_layer.lifecycle import Lifecycle
from services.paper_trading.service_layer.market_runs import MarketRuns, check_run
from services.paper_trading.service_layer.portfolio import PortfolioUseCases
from services.paper_trading.service_layer.snapshot import snapshot
from shared.config import Settings
from shared.db import Database, DatabaseServiceMixin
from shared.db.notify import TRADING, notify
from shared.domain.money import from_micros
from shared.errors import NotFound, ServiceUnavailable, UnprocessableError
from shared.market.calendar import MarketCalendar, get_calendar
from shared.trading import Costs, RiskLimits, RiskRejection, daily_loss_breached
from shared.trading.records import OrderRecord
from shared.trading.schemas import OrderRequest
from shared.trading.sessions import SessionClock

UTC = UTC
__all__ = ["PaperTradingService", "asset_id_for", "default_clock"]


def default_clock(settings: Settings, db: Database) -> Callable[[], datetime]:
    """Return the suite's market clock ``now`` (wall time only when no clock exists yet)."""
    try:
        from shared.market.clock import MarketClock

        clock = MarketClock(db, settings.market.clock)  # type: ignore[attr-defined]
        return clock.now
    except (ImportError, AttributeError):  # market area not there yet: live wall clock
        return lambda: datetime.now(UTC)


class PaperTradingService(PortfolioUseCases, DatabaseServiceMixin):
    """The paper broker: orders, fills on the market clock, positions, account, risk."""

    def __init__(self, settings: Settings, *, database: Database | None = None,
                 now: Callable[[], datetime] | None = None,
                 calendar: MarketCalendar | None = None) -> None:
        self.settings = settings
        self.cfg = settings.paper_trading
        self.init_database(database or settings)
        self.cal = calendar or get_calendar(settings.market.calendar)
        self.sessions = SessionClock(self.cal)
        self.gate = WriterGate(Path(f"{self.db.path}.paper_trading.lock"))
        self.checkpoints = Checkpoints(self.cfg.wal_checkpoint_every)
        self._now = now or default_clock(settings, self.db)
        self.accounts = AccountDirectory(self.db, self.cfg.starting_cash, self.now)
        self._automation_seen = False
        self.costs = Costs.from_settings(self.cfg.fills)
        self.limits = RiskLimits.from_settings(self.cfg.risk)
        self.intake = Intake(self.cfg, self.db, self.sessions, self.cal, self.limits)
        self.engine = FillEngine(self.costs, self.cal, margin=self.cfg.account_type == "margin",
                                 fractionable=self._fractionable)
        self._last_minute: tuple[datetime, datetime | None] | None = None
        self._lock = threading.Lock()
        self.market_runs = MarketRuns(self)
        # the suite's MarketClock behind ``now`` (None for a hand-moved clock)
        clock = getattr(self._now, "__self__", None)
        self._clock = clock if hasattr(clock, "state") and hasattr(clock, "invalidate") else None
        self._local = threading.local()

    # -- clock and processing -------------------------------------------------------------
    def now(self) -> datetime:
        """Return the market clock's now, noting (per thread) the market run it belongs to."""
        clock = self._clock
        # the run first: should the cached row expire in between, "now" is the newer one
        # and the check below refuses (a retry) rather than passing a stale time
        self._local.run = None if clock is None else clock.state().run
        t = self._now()
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)

    @contextmanager
    def write_uow(self, label: str, *, books: bool = True) -> Iterator[Any]:
        """Open a write unit of work, queued behind this service's other writers (``gate``).

        A unit of work that may book (``books``, the default) is refused while a new market
        run is starting (``market_runs.check_run``: ServiceUnavailable).

        The WAL checkpoint, when one is due, runs after the gate is released (see ``gate``).
        """
        conn = self.get_db_connection()
        with self.gate.hold(), self.unit_of_work(f"paper_trading:{label}") as uow:
            if books:  # the books, the clock and this thread's "now" in one market run
                self._same_run_as_now(check_run(uow.conn))
            yield uow
            # the stream server wakes when this commits (PostgreSQL; a rollback drops it)
            notify(uow.conn, TRADING)
        if not conn.in_transaction:  # not nested in an outer unit of work
            self.checkpoints.after_commit(conn)

    def ensure_accounts(self) -> None:
        """Create the automation's account on a fresh database (once per process)."""
        if not self._automation_seen:  # the row is never deleted once created
            self.accounts.ensure_automation()
            self._automation_seen = True

    def process_until(self, now: datetime | None = None) -> dict[str, int]:
        """Evaluate working orders against every bar visible at ``now``; run the risk sweep.

        Idempotent: bars already evaluated are skipped through the per-symbol watermark.
        """
        now = now or self.now()
        self.ensure_accounts()
        with self.write_uow("process") as uow:
            repo = Repository(uow.conn)
            stats = self.engine.run(repo, now)
            stats["flattened"] = sum(self._risk_sweep(repo.scoped(a), now)
                                     for a in self._swept_accounts(repo))
            uow.commit()
        return stats

    def maybe_process(self) -> None:
        """Process once per clock minute and market-feed step per process.

        Bars only appear on minute boundaries, but the market owner stores them a moment after
        the clock moves: a sweep a request triggers in between sees the minute without its
        bars, so the sweep runs again once the feed's ``through_ts`` moved (one primary-key
        read).  Otherwise whoever asked first in a minute would decide what a later reader of
        the same minute sees (an order not yet filled), and results would depend on timing.
        """
        if not self.cfg.process_on_request:
            return
        now = self.now()
        key = (now.replace(second=0, microsecond=0),
               Repository(self.get_db_connection()).feed_through())
        with self._lock:
            if self._last_minute == key:
                return
            self._last_minute = key
        try:
            self.process_until(now)
        except ServiceUnavailable:  # a new market run is starting: sweep once it started
            with self._lock:
                self._last_minute = None

    def _same_run_as_now(self, run: int | None) -> None:
        """Refuse an order whose "now" came from the clock of another market run than the
        books' (the clock's row is cached ``cache_ms``: a read just before a rewind).

        Raises:
            ServiceUnavailable: retry (the clock is read afresh).
        """
        seen = getattr(self._local, "run", None)
        if run is None or seen is None or self._clock is None:
            return
        if seen != run:
            self._clock.invalidate()
            raise ServiceUnavailable("the market run changed while the order was checked; "
                                     "retry", field="run")

    def market_run_started(self) -> None:
        """Forget what this process kept of the closed run (the sweep's minute)."""
        with self._lock:
            self._last_minute = None

    @staticmethod
    def _swept_accounts(repo: Repository) -> list[int]:
        """Return the accounts the risk sweep looks at: the automation's and every account
        with an open position or order (an idle account has no risk to watch)."""
        rows = repo.conn.execute(
            "SELECT ? UNION SELECT account FROM pt_positions WHERE qty_micros != 0 "
            "UNION SELECT account FROM pt_orders WHERE status IN "
            "('new', 'accepted', 'partially_filled', 'held')", (AUTOMATION,)).fetchall()
        return sorted(r[0] for r in rows)

    def _risk_sweep(self, repo: Repository, now: datetime) -> int:
        """Record the session's start equity, halt on the daily loss limit, flatten near close.

        Every account has its daily loss limit; flattening before the close is the suite's
        automation's rule only (Alpaca never closes a bot's positions for it).
        """
        period = self.sessions.period(now)
        if period.session is None or period.close is None:
            return 0
        label = period.session
        snap = snapshot(repo, self.cfg, period, now)
        repo.start_session(label, snap.figures.equity)
        row = repo.session(label)
        start_equity = from_micros(row["start_equity_micros"])
        flatten = False
        if not row["halted"]:
            why = daily_loss_breached(start_equity, snap.figures.equity, self.limits)
            if why:
                repo.update_session(label, halted=1, halt_reason=why)
                repo.trade_event("risk_halt", {"session": label, "reason": why}, now)
                flatten = self.cfg.risk.flatten_on_daily_loss
        close = period.close
        m = self.cfg.risk.flatten_minutes_before_close
        if m and close - now <= timedelta(minutes=m) and repo.account_id == AUTOMATION:
            flatten = True
        if not flatten or row["flattened"]:
            return 0
        repo.update_session(label, flattened=1)
        return self._flatten(repo, now, "risk_flatten")

    def _flatten(self, repo: Repository, now: datetime, reason: str) -> int:
        life = Lifecycle(repo, self.cal)
        for rec in repo.open_orders():
            life.cancel(rec, now, reason)
        n = 0
        for row in repo.positions():
            qty = from_micros(row["qty_micros"])
            req = OrderRequest(symbol=row["symbol"], side="sell" if qty > 0 else "buy",
                               qty=abs(qty), type="market", time_in_force="day")
            parent, legs = self.intake.build(req, now, self.sessions.period(now), source=reason,
                                             account=repo.account_id)
            self.intake.store(repo.conn, parent, legs, now, reason)
            n += 1
        repo.trade_event("risk_flatten", {"reason": reason, "orders": n}, now)
        return n

    # -- symbols --------------------------------------------------------------------------
    def _fractionable(self, repo: Repository, symbol: str) -> bool:
        asset = self.intake.assets.get(symbol)
        return asset is None or asset.fractionable

    # -- orders ---------------------------------------------------------------------------
    def submit_order(self, req: OrderRequest, *, account: int = AUTOMATION) -> OrderRecord:
        """Accept an order after the risk checks, or return the one with its client_order_id.

        One unit of work (see ``intake``): the clock, then the order stored under the
        client_order_id, if any, with the symbol's last visible close (``Intake.look``).  A
        known client_order_id returns that order (its legs need one more read) and writes
        nothing.  A new order is built, checked and stored before the commit.  A submission
        never runs the fill sweep, which belongs to clock sync and reads.

        Raises:
            RiskRejection / PatternDayTraderRejection: 403 with the rule as the code.
            UnprocessableError: no price is known for the symbol, or bad quantity/asset.
        """
        now = None
        if account == AUTOMATION:
            self.ensure_accounts()
        try:
            # the run check is in the submission's own context read (``intake``)
            with self.write_uow("submit", books=False) as uow:
                now = self.now()
                existing, close_micros = self.intake.look(uow.conn, req, now, account)
                if existing is not None:
                    same_request(existing, req)
                    if existing.order_class != "simple":
                        existing.legs = Repository(uow.conn, account).children(existing.id)
                    return existing
                prepared = self.intake.prepare(req, now, close_micros, account)
                rec = self.intake.submit_locked(uow.conn, prepared)
                self._same_run_as_now(prepared.run)
                uow.commit()
        except (RiskRejection, UnprocessableError) as exc:
            self._record_rejection(req, exc, now or self.now(), account)
            raise
        except Exception as exc:  # PDT rejections are Forbidden too
            if getattr(exc, "http_status", 0) == 403:
                self._record_rejection(req, exc, now or self.now(), account)
            raise
        if rec is None:  # lost a race with a retry of the same client_order_id
            rec = self.get_order_by_client_id(req.client_order_id or "", account=account)
            same_request(rec, req)
        return rec

    def _record_rejection(self, req: OrderRequest, exc: Exception, now: datetime,
                          account: int) -> None:
        with self.write_uow("reject") as uow:
            Repository(uow.conn, account).trade_event("order_rejected", {
                "symbol": req.symbol, "side": req.side, "type": req.type,
                "client_order_id": req.client_order_id, "code": getattr(exc, "code", ""),
                "message": str(exc)}, now)
            uow.commit()

    def find_order_by_client_id(self, cid: str, *,
                                account: int = AUTOMATION) -> OrderRecord | None:
        repo = Repository(self.get_db_connection(), account)
        rec = repo.order_by_client_id(cid)
        if rec is not None and rec.order_class != "simple":
            rec.legs = repo.children(rec.id)
        return rec

    def get_order(self, order_id: str, *, account: int = AUTOMATION) -> OrderRecord:
        """Return one of the account's orders with its legs.

        Raises:
            NotFound: the account has no order with this id.
        """
        repo = Repository(self.get_db_connection(), account)
        rec = repo.order_required(order_id)
        rec.legs = repo.children(rec.id)
        return rec

    def get_order_by_client_id(self, cid: str, *, account: int = AUTOMATION) -> OrderRecord:
        rec = self.find_order_by_client_id(cid, account=account)
        if rec is None:
            raise NotFound(f"order not found for client_order_id {cid}", field="client_order_id")
        return rec

    def order_events(self, order_id: str, *, account: int = AUTOMATION) -> list[dict[str, Any]]:
        self.get_order(order_id, account=account)
        return [dict(r) for r in Repository(self.get_db_connection()).order_events(order_id)]

    def list_orders(self, *, status: str = "open", limit: int = 50, after: str | None = None,
                    until: str | None = None, direction: str = "desc", side: str | None = None,
                    symbols: list[str] | None = None, account: int = AUTOMATION,
                    nested: bool = True) -> list[OrderRecord]:
        """Return the account's orders; ``nested`` False lists legs as orders of their own."""
        repo = Repository(self.get_db_connection(), account)
        recs = repo.list_orders(status=status, limit=limit, after=after, until=until,
                                direction=direction, side=side, symbols=symbols, nested=nested)
        kids = repo.children_of([r.id for r in recs if r.order_class != "simple"])
        for r in recs:
            r.legs = kids.get(r.id, [])
        return recs

    def cancel_order(self, order_id: str, *, account: int = AUTOMATION) -> OrderRecord:
        """Cancel an open order (and its held legs).

        Raises:
            NotFound: unknown id.  UnprocessableError: the order is already final.
        """
        now = self.now()
        with self.write_uow("cancel") as uow:
            repo = Repository(uow.conn, account)
            rec = repo.order_required(order_id)
            if rec.status not in ("new", "accepted", "partially_filled", "held"):
                raise UnprocessableError(f"order is already in \"{rec.status}\" state",
                                         field="order_id")
            Lifecycle(repo, self.cal).cancel(rec, now, "user_canceled")
            uow.commit()
        return rec

    def cancel_all(self, *, account: int = AUTOMATION) -> list[OrderRecord]:
        """Cancel every open order of the account; return them."""
        now = self.now()
        with self.write_uow("cancel_all") as uow:
            repo = Repository(uow.conn, account)
            life = Lifecycle(repo, self.cal)
            out = []
            for rec in repo.open_orders():
                rec = life.changed.get(rec.id, rec)
                if rec.status in ("new", "accepted", "partially_filled", "held"):
                    life.cancel(rec, now, "user_canceled")
                    out.append(rec)
            uow.commit()
        return [r for r in out if r.parent_id is None] + [r for r in out if r.parent_id]
