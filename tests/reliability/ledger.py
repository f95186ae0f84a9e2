"""The chaos test's market driver and its independent audit of paper trading's books.

``Market`` stores bars and moves the suite's clock the way coordination does (the data
manager's ``ingest_session`` for the traded symbols, then the clock API), and makes paper
trading sweep them (``POST /api/v1/clock/sync``), retrying while paper trading is down.

``audit`` recomputes the ledger invariants from the database file itself (not from the
service's own ``/invariants``): fills against orders, positions against fills, cash against
the ledger and the fills, the ledger's running balance, equity against the visible prices.
"""
from __future__ import annotations

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import requests

from shared.config import load_settings
from shared.db import Database
from shared.domain.money import from_micros
from shared.market.manager import DataManager
from tests.reliability.dbread import snapshot
from tests.reliability.suite import Suite

CENT = Decimal("0.01")


class Market:
    """Bars and the clock of a running ``Suite``, driven from the test process."""

    def __init__(self, suite: Suite) -> None:
        self.s = suite
        self.settings = load_settings(environ=suite.env)  # exactly the suite's settings
        self.db = Database.from_settings(self.settings)
        # its own manager, not the process-wide one other tests may have built on their DB
        self.dm = DataManager(self.settings, self.db, owner=True)
        self.syncs: list[dict[str, int]] = []

    def close(self) -> None:
        self.dm.close()
        self.db.close()

    def equities(self) -> list[str]:
        return sorted(r["symbol"] for r in self.dm.get_symbols("equity"))

    def now(self) -> pd.Timestamp:
        resp = self.s.get("coordination", "/api/v1/clock")
        assert resp.status_code == 200, resp.text[:300]
        return pd.Timestamp(resp.json()["data"]["now"])

    def ingest(self, symbols: list[str], as_of: pd.Timestamp) -> int:
        """Store the session's one-minute bars up to ``as_of`` (what coordination's
        ``Gateway.ingest`` does each cycle; bars past the clock stay invisible)."""
        session = self.dm.calendar.session_of(as_of - pd.Timedelta(minutes=1))
        assert session is not None, as_of
        return self.dm.ingest_session(session, symbols, as_of=as_of, only_missing=True)

    def move_to(self, symbols: list[str], to: pd.Timestamp) -> None:
        """Store the bars up to ``to``, then advance the (paused) replay clock to it."""
        self.ingest(symbols, to)
        resp = self.s.post("coordination", "/api/v1/clock",
                           json={"action": "advance", "to": to.isoformat()}, timeout=30)
        assert resp.status_code == 200, resp.text[:300]
        assert pd.Timestamp(resp.json()["data"]["now"]) == to, resp.json()["data"]

    def sync(self, limit_s: float = 60) -> dict[str, int]:
        """Make paper trading evaluate every visible bar; retry while it is down."""
        deadline = time.monotonic() + limit_s
        while True:
            try:
                resp = self.s.post("paper_trading", "/api/v1/clock/sync", json={}, timeout=30)
                if resp.status_code == 200:
                    stats = resp.json()["data"]
                    self.syncs.append(stats)
                    return stats
                last = f"{resp.status_code}: {resp.text[:200]}"
            except requests.RequestException as exc:
                last = repr(exc)
            if time.monotonic() > deadline:
                raise AssertionError(f"clock sync failed for {limit_s}s: {last}")
            time.sleep(0.2)

    def step(self, symbols: list[str], minutes: int = 1) -> dict[str, int]:
        """Advance the clock ``minutes`` with bars stored, and sweep."""
        self.move_to(symbols, self.now() + pd.Timedelta(minutes=minutes))
        return self.sync()


@dataclass
class Audit:
    """What the database file says, each figure recomputed from the raw rows."""

    orders: dict[str, dict[str, Any]]  # by order id
    fills: list[dict[str, Any]]
    positions: dict[str, Decimal]
    cash: Decimal
    start: Decimal
    ledger_sum: Decimal
    min_running_cash: Decimal
    prices: dict[str, Decimal]
    problems: list[str] = field(default_factory=list)

    @property
    def market_value(self) -> Decimal:
        return sum((q * self.prices[s] for s, q in self.positions.items() if q), Decimal(0))

    @property
    def open_positions(self) -> int:
        return sum(1 for q in self.positions.values() if q)


def audit(database: str | Path, now: pd.Timestamp, accepted: dict[str, str]) -> Audit:
    """Recompute paper trading's books (the automation's account, 1) from ``database`` (a
    SQLite file's path or a ``postgresql://`` URL, read directly: tests/reliability/dbread.py);
    ``accepted`` maps every client_order_id that got a 2xx to the order id it was given.  Each
    broken rule is added to ``problems`` (an empty list means every check held)."""
    with snapshot(database) as rows:  # one snapshot for every read below
        orders = {r["id"]: r for r in rows("SELECT * FROM pt_orders WHERE account = 1")}
        fills = rows("SELECT * FROM pt_fills WHERE account = 1 ORDER BY id")
        acct = rows("SELECT * FROM pt_accounts WHERE id = 1")[0]
        ledger = rows("SELECT * FROM pt_ledger WHERE account = 1 ORDER BY id")
        pos_rows = rows("SELECT symbol, qty_micros FROM pt_positions WHERE account = 1")
        cut = (now - pd.Timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        prices = {r["symbol"]: from_micros(r["close_micros"]) for r in rows(
            "SELECT symbol, (SELECT close_micros FROM bars b WHERE b.symbol = p.symbol "
            "AND timeframe = '1m' AND ts <= ? ORDER BY ts DESC LIMIT 1) AS close_micros "
            "FROM pt_positions p WHERE account = 1", (cut,)) if r["close_micros"] is not None}
    bad: list[str] = []
    by_cid = {o["client_order_id"]: o for o in orders.values()}
    # every stored order is one a client got a 2xx for, under the id it was given
    bad += [f"order {cid} stored but never acknowledged" for cid in by_cid if cid not in accepted]
    bad += [f"{cid}: 2xx gave {oid}, stored {by_cid[cid]['id'] if cid in by_cid else None}"
            for cid, oid in accepted.items() if by_cid.get(cid, {}).get("id") != oid]
    # every fill belongs to such an order; no (order, bar) twice; fills add up per order
    per_order: dict[str, int] = defaultdict(int)
    for f in fills:
        o = orders.get(f["order_id"])
        if o is None or o["client_order_id"] not in accepted:
            bad.append(f"fill {f['id']} of an order no client got a 2xx for")
            continue
        if (f["symbol"], f["side"]) != (o["symbol"], o["side"]):
            bad.append(f"fill {f['id']} is {f['side']} {f['symbol']}, its order is not")
        per_order[f["order_id"]] += f["qty_micros"]
    twice = [k for k, n in Counter((f["order_id"], f["bar_ts"]) for f in fills).items() if n > 1]
    bad += [f"order {k[0]} filled twice on bar {k[1]}" for k in twice]
    for oid, o in orders.items():
        got = per_order.get(oid, 0)
        if got != o["filled_qty_micros"] or (o["qty_micros"] and got > o["qty_micros"]):
            bad.append(f"order {o['client_order_id']}: fills {got}, filled_qty "
                       f"{o['filled_qty_micros']}, qty {o['qty_micros']}")
        if o["status"] == "filled" and got != o["qty_micros"]:
            bad.append(f"order {o['client_order_id']} filled with {got} of {o['qty_micros']}")
    # position qty = signed sum of its fills, per symbol (one epoch: no reset in the test)
    signed: dict[str, int] = defaultdict(int)
    for f in fills:
        signed[f["symbol"]] += f["qty_micros"] if f["side"] == "buy" else -f["qty_micros"]
    held = {r["symbol"]: r["qty_micros"] for r in pos_rows}
    for sym in set(signed) | set(held):
        if signed.get(sym, 0) != held.get(sym, 0):
            bad.append(f"{sym}: position {held.get(sym, 0)} != signed fills {signed.get(sym, 0)}")
    # cash = start + ledger, exactly; the ledger = the fills' cash (no commission configured)
    start, cash = from_micros(acct["start_cash_micros"]), from_micros(acct["cash_micros"])
    ledger_sum = sum((from_micros(r["amount_micros"]) for r in ledger), Decimal(0))
    if cash != start + ledger_sum:
        bad.append(f"cash {cash} != start {start} + ledger {ledger_sum}")
    if {r["kind"] for r in ledger} - {"fill", "commission"}:
        bad.append(f"unexpected ledger kinds {sorted({r['kind'] for r in ledger})}")
    by_fill = {r["fill_id"]: from_micros(r["amount_micros"]) for r in ledger if r["kind"] == "fill"}
    for f in fills:
        value = from_micros(f["qty_micros"]) * from_micros(f["price_micros"])
        want = -value if f["side"] == "buy" else value
        if by_fill.get(f["id"]) != want:
            bad.append(f"fill {f['id']}: ledger {by_fill.get(f['id'])} != {want}")
    if len(by_fill) != len(fills):
        bad.append(f"{len(by_fill)} fill ledger rows for {len(fills)} fills")
    running, low = start, start
    for r in ledger:  # ids are commit order: writers serialize on the write lock
        running += from_micros(r["amount_micros"])
        low = min(low, running)
    missing = [s for s, q in held.items() if q and s not in prices]
    bad += [f"{s}: no visible price" for s in missing]
    return Audit(orders=orders, fills=fills,
                 positions={s: from_micros(q) for s, q in held.items()}, cash=cash, start=start,
                 ledger_sum=ledger_sum, min_running_cash=low, prices=prices, problems=bad)
