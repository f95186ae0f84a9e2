"""``GET /api/v1/providers`` from a real coordination process on a loopback port: crypto routed
to Binance (pointed at a loopback fake answering 500) then the built-in market, Polygon
without its key; the answer's shape, states in words, filters, 400s and the OpenAPI entry."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from shared.db import Database, migrate
from tests.conftest import make_settings, serve
from tests.dashboard.harness import Suite

pytestmark = [pytest.mark.timeout(180)]
NAMES = ["simulated", "csv", "alpaca", "yahoo", "binance", "alphavantage", "polygon", "tiingo",
         "fmp"]


def down_binance() -> Flask:
    """Binance's spot API down: every call answers 500 (as its front end does, no JSON)."""
    app = Flask("binance-down")

    @app.route("/<path:path>")
    def any_path(path: str):  # type: ignore[no-untyped-def]
        return "<html><body><h1>500 Internal Server Error</h1></body></html>", 500

    return app


def suite_env(binance_url: str) -> dict[str, str]:
    """The environment of a coordination whose crypto route starts with a failing Binance."""
    env = {"TRADING__coordination__autostart": "false",
           "TRADING__market__universe_size": "12",
           "TRADING__market__ingest__history_days": "{1m: 1, 5m: 1, 15m: 1, 1h: 1, 1d: 5}",
           "TRADING__market__routes": '{"equity": [simulated, polygon], '
                                      '"crypto": [binance, simulated]}',
           "TRADING__market__breaker_fail_max": "3",
           "TRADING__market__breaker_reset_s": "900",
           "BINANCE_BASE_URL": binance_url}
    for var in ("POLYGON_API_KEY", "ALPHAVANTAGE_API_KEY", "TIINGO_API_KEY", "FMP_API_KEY"):
        env[var] = ""
    return env


def start_suite(tmp: Path, binance_url: str, names: tuple[str, ...]) -> Suite:
    settings = make_settings(tmp)
    db = Database.from_settings(settings)
    migrate(db)
    db.close()
    s = Suite(tmp, suite_env(binance_url))
    for name in names:
        s.start(name, timeout=120)
    return s


@pytest.fixture(scope="module")
def coord(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serve(down_binance()) as binance_url:
        s = start_suite(tmp_path_factory.mktemp("providers-api"), binance_url, ("coordination",))
        try:
            yield s.url("coordination")
        finally:
            s.stop_all()


def _get(base: str, query: str = "", status: int = 200) -> Any:
    r = requests.get(f"{base}/api/v1/providers{query}", timeout=30)
    assert r.status_code == status, r.text
    body = r.json()
    return body["data"] if status == 200 else body["error"]


def test_every_provider_with_its_state(coord: str) -> None:
    data = _get(coord)
    by = {p["name"]: p for p in data["providers"]}
    assert list(by) == NAMES
    binance = by["binance"]
    assert binance["configured"] and binance["routes"] == ["crypto"]
    assert binance["asset_classes"] == ["crypto"] and "1m" in binance["timeframes"]
    assert binance["state"] == "breaker_open"
    assert binance["state_text"].startswith("breaker open until 20")
    assert binance["breaker"]["state"] == "open" and binance["breaker"]["fail_max"] == 3
    assert binance["breaker"]["open_until"] > binance["breaker"]["opened_at"]
    assert binance["failures"] >= 3 and binance["last_error"] and binance["last_error_at"]
    assert binance["last_success_at"] is None
    assert set(binance["budget"]) >= {"limit", "period_s", "remaining", "next_slot_s"}
    polygon = by["polygon"]
    assert (polygon["configured"], polygon["state"]) == (False, "no_key")
    assert polygon["state_text"] == "no key (set POLYGON_API_KEY)"
    assert polygon["missing_keys"] == ["POLYGON_API_KEY"] and polygon["routes"] == ["equity"]
    assert polygon["budget"] is None and polygon["calls"] == 0
    sim = by["simulated"]
    assert sim["state"] == "ready" and sim["calls"] > 0 and sim["last_success_at"]
    assert sorted(sim["routes"]) == ["crypto", "equity"]
    assert by["alpaca"]["state_text"] == "no key (set ALPACA_API_KEY and ALPACA_SECRET_KEY)"
    yahoo = by["yahoo"]  # routed nowhere: judged by its keys, not built (no client loaded)
    assert yahoo["configured"] and yahoo["routes"] == [] and not yahoo["active"]
    assert yahoo["budget"] is None and yahoo["state"] == "ready"
    assert binance["active"] and not polygon["active"]
    assert data["resolved"]["crypto"]["1m"] == ["binance", "simulated"]
    assert data["resolved"]["etf"]["1d"] == ["simulated", "polygon"]
    assert data["stale"]["failovers"] > 0 and data["checked_at"]


def test_filters(coord: str) -> None:
    got = _get(coord, "?name=binance&name=polygon")["providers"]
    assert [p["name"] for p in got] == ["binance", "polygon"]
    assert [p["name"] for p in _get(coord, "?name=binance,fmp")["providers"]] == ["binance", "fmp"]
    keyless = {p["name"] for p in _get(coord, "?state=no_key")["providers"]}
    assert keyless == {"alpaca", "alphavantage", "polygon", "tiingo", "fmp"}
    routed = {p["name"] for p in _get(coord, "?routed=true")["providers"]}
    assert routed == {"simulated", "binance", "polygon"}


@pytest.mark.parametrize(("query", "field"), [
    ("?state=asleep", "state"), ("?name=kraken", "name"), ("?routed=maybe", "routed"),
    ("?limit=3", "limit"),
])
def test_bad_queries_are_400_naming_the_field(coord: str, query: str, field: str) -> None:
    err = _get(coord, query, status=400)
    assert err["details"]["field"].startswith(field), err
    assert field in err["message"] or field in str(err["details"])


def test_openapi_documents_the_route(coord: str) -> None:
    spec = requests.get(f"{coord}/openapi.json", timeout=10).json()
    op = spec["paths"]["/api/v1/providers"]["get"]
    assert {p["name"] for p in op["parameters"]} >= {"name", "state", "routed"}
    assert "200" in op["responses"] and "400" in op["responses"]
    assert "ProviderEntry" in str(spec)
