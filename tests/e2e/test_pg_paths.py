"""Paper trading, coordination and the market owner on PostgreSQL (issue 21), as services.

The real processes (gunicorn, as in production) with ``DATABASE_URL`` pointing at a fresh
database of the throw-away cluster (tests/pg.py): the owner stores the built-in market and
moves the replay clock, the automation's account trades over /api/v1 and a bot's account is
made on first use over the Alpaca routes; orders are idempotent on client_order_id, fill on
the next bars, positions and the ledger agree with the account to the cent, and a rewind
archives the market run and starts the next one (every statement these paths run, on
PostgreSQL).
"""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.db import Database
from tests.conftest import make_settings, own_market
from tests.dashboard.harness import Suite

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
CENT = Decimal("0.01")
BOT = {"APCA-API-KEY-ID": "pg-bot", "APCA-API-SECRET-KEY": "any-secret"}
ENV = {"TRADING__coordination__autostart": "false", "TRADING__market__universe_size": "12",
       "TRADING__MARKET__INGEST__HISTORY_DAYS": "{1m: 1, 5m: 1, 1d: 30}"}


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory, pg_cluster: Any) -> Iterator[Suite]:
    """Coordination (the market's owner), paper trading and reporting over one PostgreSQL database
    holding the built-in market up to the clock."""
    tmp = tmp_path_factory.mktemp("pg-paths")
    url = pg_cluster.create_database()
    settings = make_settings(tmp, database__url=url, market__universe_size=12)
    db = Database.from_settings(settings)
    assert db.dialect == "postgresql"  # type: ignore[attr-defined]
    own_market(settings, db)
    db.close()
    s = Suite(tmp, {**ENV, "DATABASE_URL": url})
    try:
        for name in ("coordination", "paper_trading", "reporting"):  # reporting: a rewind freezes its report
            s.start(name)
        yield s
    finally:
        s.stop_all()


def _call(s: Suite, method: str, service: str, path: str, **kw: Any) -> Any:
    r = requests.request(method, s.url(service) + path, timeout=120, **kw)
    assert r.status_code < 400, (method, path, r.status_code, r.text[:500])
    return r.json() if "/v2/" in path else r.json()["data"]


def _step(s: Suite, n: int) -> dict[str, Any]:
    return _call(s, "POST", "coordination", "/api/v1/clock", json={"action": "step", "n": n})


def _book(s: Suite, **params: Any) -> dict[str, Any]:
    get = lambda path: _call(s, "GET", "paper_trading", path, params=params)  # noqa: E731
    return {"account": get("/api/v1/account"), "positions": get("/api/v1/positions"),
            "fills": get("/api/v1/fills"), "ledger": get("/api/v1/ledger"),
            "orders": _call(s, "GET", "paper_trading", "/api/v1/orders",
                            params={**params, "status": "all"}),
            "invariants": get("/api/v1/invariants")}


def _exact(book: dict[str, Any]) -> None:
    """Equity is cash plus market value to the cent; cash is the start plus the ledger."""
    acct = book["account"]
    mv = sum((Decimal(p["market_value"]) for p in book["positions"]), Decimal(0))
    assert Decimal(acct["equity"]).quantize(CENT) == (Decimal(acct["cash"]) + mv).quantize(CENT)
    assert book["invariants"]["ok"], book["invariants"]


@pytest.fixture(scope="module")
def traded(suite: Suite) -> dict[str, Any]:
    """Mid-session: two accounts buy, the next bars fill them, one sells half."""
    _call(suite, "POST", "coordination", "/api/v1/clock", json={"action": "pause"})
    _step(suite, 30)
    symbols = [a["symbol"] for a in _call(suite, "GET", "paper_trading", "/v2/assets")
               if a["tradable"] and "/" not in a["symbol"]][:2]
    order = {"symbol": symbols[0], "side": "buy", "qty": "10", "client_order_id": "pg-1"}
    first = _call(suite, "POST", "paper_trading", "/api/v1/orders", json=order)
    again = _call(suite, "POST", "paper_trading", "/api/v1/orders", json=order)
    bot = _call(suite, "POST", "paper_trading", "/v2/orders", headers=BOT,
                json={"symbol": symbols[1], "side": "buy", "qty": "3", "type": "market",
                      "time_in_force": "day", "client_order_id": "bot-1"})
    _step(suite, 2)
    _call(suite, "POST", "paper_trading", "/api/v1/orders",
          json={"symbol": symbols[0], "side": "sell", "qty": "4"})
    _step(suite, 2)
    return {"symbols": symbols, "first": first, "again": again, "bot": bot,
            "auto": _book(suite), "bot_book": _book(suite, account="pg-bot"),
            "clock": _call(suite, "GET", "coordination", "/api/v1/clock")}


def test_orders_are_idempotent_and_fill_on_the_next_bars(traded: dict[str, Any]) -> None:
    assert traded["again"]["id"] == traded["first"]["id"]
    auto = traded["auto"]
    assert {o["status"] for o in auto["orders"]} == {"filled"}, auto["orders"]
    assert len(auto["orders"]) == 2 and len(auto["fills"]) == 2
    (pos,) = auto["positions"]
    assert pos["symbol"] == traded["symbols"][0] and Decimal(pos["qty"]) == 6


def test_each_account_exact_to_the_cent(traded: dict[str, Any], tmp_path: Path) -> None:
    start = make_settings(tmp_path).paper_trading.starting_cash  # the services' default
    for book in (traded["auto"], traded["bot_book"]):
        _exact(book)
        moved = sum((Decimal(r["amount"]) for r in book["ledger"]), Decimal(0))
        assert book["ledger"] and Decimal(book["account"]["cash"]) == start + moved
    bot = traded["bot_book"]
    assert traded["bot"]["client_order_id"] == "bot-1"
    assert [(p["symbol"], Decimal(p["qty"])) for p in bot["positions"]] == [
        (traded["symbols"][1], Decimal(3))]
    # the bot's account is its own: none of the automation's orders
    assert {o["client_order_id"] for o in bot["orders"]} == {"bot-1"}


def test_a_rewind_archives_the_run_and_starts_the_next(suite: Suite,
                                                        traded: dict[str, Any]) -> None:
    after = _call(suite, "POST", "coordination", "/api/v1/clock", json={"action": "rewind"})
    assert after["run"] == traded["clock"]["run"] + 1
    runs = _call(suite, "GET", "coordination", "/api/v1/clock/runs")
    closed = [r for r in runs if r["run"] == traded["clock"]["run"]]
    assert closed and closed[0]["ended_at"], runs
    fresh = _book(suite)
    assert fresh["positions"] == [] and fresh["fills"] == []
    _exact(fresh)
    # the new run trades: a new order fills, its event ids go on after the archived ones
    _step(suite, 30)
    _call(suite, "POST", "paper_trading", "/api/v1/orders",
          json={"symbol": traded["symbols"][0], "side": "buy", "qty": "1"})
    _step(suite, 2)
    book = _book(suite)
    assert [Decimal(p["qty"]) for p in book["positions"]] == [Decimal(1)]
    _exact(book)
