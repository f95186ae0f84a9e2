"""Use cases of the paper broker.  Every write is one ``BEGIN IMMEDIATE`` unit of work."""
from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any

from services.paper_trading.domain import (
    Costs,
    OrderIntent,
    RiskContext,
    RiskLimits,
    RiskRejection,
    check_order,
    check_pdt,
    daily_loss_breached,
    split,
    would_day_trade,
)
from services.paper_trading.engine import FillEngine
from services.paper_trading.lifecycle import Lifecycle, timing_for
from services.paper_trading.portfolio import PortfolioUseCases
from services.paper_trading.records import OrderRecord, bar_iso
from services.paper_trading.repository import Repository
from services.paper_trading.schemas import OrderRequest
from services.paper_trading.snapshot import Snapshot, snapshot
from shared.config import Settings
from shared.db import Database, DatabaseServiceMixin
from shared.domain.money import from_micros
from shared.errors import NotFound, UnprocessableError
from shared.market.calendar import MarketCalendar, get_calendar

UTC = UTC
ACCOUNT_NAMESPACE = uuid.UUID("6f1c1e0a-5a43-4d2b-9a57-2f0c8d6b9e11")


def asset_id_for(symbol: str) -> str:
    """Return a stable asset UUID for a symbol (the same in every process)."""
    return str(uuid.uuid5(ACCOUNT_NAMESPACE, symbol))


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
        self._now = now or default_clock(settings, self.db)
        self.costs = Costs.from_settings(self.cfg.fills)
        self.limits = RiskLimits.from_settings(self.cfg.risk)
        self.engine = FillEngine(self.costs, self.cal, margin=self.cfg.account_type == "margin",
                                 fractionable=self._fractionable)
        self._last_minute: datetime | None = None
        self._lock = threading.Lock()

    # -- clock and processing -------------------------------------------------------------
    def now(self) -> datetime:
        t = self._now()
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)

    def _uow(self, label: str) -> Any:
        return self.unit_of_work(f"paper_trading:{label}")

    def _ensure_account(self, repo: Repository, now: datetime) -> None:
        if repo.account() is None:
            repo.create_account(str(uuid.uuid4()), f"PA{uuid.uuid4().int % 10**10:010d}",
                                self.cfg.starting_cash, now)

    def process_until(self, now: datetime | None = None) -> dict[str, int]:
        """Evaluate working orders against every bar visible at ``now``; run the risk sweep.

        Idempotent: bars already evaluated are skipped through the per-symbol watermark.
        """
        now = now or self.now()
        with self._uow("process") as uow:
            repo = Repository(uow.conn)
            self._ensure_account(repo, now)
            stats = self.engine.run(repo, now)
            stats["flattened"] = self._risk_sweep(repo, now)
            uow.commit()
        return stats

    def maybe_process(self) -> None:
        """Process once per clock minute per process (bars only appear on minute boundaries)."""
        if not self.cfg.process_on_request:
            return
        now = self.now()
        minute = now.replace(second=0, microsecond=0)
        with self._lock:
            if self._last_minute == minute:
                return
            self._last_minute = minute
        self.process_until(now)

    def _risk_sweep(self, repo: Repository, now: datetime) -> int:
        """Record the session's start equity, halt on the daily loss limit, flatten near close."""
        session = self.cal.session_of(now)
        if session is None:
            return 0
        label = session.date().isoformat()
        snap = snapshot(repo, self.cfg, self.cal, now)
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
        close = self.cal.session_bounds(session)[1].to_pydatetime()
        m = self.cfg.risk.flatten_minutes_before_close
        if m and close - now <= timedelta(minutes=m):
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
            self._insert(repo, req, now, source=reason)
            n += 1
        repo.trade_event("risk_flatten", {"reason": reason, "orders": n}, now)
        return n

    # -- symbols --------------------------------------------------------------------------
    def _fractionable(self, repo: Repository, symbol: str) -> bool:
        info = repo.symbol_info(symbol)
        return True if info is None else bool(info["fractionable"])

    def _flags(self, repo: Repository, symbol: str) -> tuple[bool, bool]:
        info = repo.symbol_info(symbol)
        tradable = (info is None or bool(info["tradable"])) and symbol not in self.cfg.risk.non_tradable
        shortable = ((info is None or bool(info["shortable"]))
                     and symbol not in self.cfg.risk.non_shortable and "/" not in symbol)
        return tradable, shortable

    # -- orders ---------------------------------------------------------------------------
    def submit_order(self, req: OrderRequest) -> OrderRecord:
        """Accept an order after the risk checks, or return the one with its client_order_id.

        Raises:
            RiskRejection / PatternDayTraderRejection: 403 with the rule as the code.
            UnprocessableError: no price is known for the symbol, or bad quantity/asset.
        """
        now = self.now()
        if req.client_order_id:
            existing = self.find_order_by_client_id(req.client_order_id)
            if existing is not None:
                return existing
        try:
            with self._uow("submit") as uow:
                repo = Repository(uow.conn)
                self._ensure_account(repo, now)
                rec = (repo.order_by_client_id(req.client_order_id)
                       if req.client_order_id else None)
                if rec is None:
                    rec = self._checked_insert(repo, req, now)
                else:
                    rec.legs = repo.children(rec.id)
                uow.commit()
            return rec
        except (RiskRejection, UnprocessableError) as exc:
            self._record_rejection(req, exc, now)
            raise
        except Exception as exc:  # PDT rejections are Forbidden too
            if getattr(exc, "http_status", 0) == 403:
                self._record_rejection(req, exc, now)
            raise

    def _record_rejection(self, req: OrderRequest, exc: Exception, now: datetime) -> None:
        with self._uow("reject") as uow:
            Repository(uow.conn).trade_event("order_rejected", {
                "symbol": req.symbol, "side": req.side, "type": req.type,
                "client_order_id": req.client_order_id, "code": getattr(exc, "code", ""),
                "message": str(exc)}, now)
            uow.commit()

    def _checked_insert(self, repo: Repository, req: OrderRequest, now: datetime) -> OrderRecord:
        crypto = "/" in req.symbol
        if crypto and req.time_in_force not in ("gtc", "ioc"):
            raise UnprocessableError("crypto orders take time_in_force gtc or ioc",
                                     field="time_in_force")
        fractionable = self._fractionable(repo, req.symbol)
        if req.qty is not None and req.qty != req.qty.to_integral_value() and not fractionable:
            raise UnprocessableError(f"{req.symbol} is not fractionable", field="qty")
        bar = repo.latest_bar(req.symbol, now)
        ref = bar.close if bar is not None else (req.limit_price or req.stop_price)
        if ref is None:
            if repo.symbol_info(req.symbol) is None:
                raise UnprocessableError(f"asset {req.symbol} not found", field="symbol")
            raise UnprocessableError(f"no price for {req.symbol} yet", field="symbol")
        est = req.limit_price if (req.type in ("limit", "stop_limit") and req.side == "buy") else ref
        est = max(est, ref) if req.side == "buy" and req.type != "limit" else est
        qty = req.qty if req.qty is not None else (req.notional / ref).quantize(
            Decimal("0.000001"), rounding=ROUND_DOWN)  # type: ignore[operator]
        snap = snapshot(repo, self.cfg, self.cal, now)
        sign = 1 if req.side == "buy" else -1
        pos_row = repo.position(req.symbol)
        pos_qty = from_micros(pos_row["qty_micros"]) if pos_row else Decimal(0)
        self._check_risk(repo, req, snap, pos_qty, sign * qty, est, now)
        closing, opening = split(pos_qty, sign * qty)
        reserve = opening * est if req.notional is None else req.notional
        return self._insert(repo, req, now, reserve=reserve)

    def _check_risk(self, repo: Repository, req: OrderRequest, snap: Snapshot, pos_qty: Decimal,
                    signed: Decimal, est: Decimal, now: datetime) -> None:
        tradable, shortable = self._flags(repo, req.symbol)
        margin = self.cfg.account_type == "margin"
        if not margin and req.side == "sell":
            held = sum((o.remaining or Decimal(0)) for o in repo.open_orders(req.symbol)
                       if o.side == "sell" and o.status != "held")
            if abs(signed) > pos_qty - held:
                raise RiskRejection("insufficient_qty",
                                    f"insufficient qty available for order (requested: "
                                    f"{abs(signed)}, available: {max(pos_qty - held, 0)})")
        session = self.cal.session_of(now)
        to_close = None
        if session is not None:
            close = self.cal.session_bounds(session)[1].to_pydatetime()
            to_close = (close - now).total_seconds() / 60
        ctx = RiskContext(
            equity=snap.figures.equity,
            buying_power=snap.figures.buying_power - snap.reserved,
            position_qty=pos_qty, open_positions=len(snap.positions), tradable=tradable,
            shortable=shortable, margin=margin, halted=snap.halted,
            trades_today=snap.entries_today, minutes_to_close=to_close)
        check_order(OrderIntent(req.symbol, signed, est), ctx, self.limits)
        if snap.session is not None:
            opened = repo.opened_in_session(req.symbol, snap.session, snap.epoch)
            check_pdt(equity=snap.figures.equity, day_trades_last5=snap.daytrade_count,
                      would_be_day_trade=would_day_trade(pos_qty, signed, opened),
                      threshold=self.cfg.pdt_equity_threshold,
                      max_day_trades=self.cfg.pdt_max_day_trades)
        if split(pos_qty, signed)[1] > 0 and snap.session is not None:
            repo.start_session(snap.session, snap.figures.equity)
            repo.update_session(snap.session, entries=snap.entries_today + 1)

    def _insert(self, repo: Repository, req: OrderRequest, now: datetime, *,
                reserve: Decimal = Decimal(0), source: str = "api") -> OrderRecord:
        crypto = "/" in req.symbol
        status = "new" if (crypto or self.cal.is_open(now)) else "accepted"
        cls_ = req.order_class or "simple"
        expires, target = timing_for(self.cal, req.time_in_force, now, crypto)
        base: dict[str, Any] = dict(
            symbol=req.symbol, asset_id=asset_id_for(req.symbol), time_in_force=req.time_in_force,
            order_class=cls_, created_at=now, updated_at=now, submitted_at=now,
            active_from=bar_iso(now), extended_hours=req.extended_hours, source=source)
        parent = OrderRecord(
            id=str(uuid.uuid4()), client_order_id=req.client_order_id or str(uuid.uuid4()),
            side=req.side, type=req.type, status=status, qty=req.qty, notional=req.notional,
            limit_price=req.limit_price, stop_price=req.stop_price, trail_price=req.trail_price,
            trail_percent=req.trail_percent, position_intent=req.position_intent,
            expires_at=expires, target_bar=target, reserve=reserve,
            leg="entry" if cls_ in ("bracket", "oto") else ("take_profit" if cls_ == "oco" else None),
            **base)
        legs: list[OrderRecord] = []
        exit_side = "sell" if req.side == "buy" else "buy"
        leg_status = "held" if cls_ in ("bracket", "oto") else status
        leg_side = req.side if cls_ == "oco" else exit_side
        if req.take_profit is not None and cls_ in ("bracket", "oto"):
            legs.append(OrderRecord(
                id=str(uuid.uuid4()), client_order_id=str(uuid.uuid4()), side=leg_side,
                type="limit", status=leg_status, qty=req.qty,
                limit_price=req.take_profit.limit_price, parent_id=parent.id, leg="take_profit",
                **base))
        if req.stop_loss is not None:
            sl = req.stop_loss
            legs.append(OrderRecord(
                id=str(uuid.uuid4()), client_order_id=str(uuid.uuid4()), side=leg_side,
                type="stop_limit" if sl.limit_price is not None else "stop", status=leg_status,
                qty=req.qty, stop_price=sl.stop_price, limit_price=sl.limit_price,
                parent_id=parent.id, leg="stop_loss",
                expires_at=expires if cls_ == "oco" else None, **base))
        if cls_ == "oco":
            parent.limit_price = req.take_profit.limit_price if req.take_profit else req.limit_price
        for rec in (parent, *legs):
            repo.insert_order(rec)
            repo.order_event(rec.id, rec.status, "submitted", now)
        repo.trade_event("order_submitted", {"id": parent.id, "client_order_id":
                                             parent.client_order_id, "symbol": parent.symbol,
                                             "side": parent.side, "type": parent.type,
                                             "qty": None if req.qty is None else str(req.qty),
                                             "order_class": cls_, "source": source}, now)
        parent.legs = legs
        return parent

    def find_order_by_client_id(self, cid: str) -> OrderRecord | None:
        repo = Repository(self.get_db_connection())
        rec = repo.order_by_client_id(cid)
        if rec is not None:
            rec.legs = repo.children(rec.id)
        return rec

    def get_order(self, order_id: str) -> OrderRecord:
        """Return one order with its legs.

        Raises:
            NotFound: no order has this id.
        """
        repo = Repository(self.get_db_connection())
        rec = repo.order(order_id)
        if rec is None:
            raise NotFound(f"order not found for {order_id}", field="order_id")
        rec.legs = repo.children(rec.id)
        return rec

    def get_order_by_client_id(self, cid: str) -> OrderRecord:
        rec = self.find_order_by_client_id(cid)
        if rec is None:
            raise NotFound(f"order not found for client_order_id {cid}", field="client_order_id")
        return rec

    def order_events(self, order_id: str) -> list[dict[str, Any]]:
        self.get_order(order_id)
        return [dict(r) for r in Repository(self.get_db_connection()).order_events(order_id)]

    def list_orders(self, *, status: str = "open", limit: int = 50, after: str | None = None,
                    until: str | None = None, direction: str = "desc", side: str | None = None,
                    symbols: list[str] | None = None) -> list[OrderRecord]:
        repo = Repository(self.get_db_connection())
        recs = repo.list_orders(status=status, limit=limit, after=after, until=until,
                                direction=direction, side=side, symbols=symbols)
        kids = repo.children_of([r.id for r in recs if r.order_class != "simple"])
        for r in recs:
            r.legs = kids.get(r.id, [])
        return recs

    def cancel_order(self, order_id: str) -> OrderRecord:
        """Cancel an open order (and its held legs).

        Raises:
            NotFound: unknown id.  UnprocessableError: the order is already final.
        """
        now = self.now()
        with self._uow("cancel") as uow:
            repo = Repository(uow.conn)
            rec = repo.order(order_id)
            if rec is None:
                raise NotFound(f"order not found for {order_id}", field="order_id")
            if rec.status not in ("new", "accepted", "partially_filled", "held"):
                raise UnprocessableError(f"order is already in \"{rec.status}\" state",
                                         field="order_id")
            Lifecycle(repo, self.cal).cancel(rec, now, "user_canceled")
            uow.commit()
        return rec

    def cancel_all(self) -> list[OrderRecord]:
        """Cancel every open order; return them."""
        now = self.now()
        with self._uow("cancel_all") as uow:
            repo = Repository(uow.conn)
            life = Lifecycle(repo, self.cal)
            out = []
            for rec in repo.open_orders():
                rec = life.changed.get(rec.id, rec)
                if rec.status in ("new", "accepted", "partially_filled", "held"):
                    life.cancel(rec, now, "user_canceled")
                    out.append(rec)
            uow.commit()
        return [r for r in out if r.parent_id is None] + [r for r in out if r.parent_id]
