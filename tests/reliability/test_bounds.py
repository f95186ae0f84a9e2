"""Hostile sizes and shapes at the edge ("Hardening, round two"): every service answers a 400
that names the field (or Alpaca's 422 for an unknown asset), never a 500.

* JSON nested deeper than ``MAX_JSON_DEPTH`` on every body-reading operation of every service;
* integers wider than SQLite's 64 bits in path and query parameters;
* the Alpaca calendar's unparsable and out-of-range dates;
* order symbols outside the symbol grammar, or outside the market's universe;
* every numeric CHECK constraint of the migrations that a request can reach.
"""
from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask

from shared.db import MIGRATIONS_DIR, Database
from shared.web.validation import MAX_JSON_DEPTH
from tests.conftest import own_market
from tests.reliability.conftest import SERVICE_MODULES, operations

#: the key id names a paper account on the Alpaca-compatible routes
APCA = {"APCA-API-KEY-ID": "PKBOUNDS000000001"}
DEEP = b"[" * 1000 + b"]" * 1000  # 2 KB; Python's parser recursed once per level (500)
WIDE = [str(2**63), str(10**20)]


def _field(resp: Any) -> str | None:
    body = resp.get_json()
    if "error" in body:  # the suite's envelope
        return (body["error"].get("details") or {}).get("field")
    return body.get("field")  # Alpaca's {code, message, field}


def _path(path: str, op: dict[str, Any]) -> str:
    fill = {"symbol": "AAPL", "service": "news", "path": "api/v1/news"}
    for p in op.get("parameters", []):
        if p["in"] == "path":
            path = path.replace("{" + p["name"] + "}", fill.get(p["name"], "x"))
    required = [p["name"] for p in op.get("parameters", [])
                if p["in"] == "query" and p.get("required")]
    return path + ("?" + "&".join(f"{n}=x" for n in required) if required else "")


@pytest.fixture(scope="module")
def market(apps: dict[str, Flask], module_settings: Any) -> dict[str, Flask]:
    """The apps over a market the owner stored (the universe in ``symbols``, bars)."""
    db = Database.from_settings(module_settings)
    own_market(module_settings, db)
    db.close()
    return apps


@pytest.mark.parametrize("name", list(SERVICE_MODULES))
def test_json_nested_past_the_max_depth_is_a_400_naming_body(apps, name):
    app = apps[name]
    c = app.test_client()
    spec = c.get("/openapi.json").get_json()
    ops = [(p, m, op) for p, m, op in operations(spec) if "requestBody" in op]
    answers = {}
    for path, method, op in ops:
        url = _path(path, op)
        r = c.open(url, method=method.upper(), data=DEEP, content_type="application/json",
                   headers=APCA)
        answers[f"{method.upper()} {url}"] = (r.status_code, _field(r))
        # at the limit the depth is not what is refused
        ok_deep = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
        r = c.open(url, method=method.upper(), data=ok_deep, content_type="application/json",
                   headers=APCA)
        assert r.status_code < 500 and b"deeper than" not in r.data, (url, r.data[:200])
    assert ops or name == "dashboard"
    bad = {k: v for k, v in answers.items() if v != (400, "body")}
    assert not bad, bad


@pytest.mark.parametrize("url,field", [
    *[(f"/api/v1/news/{n}", "news_id") for n in WIDE],
    *[(f"/api/v1/events?after={n}", "after") for n in WIDE],
    *[(f"/api/v1/ledger?before_id={n}", "before_id") for n in WIDE],
    *[(f"/api/v1/fills?before_id={n}", "before_id") for n in WIDE],
    *[(f"/api/v1/events/stream?after={n}", "after") for n in WIDE],
    *[(f"/api/v1/report/{r}?epoch={n}", "epoch") for n in WIDE
      for r in ("summary", "equity", "trades", "metrics")],
])
def test_integers_wider_than_sqlite_are_a_400_naming_the_field(apps, url, field):
    owner = {"news": "news", "report": "reporting"}.get(url.split("/")[3], "paper_trading")
    r = apps[owner].test_client().get(url)
    assert r.status_code == 400, r.data[:300]
    assert _field(r) == field


@pytest.mark.parametrize("owner,url", [
    ("news", f"/api/v1/news/{2**63 - 1}"),  # the widest id: not found, not refused
    ("paper_trading", f"/api/v1/events?after={2**63 - 1}"),
    ("paper_trading", f"/api/v1/orders?account={10**20}"),  # an id or a name: a name here
    ("reporting", f"/api/v1/report/summary?account={10**20}"),
    ("dashboard", f"/api/v1/export/reporting?account={10**20}"),
])
def test_the_widest_integers_and_numeric_names_are_answered_not_500(apps, owner, url):
    r = apps[owner].test_client().get(url)
    assert r.status_code in (200, 404), r.data[:300]


@pytest.mark.parametrize("query,field", [
    ("start=foo", "start"), ("end=foo", "end"), ("start=2024-02-30", "start"),
    ("start=0001-01-01", "start"), ("end=9999-12-31", "end"),
    ("start=1900-01-01&end=2262-04-12", "start"),
])
def test_calendar_dates_that_are_not_sessions_are_a_400_naming_the_field(apps, query, field):
    r = apps["paper_trading"].test_client().get(f"/v2/calendar?{query}")
    assert r.status_code == 400, r.data[:300]
    assert _field(r) == field


def test_calendar_in_range_answers_sessions(apps):
    r = apps["paper_trading"].test_client().get("/v2/calendar?start=2024-03-04&end=2024-03-08")
    assert r.status_code == 200
    assert [d["date"] for d in r.get_json()] == [f"2024-03-0{d}" for d in range(4, 9)]


ORDER = {"qty": "1", "side": "buy", "type": "limit", "limit_price": "10",
         "time_in_force": "gtc"}


@pytest.mark.parametrize("symbol", ["<SVG/ONLOAD=1>", "=1+1", "AAPL;DROP", "TOOLONGTICKER",
                                    ".A", "BTC/XYZ", "a b"])
@pytest.mark.parametrize("route", ["/api/v1/orders", "/v2/orders"])
def test_orders_on_a_symbol_outside_the_grammar_are_a_400(market, symbol, route):
    c = market["paper_trading"].test_client()
    r = c.post(route, json={**ORDER, "symbol": symbol}, headers=APCA)
    assert r.status_code == 400, r.data[:300]
    assert _field(r) == "symbol"


@pytest.mark.parametrize("route", ["/api/v1/orders", "/v2/orders"])
def test_orders_on_a_symbol_the_market_does_not_list_are_422_and_hold_nothing(market, route):
    c = market["paper_trading"].test_client()
    before = c.get("/v2/account", headers=APCA).get_json()["buying_power"]
    for symbol in ("ZZZZ", "BRK.Q", "DOGE/USD"):
        for kind in ({"type": "limit", "limit_price": "10"}, {"type": "stop", "stop_price": "10"}):
            body = {**{k: v for k, v in ORDER.items() if k != "limit_price"}, **kind,
                    "symbol": symbol}
            r = c.post(route, json=body, headers=APCA)
            assert r.status_code == 422, r.data[:300]
            assert _field(r) == "symbol"
            assert "not found" in r.get_data(as_text=True)
    assert c.get("/v2/account", headers=APCA).get_json()["buying_power"] == before
    ok = c.post(route, json={**ORDER, "symbol": "aapl"}, headers=APCA)  # upper-cased
    assert ok.status_code in (200, 201), ok.data[:300]
    order = ok.get_json().get("data", ok.get_json())
    assert order["symbol"] == "AAPL"
    c.delete(f"{route}/{order['id']}", headers=APCA)


@pytest.mark.parametrize("owner,url", [
    ("coordination", "/api/v1/decisions?symbol=%3Csvg%3E"),
    ("paper_trading", "/api/v1/fills?symbol=%3D1%2B1"),
    ("paper_trading", "/api/v1/orders?symbols=AAPL,%3D1%2B1"),
    ("paper_trading", "/v2/orders?symbols=AAPL,%3D1%2B1"),
    ("paper_trading", "/v2/stocks/bars?symbols=%3D1%2B1"),
    ("paper_trading", "/v1beta1/news?symbols=%3Csvg%3E"),
    ("reporting", "/api/v1/report/trades?symbol=%3D1%2B1"),
    ("news", "/api/v1/news?symbol=%3D1%2B1"),
    ("news", "/api/v1/sentiment/=1+1"),
    ("technical_analysis", "/api/v1/indicators/=1+1"),
    ("technical_analysis", "/api/v1/signals/=1+1"),
    ("pattern_analysis", "/api/v1/patterns/=1+1"),
    ("pattern_analysis", "/api/v1/levels/=1+1"),
    ("pattern_recognition", "/api/v1/candlesticks/=1+1"),
    ("dashboard", "/api/v1/chart/=1+1"),
])
def test_symbol_parameters_outside_the_grammar_are_a_400(apps, owner, url):
    r = apps[owner].test_client().get(url, headers=APCA)
    assert r.status_code == 400, r.data[:300]
    assert "ticker or crypto pair" in r.get_data(as_text=True)


def test_a_query_names_at_most_max_symbols(apps):
    from shared.market.limits import MAX_SYMBOLS_PER_REQUEST

    many = ",".join(f"S{i}" for i in range(MAX_SYMBOLS_PER_REQUEST + 1))
    r = apps["paper_trading"].test_client().get(f"/v2/stocks/bars?symbols={many}")
    assert r.status_code == 400 and _field(r) == "symbols"
    assert str(MAX_SYMBOLS_PER_REQUEST) in r.get_data(as_text=True)


# -- CHECK constraints --------------------------------------------------------------------------
_CHECK = re.compile(r"(\w+)\s+(?:INTEGER|REAL)[^,]*?CHECK\s*\(([^)]*)\)")
#: Every numeric CHECK of the migrations, and what keeps a request from breaking it: the
#: requests (method, service, path, body) that try, each of which must be a 4xx; or why no
#: request reaches it (a value the service computes).
CHECKS: dict[str, Any] = {
    "volume": "bars: written by the market owner from its providers (validated frames)",
    "id": "singleton rows (id = 1): the services write the constant",
    "speed": [("PATCH", "coordination", "/api/v1/clock", {"speed": 0}),
              ("PATCH", "coordination", "/api/v1/clock", {"speed": -1}),
              ("POST", "coordination", "/api/v1/clock", {"speed": 0})],
    "step_minutes": [("PATCH", "coordination", "/api/v1/clock", {"step_minutes": 0}),
                     ("PATCH", "coordination", "/api/v1/clock", {"step_minutes": -5})],
    "qty_micros": [("POST", "paper_trading", "/api/v1/orders", {**ORDER, "symbol": "AAPL",
                                                               "qty": q})
                   for q in ("0", "-1", "0.0000001", "1e-7")]
    + [("POST", "paper_trading", "/v2/orders", {**ORDER, "symbol": "AAPL", "qty": "0.0000004"}),
       ("PATCH", "paper_trading", "/api/v1/orders/{open}", {"qty": "0.0000001"}),
       ("PATCH", "paper_trading", "/v2/orders/{open}", {"qty": "0"})],
    "notional_micros": [("POST", "paper_trading", "/api/v1/orders",
                         {"symbol": "AAPL", "side": "buy", "notional": n, "type": "market",
                          "time_in_force": "day"}) for n in ("0", "0.0000001", "-5")],
    "price_micros": "fills: the fill engine's price, from a stored bar",
    "score": "signals: computed and clipped to [-1, 1] by technical analysis",
    "rank": "scanner and level ranks: computed (1-based)",
    "confidence": "chart patterns: computed in [0, 1]",
    "touches": "levels: computed (>= 1)",
    "strength": "levels: computed in [0, 1]",
    "direction": "candlestick detections: the detector's -1/1",
    "horizon": "candlestick outcomes: configured horizons (> 0)",
    "open_positions": "report snapshots: a count of positions",
    "failures": "dashboard login failures: a counter the dashboard increments",
}


def _numeric_checks() -> set[str]:
    text = "\n".join(re.sub(r"--[^\n]*", "", p.read_text())
                     for p in sorted(MIGRATIONS_DIR.glob("*.sql")))
    return {m.group(1) for m in _CHECK.finditer(text)}


def test_every_numeric_check_constraint_is_accounted_for():
    found = _numeric_checks()
    assert found, "no CHECK constraint parsed"
    # a new CHECK must be listed (with the requests that try it, or why none can)
    assert not found - set(CHECKS), f"not accounted for: {sorted(found - set(CHECKS))}"


def test_requests_that_would_break_a_check_constraint_are_refused_first(market):
    pt = market["paper_trading"].test_client()
    opened = {}
    for route in ("/api/v1/orders", "/v2/orders"):
        r = pt.post(route, json={**ORDER, "symbol": "AAPL", "limit_price": "1.00"}, headers=APCA)
        assert r.status_code in (200, 201), r.data[:300]
        opened[route] = r.get_json().get("data", r.get_json())["id"]
    sent = 0
    for column, cases in CHECKS.items():
        if isinstance(cases, str):
            continue
        for method, owner, path, body in cases:
            prefix = "/v2/orders" if path.startswith("/v2") else "/api/v1/orders"
            url = path.replace("{open}", opened[prefix])
            r = market[owner].test_client().open(url, method=method, json=body, headers=APCA)
            sent += 1
            assert 400 <= r.status_code < 500, (column, method, url, body, r.data[:300])
    assert sent >= 15
