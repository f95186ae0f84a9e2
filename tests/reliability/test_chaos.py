"""Chaos on the whole suite (hybrid_manager.py, real processes, loopback, temp database).

1. Real trading under a bounded load while paper trading's gunicorn master is SIGKILLed and then
   technical analysis's (the manager restarts them).  A cash account with too little cash,
   the workflow loop off and the replay clock paused: the test stores bars for four symbols
   (the data manager's ``ingest_session``, as coordination's ``Gateway.ingest`` does),
   advances the clock through coordination's API and makes paper trading sweep
   (``POST /api/v1/clock/sync``) one minute every 40 submissions, before, across and after
   the kills.  240 concurrent submissions, each with its own client_order_id: market buys and
   sells (partial closes of seeded positions), marketable limits that fill and far limits
   that rest.  Afterwards every 2xx order exists exactly once, resubmitting every
   client_order_id creates no duplicate, PRAGMA integrity_check is ok, and the books are
   recomputed from the database file (``tests/reliability/ledger.py``): fills only of 2xx
   orders, none twice, position = signed sum of fills, cash = start + ledger exactly, the
   running balance never below zero, equity = cash + qty x last visible close to the cent
   (through ``/v2/account``), as well as the service's ``/api/v1/invariants``.
2. News frozen (SIGSTOP) mid-cycle: the cycles report themselves degraded, coordination's
   breaker on news opens (after fail_max cycles: one batched news call each), /health and
   the dashboard's overview show it; after SIGCONT it recovers.
3. Every log file of the run is grepped for the configured secrets (API key, Alpaca keys).
"""
from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import pytest
import requests

from shared.domain.money import from_micros
from tests.reliability.dbread import integrity_problems, scalar, snapshot
from tests.reliability.ledger import CENT, Market, audit
from tests.reliability.suite import SECRETS, Suite

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
#: One order in eight of each kind, in this order, per symbol in turn.
KINDS = ("market_buy", "market_sell", "limit_buy_rests", "limit_buy_fills", "market_buy",
         "limit_sell_fills", "limit_sell_rests", "market_sell")
N_SYMBOLS = 4
LOT_USD = 500  # a lot is at most this much
SEED_LOTS = 8
#: After the seed lots (~16,000) far less cash than the load's buys ask for (90 lots,
#: ~45,000): buys meet "insufficient buying power" until sells fill.  Equity stays over the
#: PDT threshold (25,000), so partial closes are never refused as day trades.
STARTING_CASH = Decimal(30000)
OPEN_AT = pd.Timestamp("2024-01-02T15:00:00Z")  # 30 minutes into the session


@dataclass(frozen=True)
class Load:
    """How many submissions, from how many threads, a clock minute every ``step_every``, and
    the least the run must show (fills, closing fills, fills during the load and after paper
    trading's restart, open positions) for its checks to prove anything."""

    orders: int = 240
    threads: int = 8
    step_every: int = 40  # submissions per clock minute during the load
    min_fills: int = 80
    min_closing: int = 30
    min_fills_during: int = 40
    min_fills_after_restart: int = 20
    min_open: int = 2
    starting_cash: Decimal = STARTING_CASH

    @property
    def kills(self) -> tuple[tuple[str, int], ...]:
        """(victim, the submission index at which its gunicorn master is SIGKILLed)"""
        return (("paper_trading", self.orders // 4), ("technical_analysis", self.orders // 2))


LOAD = Load()  # the SQLite run's; tests/reliability/test_chaos_pg.py runs a smaller one


def chaos_suite(tmp: Path, universe: str, load: Load, label: str = "",
                **env: str) -> Iterator[Suite]:
    """Start the suite the chaos tests load, yield it, stop it.

    A cash account (so "cash never below zero" is a rule the fills must keep) with less cash
    than the load asks for; the workflow loop off and the replay clock paused, so the test
    alone moves the clock and every order in the book is one of its own.  ``env`` adds to
    the settings (test_chaos_pg.py: ``DATABASE_URL``).
    """
    s = Suite(tmp, **env,
              TRADING__http__timeout_s="1.0", TRADING__http__retries="0",
              TRADING__http__breaker_fail_max="2", TRADING__http__breaker_reset_s="3",
              TRADING__market__universe_size=universe, TRADING__coordination__autostart="false",
              TRADING__paper_trading__account_type="cash",
              TRADING__paper_trading__starting_cash=str(load.starting_cash))
    try:
        t0 = time.monotonic()
        s.start()
        print(f"\nsuite healthy{label} {time.monotonic() - t0:.1f}s after 'start --detach'")
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    yield from chaos_suite(tmp_path_factory.mktemp("chaos"), "60", LOAD)


def _group(pid: int) -> list[psutil.Process]:
    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)]


@dataclass(frozen=True)
class Plan:
    """The traded symbols, their price when the load starts and a lot of ~LOT_USD."""

    symbols: list[str]
    ref: dict[str, Decimal]
    lot: dict[str, int]


def _kind(i: int) -> str:
    return KINDS[i % len(KINDS)]


def _order_body(i: int, plan: Plan) -> dict[str, Any]:
    sym = plan.symbols[(i // len(KINDS)) % len(plan.symbols)]
    q, px, kind = plan.lot[sym], plan.ref[sym], _kind(i)
    body: dict[str, Any] = {"symbol": sym, "client_order_id": f"chaos-{i:05d}",
                            "time_in_force": "day", "type": "market", "qty": str(q),
                            "side": "sell" if "sell" in kind else "buy"}
    if kind == "market_sell":  # a partial close of what the seed and the buys bought
        body["qty"] = str(max(1, q // 2))
    elif kind == "limit_buy_fills":  # marketable: fills on the next bar
        body.update(type="limit", limit_price=str((px * Decimal("1.10")).quantize(CENT)))
    elif kind == "limit_sell_fills":
        body.update(type="limit", qty=str(max(1, q // 2)),
                    limit_price=str((px * Decimal("0.90")).quantize(CENT)))
    elif kind == "limit_buy_rests":  # far below the market: reserves cash, never fills
        body.update(type="limit", qty="1", limit_price="1.00", time_in_force="gtc")
    elif kind == "limit_sell_rests":  # far above: holds a share, never fills
        body.update(type="limit", qty="1", limit_price=str((px * 3).quantize(CENT)),
                    time_in_force="gtc")
    return body


def _orders_by_cid(s: Suite) -> Counter[str]:
    resp = s.get("paper_trading", "/api/v1/orders", params={"status": "all", "limit": 1000})
    assert resp.status_code == 200, resp.text[:300]
    return Counter(o["client_order_id"] for o in resp.json()["data"]
                   if str(o.get("client_order_id", "")).startswith("chaos-"))


def _fill_count(s: Suite) -> int:
    return int(scalar(s.database, "SELECT COUNT(*) FROM pt_fills"))


def _plan(s: Suite, market: Market) -> Plan:
    """Pick tradable equities priced $5-$300 (deterministic: the simulated market is seeded)."""
    alpaca = {"APCA-API-KEY-ID": "automation", "APCA-API-SECRET-KEY": SECRETS["API_KEY"]}
    candidates = market.equities()[:16]
    market.ingest(candidates, OPEN_AT)
    now = OPEN_AT.isoformat()
    with snapshot(s.database) as rows:
        last = {r["symbol"]: r["close_micros"] for r in rows(
            "SELECT symbol, close_micros FROM bars b WHERE timeframe = '1m' AND ts = (SELECT "
            "MAX(ts) FROM bars WHERE symbol = b.symbol AND timeframe = '1m' AND ts < ?)",
            (now,))}
    symbols, ref = [], {}
    for sym in candidates:
        px = from_micros(last[sym]) if sym in last else None
        if px is None or not Decimal(5) <= px <= Decimal(300):
            continue
        if s.get("paper_trading", f"/v2/assets/{sym}", headers=alpaca).status_code == 200:
            symbols.append(sym)
            ref[sym] = px
        if len(symbols) == N_SYMBOLS:
            break
    assert len(symbols) == N_SYMBOLS, (candidates, last)
    return Plan(symbols, ref, {s_: max(1, int(LOT_USD / ref[s_])) for s_ in symbols})


def test_orders_survive_sigkill_exactly_once_with_ledger_invariants(suite):
    s = suite
    market = Market(s)
    try:
        _chaos_run(s, market, LOAD)
    finally:
        market.close()


def _chaos_run(s: Suite, market: Market, load: Load) -> None:
    phase = {"start": time.monotonic()}
    # The clock: paused (nothing else moves it), into the session, with bars stored first.
    # (Just after the start coordination's feed is still storing the market: on a loaded
    # runner its first answer took over 10 s.)
    resp = s.post("coordination", "/api/v1/clock", json={"action": "pause"}, timeout=60)
    assert resp.status_code == 200, resp.text[:300]
    print(f"\nclock paused in {time.monotonic() - phase['start']:.1f}s")
    plan = _plan(s, market)
    market.move_to(plan.symbols, OPEN_AT)
    fresh = s.get("paper_trading", "/api/v1/account").json()["data"]
    assert Decimal(fresh["cash"]) == load.starting_cash, fresh  # a fresh cash account
    # Seed a position in every symbol, so that sells during the load partially close it.
    results: dict[str, tuple[int, str | None]] = {}
    for sym in plan.symbols:
        body = {"symbol": sym, "side": "buy", "type": "market", "time_in_force": "day",
                "qty": str(SEED_LOTS * plan.lot[sym]), "client_order_id": f"chaos-seed-{sym}"}
        resp = s.post("paper_trading", "/api/v1/orders", json=body)
        assert resp.status_code == 201, resp.text[:300]
        results[body["client_order_id"]] = (201, resp.json()["data"]["id"])
    seeded = market.step(plan.symbols)
    held = {p["symbol"]: Decimal(p["qty"])
            for p in s.get("paper_trading", "/api/v1/positions").json()["data"]}
    assert held == {sym: SEED_LOTS * plan.lot[sym] for sym in plan.symbols}, (seeded, held)
    print(f"\nsymbols {plan.symbols} at {[str(plan.ref[x]) for x in plan.symbols]}, lots "
          f"{plan.lot}; seeded {len(held)} positions at {market.now()}")
    phase["seeded"] = time.monotonic()

    lock = threading.Condition()
    completed = [0]
    # Submission i waits for every kill scheduled at or before i, so the rest of the load
    # reaches each victim's replacement whatever the machine's speed (no timing race).
    killed = {victim: threading.Event() for victim, _ in load.kills}
    errors: Counter[str] = Counter()

    def reached(n: int, limit_s: float = 120) -> None:
        with lock:
            assert lock.wait_for(lambda: completed[0] >= n, limit_s), (n, completed[0])

    def submit(i: int) -> None:
        """Submit like a careful client: on a connection error or a 503, retry the same
        client_order_id (bounded), which is what makes the idempotency matter."""
        body = _order_body(i, plan)
        for victim, after in load.kills:
            if i >= after:
                assert killed[victim].wait(180), victim
        status, oid = 0, None
        for attempt in range(40):
            try:
                resp = s.post("paper_trading", "/api/v1/orders", json=body, timeout=15)
            except requests.RequestException:
                errors["connection"] += 1
                time.sleep(min(0.05 * 2 ** attempt, 1.0))
                continue
            status = resp.status_code
            if status == 503:
                errors["503"] += 1
                time.sleep(0.2)
                continue
            if 200 <= status < 300:
                oid = resp.json()["data"]["id"]
            else:
                errors[f"{status}: {resp.json()['error']['message'][:40]}"] += 1
            break
        results[body["client_order_id"]] = (status, oid)
        with lock:
            completed[0] += 1
            lock.notify_all()

    kills: dict[str, float] = {}
    fills_at: dict[str, int] = {"start": _fill_count(s)}
    swept = [0]  # clock minutes swept so far

    def minutes_swept(n: int, limit_s: float = 120) -> None:
        with lock:
            assert lock.wait_for(lambda: swept[0] >= n, limit_s), (n, swept[0])

    def chaos() -> None:
        for victim, after in load.kills:
            reached(after)
            # and the clock minutes due before it swept: fills on both sides of each kill,
            # whatever the machine's speed
            minutes_swept(len(range(load.step_every, after, load.step_every)))
            pid = s.status()[victim]["pid"]
            group = _group(pid)
            os.kill(pid, signal.SIGKILL)
            # once the old master and its workers are gone, every later fill is the
            # replacement's doing
            psutil.wait_procs(group, timeout=30)
            fills_at[victim] = _fill_count(s)
            killed[victim].set()
            kills[victim] = s.wait_healthy(victim, not_pid=pid, limit_s=90)

    def clock() -> int:
        """One clock minute (bars stored, then a sweep) every step_every submissions, so
        orders fill while the load runs, across the kills and after the restart."""
        steps = 0
        for n in range(load.step_every, load.orders, load.step_every):
            reached(n)
            market.step(plan.symbols)
            steps += 1
            with lock:
                swept[0] = steps
                lock.notify_all()
        return steps

    t0 = time.monotonic()
    with ThreadPoolExecutor(2) as side, ThreadPoolExecutor(load.threads) as pool:
        side_jobs = [side.submit(chaos), side.submit(clock)]
        list(pool.map(submit, range(load.orders)))
        elapsed = time.monotonic() - t0
        steps = side_jobs[1].result(timeout=180)
        side_jobs[0].result(timeout=180)
    assert set(kills) == {"paper_trading", "technical_analysis"}, kills
    fills_at["end"] = _fill_count(s)
    # (a sweep also runs on any read of paper trading's API, so count fills in the database)
    during = fills_at["end"] - fills_at["start"]
    before_kill = fills_at["paper_trading"] - fills_at["start"]
    after_restart = fills_at["end"] - fills_at["paper_trading"]
    codes = Counter(st for cid, (st, _) in results.items() if "seed" not in cid)
    print(f"{load.orders} submissions in {elapsed:.1f}s; status counts {dict(codes)}; "
          f"retried/refused: {dict(errors)}; {steps} clock minutes, {during} fills during "
          f"the load ({before_kill} before paper trading's SIGKILL, {after_restart} after its "
          f"restart); back healthy after "
          f"SIGKILL: "
          + ", ".join(f"{k} {v:.1f}s" for k, v in kills.items()))
    assert not [st for st, _ in results.values() if st >= 500 and st != 503], codes
    assert not [st for st, _ in results.values() if st == 0], codes  # every client got an answer
    assert during >= load.min_fills_during and before_kill > 0, fills_at
    assert after_restart >= load.min_fills_after_restart, fills_at
    by_kind = Counter(_kind(int(cid[6:])) for cid, (st, _) in results.items()
                      if cid[6:].isdigit() and 200 <= st < 300)
    assert all(by_kind[k] >= 5 for k in set(KINDS)), by_kind  # every kind was accepted

    accepted = {cid: oid for cid, (st, oid) in results.items() if 200 <= st < 300}
    # every 2xx order exists exactly once
    counts = _orders_by_cid(s)
    assert {cid: counts[cid] for cid in accepted if counts[cid] != 1} == {}
    assert [cid for cid, n in counts.items() if n > 1] == []

    # resubmitting every client_order_id creates no duplicate and returns the same order
    phase["loaded"] = time.monotonic()
    again: dict[str, tuple[int, str | None]] = {}
    for i in range(load.orders):
        body = _order_body(i, plan)
        resp = s.post("paper_trading", "/api/v1/orders", json=body, timeout=15)
        assert resp.status_code < 500, resp.text[:300]
        again[body["client_order_id"]] = (
            resp.status_code, resp.json()["data"]["id"] if resp.status_code < 300 else None)
    for cid, oid in accepted.items():
        if cid in again:
            assert again[cid] == (again[cid][0], oid) and again[cid][0] < 300, (cid, again[cid])
    accepted.update({cid: oid for cid, (st, oid) in again.items() if st < 300 and oid})
    after = _orders_by_cid(s)
    assert [cid for cid, n in after.items() if n != 1] == []
    assert set(after) == set(accepted)

    # a few more minutes: every day order still working gets its bar
    phase["resubmitted"] = time.monotonic()
    market.step(plan.symbols, minutes=3)
    now = market.now()
    _check_books(s, plan, accepted, now, load)
    phase["checked"] = time.monotonic()
    marks = list(phase.items())
    print("phases: " + ", ".join(f"{b[0]} +{b[1] - a[1]:.1f}s"
                                 for a, b in zip(marks, marks[1:], strict=False)))


def _check_books(s: Suite, plan: Plan, accepted: dict[str, str], now: Any,
                 load: Load) -> None:
    # the engine's own check: SQLite's PRAGMA integrity_check, PostgreSQL's amcheck
    assert integrity_problems(s.database) == []
    book = audit(s.database, now, accepted)
    assert book.problems == [], book.problems[:20]
    filled = [o for o in book.orders.values() if o["filled_qty_micros"] > 0]
    closing = [f for f in book.fills if f["closing_micros"] > 0]
    # what became of each kind of order
    outcome: Counter[str] = Counter()
    for o in book.orders.values():
        kind = "seed" if "seed" in o["client_order_id"] else _kind(int(o["client_order_id"][6:]))
        outcome[f"{kind} {o['status']}{' ' + o['reason'] if o['reason'] else ''}"] += 1
        if kind.endswith("_rests"):
            assert o["status"] in ("new", "accepted") and o["filled_qty_micros"] == 0, o
        elif o["status"] != "filled":  # day orders: all had bars; only the account stops them
            assert o["status"] == "canceled" and o["reason"] in (
                "insufficient_cash_at_fill", "insufficient_qty_at_fill"), o
    print(", ".join(f"{k}: {n}" for k, n in sorted(outcome.items())))
    print(f"{len(book.orders)} orders, {len(filled)} filled ({len(book.fills)} fills, "
          f"{len(closing)} closing), {book.open_positions} open positions; cash "
          f"{book.cash} (lowest {book.min_running_cash}), start {book.start}, ledger "
          f"{book.ledger_sum}, market value {book.market_value}")
    assert len(book.fills) >= load.min_fills and len(closing) >= load.min_closing, (
        len(book.fills), len(closing))
    assert book.open_positions >= load.min_open
    assert book.min_running_cash >= 0 and book.cash >= 0
    # ... and the same books through the API, priced at the last visible bar, to the cent
    inv = s.get("paper_trading", "/api/v1/invariants").json()["data"]
    assert inv["ok"], inv
    positions = {p["symbol"]: p for p in s.get("paper_trading", "/api/v1/positions").json()["data"]}
    assert {k: Decimal(p["qty"]) for k, p in positions.items()} == \
        {k: q for k, q in book.positions.items() if q}
    for sym, p in positions.items():
        assert Decimal(p["current_price"]) == book.prices[sym], (p, book.prices[sym])
    acct = s.get("paper_trading", "/v2/account",
                 headers={"APCA-API-KEY-ID": "automation",
                          "APCA-API-SECRET-KEY": SECRETS["API_KEY"]}).json()
    assert Decimal(acct["cash"]) == book.cash, acct
    assert Decimal(acct["equity"]).quantize(CENT) == \
        (book.cash + book.market_value).quantize(CENT), (acct, book.market_value)
    assert Decimal(acct["position_market_value"]).quantize(CENT) == \
        book.market_value.quantize(CENT), acct
    print(f"invariants ok: equity {acct['equity']} = cash {acct['cash']} + market value "
          f"{book.market_value.quantize(CENT)}")


def _breaker(s: Suite, target: str) -> str | None:
    data = s.get("coordination", "/health").json()["data"]
    for b in data.get("circuit_breakers") or []:
        if isinstance(b, dict) and b.get("name", "").endswith(target):
            return b.get("state")
    if isinstance(data.get("circuit_breakers"), dict):
        v = data["circuit_breakers"].get(target)
        return v.get("state") if isinstance(v, dict) else v
    return None


def test_service_frozen_mid_cycle_opens_breaker_degrades_and_recovers(suite):
    s = suite
    pid = s.status()["news"]["pid"]
    group = _group(pid)
    for p in group:
        p.suspend()
    try:
        # a cycle asks news once (one batched request), so the breaker (fail_max 2) opens
        # on the second failing cycle; every one of them is degraded, none fails
        for _ in range(3):
            resp = s.post("coordination", "/api/v1/cycle", json={}, timeout=120)
            assert resp.status_code == 201, resp.text[:500]
            run = resp.json()["data"]
            assert run["status"] == "degraded" and "news" in run["degraded"], run
            deg_breaker = _breaker(s, "news")
            if deg_breaker == "open":
                break
        overview = s.get("dashboard", "/api/v1/overview").json()["data"]
        print(f"\ncycle with news frozen: status {run['status']}, degraded {run['degraded']}, "
              f"breaker {deg_breaker}")
        assert run["status"] == "degraded" and "news" in run["degraded"], run
        assert deg_breaker == "open"
        assert "news" in str(overview)
    finally:
        for p in group:
            try:
                p.resume()
            except psutil.NoSuchProcess:
                pass
    s.wait_healthy("news", limit_s=60)
    deadline = time.monotonic() + 30
    while True:
        time.sleep(3.5)  # breaker_reset_s is 3: the next call is the half-open trial
        run = s.post("coordination", "/api/v1/cycle", json={}, timeout=120).json()["data"]
        if "news" not in run["degraded"] or time.monotonic() > deadline:
            break
    print(f"after SIGCONT: status {run['status']}, degraded {run['degraded']}, "
          f"breaker {_breaker(s, 'news')}")
    assert "news" not in run["degraded"], run
    assert _breaker(s, "news") == "closed"


def test_no_log_file_contains_a_configured_secret(suite):
    s = suite
    listening = {c.laddr.port: c.laddr.ip for c in psutil.net_connections("inet")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port in s.ports}
    assert listening == {p: "127.0.0.1" for p in s.ports}  # loopback only, by default
    # a failed key check on every service first, so the auth path has logged something
    for name in s.port:
        requests.post(s.url(name, "/api/v1/nowhere-" + name), timeout=5,
                      headers={"X-API-Key": "wrong-" + SECRETS["API_KEY"][::-1]})
    files = [p for p in s.log_dir.rglob("*") if p.is_file()]
    assert len(files) >= 9, files
    leaks = []
    for path in files:
        text = path.read_bytes()
        for var, secret in SECRETS.items():
            if secret.encode() in text:
                leaks.append(f"{path.name}: {var}")
    print(f"\n{len(files)} log files, {sum(p.stat().st_size for p in files)} bytes: "
          f"{len(leaks)} secrets found")
    assert leaks == []
