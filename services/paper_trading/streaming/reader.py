"""The one database poller of the stream process: new rows since the last look, as messages.

A thread with its own read-only SQLite connection (WAL: readers never block the writers)
polls every ``poll_s``.  ``PRAGMA data_version`` tells in one step whether anyone committed
since the last look, so an idle poll is one pragma and one clock read (on PostgreSQL: one
row of the newest marks, see ``source``).  Each busy poll is one
read transaction (one snapshot: a fill and its order row agree) that reads, by row id:

- ``pt_orders.seq``         new orders -> trade_updates ``new`` (or ``rejected``)
- ``pt_fills.id``           fills -> ``fill`` / ``partial_fill`` with price, qty, position_qty
- ``pt_order_events.id``    status changes -> ``canceled``, ``expired``, ``replaced``...
- ``trade_events.id``       the SSE feed of /api/v1/events/stream
- ``news.id``               news stories, sent once the market clock has published them

and, when the market clock or the owner's ``market_feed.through_ts`` moved, the bars that
closed in between (``bars`` has no row id: its watermark is market time, never past the clock
nor past what the owner stored).  Messages are built and encoded here, off the event loop; the
loop only writes them out (``Hub.publish``).

On PostgreSQL the thread does not poll every ``poll_s``: it waits for the writers'
notifications (``shared.db.notify``: paper trading's books, the feed's progress, the clock,
news), so a commit reaches the clients at once and an idle suite costs the server a poll a
second (``listen_fallback_s``), not a hundred.
"""
from __future__ import annotations

import logging
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from services.paper_trading.streaming import messages as m
from services.paper_trading.streaming.source import ReadError, Source
from shared.db.notify import Waiter
from shared.domain.money import from_micros
from shared.market.clock import MarketClock, bar_visible
from shared.trading.records import OrderRecord, parse_ts

log = logging.getLogger("paper_streams.reader")
_PAGE = 2000


@dataclass
class Interest:
    """What the connected clients want (set by the loop, read by the poller)."""

    trading: bool = False
    sse: bool = False
    news: bool = False
    # the accounts with trade_updates listeners: only their updates are encoded, so clients
    # of other accounts cost no order_json per order of this one.  Read after a poll's
    # SELECTs: a row committed after a client's "listening" reply is filtered by an interest
    # that includes it.  (SSE events are not filtered: a new subscriber's catch-up reads up
    # to the mark, and a poll that filtered on the interest from before it came could move
    # the mark past rows of its account.)
    accounts: frozenset[int] = frozenset()
    symbols: frozenset[str] = frozenset()   # any data channel of any client
    daily: frozenset[str] = frozenset()     # dailyBars
    wildcard: bool = False                   # some client subscribed bars/trades/... to "*"


@dataclass
class Batch:
    """What one poll found, ready to send."""

    trade_updates: list[tuple[int, bytes]] = field(default_factory=list)  # (account, frame)
    events: list[tuple[int, int, str]] = field(default_factory=list)      # (account, id, sse)
    bars: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    news: list[dict[str, Any]] = field(default_factory=list)
    committed_at: float = 0.0  # monotonic time the poll saw the change (for the metrics)

    def __bool__(self) -> bool:
        return bool(self.trade_updates or self.events or self.bars or self.news)

    def merge(self, later: Batch) -> None:
        """Append a later poll's batch (in order): one fan-out pass then covers both."""
        self.trade_updates.extend(later.trade_updates)
        self.events.extend(later.events)
        for sym, per in later.bars.items():
            mine = self.bars.setdefault(sym, {})
            for ch, msgs in per.items():
                mine.setdefault(ch, []).extend(msgs)
        self.news.extend(later.news)
        self.committed_at = min(self.committed_at, later.committed_at)


class _RO:
    """``Database``'s two read methods over the poller's own connection (for MarketClock)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def fetch_one(self, sql: str, params: Any = ()) -> Any:
        return self.conn.execute(sql, params).fetchone()

    def fetch_all(self, sql: str, params: Any = ()) -> list[Any]:
        return self.conn.execute(sql, params).fetchall()


def _iso(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").isoformat() if ts.tzinfo else ts.tz_localize("UTC").isoformat()


class Reader:
    """Poll the database for new rows; ``poll()`` returns a ``Batch`` (or None when idle)."""

    def __init__(self, db_path: Path | str, settings: Any) -> None:
        self.db_path = db_path
        self.settings = settings
        self.cfg = settings.paper_trading.streams
        self.source = Source(db_path, settings)  # SQLite's file, or PostgreSQL
        self.conn = self.source.conn
        self.clock = MarketClock(_RO(self.conn), settings.market.clock)  # type: ignore[arg-type]
        self.interest = Interest()
        self._dv: int | None = None
        self._now: pd.Timestamp | None = None
        self.marks: dict[str, int] = {}
        self.bar_mark: pd.Timestamp | None = None
        self.news_mark: pd.Timestamp | None = None
        self._tapes: dict[str, str] = {}
        self._run: int | None = None
        self.start_marks()

    # -- marks ---------------------------------------------------------------------------
    def _max(self, sql: str) -> int:
        row = self.conn.execute(sql).fetchone()
        return int(row[0] or 0)

    def start_marks(self) -> None:
        """Start from what is in the database now (nothing old is replayed)."""
        self.marks = {
            "orders": self._max("SELECT MAX(seq) FROM pt_orders"),
            "fills": self._max("SELECT MAX(id) FROM pt_fills"),
            "order_events": self._max("SELECT MAX(id) FROM pt_order_events"),
            "events": self._max("SELECT MAX(id) FROM trade_events"),
            "news": self._max("SELECT MAX(id) FROM news"),
        }
        self.bar_mark = self.visible_through()
        self.news_mark = self.clock.now_ts()

    def until_next_minute(self) -> float:
        """Return the wall seconds until the market clock's next whole minute (when bars
        close and a poll finds new ones without a write), or inf while it stands still."""
        st = self.clock.state()
        if st.mode != "live" and (st.paused or st.pace in ("max", "step")):
            return math.inf
        speed = 1.0 if st.mode == "live" or st.pace == "realtime" else max(st.speed, 1e-9)
        now = self.clock.now_ts()
        left = (now.floor("min") + pd.Timedelta(minutes=1) - now).total_seconds()
        return left / speed + 0.001

    def visible_through(self) -> pd.Timestamp:
        """Return the market time up to which bars are visible and stored."""
        now = self.clock.now_ts()
        row = self.conn.execute("SELECT through_ts FROM market_feed WHERE id = 1").fetchone()
        if row is None:
            return now
        return min(now, pd.Timestamp(row[0]))

    # -- one poll ------------------------------------------------------------------------
    def poll(self) -> Batch | None:
        dv = self.source.version()
        if dv != self._dv:
            self.clock.invalidate()
        now = self.clock.now_ts()
        if dv == self._dv and now == self._now:
            return None
        t0 = time.monotonic()
        self._dv, self._now = dv, now
        batch = Batch(committed_at=t0)
        self.source.begin()
        try:
            self._follow_run()
            self._trading(batch)
            self._events(batch)
            self._bars(batch)
            self._news(batch, now)
        finally:
            self.conn.execute("COMMIT")
        return batch

    def _follow_run(self) -> None:
        """Start the marks of the tables a new market run emptied from zero: their rowids
        start again at 1 (the closed run's rows are in ``pt_archive``), and the first read
        that sees a new-run row sees the new run too (same read transaction).  The event
        feed's ids go on (the new run's first events continue them)."""
        row = self.conn.execute("SELECT run FROM pt_market_run WHERE id = 1").fetchone()
        run = int(row[0]) if row is not None else 1
        if self._run is not None and run != self._run:
            for k in ("orders", "order_events"):
                self.marks[k] = 0
        self._run = run

    # -- trade updates -------------------------------------------------------------------
    def _orders(self, ids: set[str]) -> dict[str, OrderRecord]:
        out: dict[str, OrderRecord] = {}
        idl = list(ids)
        for i in range(0, len(idl), 500):
            chunk = idl[i:i + 500]
            rows = self.conn.execute(
                f"SELECT * FROM pt_orders WHERE id IN ({','.join('?' * len(chunk))})",  # noqa: S608
                chunk).fetchall()
            for r in rows:
                out[r["id"]] = OrderRecord.from_row(r)
        parents = [o for o in out.values() if o.parent_id is None and o.order_class != "simple"]
        for p in parents:
            p.legs = [OrderRecord.from_row(r) for r in self.conn.execute(
                "SELECT * FROM pt_orders WHERE parent_id = ? ORDER BY seq", (p.id,))]
        return out

    def _trading(self, batch: Batch) -> None:
        mk = self.marks
        if not self.interest.trading:  # nobody listens: only move the marks
            mk["orders"] = max(mk["orders"], self._max("SELECT MAX(seq) FROM pt_orders"))
            mk["fills"] = max(mk["fills"], self._max("SELECT MAX(id) FROM pt_fills"))
            mk["order_events"] = max(mk["order_events"],
                                     self._max("SELECT MAX(id) FROM pt_order_events"))
            return
        new = self.conn.execute(
            "SELECT * FROM pt_orders WHERE seq > ? ORDER BY seq LIMIT ?",
            (mk["orders"], _PAGE)).fetchall()
        fills = self.conn.execute(
            "SELECT id, order_id, account, symbol, side, qty_micros, price_micros, filled_at "
            "FROM pt_fills WHERE id > ? ORDER BY id LIMIT ?", (mk["fills"], _PAGE)).fetchall()
        evs = self.conn.execute(
            "SELECT e.id, e.order_id, e.status, e.at, o.account FROM pt_order_events e "
            "JOIN pt_orders o ON o.id = e.order_id WHERE e.id > ? ORDER BY e.id LIMIT ?",
            (mk["order_events"], _PAGE)).fetchall()
        if new:
            mk["orders"] = new[-1]["seq"]
        if fills:
            mk["fills"] = fills[-1]["id"]
        if evs:
            mk["order_events"] = evs[-1]["id"]
        accounts = self.interest.accounts  # after the SELECTs: see Interest
        new = [r for r in new if r["account"] in accounts]
        fills = [r for r in fills if r["account"] in accounts]
        evs = [r for r in evs if r["account"] in accounts]
        if not (new or fills or evs):
            return
        want = {r["order_id"] for r in fills} | {r["order_id"] for r in evs}
        want |= {r["id"] for r in new if r["order_class"] != "simple" and r["parent_id"] is None}
        orders = self._orders(want) if want else {}
        out = batch.trade_updates
        for r in new:
            event = m.INITIAL_EVENTS.get(r["initial_status"] or r["status"])
            if event is None:
                continue
            rec = orders.get(r["id"]) or OrderRecord.from_row(r)
            out.append((int(r["account"]), self._frame(
                m.trade_update(event, rec, rec.submitted_at))))
        self._fills(fills, orders, out)
        for r in evs:
            if r["status"] not in m.STATUS_EVENTS or r["order_id"] not in orders:
                continue
            at = parse_ts(r["at"])
            assert at is not None
            out.append((int(r["account"]), self._frame(
                m.trade_update(r["status"], orders[r["order_id"]], at))))

    def _fills(self, fills: list[sqlite3.Row], orders: dict[str, OrderRecord],
               out: list[tuple[int, bytes]]) -> None:
        if not fills:
            return
        last: dict[str, int] = {}
        for r in self.conn.execute(
                f"SELECT order_id, MAX(id) FROM pt_fills WHERE order_id IN "  # noqa: S608
                f"({','.join('?' * len(orders))}) GROUP BY order_id", list(orders)):
            last[r[0]] = r[1]
        # each fill's position after it: the position now, less the later fills of this poll
        pos: dict[tuple[int, str], int] = {}
        for key in {(int(r["account"]), r["symbol"]) for r in fills}:
            row = self.conn.execute("SELECT qty_micros FROM pt_positions WHERE account = ? AND "
                                    "symbol = ?", key).fetchone()
            pos[key] = 0 if row is None else int(row[0])
        after: dict[int, int] = {}
        for r in reversed(fills):
            key = (int(r["account"]), r["symbol"])
            after[r["id"]] = pos[key]
            signed = r["qty_micros"] if r["side"] == "buy" else -r["qty_micros"]
            pos[key] -= signed
        for r in fills:
            rec = orders.get(r["order_id"])
            if rec is None:
                continue
            at = parse_ts(r["filled_at"])
            assert at is not None
            event = m.fill_event(rec, r["id"], last.get(r["order_id"], r["id"]))
            out.append((int(r["account"]), self._frame(m.trade_update(
                event, rec, at, price=from_micros(r["price_micros"]),
                qty=from_micros(r["qty_micros"]), position_qty=from_micros(after[r["id"]]),
                fill_id=r["id"]))))

    @staticmethod
    def _frame(msg: dict[str, Any]) -> bytes:
        return m.ws_frame(m.dumps(msg), text=True)

    # -- the SSE feed --------------------------------------------------------------------
    def _events(self, batch: Batch) -> None:
        mk = self.marks
        if not self.interest.sse:
            mk["events"] = max(mk["events"], self._max("SELECT MAX(id) FROM trade_events"))
            return
        rows = self.conn.execute(
            "SELECT id, type, payload, created_at, account FROM trade_events WHERE id > ? "
            "ORDER BY id LIMIT ?", (mk["events"], _PAGE)).fetchall()
        for r in rows:
            batch.events.append((int(r["account"]), int(r["id"]),
                                 m.sse_event(r["id"], r["type"], r["payload"], r["created_at"])))
        if rows:
            mk["events"] = rows[-1]["id"]

    def events_after(self, account: int, after: int, upto: int, limit: int = 200
                     ) -> list[tuple[int, str]]:
        """Return (id, SSE frame) of ``account``'s events in (after, upto] (catch-up reads on
        a connection of the caller's thread; see ``Hub``)."""
        rows = self.source.read(
            "SELECT id, type, payload, created_at FROM trade_events WHERE id > ? AND "
            "id <= ? AND account = ? ORDER BY id LIMIT ?", (after, upto, account, limit))
        return [(int(r["id"]), m.sse_event(r["id"], r["type"], r["payload"], r["created_at"]))
                for r in rows]

    # -- bars, trades, quotes ------------------------------------------------------------
    def _bars(self, batch: Batch) -> None:
        wm = self.visible_through()
        prev = self.bar_mark
        self.bar_mark = wm
        if prev is None or wm <= prev:
            return
        it = self.interest
        if not (it.symbols or it.wildcard):
            return
        lower = max(prev, wm - pd.Timedelta(minutes=self.cfg.max_bar_catchup_minutes))
        one = pd.Timedelta(minutes=1)
        lo, hi = _iso(lower - one), _iso(wm - one)
        symbols = self._universe() if it.wildcard else sorted(it.symbols)
        cal = self.clock.calendar
        for sym in symbols:
            rows = self.conn.execute(
                "SELECT ts, open_micros, high_micros, low_micros, close_micros, volume, "
                "vwap_micros, trade_count FROM bars WHERE symbol = ? AND timeframe = '1m' AND "
                "ts > ? AND ts <= ? ORDER BY ts", (sym, lo, hi)).fetchall()
            out: dict[str, list[dict[str, Any]]] = {}
            for r in rows:
                out.setdefault("bars", []).append(m.bar_message("b", sym, r))
                trades, quotes = m.trades_and_quotes(sym, r, self._tape(sym))
                out.setdefault("trades", []).extend(trades)
                out.setdefault("quotes", []).extend(quotes)
            if it.wildcard or sym in it.daily:
                daily = self._daily(sym, prev, wm, cal)
                if daily:
                    out["dailyBars"] = daily
            if out:
                batch.bars[sym] = out

    def _daily(self, sym: str, prev: pd.Timestamp, wm: pd.Timestamp, cal: Any
               ) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT ts, open_micros, high_micros, low_micros, close_micros, volume, vwap_micros, "
            "trade_count FROM bars WHERE symbol = ? AND timeframe = '1d' AND ts > ? AND ts <= ? "
            "ORDER BY ts", (sym, _iso(prev - pd.Timedelta(days=4)), _iso(wm))).fetchall()
        if not rows:
            return []
        ns = pd.DatetimeIndex(pd.to_datetime([r["ts"] for r in rows], utc=True)).as_unit("ns")
        crypto = "/" in sym
        now_vis = bar_visible(ns.asi8, "1d", cal, wm.value, crypto=crypto)
        was_vis = bar_visible(ns.asi8, "1d", cal, prev.value, crypto=crypto)
        return [m.bar_message("d", sym, r) for r, a, b in
                zip(rows, np.asarray(now_vis), np.asarray(was_vis), strict=True) if a and not b]

    def _tape(self, sym: str) -> str:
        tape = self._tapes.get(sym)
        if tape is None:
            from services.paper_trading.adapters.asset_catalog import exchange_of, tape_of

            tape = self._tapes[sym] = tape_of(exchange_of(sym, _RO(self.conn)))
        return tape

    def _universe(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT symbol FROM symbols ORDER BY symbol")]

    # -- news ------------------------------------------------------------------------------
    def _news(self, batch: Batch, now: pd.Timestamp) -> None:
        mk = self.marks
        prev = self.news_mark
        self.news_mark = now
        if not self.interest.news:
            mk["news"] = max(mk["news"], self._max("SELECT MAX(id) FROM news"))
            return
        now_iso = _iso(now)
        # stories stored since the last look and already published by the clock
        rows = self.conn.execute(
            "SELECT * FROM news WHERE id > ? AND created_at <= ? AND known_at <= ? ORDER BY id",
            (mk["news"], now_iso, now_iso)).fetchall()
        top = self._max("SELECT MAX(id) FROM news")
        seen = {r["id"] for r in rows}
        # stored before, published by the clock since the last look
        if prev is not None and now > prev:
            prev_iso = _iso(prev)
            for r in self.conn.execute(
                    "SELECT * FROM news WHERE id <= ? AND created_at > ? AND created_at <= ? "
                    "AND known_at <= ? AND (created_at > ? OR known_at > ?) ORDER BY id",
                    (mk["news"], _iso(prev - pd.Timedelta(days=2)), now_iso, now_iso, prev_iso,
                     prev_iso)):
                if r["id"] not in seen:
                    rows.append(r)
        mk["news"] = max(mk["news"], top)
        batch.news.extend(m.news_message(r) for r in rows)


class PollerThread:
    """Run ``reader.poll()`` every ``poll_s`` and hand each batch to ``deliver``.

    With a PostgreSQL ``waiter`` (``shared.db.notify``) the thread sleeps until a writer's
    commit notifies it instead: at most ``fallback_s``, and never past the market clock's
    next minute (bars close and news publish by the clock, without a write).  On SQLite the
    waiter sleeps ``poll_s``, as before.
    """

    def __init__(self, reader: Reader, deliver: Callable[[Batch], None], poll_s: float,
                 waiter: Waiter | None = None, fallback_s: float = 1.0) -> None:
        self.reader = reader
        self.deliver = deliver
        self.poll_s = poll_s
        self.waiter = waiter
        self.fallback_s = fallback_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.polls = 0
        self.busy = 0
        self.errors = 0
        self.last_error: str | None = None
        self.last_poll: float = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="streams-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.waiter is not None:
            self.waiter.close()
        self.reader.source.close()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _sleep(self) -> None:
        w = self.waiter
        if w is None or w.url is None:
            self._stop.wait(self.poll_s)
            return
        w.wait(min(self.fallback_s, self.reader.until_next_minute()), self._stop)

    def _run(self) -> None:
        if self.waiter is not None:
            try:  # LISTEN before the first poll: no commit after it goes unnoticed
                self.waiter.start()
            except Exception:  # noqa: BLE001 - unreachable now: its wait() tries again
                log.warning("stream poller cannot listen yet", exc_info=True)
        while not self._stop.is_set():
            try:
                batch = self.reader.poll()
                self.polls += 1
                self.last_poll = time.monotonic()
                if batch:
                    self.busy += 1
                    self.deliver(batch)
            except Exception as exc:  # noqa: BLE001 - keep polling; counted, logged, retried
                self.errors += 1
                self.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.exception("stream poll failed")
                try:
                    self.reader.conn.execute("ROLLBACK")
                except ReadError:
                    pass
                self._stop.wait(0.5)
            self._sleep()

