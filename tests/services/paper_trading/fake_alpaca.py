"""A small HTTP fake of Alpaca's paper trading API (/v2) with Alpaca's JSON shapes.

Enough state to answer what ``AlpacaBrokerService`` forwards: one account, orders (submit,
list, get, by client id, cancel, cancel all, replace), positions (list, get, close, close all),
clock and calendar.  ``fail_with`` makes every request answer that status; ``requests`` keeps
(method, path, key header, JSON body) of each request.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request

ASSET = "b0b6dd9d-8b9b-48a9-ba46-b9d54906e415"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _err(status: int, code: int, message: str) -> tuple[Response, int]:
    return jsonify({"code": code, "message": message}), status


class FakeAlpaca:
    def __init__(self) -> None:
        self.buying_power = 2000.0
        self.orders: dict[str, dict[str, Any]] = {}
        self.positions = {"AAPL": {"qty": "5", "avg": "100", "price": "110"}}
        self.fail_with: int | None = None
        self.requests: list[tuple[str, str, str | None, Any]] = []

    def order(self, body: dict[str, Any], status: str = "accepted") -> dict[str, Any]:
        t = _now()
        o = {"id": str(uuid.uuid4()), "client_order_id": body.get("client_order_id") or
             str(uuid.uuid4()), "created_at": t, "updated_at": t, "submitted_at": t,
             "filled_at": None, "expired_at": None, "canceled_at": None, "failed_at": None,
             "replaced_at": None, "replaced_by": None, "replaces": None, "asset_id": ASSET,
             "symbol": body["symbol"], "asset_class": "us_equity", "notional": None,
             "qty": str(body.get("qty")), "filled_qty": "0", "filled_avg_price": None,
             "order_class": body.get("order_class", "simple"), "order_type": body["type"],
             "type": body["type"], "side": body["side"], "time_in_force": body["time_in_force"],
             "limit_price": None if body.get("limit_price") is None else str(body["limit_price"]),
             "stop_price": None if body.get("stop_price") is None else str(body["stop_price"]),
             "status": status, "extended_hours": False, "legs": None, "trail_percent": None,
             "trail_price": None, "hwm": None, "position_intent": None}
        self.orders[o["id"]] = o
        return o

    def position(self, sym: str) -> dict[str, Any]:
        p = self.positions[sym]
        q, avg, px = float(p["qty"]), float(p["avg"]), float(p["price"])
        return {"asset_id": ASSET, "symbol": sym, "exchange": "NASDAQ",
                "asset_class": "us_equity", "asset_marginable": True, "qty": p["qty"],
                "avg_entry_price": p["avg"], "side": "long" if q > 0 else "short",
                "market_value": str(q * px), "cost_basis": str(q * avg),
                "unrealized_pl": str(q * (px - avg)), "unrealized_plpc": "0.1",
                "unrealized_intraday_pl": "0", "unrealized_intraday_plpc": "0",
                "current_price": p["price"], "lastday_price": "105", "change_today": "0.05",
                "qty_available": p["qty"]}

    def close(self, sym: str) -> dict[str, Any]:
        qty = self.positions.pop(sym)["qty"]
        return self.order({"symbol": sym, "qty": qty, "side": "sell", "type": "market",
                           "time_in_force": "day"}, status="filled")

    def app(self) -> Flask:  # noqa: C901 - one small handler per Alpaca endpoint
        app = Flask("fake_alpaca")
        app.url_map.strict_slashes = False

        @app.before_request
        def _record() -> Any:
            self.requests.append((request.method, request.path,
                                  request.headers.get("APCA-API-KEY-ID"),
                                  request.get_json(silent=True)))
            if self.fail_with is not None:
                return _err(self.fail_with, 50010000, "internal server error")
            return None

        @app.get("/v2/account")
        def account() -> Any:
            return {"id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "account_number": "PA3FAKE",
                    "status": "ACTIVE", "currency": "USD", "cash": "1000",
                    "buying_power": str(self.buying_power), "regt_buying_power": "2000",
                    "daytrading_buying_power": "0", "equity": "1550", "last_equity": "1500",
                    "long_market_value": "550", "short_market_value": "0",
                    "initial_margin": "275", "maintenance_margin": "165", "multiplier": "2",
                    "daytrade_count": 2, "pattern_day_trader": False, "trading_blocked": False,
                    "created_at": "2024-01-01T00:00:00Z"}

        @app.post("/v2/orders")
        def submit() -> Any:
            body = request.get_json()
            price = body.get("limit_price") or 100.0
            if float(body.get("qty") or 0) * float(price) > self.buying_power:
                return _err(403, 40310000, "insufficient buying power")
            return self.order(body)

        @app.get("/v2/orders")
        def orders() -> Any:
            status = request.args.get("status", "open")
            out = [o for o in self.orders.values() if status == "all" or
                   (o["status"] in ("accepted", "new")) == (status == "open")]
            return jsonify(out)

        @app.get("/v2/orders:by_client_order_id")
        def by_cid() -> Any:
            cid = request.args.get("client_order_id")
            for o in self.orders.values():
                if o["client_order_id"] == cid:
                    return o
            return _err(404, 40410000, "order not found")

        @app.get("/v2/orders/<oid>")
        def get_order(oid: str) -> Any:
            return self.orders.get(oid) or _err(404, 40410000, "order not found")

        @app.delete("/v2/orders/<oid>")
        def cancel(oid: str) -> Any:
            o = self.orders.get(oid)
            if o is None:
                return _err(404, 40410000, "order not found")
            if o["status"] not in ("accepted", "new"):
                return _err(422, 42210000, f"order is already in \"{o['status']}\" state")
            o.update(status="canceled", canceled_at=_now())
            return Response(status=204)

        @app.delete("/v2/orders")
        def cancel_all() -> Any:
            out = []
            for o in self.orders.values():
                if o["status"] in ("accepted", "new"):
                    o.update(status="canceled", canceled_at=_now())
                    out.append({"id": o["id"], "status": 200, "body": o})
            return jsonify(out), 207

        @app.patch("/v2/orders/<oid>")
        def replace(oid: str) -> Any:
            old = self.orders.get(oid)
            if old is None:
                return _err(404, 40410000, "order not found")
            body = {**old, **{k: v for k, v in request.get_json().items() if v is not None}}
            body.pop("client_order_id", None)
            new = self.order(body)
            new["replaces"] = oid
            old.update(status="replaced", replaced_by=new["id"], replaced_at=_now())
            return new

        @app.get("/v2/positions")
        def positions() -> Any:
            return jsonify([self.position(s) for s in self.positions])

        @app.get("/v2/positions/<sym>")
        def position(sym: str) -> Any:
            if sym not in self.positions:
                return _err(404, 40410000, "position does not exist")
            return self.position(sym)

        @app.delete("/v2/positions/<sym>")
        def close(sym: str) -> Any:
            if sym not in self.positions:
                return _err(404, 40410000, "position does not exist")
            return self.close(sym)

        @app.delete("/v2/positions")
        def close_all() -> Any:
            out = [{"symbol": s, "status": 200, "body": self.close(s)}
                   for s in list(self.positions)]
            return jsonify(out), 207

        @app.get("/v2/clock")
        def clock() -> Any:
            return {"timestamp": "2024-01-02T10:00:00-05:00", "is_open": True,
                    "next_open": "2024-01-03T09:30:00-05:00",
                    "next_close": "2024-01-02T16:00:00-05:00"}

        @app.get("/v2/calendar")
        def calendar() -> Any:
            return jsonify([{"date": "2024-01-02", "open": "09:30", "close": "16:00"},
                            {"date": "2024-01-03", "open": "09:30", "close": "16:00"}])

        return app
