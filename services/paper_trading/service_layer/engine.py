"""Fill processing: evaluate working orders against every bar the clock has made visible.

``FillEngine.run(repo, now)`` runs inside one ``BEGIN IMMEDIATE`` unit of work.  Bars of a
symbol are read after its watermark (``pt_watermarks``) and up to the last bar closed by
``now``; every bar is evaluated against the orders that were working when it opened, in time
order across symbols, and the watermark moves to the last bar evaluated.  Two processes that
race serialize on the write lock and the second finds nothing new, and ``pt_fills`` is unique
on (order, bar), so a fill can never be applied twice.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from services.paper_trading.adapters.repository import Repository
from services.paper_trading.service_layer.lifecycle import Lifecycle
from shared.domain.money import from_micros, money_str, to_micros
from shared.market.calendar import MarketCalendar
from shared.sqlcompat import is_sqlite
from shared.trading import (
    ACTIVE,
    ALWAYS_TIF,
    TYPE_CODE,
    Bar,
    Costs,
    OrderState,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
    apply_fill,
    candidate_mask,
    commission,
    evaluate,
)
from shared.trading.records import OrderRecord, iso, parse_ts

_COLS = ("seq", "buy", "type", "always", "limit", "stop", "triggered", "active_from",
         "expires")
_DTYPES = (np.int64, bool, np.int8, bool, np.int64, np.int64, bool, np.int64, np.int64)
_NEVER = np.iinfo(np.int64).max
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# The working book as integers, one row per order, grouped by symbol: one query, and one
# numpy conversion of the whole result (times are the generated epoch-second columns).
_SCREEN_SQL = (  # an expiry of NULL reads as "never" (the largest int64)
    "SELECT seq, CASE WHEN side = 'buy' THEN 1 ELSE 0 END, CASE type WHEN 'market' THEN 0 "
    "WHEN 'limit' THEN 1 WHEN 'stop' THEN 2 WHEN 'stop_limit' THEN 3 ELSE 4 END, "
    "CASE WHEN time_in_force IN ('ioc', 'fok', 'opg', 'cls') THEN 1 ELSE 0 END, "
    "COALESCE(limit_price_micros, 0), "
    "COALESCE(stop_price_micros, 0), triggered, active_from_s, "
    "COALESCE(expires_s, 9223372036854775807) FROM pt_orders "
    "WHERE status IN ('new', 'accepted', 'partially_filled') ORDER BY symbol, seq")
_SCREEN_COUNTS_SQL = (
    "SELECT symbol, COUNT(*) FROM pt_orders WHERE status IN ('new', 'accepted', "
    "'partially_filled') GROUP BY symbol ORDER BY symbol")


def epoch_s(dt: datetime, *, ceil: bool = False) -> int:
    """Return whole epoch seconds of ``dt`` (rounded up with ``ceil``), as SQLite stores them."""
    us = (dt - _EPOCH) // timedelta(microseconds=1)
    return -(-us // 1_000_000) if ceil else us // 1_000_000


class _SymbolBook:
    """The working orders of one symbol as parallel arrays for the pre-screen.

    Times are integer epoch seconds: ``active_from`` (already whole seconds, see
    ``records.bar_iso``) and ``expires`` (rounded up), compared with a bar's open time.
    """

    def __init__(self, cols: dict[str, np.ndarray]) -> None:
        self.a = cols
        self.a["alive"] = np.ones(len(cols["seq"]), dtype=bool)
        self.index = {int(s): i for i, s in enumerate(cols["seq"].tolist())}

    @classmethod
    def empty(cls) -> _SymbolBook:
        return cls({name: np.zeros(0, dtype=dt) for name, dt in zip(_COLS, _DTYPES, strict=True)})

    def copy(self) -> _SymbolBook:
        new = _SymbolBook.__new__(_SymbolBook)
        new.a = {k: v.copy() for k, v in self.a.items()}
        new.index = self.index
        return new

    def add(self, rec: OrderRecord) -> None:
        if rec.seq in self.index:
            return
        row = {"seq": rec.seq, "buy": rec.side == "buy",
               "type": TYPE_CODE[OrderType(rec.type)],
               "always": TimeInForce(rec.time_in_force) in ALWAYS_TIF,
               "limit": to_micros(rec.limit_price) if rec.limit_price else 0,
               "stop": to_micros(rec.stop_price) if rec.stop_price else 0,
               "triggered": rec.triggered,
               "active_from": epoch_s(datetime.fromisoformat(rec.active_from), ceil=True),
               "expires": _NEVER if rec.expires_at is None else epoch_s(rec.expires_at, ceil=True),
               "alive": True}
        for k, v in row.items():
            self.a[k] = np.append(self.a[k], np.array([v], dtype=self.a[k].dtype))
        self.index = {**self.index, rec.seq or 0: len(self.a["seq"]) - 1}

    def kill(self, seq: int | None) -> None:
        i = self.index.get(seq or -1)
        if i is not None:
            self.a["alive"][i] = False


def load_books(conn: Any) -> dict[str, _SymbolBook]:
    """Return every symbol's working book, read in two statements of one transaction."""
    counts = conn.execute(_SCREEN_COUNTS_SQL).fetchall()
    if is_sqlite(conn):
        cur = conn.cursor()
        cur.row_factory = None  # plain tuples straight into numpy
        rows = cur.execute(_SCREEN_SQL).fetchall()
    else:  # PostgreSQL's rows are tuples already
        rows = conn.execute(_SCREEN_SQL).fetchall()
    if not rows:
        return {}
    table = np.array(rows, dtype=np.int64)
    cols = [table[:, j] for j in range(table.shape[1])]
    books: dict[str, _SymbolBook] = {}
    start = 0
    for sym, n in counts:
        books[sym] = _SymbolBook({name: col[start:start + n].astype(dt) for name, col, dt in zip(
            _COLS, cols, _DTYPES, strict=True)})
        start += n
    return books


class FillEngine:
    """Turns visible bars into fills, positions and ledger rows."""

    def __init__(self, costs: Costs, cal: MarketCalendar, *, margin: bool,
                 fractionable: Callable[[Repository, str], bool]) -> None:
        self.costs = costs
        self.cal = cal
        self.margin = margin
        self.fractionable = fractionable
        self._screen_cache: tuple[int, dict[str, _SymbolBook]] | None = None

    # -- the sweep ------------------------------------------------------------------------
    def run(self, repo: Repository, now: datetime) -> dict[str, int]:
        """Evaluate every working order against the bars visible at ``now``; return counts."""
        life = Lifecycle(repo, self.cal)
        stats = {"bars": 0, "fills": 0, "candidates": 0, "expired": 0}
        cutoff = (now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        marks = repo.watermarks()
        # only symbols with a working order and a bar past their watermark need the screen
        every = self._all_books(repo)
        books = {s: b.copy() for s, b in every.items() if marks.get(s, "") < cutoff}
        events: list[tuple[str, str, Bar]] = []
        for sym, book in books.items():
            start_iso = datetime.fromtimestamp(int(book.a["active_from"].min()), UTC).strftime(
                "%Y-%m-%dT%H:%M:%S+00:00")
            for bar in repo.bars_between(sym, marks.get(sym), start_iso, cutoff):
                events.append((bar.ts.isoformat(), sym, bar))
        events.sort(key=lambda e: (e[0], e[1]))
        self._cache: dict[int, OrderRecord] = {}
        for _, sym, bar in events:
            self._bar(repo, life, books, sym, bar, stats)
        last: dict[str, str] = {}
        for ts, sym, _ in events:
            last[sym] = ts
        for sym, ts in last.items():
            repo.set_watermark(sym, ts)
        stats["bars"] = len(events)
        stats["expired"] += self.expire_due(repo, life, now)
        return stats

    def _all_books(self, repo: Repository) -> dict[str, _SymbolBook]:
        """Return every symbol's pre-screen book, from memory while the book is unchanged.

        Every order write bumps ``pt_book.version`` (by trigger) in its own transaction, so an
        unchanged version means the cached arrays still mirror the table.  Callers copy a
        book before changing it, so a rolled-back sweep cannot leave the cache changed.
        """
        version = repo.book_version()
        cached = self._screen_cache
        if cached is None or cached[0] != version:
            cached = (version, load_books(repo.conn))
            self._screen_cache = cached
        return cached[1]

    def _record(self, repo: Repository, seq: int) -> OrderRecord:
        rec = self._cache.get(seq)
        if rec is None:
            rec = repo.orders_by_seq([seq])[0]
            self._cache[seq] = rec
        return rec

    def _bar(self, repo: Repository, life: Lifecycle, books: dict[str, _SymbolBook], sym: str,
             bar: Bar, stats: dict[str, int]) -> None:
        book = books[sym]
        a = book.a
        bar_s = epoch_s(bar.ts)
        eligible = a["alive"] & (a["active_from"] <= bar_s)
        due = eligible & (a["expires"] <= bar_s)
        for i in np.flatnonzero(due):
            rec = self._record(repo, int(a["seq"][i]))
            life.cancel(rec, rec.expires_at or bar.ts, "day_order_expired",
                        OrderStatus.EXPIRED.value)
            stats["expired"] += 1
        mask = eligible & ~due & candidate_mask(
            to_micros(bar.high), to_micros(bar.low), a["buy"], a["type"], a["limit"], a["stop"],
            a["triggered"], a["always"])
        idx = np.flatnonzero(mask)
        stats["candidates"] += len(idx)
        missing = [int(a["seq"][i]) for i in idx if int(a["seq"][i]) not in self._cache]
        if len(missing) > 1:
            for rec in repo.orders_by_seq(missing):
                self._cache[rec.seq or 0] = rec
        for i in idx:
            rec = self._record(repo, int(a["seq"][i]))
            if OrderStatus(rec.status) not in ACTIVE:
                continue
            stats["fills"] += self._apply(repo, life, rec, bar)
            a["triggered"][i] = rec.triggered
        # apply what this bar changed: finished orders leave the book, activated exits join
        # it (they can only fill from the next bar on: their active_from is after this one)
        for rec in life.changed.values():
            self._cache[rec.seq or 0] = rec
            b = books.get(rec.symbol)
            if OrderStatus(rec.status) in ACTIVE:
                if b is None:
                    b = books[rec.symbol] = _SymbolBook.empty()
                b.add(rec)
            elif b is not None:
                b.kill(rec.seq)
        life.changed.clear()

    # -- one order, one bar ---------------------------------------------------------------
    def _apply(self, repo: Repository, life: Lifecycle, rec: OrderRecord, bar: Bar) -> int:
        state = OrderState(
            side=Side(rec.side), type=OrderType(rec.type), tif=TimeInForce(rec.time_in_force),
            remaining=rec.remaining, notional=rec.notional if rec.qty is None else None,
            limit=rec.limit_price, stop=rec.stop_price, trail_price=rec.trail_price,
            trail_percent=rec.trail_percent, hwm=rec.hwm, triggered=rec.triggered,
            fractionable=self.fractionable(repo, rec.symbol), first_bar=not rec.evaluated,
            target_bar=parse_ts(rec.target_bar))
        d = evaluate(state, bar, self.costs)
        at = bar.close_time
        rec.evaluated = True
        rec.triggered = rec.triggered or d.triggered
        if d.hwm is not None:
            rec.hwm = d.hwm
        if rec.type == OrderType.TRAILING_STOP.value and d.stop is not None:
            rec.stop_price = d.stop
        filled = 0
        if d.filled:
            why = self._cannot_fill(repo, rec, d.qty, d.price)  # type: ignore[arg-type]
            if why:
                life.cancel(rec, at, why)
                return 0
            self._fill(repo, life, rec, bar, d.qty, d.price)  # type: ignore[arg-type]
            filled = 1
        if d.cancel_reason and OrderStatus(rec.status) not in (OrderStatus.FILLED,):
            status = (OrderStatus.EXPIRED.value if d.cancel_reason.endswith("_missed")
                      else OrderStatus.CANCELED.value)
            life.cancel(rec, at, d.cancel_reason, status)
        elif not filled:
            life.save(rec)
        return filled

    def _cannot_fill(self, repo: Repository, rec: OrderRecord, qty: Decimal,
                     price: Decimal) -> str | None:
        """Return why a fill would break the account's rules at fill time, or None."""
        if self.margin:
            return None
        repo = repo.scoped(rec.account)
        row = repo.position(rec.symbol)
        pos = from_micros(row["qty_micros"]) if row else Decimal(0)
        if rec.side == "sell":
            return None if qty <= pos else "insufficient_qty_at_fill"
        cash = from_micros(repo.account()["cash_micros"])
        cost = qty * price + commission(qty, price, self.costs, rec.filled_qty == 0)
        return None if cost <= cash else "insufficient_cash_at_fill"

    def _fill(self, repo: Repository, life: Lifecycle, rec: OrderRecord, bar: Bar, qty: Decimal,
              price: Decimal) -> None:
        at = bar.close_time
        repo = repo.scoped(rec.account)  # the fill lands in the order's account
        acct = repo.account()
        row = repo.position(rec.symbol)
        pos = Position(rec.symbol) if row is None else Position(
            rec.symbol, from_micros(row["qty_micros"]), from_micros(row["avg_entry_price_micros"]),
            from_micros(row["realized_pl_micros"]))
        session = self.cal.session_of(bar.ts)
        label = None if session is None else session.date().isoformat()
        opened_before = (repo.opened_in_session(rec.symbol, label, acct["epoch"])
                         if label else Decimal(0))
        effect = apply_fill(pos, Side(rec.side), qty, price)
        fee = commission(qty, price, self.costs, rec.filled_qty == 0)
        fill_id = repo.insert_fill(
            order_id=rec.id, symbol=rec.symbol, side=rec.side, qty_micros=to_micros(qty),
            price_micros=to_micros(price), commission_micros=to_micros(fee),
            opening_micros=to_micros(effect.opened), closing_micros=to_micros(effect.closed),
            realized_pl_micros=to_micros(effect.realized), bar_ts=bar.ts.strftime(
                "%Y-%m-%dT%H:%M:%S+00:00"), filled_at=at.isoformat(), session=label,
            epoch=acct["epoch"])
        repo.add_ledger("fill", effect.cash, at, order_id=rec.id, fill_id=fill_id)
        if fee:
            repo.add_ledger("commission", -fee, at, order_id=rec.id, fill_id=fill_id)
        p = effect.position
        repo.save_position(rec.symbol, rec.asset_id, p.qty, p.avg_entry, p.realized, at)
        if effect.closed > 0 and opened_before > 0 and label and "/" not in rec.symbol:
            # the PDT rule counts equity round trips only: a crypto pair's never is one
            repo.add_day_trade(rec.symbol, label, rec.id, at)
        before = rec.remaining
        if rec.qty is None:  # a notional order becomes a share order at its first fill
            rec.qty = qty
            before = qty
        rec.filled_qty += qty
        rec.filled_notional += qty * price
        rec.commission += fee
        rec.filled_at = at
        if before and rec.reserve:
            rec.reserve = (rec.reserve * (before - qty) / before).quantize(Decimal("0.000001"))
        done = rec.remaining is not None and rec.remaining <= 0
        status = OrderStatus.FILLED.value if done else OrderStatus.PARTIALLY_FILLED.value
        repo.trade_event("fill", {"fill_id": fill_id, "order_id": rec.id, "symbol": rec.symbol,
                                  "side": rec.side, "qty": money_str(qty),
                                  "price": money_str(price), "commission": money_str(fee),
                                  "bar_ts": bar.ts.isoformat(), "position_qty": money_str(p.qty)}, at)
        life.transition(rec, status, at, None)
        if rec.leg in ("take_profit", "stop_loss"):
            life.after_exit_fill(rec, at)
        if done:
            life.after_final(rec, at, at)

    # -- expiry ---------------------------------------------------------------------------
    def expire_due(self, repo: Repository, life: Lifecycle, now: datetime) -> int:
        """Expire working orders whose ``expires_at`` has passed on the clock and whose bars
        up to it have all been evaluated.

        The clock can be ahead of the stored bars (the market owner stores them a moment after
        the clock moves); a sweep that runs in between must not expire a day order whose last
        minutes it has not seen yet: the market feed's ``through_ts`` must reach the expiry.
        Without a feed row (bars stored by hand) the clock alone decides.
        """
        n = 0
        through = repo.feed_through()
        for rec in repo.due_orders(iso(now)):
            if through is not None and rec.expires_at is not None and through < rec.expires_at:
                continue
            if rec.expires_at is not None and rec.expires_at <= now:
                reason = ("day_order_expired" if rec.time_in_force == "day"
                          else f"{rec.time_in_force}_missed")
                life.cancel(rec, rec.expires_at, reason, OrderStatus.EXPIRED.value)
                n += 1
        return n
