"""Order intake: check and store a submitted order in one short write transaction.

The request is validated before (pydantic, in the API layer); the asset's flags come from an
in-memory copy of the ``symbols`` table and the calendar facts from ``sessions.SessionClock``.
Everything read from the database is read under the write lock, in the same transaction as
the writes, in three statements: the order stored under the client_order_id together with
the symbol's last visible close (``look``), then the account, the book's reserved buying
power, the session's risk row and the day-trade count in one row, then the positions priced
at their last visible close.  Reading before the lock cost more than it saved: under several
gunicorn workers every transaction starts after other workers' commits, and SQLite drops a
connection's page cache whenever the database changed since its last transaction, so each
extra read transaction re-read the pages it touched.  In one transaction the lookup also
cannot race a retry of the same client_order_id.  The lock is held for a few hundred
microseconds; submissions are CPU-bound long before it binds.

Then the pure risk checks run and the rows are written: the order with ``INSERT ... ON
CONFLICT (client_order_id) DO NOTHING``, its legs with one ``executemany``, the feed event,
and the session's entry count with one upsert.  Each order row is also its creation event
(``initial_status``; see the ``pt_order_history`` view): no status-event row is written.
"""
from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import orjson

from services.paper_trading.adapters.repository import Repository, priced_rows
from services.paper_trading.service_layer.account_config import check_order as check_config
from services.paper_trading.service_layer.account_config import config_of
from services.paper_trading.service_layer.lifecycle import timing_for
from shared.domain.money import from_micros, to_micros
from shared.errors import ServiceUnavailable, UnprocessableError
from shared.trading import (
    OrderIntent,
    Position,
    RiskContext,
    RiskRejection,
    account_figures,
    check_order,
    check_pdt,
    split,
    would_day_trade,
)
from shared.trading.alpaca_rules import check_quantities, check_request
from shared.trading.ids import uuid7_str
from shared.trading.records import ORDER_COLUMNS, OrderRecord, bar_iso, iso
from shared.trading.schemas import OrderRequest
from shared.trading.sessions import Period

if TYPE_CHECKING:
    from shared.config_sections.paper_trading import Section
    from shared.market.calendar import MarketCalendar
    from shared.trading import RiskLimits
    from shared.trading.sessions import SessionClock

ACCOUNT_NAMESPACE = uuid.UUID("6f1c1e0a-5a43-4d2b-9a57-2f0c8d6b9e11")
_QTY_STEP = Decimal("0.000001")
_INSERT = (f"INSERT INTO pt_orders ({', '.join(ORDER_COLUMNS)}) "  # noqa: S608 - fixed fragments
           f"VALUES ({', '.join('?' * len(ORDER_COLUMNS))})")
_INSERT_NEW = _INSERT + " ON CONFLICT (account, client_order_id) DO NOTHING"
# The account, the book and the session in one row (NULL columns when a row does not exist),
# and whether the books and the clock are in the same market run (``market_runs.check_run``,
# folded in here: a submission makes no read of its own for it).
_CONTEXT_SQL = (
    "SELECT a.cash_micros, a.epoch, b.reserved_micros, s.start_equity_micros, s.entries, "
    "s.halted, (SELECT COUNT(*) FROM pt_day_trades WHERE account = b.id AND session >= ?), "
    "a.config, (SELECT run FROM pt_market_run WHERE id = 1 AND run IS NOT DISTINCT FROM "
    "COALESCE((SELECT run FROM market_clock WHERE id = 1), 1)) "
    "FROM pt_book b LEFT JOIN pt_accounts a ON a.id = b.id "
    "LEFT JOIN pt_sessions s ON s.account = b.id AND s.session = ? WHERE b.id = ?")
# What working orders of one side already hold of a position (the stop-loss of an OCO or a
# bracket shares its take-profit's quantity, so it is not counted twice); the new order itself
# excluded.
HELD_SQL = (
    "SELECT COALESCE(SUM(qty_micros - filled_qty_micros), 0) FROM pt_orders "
    "WHERE status IN ('new', 'accepted', 'partially_filled') AND account = ? AND symbol = ? "
    "AND side = ? AND id != ? AND NOT (order_class IN ('oco', 'bracket') AND leg = 'stop_loss')")
_RESERVE = ORDER_COLUMNS.index("reserve_micros")
# The order under a client_order_id (NULL columns when there is none) and the symbol's last
# visible close, in one row: the submission's only read before the lock.
_LOOK_SQL = (
    "SELECT o.*, (SELECT close_micros FROM bars WHERE symbol = ? AND timeframe = '1m' AND ts <= ? "
    " ORDER BY ts DESC LIMIT 1) FROM (SELECT 1) AS one "  # PostgreSQL 15 wants the alias
    "LEFT JOIN pt_orders o ON o.account = ? AND o.client_order_id = ?")
_MINUTE = timedelta(minutes=1)
_READ: Any = object()  # prepare(): no close given, read it
_SESSION_ENTRY_SQL = (
    "INSERT INTO pt_sessions (account, session, start_equity_micros, entries) "
    "VALUES (?, ?, ?, 1) ON CONFLICT (account, session) DO UPDATE SET "
    "entries = pt_sessions.entries + 1")


@lru_cache(maxsize=4096)
def asset_id_for(symbol: str) -> str:
    """Return a stable asset UUID for a symbol (the same in every process)."""
    return str(uuid.uuid5(ACCOUNT_NAMESPACE, symbol))


def same_request(existing: OrderRecord, req: OrderRequest) -> None:
    """Check that ``req`` asks for what the order stored under its client_order_id asked for.

    The same request sent again is a retry and gets the stored order back (idempotent); a
    different order under a used client_order_id is refused, as Alpaca refuses it.

    Raises:
        UnprocessableError: 422 "client_order_id must be unique".
    """
    asked = (req.symbol, req.side, req.type, req.time_in_force, req.order_class or "simple",
             req.limit_price, req.stop_price, req.trail_price, req.trail_percent)
    stored = (existing.symbol, existing.side, existing.type, existing.time_in_force,
              existing.order_class, existing.limit_price if existing.order_class != "oco"
              else req.limit_price, existing.stop_price if existing.type != "trailing_stop"
              else req.stop_price, existing.trail_price, existing.trail_percent)
    size_same = (existing.notional == req.notional if req.notional is not None
                 else existing.qty == req.qty)
    if asked != stored or not size_same:
        raise UnprocessableError("client_order_id must be unique", field="client_order_id")


@dataclass(frozen=True)
class Asset:
    tradable: bool
    shortable: bool
    fractionable: bool


class AssetTable:
    """The ``symbols`` table in memory, reloaded at most once a ``ttl_s`` (it changes rarely).

    A plain (deadline, dict) pair rather than the shared ``MemoryCache``: this is read on
    every order submission and holds one entry, so a TTL cache's bookkeeping (and its hit
    metrics) cost more than the lookup itself.
    """

    def __init__(self, db: Any, ttl_s: float = 60.0) -> None:
        self.db = db
        self.ttl_s = ttl_s
        self._table: dict[str, Asset] = {}
        self._deadline = float("-inf")

    def get(self, symbol: str) -> Asset | None:
        now = time.monotonic()
        # a symbol the market owner added since the last load is read at most 5 s later
        if now >= self._deadline or (symbol not in self._table
                                     and now >= self._deadline - self.ttl_s + 5.0):
            self._table = {r[0]: Asset(bool(r[1]), bool(r[2]), bool(r[3])) for r in
                           self.db.fetch_all("SELECT symbol, tradable, shortable, fractionable "
                                             "FROM symbols")}
            self._deadline = now + self.ttl_s
        return self._table.get(symbol)


@dataclass
class Prepared:
    """An order checked as far as possible without the lock."""

    req: OrderRequest
    now: datetime
    period: Period
    asset: Asset | None
    est: Decimal  # price the risk checks value the order at
    signed: Decimal  # signed share quantity (estimated for notional orders)
    parent: OrderRecord
    legs: list[OrderRecord]
    rows: list[list[Any]]  # the parent's and legs' prepared rows (parent first)
    feed: tuple[int, str, str, str]  # the trade_events row
    account: int = 1
    run: int | None = None  # the market run the books are in (read under the lock)


class Intake:
    """Submission and order-building: checks a request against its account and stores it.

    Depends on the settings, the database (for its asset table and a price when none was
    read), the session clock, the calendar and the risk limits, never on the service object.
    """

    def __init__(self, cfg: Section, db: Any, sessions: SessionClock, cal: MarketCalendar,
                 limits: RiskLimits) -> None:
        self.cfg = cfg
        self.db = db
        self.sessions = sessions
        self.cal = cal
        self.limits = limits
        self.assets = AssetTable(db)

    # -- before the lock ------------------------------------------------------------------
    def look(self, conn: sqlite3.Connection, req: OrderRequest,
             now: datetime, account: int = 1) -> tuple[OrderRecord | None, Any]:
        """Return (the order stored under ``req``'s client_order_id or None, the last close).

        Both lookups in one statement, run on ``conn`` inside the submission's unit of work.
        The close is that of the last one-minute bar closed by ``now`` (micros, None when no
        bar is visible).
        """
        cid = req.client_order_id
        row = conn.execute(
            _LOOK_SQL, (req.symbol, bar_iso(now - _MINUTE), account, cid)).fetchone()
        found = None if cid is None or row["seq"] is None else OrderRecord.from_row(row)
        return found, row[-1]

    def prepare(self, req: OrderRequest, now: datetime, close_micros: Any = _READ,
                account: int = 1) -> Prepared:
        """Validate against the asset and the visible price; build the records.

        ``close_micros`` is the close ``look`` read (read here when not given).

        Raises:
            UnprocessableError: bad time in force for crypto, fractional qty of a whole-share
                asset, unknown asset or no price yet.
        """
        crypto = "/" in req.symbol
        check_quantities(req)
        if crypto and req.time_in_force not in ("gtc", "ioc"):
            raise UnprocessableError("crypto orders take time_in_force gtc or ioc",
                                     field="time_in_force")
        asset = self.assets.get(req.symbol)
        if asset is None:  # Alpaca's answer for a symbol it does not list
            raise UnprocessableError(f'asset "{req.symbol}" not found', field="symbol")
        fractionable = asset.fractionable
        if req.qty is not None and req.qty != req.qty.to_integral_value() and not fractionable:
            raise UnprocessableError(f"{req.symbol} is not fractionable", field="qty")
        if close_micros is _READ:
            bar = Repository(self.db.get_db_connection()).latest_bar(req.symbol, now)
            close_micros = None if bar is None else to_micros(bar.close)
        ref = (from_micros(close_micros) if close_micros is not None
               else (req.limit_price or req.stop_price))
        if ref is None:
            raise UnprocessableError(f"no price for {req.symbol} yet", field="symbol")
        check_request(req, now, None if close_micros is None else from_micros(close_micros))
        est = req.limit_price if (req.type in ("limit", "stop_limit") and req.side == "buy") else ref
        est = max(est, ref) if req.side == "buy" and req.type != "limit" else est
        qty = req.qty if req.qty is not None else (req.notional / ref).quantize(  # type: ignore[operator]
            _QTY_STEP, rounding=ROUND_DOWN)
        period = self.sessions.period(now)
        parent, legs = self.build(req, now, period, account=account)
        sign = 1 if req.side == "buy" else -1
        rows, feed = self.rows(parent, legs, now, "api")
        return Prepared(req, now, period, asset, est, sign * qty, parent, legs, rows, feed,
                        account)

    def build(self, req: OrderRequest, now: datetime, period: Period, *,
              source: str = "api", account: int = 1) -> tuple[OrderRecord, list[OrderRecord]]:
        """Return the order's records (the parent and its legs), not yet stored."""
        crypto = "/" in req.symbol
        status = "new" if (crypto or period.session is not None) else "accepted"
        cls_ = req.order_class or "simple"
        if req.time_in_force == "day" and not crypto:
            expires, target = period.next_close, None
        else:
            expires, target = timing_for(self.cal, req.time_in_force, now, crypto)
        base: dict[str, Any] = dict(
            symbol=req.symbol, asset_id=asset_id_for(req.symbol), time_in_force=req.time_in_force,
            order_class=cls_, created_at=now, updated_at=now, submitted_at=now,
            active_from=bar_iso(now), extended_hours=req.extended_hours, source=source,
            account=account)
        parent = OrderRecord(
            id=uuid7_str(), client_order_id=req.client_order_id or uuid7_str(),
            side=req.side, type=req.type, status=status, initial_status=status, qty=req.qty,
            notional=req.notional,
            limit_price=req.limit_price, stop_price=req.stop_price, trail_price=req.trail_price,
            trail_percent=req.trail_percent, position_intent=req.position_intent,
            expires_at=expires, target_bar=target,
            leg="entry" if cls_ in ("bracket", "oto") else ("take_profit" if cls_ == "oco" else None),
            **base)
        legs: list[OrderRecord] = []
        exit_side = "sell" if req.side == "buy" else "buy"
        leg_status = "held" if cls_ in ("bracket", "oto") else status
        leg_side = req.side if cls_ == "oco" else exit_side
        if req.take_profit is not None and cls_ in ("bracket", "oto"):
            legs.append(OrderRecord(
                id=uuid7_str(), client_order_id=uuid7_str(), side=leg_side,
                type="limit", status=leg_status, initial_status=leg_status, qty=req.qty,
                limit_price=req.take_profit.limit_price, parent_id=parent.id, leg="take_profit",
                **base))
        if req.stop_loss is not None:
            sl = req.stop_loss
            legs.append(OrderRecord(
                id=uuid7_str(), client_order_id=uuid7_str(), side=leg_side,
                type="stop_limit" if sl.limit_price is not None else "stop", status=leg_status,
                initial_status=leg_status,
                qty=req.qty, stop_price=sl.stop_price, limit_price=sl.limit_price,
                parent_id=parent.id, leg="stop_loss",
                expires_at=expires if cls_ == "oco" else None, **base))
        if cls_ == "oco":
            parent.limit_price = req.take_profit.limit_price if req.take_profit else req.limit_price
        parent.legs = legs
        return parent, legs

    # -- under the lock -------------------------------------------------------------------
    def context(self, conn: sqlite3.Connection, p: Prepared) -> tuple[Any, ...]:
        """Return the account/book/session row, creating the account on first use."""
        row = conn.execute(_CONTEXT_SQL, (p.period.five_start, p.period.session,
                                          p.account)).fetchone()
        if row is None or row[0] is None:
            raise UnprocessableError("account not found", field="account")
        if row[-1] is None:
            raise ServiceUnavailable("a new market run is starting (the books and the clock "
                                     "are in different runs); retry in a moment", field="run")
        p.run = int(row[-1])
        return tuple(row[:-1])

    def submit_locked(self, conn: sqlite3.Connection, p: Prepared) -> OrderRecord | None:
        """Check ``p`` against the account and store it; return None when its client_order_id
        already exists (nothing is written then).

        Raises:
            RiskRejection / PatternDayTraderRejection: 403 naming the rule.
        """
        cfg, req, period = self.cfg, p.req, p.period
        crypto = "/" in req.symbol
        (cash_m, epoch, reserved_m, start_eq_m, entries, halted, daytrades,
         conf_text) = self.context(conn, p)
        conf = config_of(conf_text, cfg)  # the account's /v2/account/configurations
        check_config(conf, req)
        pos_qty = Decimal(0)
        priced = []
        for sym, q, avg, real, _aid, px, _prev in priced_rows(conn, p.now, None, p.account):
            pos = Position(sym, from_micros(q), from_micros(avg), from_micros(real))
            priced.append((pos, pos.avg_entry if px is None else from_micros(px)))
            if sym == req.symbol:
                pos_qty = pos.qty
        margin, overnight, intraday = conf.margin_terms(cfg)
        fig = account_figures(from_micros(cash_m), priced, margin=margin,
                              overnight=overnight, intraday=intraday,
                              pdt_threshold=cfg.pdt_equity_threshold,
                              in_session=period.session is not None)
        closing, opening = split(pos_qty, p.signed)
        p.parent.reserve = opening * p.est if req.notional is None else req.notional
        p.rows[0][_RESERVE] = to_micros(p.parent.reserve)
        if conn.execute(_INSERT_NEW, p.rows[0]).rowcount == 0:
            return None  # a retry of an order that is already stored
        if conf.no_shorting and req.side == "sell" and pos_qty <= 0:
            raise RiskRejection("no_shorting", f"insufficient qty available for order "
                                f"(requested: {abs(p.signed)}, available: 0): the account "
                                "does not allow short selling (no_shorting)")
        reducing = (pos_qty > 0 and req.side == "sell") or (pos_qty < 0 and req.side == "buy")
        if reducing or (not margin and req.side == "sell"):
            # Alpaca never flips a position in one order, nor sells what open orders hold
            held = from_micros(conn.execute(HELD_SQL, (p.account, req.symbol, req.side,
                                                       p.parent.id)).fetchone()[0])
            available = max(abs(pos_qty) - held, Decimal(0))
            if abs(p.signed) > available:
                raise RiskRejection("insufficient_qty",
                                    f"insufficient qty available for order (requested: "
                                    f"{abs(p.signed)}, available: {available})")
        a = p.asset
        ctx = RiskContext(
            equity=fig.equity, buying_power=fig.buying_power - from_micros(reserved_m),
            position_qty=pos_qty, open_positions=len(priced),
            tradable=(a is None or a.tradable) and req.symbol not in cfg.risk.non_tradable,
            shortable=((a is None or a.shortable) and req.symbol not in cfg.risk.non_shortable
                       and "/" not in req.symbol),
            margin=margin, halted=bool(halted), trades_today=int(entries or 0),
            # a crypto pair trades around the clock: the equity close is no deadline for it
            minutes_to_close=None if crypto else period.minutes_to_close(p.now))
        check_order(OrderIntent(req.symbol, p.signed, p.est), ctx, self.limits)
        # the PDT rule is about equities: a crypto round trip is never a day trade
        if period.session is not None and closing > 0 and conf.pdt_on_exit and not crypto:
            # only a reducing order can complete a day trade
            opened = Repository(conn, p.account).opened_in_session(req.symbol, period.session,
                                                                   epoch)
            check_pdt(equity=fig.equity, day_trades_last5=int(daytrades),
                      would_be_day_trade=would_day_trade(pos_qty, p.signed, opened),
                      threshold=cfg.pdt_equity_threshold, max_day_trades=cfg.pdt_max_day_trades)
        if period.session is not None and opening > 0 and conf.pdt_on_entry and not crypto:
            # pdt_check entry: no new exposure once the day trades are used up
            check_pdt(equity=fig.equity, day_trades_last5=int(daytrades), would_be_day_trade=True,
                      threshold=cfg.pdt_equity_threshold, max_day_trades=cfg.pdt_max_day_trades)
        if opening > 0 and period.session is not None:
            conn.execute(_SESSION_ENTRY_SQL, (p.account, period.session, to_micros(fig.equity)))
        self._write(conn, p.rows[1:], p.feed)
        return p.parent

    @staticmethod
    def rows(parent: OrderRecord, legs: list[OrderRecord], now: datetime,
             source: str) -> tuple[list[list[Any]], tuple[int, str, str, str]]:
        """Return the order rows and the feed-event row of a new order.

        Each row is also the order's creation event (``initial_status``, ``created_at``,
        reason 'submitted'; see the ``pt_order_history`` view), so no pt_order_events row is
        written.
        """
        at = iso(now)
        payload = {"id": parent.id, "client_order_id": parent.client_order_id,
                   "symbol": parent.symbol, "side": parent.side, "type": parent.type,
                   "qty": None if parent.qty is None else str(parent.qty),
                   "order_class": parent.order_class, "source": source}
        return ([list(r.to_row()) for r in (parent, *legs)],
                (parent.account, "order_submitted", orjson.dumps(payload).decode(), at or ""))

    @staticmethod
    def _write(conn: sqlite3.Connection, rows: list[list[Any]],
               feed: tuple[int, str, str, str]) -> None:
        if rows:
            conn.executemany(_INSERT, rows)
        conn.execute("INSERT INTO trade_events (account, type, payload, created_at) "
                     "VALUES (?, ?, ?, ?)", feed)

    def store(self, conn: sqlite3.Connection, parent: OrderRecord, legs: list[OrderRecord],
              now: datetime, source: str) -> None:
        """Insert an order built by ``build`` and its feed event (one statement per table)."""
        self._write(conn, *self.rows(parent, legs, now, source))


__all__ = ["Asset", "AssetTable", "Intake", "Prepared", "asset_id_for",
           "same_request"]
