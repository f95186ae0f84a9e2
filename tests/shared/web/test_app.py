"""The service skeleton: envelope on every path, validation, auth, health, metrics, OpenAPI."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import Blueprint, Flask
from pydantic import BaseModel, Field

from shared.db import get_database, migrate
from shared.errors import Conflict, DatabaseBusyError, NotFound
from shared.web import create_service_app, ok, validate
from tests.conftest import make_settings


class OrderIn(BaseModel):
    symbol: str = Field(min_length=1, max_length=12)
    qty: int = Field(gt=0)
    side: str = Field(pattern="^(buy|sell)$")


class ListQuery(BaseModel):
    limit: int = Field(10, ge=1, le=100)
    symbols: list[str] = []
    tags: list[str] | None = None


SIMULATED = {"source": "simulated", "simulated": True}


def build(tmp_path: Path, **overrides: object) -> Flask:
    settings = make_settings(tmp_path, **overrides)
    migrate(get_database(settings))
    bp = Blueprint("things", __name__, url_prefix="/api/v1")

    @bp.post("/orders")
    @validate(body=OrderIn, response=OrderIn, status=201)
    def create(body: OrderIn):  # type: ignore[no-untyped-def]
        """Create an order."""
        return ok(body, 201)

    @bp.get("/orders")
    @validate(query=ListQuery)
    def list_(query: ListQuery):  # type: ignore[no-untyped-def]
        return ok(query)

    @bp.get("/boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals")

    @bp.get("/missing")
    def missing():  # type: ignore[no-untyped-def]
        raise NotFound("no such order", field="id")

    @bp.get("/conflict")
    def conflict():  # type: ignore[no-untyped-def]
        raise Conflict("already done")

    @bp.get("/busy")
    def busy():  # type: ignore[no-untyped-def]
        raise DatabaseBusyError("locked")

    return create_service_app("scanner", settings, blueprints=[bp])


def assert_error_envelope(resp, status: int, code: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    body = resp.get_json()
    assert set(body) == {"status", "data", "error", "timestamp", "market"}
    assert body["status"] == "error" and body["data"] is None
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["market"] == SIMULATED
    assert body["timestamp"].endswith("+00:00")
    if code:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.fixture
def client(tmp_path: Path):  # type: ignore[no-untyped-def]
    return build(tmp_path).test_client()


def test_success_envelope(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/api/v1/orders", json={"symbol": "AAPL", "qty": 5, "side": "buy"})
    assert resp.status_code == 201
    body = resp.get_json()
    assert list(body) == ["status", "data", "error", "timestamp", "market"]
    assert body["status"] == "success" and body["error"] is None
    assert body["data"] == {"symbol": "AAPL", "qty": 5, "side": "buy"}
    assert body["market"] == SIMULATED  # the built-in market: its prices are not real
    assert resp.headers["X-Market-Data"] == "simulated"


@pytest.mark.parametrize("payload,field", [
    ({"symbol": "AAPL", "qty": -1, "side": "buy"}, "qty"),
    ({"symbol": "AAPL", "qty": "many", "side": "buy"}, "qty"),
    ({"symbol": "AAPL", "qty": 1, "side": "hold"}, "side"),
    ({"qty": 1, "side": "buy"}, "symbol"),
    ([1, 2, 3], "body"),
])
def test_bad_bodies_name_the_field(client, payload, field) -> None:  # type: ignore[no-untyped-def]
    err = assert_error_envelope(client.post("/api/v1/orders", json=payload), 400, "validation_error")
    assert err["details"]["field"] == field


def test_malformed_json_and_query(client) -> None:  # type: ignore[no-untyped-def]
    assert_error_envelope(client.post("/api/v1/orders", data="{nope",
                                      content_type="application/json"), 400)
    err = assert_error_envelope(client.get("/api/v1/orders?limit=0"), 400)
    assert err["details"]["field"] == "limit"
    good = client.get("/api/v1/orders?limit=5&symbols=A,B&symbols=C&tags=x,y").get_json()["data"]
    assert good == {"limit": 5, "symbols": ["A", "B", "C"], "tags": ["x", "y"]}


def test_every_error_path_returns_the_envelope(client) -> None:  # type: ignore[no-untyped-def]
    assert_error_envelope(client.get("/api/v1/nowhere"), 404, "not_found")
    assert_error_envelope(client.put("/api/v1/orders"), 405)
    assert_error_envelope(client.get("/api/v1/missing"), 404, "not_found")
    assert_error_envelope(client.get("/api/v1/conflict"), 409, "conflict")
    busy = client.get("/api/v1/busy")
    assert_error_envelope(busy, 503, "database_busy")
    assert busy.headers["Retry-After"] == "1"
    err = assert_error_envelope(client.get("/api/v1/boom"), 500, "internal_error")
    assert "secret internals" not in err["message"] and "Traceback" not in err["message"]
    assert err["details"]["error_id"] in err["message"]


def test_body_over_the_limit_gets_413(tmp_path: Path) -> None:
    c = build(tmp_path, security__max_body_bytes=100).test_client()
    resp = c.post("/api/v1/orders", data="x" * 500, content_type="application/json")
    assert_error_envelope(resp, 413)


def test_api_key_guards_mutating_routes_only(tmp_path: Path) -> None:
    c = build(tmp_path, security__api_key="s3cret-key").test_client()
    body = {"symbol": "AAPL", "qty": 1, "side": "buy"}
    assert_error_envelope(c.post("/api/v1/orders", json=body), 401, "unauthorized")
    assert_error_envelope(c.post("/api/v1/orders", json=body, headers={"X-API-Key": "wrong"}), 401)
    assert c.post("/api/v1/orders", json=body, headers={"X-API-Key": "s3cret-key"}).status_code == 201
    assert c.get("/api/v1/orders").status_code == 200  # reads stay open
    health = c.get("/health").get_data(as_text=True)
    assert "s3cret-key" not in health


def test_health_ready_metrics_docs(client) -> None:  # type: ignore[no-untyped-def]
    h = client.get("/health").get_json()["data"]
    assert h["service"] == "scanner" and h["status"] == "healthy"
    assert h["database"]["reachable"] is True and h["uptime_s"] >= 0
    assert "circuit_breakers" in h
    assert client.get("/ready").get_json()["data"]["ready"] is True
    client.get("/api/v1/orders")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'suite_http_requests_total{method="GET",route="/api/v1/orders"' in metrics
    assert "suite_http_request_seconds_bucket" in metrics
    assert "suite_db_retries" in metrics
    docs = client.get("/docs")
    assert docs.mimetype == "text/html" and "/api/v1/orders" in docs.get_data(as_text=True)


def test_openapi_lists_every_route_with_its_models(client) -> None:  # type: ignore[no-untyped-def]
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    paths = spec["paths"]
    assert {"/api/v1/orders", "/health", "/ready", "/metrics", "/openapi.json"} <= set(paths)
    post = paths["/api/v1/orders"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["required"] == [
        "symbol", "qty", "side"]
    assert "201" in post["responses"] and "400" in post["responses"]
    params = {p["name"] for p in paths["/api/v1/orders"]["get"]["parameters"]}
    assert params == {"limit", "symbols", "tags"}


def test_security_headers(client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/health")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert "Access-Control-Allow-Origin" not in client.get(
        "/health", headers={"Origin": "http://evil.example"}).headers


def test_every_response_gets_the_headers_once_and_a_view_may_set_its_own(tmp_path: Path) -> None:
    app = build(tmp_path, security__cors_origins=["http://ok.example"])
    app.add_url_rule("/framed", "framed", lambda: ("x", 200, {
        "Content-Security-Policy": "frame-ancestors 'self'", "X-Frame-Options": "SAMEORIGIN"}))
    c = app.test_client()
    own = c.get("/framed")
    assert own.headers.getlist("Content-Security-Policy") == ["frame-ancestors 'self'"]
    assert own.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert own.headers["Referrer-Policy"] == "no-referrer"  # the ones it did not set are added
    for resp in (c.get("/missing"), c.post("/api/v1/orders", json={"qty": -1}),
                 c.get("/health", headers={"Origin": "http://ok.example"})):
        assert resp.headers.getlist("X-Content-Type-Options") == ["nosniff"], resp.status
        assert len(resp.headers.getlist("X-Request-ID")) == 1
    ok_ = c.get("/health", headers={"Origin": "http://ok.example"})
    assert ok_.headers["Access-Control-Allow-Origin"] == "http://ok.example"
    assert ok_.headers["Vary"] == "Origin"
    assert ok_.headers["Access-Control-Expose-Headers"] == "X-Market-Data"
    assert "Access-Control-Expose-Headers" not in c.get("/health").headers


def test_every_response_says_the_market_is_simulated(tmp_path: Path) -> None:
    app = build(tmp_path)

    def alpaca_error(code: str, message: str, details: object, status: int) -> dict:
        return {"code": status * 1000, "message": message}

    def missing() -> None:
        raise NotFound("x")

    raw = Blueprint("raw", __name__, url_prefix="/v2")
    raw.add_url_rule("/clock", "clock", lambda: {"is_open": True})
    raw.add_url_rule("/missing", "missing", missing)
    alpaca = create_service_app("paper_trading", make_settings(tmp_path / "pt"),
                                blueprints=[raw], error_formatters={"/v2": alpaca_error})
    c, pt = app.test_client(), alpaca.test_client()
    answers = [c.get(p) for p in ("/health", "/ready", "/metrics", "/openapi.json", "/docs",
                                  "/api/v1/orders", "/api/v1/missing", "/api/v1/boom",
                                  "/nowhere")]
    answers += [pt.get("/v2/clock"), pt.get("/v2/missing")]
    for resp in answers:
        assert resp.headers.getlist("X-Market-Data") == ["simulated"], resp.request.path
    for resp in answers[:2] + answers[5:9]:  # the envelope
        assert resp.get_json()["market"] == SIMULATED, resp.request.path
    # the Alpaca-compatible bodies keep Alpaca's shape: alpaca-py parses them unmodified
    assert pt.get("/v2/clock").get_json() == {"is_open": True}
    assert pt.get("/v2/missing").get_json() == {"code": 404000, "message": "x"}


@pytest.mark.parametrize("routes,alpaca,label", [
    ({"equity": ["simulated"], "crypto": ["simulated"]}, False, SIMULATED),
    ({"equity": ["csv"], "crypto": ["csv"]}, False, {"source": "csv", "simulated": False}),
    ({"equity": ["alpaca", "simulated"], "crypto": ["alpaca"]}, True,
     {"source": "alpaca, simulated", "simulated": True}),
    ({"equity": ["alpaca", "simulated"], "crypto": ["alpaca"]}, False, SIMULATED),
    ({"equity": ["alpaca"], "crypto": ["alpaca"]}, True, {"source": "alpaca", "simulated": False}),
    ({"equity": ["csv"], "equity:1d": ["alpaca"]}, True,  # crypto falls back to the built-in
     {"source": "csv, alpaca, simulated", "simulated": True}),
    ({"crypto": ["csv"], "equity:intraday": ["csv"], "equity:daily": ["alpaca"]}, True,
     {"source": "csv, alpaca", "simulated": False}),  # spans cover every equity timeframe
    ({"crypto": ["csv"], "equity:intraday": ["csv"]}, False,  # daily equity: the built-in
     {"source": "csv, simulated", "simulated": True}),
])
def test_market_label_names_the_providers_in_use(tmp_path: Path, routes, alpaca, label) -> None:  # type: ignore[no-untyped-def]
    keys = {"alpaca__api_key": "PKTEST", "alpaca__secret_key": "sk"} if alpaca else {}
    app = build(tmp_path, market__routes=routes, **keys)
    c = app.test_client()
    assert c.get("/health").get_json()["market"] == label
    assert c.get("/api/v1/missing").get_json()["market"] == label
    assert c.get("/health").headers["X-Market-Data"] == label["source"]


def test_request_id_is_echoed_or_made_up(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers[
        "X-Request-ID"] == "abc-123"
    made = {client.get("/health").headers["X-Request-ID"] for _ in range(3)}
    assert len(made) == 3 and all(len(m) == 16 for m in made)
    long_ = client.get("/health", headers={"X-Request-ID": "x" * 500}).headers["X-Request-ID"]
    assert long_ != "x" * 500 and len(long_) == 16


def test_mutating_routes_are_rate_limited_with_retry_after(tmp_path: Path) -> None:
    c = build(tmp_path, security__rate_limit="3 per minute").test_client()
    body = {"symbol": "AAPL", "qty": 1, "side": "buy"}
    codes = [c.post("/api/v1/orders", json=body).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    resp = c.post("/api/v1/orders", json=body)
    assert_error_envelope(resp, 429)
    assert int(resp.headers["Retry-After"]) > 0
    assert all(c.get("/api/v1/orders").status_code == 200 for _ in range(5))  # reads are not limited


def test_body_must_be_json_by_content_type_and_not_null(client) -> None:  # type: ignore[no-untyped-def]
    good = '{"symbol": "AAPL", "qty": 1, "side": "buy"}'
    for data, ctype in ((good, "text/plain"), (good, "application/x-www-form-urlencoded"),
                        ("null", "application/json"), ('{"qty": NaN}', "application/json"),
                        ('{"qty": 1e400}', "application/json")):
        err = assert_error_envelope(client.post("/api/v1/orders", data=data, content_type=ctype),
                                    400, "validation_error")
        assert err["message"] == ("the request body must be valid JSON "
                                  "(Content-Type: application/json)"), (data, ctype)
        assert err["details"]["field"] == "body"
    assert client.post("/api/v1/orders", data=good,
                       content_type="application/vnd.api+json").status_code == 201
    missing = assert_error_envelope(client.post("/api/v1/orders"), 400, "validation_error")
    assert missing["details"]["field"] == "symbol"  # an empty body validates as {}


def _count(metrics: str, method: str, route: str, status: int) -> float:
    line = (f'suite_http_requests_total{{method="{method}",route="{route}",'
            f'service="scanner",status="{status}"}}')
    return sum(float(x.rsplit(" ", 1)[1]) for x in metrics.splitlines() if x.startswith(line))


def test_metrics_count_limited_requests_but_not_refused_keys(tmp_path: Path) -> None:
    c = build(tmp_path, security__rate_limit="2 per minute",
              security__api_key="k3y").test_client()
    body, key = {"symbol": "AAPL", "qty": 1, "side": "buy"}, {"X-API-Key": "k3y"}
    refused = c.post("/api/v1/orders", json=body)  # 401 before the timer and the limit
    assert refused.status_code == 401 and "X-RateLimit-Limit" not in refused.headers
    codes = [c.post("/api/v1/orders", json=body, headers=key) for _ in range(3)]
    assert [r.status_code for r in codes] == [201, 201, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in codes] == ["1", "0", "0"]
    assert codes[2].headers["X-RateLimit-Limit"] == "2" and "Retry-After" in codes[2].headers
    c.get("/api/v1/nowhere")
    text = c.get("/metrics").get_data(as_text=True)
    assert _count(text, "POST", "/api/v1/orders", 201) == 2
    assert _count(text, "POST", "/api/v1/orders", 429) == 1
    assert _count(text, "POST", "/api/v1/orders", 401) == 0
    assert _count(text, "GET", "<unmatched>", 404) == 1


def test_ensure_sync_passes_plain_functions_and_leaves_the_rest_to_flask(tmp_path: Path) -> None:
    import functools

    from flask import Flask

    app = build(tmp_path)

    def plain() -> None: ...

    async def coro() -> None: ...

    class Holder:
        def method(self) -> None: ...

    bound = Holder().method
    assert app.ensure_sync(plain) is plain and app.ensure_sync(bound) is bound
    partial = functools.partial(plain)
    assert app.ensure_sync(partial) is Flask.ensure_sync(app, partial)
    with pytest.raises(RuntimeError, match="async"):  # Flask's answer: the async extra is absent
        app.ensure_sync(coro)
