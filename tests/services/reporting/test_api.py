"""HTTP routes of the reporting service through Flask's test client."""
from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest

from services.reporting import create_app
from services.reporting.service import ReportingService
from tests.services.reporting.factories import T0, fill
from tests.services.reporting.paper_book import book, open_account
from tests.services.reporting.test_service import MIXED, Market


@pytest.fixture
def market() -> Market:
    return Market()


@pytest.fixture
def client(settings, db, market):
    svc = ReportingService(settings, db, clock=lambda: market.now, prices=market.price,
                           bars=market.bars)
    app = create_app(settings, service=svc)
    return app.test_client()


def data(resp, status: int = 200):
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["status"] == "success"
    return body["data"]


def error(resp, status: int, field: str) -> dict:
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["status"] == "error" and body["error"]["details"]["field"] == field
    return body["error"]


def test_full_flow(client, db, market) -> None:
    open_account(db)
    for m in range(0, 16, 3):
        market.now = T0 + timedelta(minutes=m)
        book(db, [f for f in MIXED if m - 3 < (f.ts - T0).total_seconds() / 60 <= m])
        snap = data(client.post("/api/v1/report/snapshot",
                                json={"run_id": f"r{m}", "source": "coordination"}), 201)
        assert snap["ts"] == market.now.isoformat()
    summary = data(client.get("/api/v1/report/summary"))
    assert summary["trades"] == 5 and summary["realized_pnl"] == summary["ledger_cash_flow"]
    assert summary["last_snapshot"]["run_id"] == "r15"
    eq = data(client.get("/api/v1/report/equity"))
    assert len(eq["points"]) == 6 and eq["daily"][0]["day"] == "2024-03-04"
    part = data(client.get("/api/v1/report/equity",
                           query_string={"start": (T0 + timedelta(minutes=5)).isoformat()}))
    assert len(part["points"]) == 4
    trades = data(client.get("/api/v1/report/trades?status=closed&limit=3"))
    assert trades["total"] == 5 and len(trades["trades"]) == 3
    assert "decision_id" in trades["trades"][0]
    metrics = data(client.get("/api/v1/report/metrics"))
    assert metrics["trades"] == 5 and Decimal(metrics["net_pnl"]) == Decimal(
        summary["realized_pnl"])
    by = data(client.get("/api/v1/report/metrics?group_by=time_of_day"))
    assert by["group_by"] == "time_of_day" and list(by["groups"]) == ["09:30"]


def test_exports(client, db, market) -> None:
    open_account(db)
    book(db, MIXED)
    market.now = T0 + timedelta(minutes=15)
    data(client.post("/api/v1/report/snapshot", json={}), 201)
    r = client.get("/api/v1/report/export?format=csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    assert len(rows) == 5 and rows[0]["trip_id"]
    r = client.get("/api/v1/report/export?format=csv&what=equity")
    assert r.get_data(as_text=True).startswith("ts,equity,drawdown")
    r = client.get("/api/v1/report/export?format=json")
    assert r.mimetype == "application/json"
    assert len(json.loads(r.get_data(as_text=True))["trades"]) == 5
    r = client.get("/api/v1/report/export?format=html")
    assert r.mimetype == "text/html" and b"<svg" in r.data


@pytest.mark.parametrize("query,name,ctype", [
    ("format=csv", "report-trades.csv", "text/csv; charset=utf-8"),
    ("format=csv&what=equity", "report-equity.csv", "text/csv; charset=utf-8"),
    ("format=csv&what=daily", "report-daily.csv", "text/csv; charset=utf-8"),
    ("format=json", "report.json", "application/json"),
    ("format=json&what=equity", "report.json", "application/json"),  # the whole report
    ("format=html", "report.html", "text/html; charset=utf-8"),
])
def test_export_names_and_one_content_type(client, db, query: str, name: str,
                                           ctype: str) -> None:
    open_account(db)
    r = client.get("/api/v1/report/export?" + query)
    assert r.status_code == 200
    assert r.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert r.headers.getlist("Content-Type") == [ctype]


def test_open_trades_show_unrealized_pnl_at_the_last_price(client, db, market) -> None:
    open_account(db)
    book(db, [fill(0, "buy", 3, "100.10", symbol="AAPL"), fill(1, "sell", 1, "100.50",
                                                              symbol="AAPL")])
    market.now = T0 + timedelta(minutes=5)
    market.prices["AAPL"] = last = Decimal("101.237")
    rows = data(client.get("/api/v1/report/trades?status=open"))["trades"]
    assert len(rows) == 1
    row = rows[0]
    assert Decimal(row["last_price"]) == last
    # two shares still open, marked against the 100.10 entry
    assert Decimal(row["unrealized_pnl"]) == (2 * (last - Decimal("100.10"))).quantize(
        Decimal("0.000001"))
    summary = data(client.get("/api/v1/report/summary"))
    assert Decimal(summary["unrealized_pnl"]) == Decimal(row["unrealized_pnl"])
    assert summary["sharpe"] is None
    assert summary["unavailable"]["sharpe"].startswith("not enough data")
    assert summary["minimums"]["sharpe"] == {"daily_returns": 20}
    html = client.get("/api/v1/report/export?format=html").get_data(as_text=True)
    assert "not enough data: 0 daily return(s), needs 20" in html
    market.prices.clear()  # no visible price: no figure rather than a wrong one
    assert data(client.get("/api/v1/report/trades?status=open"))["trades"][0][
        "unrealized_pnl"] is None


@pytest.mark.parametrize("url,field", [
    ("/api/v1/report/metrics?group_by=weekday", "group_by"),
    ("/api/v1/report/export?format=xml", "format"),
    ("/api/v1/report/export?format=csv&what=orders", "what"),
    ("/api/v1/report/trades?limit=0", "limit"),
    ("/api/v1/report/trades?status=won", "status"),
    ("/api/v1/report/summary?epoch=-1", "epoch"),
    ("/api/v1/report/equity?start=2024-01-01T00:00:00", "start"),
    ("/api/v1/report/equity?start=yesterday", "start"),
    ("/api/v1/report/summary?bogus=1", "bogus"),
])
def test_bad_queries_are_400_naming_the_field(client, url: str, field: str) -> None:
    error(client.get(url), 400, field)


def test_bad_snapshots(client, db, market) -> None:
    error(client.post("/api/v1/report/snapshot", json={"ts": "2024-03-04T10:00:00"}), 400, "ts")
    error(client.post("/api/v1/report/snapshot", json={"extra": 1}), 400, "extra")
    error(client.post("/api/v1/report/snapshot", data="{", content_type="application/json"),
          400, "body")
    error(client.post("/api/v1/report/snapshot", json={}), 422, "account")
    open_account(db)
    future = (market.now + timedelta(hours=1)).isoformat()
    error(client.post("/api/v1/report/snapshot", json={"ts": future}), 400, "ts")
    assert db.fetch_one("SELECT COUNT(*) FROM report_snapshots")[0] == 0
    book(db, [fill(0, "buy", 1, "10")])
    past = (market.now - timedelta(minutes=1)).isoformat()
    assert data(client.post("/api/v1/report/snapshot", json={"ts": past}), 201)["ts"] == past


def test_empty_report_is_not_an_error(client) -> None:
    assert data(client.get("/api/v1/report/summary"))["trades"] == 0
    assert data(client.get("/api/v1/report/equity"))["points"] == []
    assert data(client.get("/api/v1/report/metrics"))["total_return"] is None
    r = client.get("/api/v1/report/export?format=html")
    assert r.status_code == 200 and b"no data" in r.data


def test_default_app_serves_on_a_fresh_database(settings, db) -> None:
    client = create_app(settings).test_client()
    assert client.get("/ready").status_code == 200
    assert data(client.get("/api/v1/report/summary"))["epoch"] == 0
    spec = client.get("/openapi.json").get_json()
    assert "/api/v1/report/metrics" in spec["paths"] and "/api/v1/report/snapshot" in spec["paths"]
