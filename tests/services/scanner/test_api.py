"""Scanner endpoints on a real migrated database and the simulated market."""
from __future__ import annotations

import pytest

from services.scanner import create_app
from tests.conftest import make_settings, own_market

#: What a scan reads: 5m bars of today and 60 days of daily bars.
SCAN_HISTORY = {"5m": 2, "1d": 62}


@pytest.fixture
def settings(tmp_path):  # type: ignore[no-untyped-def]
    # a small universe: the market owner stores its 60 days of history for each test
    return make_settings(tmp_path, market__universe_size=40, market__crypto_symbols=[])


@pytest.fixture
def client(settings, db):  # type: ignore[no-untyped-def]
    own_market(settings, db, history_days=SCAN_HISTORY)
    return create_app(settings).test_client()


def universe(client, n: int = 12) -> list[str]:  # type: ignore[no-untyped-def]
    return [u["symbol"] for u in client.application.extensions["service"].universe()[:n]]


def test_scan_stores_and_explains(client, db) -> None:  # type: ignore[no-untyped-def]
    syms = universe(client)
    r = client.post("/api/v1/scan", json={"preset": None, "symbols": syms,
                                          "filters": {"min_price": 1, "min_avg_volume": 1}})
    assert r.status_code == 200, r.json
    data = r.json["data"]
    assert data["universe_size"] == len(syms) and data["matched"] >= 1
    top = data["results"][0]
    assert {e["filter"] for e in top["explanation"]} == {"min_price", "min_avg_volume"}
    latest = client.get("/api/v1/scan/latest").json["data"]
    assert latest["id"] == data["id"] and latest["clock_ts"] == data["clock_ts"]
    assert [x["symbol"] for x in latest["results"]] == [x["symbol"] for x in data["results"]]
    # the stored scan reads like the fresh one, sector included (the dashboard's column)
    assert [x["sector"] for x in latest["results"]] == [x["sector"] for x in data["results"]]
    assert all(x["sector"] for x in latest["results"])
    n = db.fetch_one("SELECT COUNT(*) AS n FROM scan_results WHERE run_id = ?", (data["id"],))
    assert n["n"] == len(data["results"])


def test_presets_listed_and_usable(client) -> None:  # type: ignore[no-untyped-def]
    presets = client.get("/api/v1/scan/presets").json["data"]
    default = client.get("/api/v1/scan/presets/default").json["data"]
    assert default == {"preset": "day_trading", "filters": presets["day_trading"]}
    assert set(presets) == {"day_trading", "gappers", "momentum", "reversal", "unusual_volume"}
    syms = universe(client, 5)
    r = client.post("/api/v1/scan", json={"preset": "gappers", "symbols": syms,
                                          "filters": {"min_gap_pct": -100}})
    assert r.status_code == 200
    assert r.json["data"]["filters"]["min_gap_pct"] == -100  # the override wins
    assert r.json["data"]["filters"]["min_rvol"] == 1.5  # the rest of the preset stays


@pytest.mark.parametrize(("body", "field"), [
    ({"preset": "nope"}, "preset"),
    ({"filters": {"min_rsi": 120}}, "filters.min_rsi"),
    ({"filters": {"min_price": 5, "max_price": 1}}, "filters"),
    ({"filters": {"colour": "red"}}, "filters.colour"),
    ({"limit": 0}, "limit"),
])
def test_bad_scans_are_400_naming_the_field(client, body, field) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/scan", json=body)
    assert r.status_code == 400
    assert r.json["error"]["details"]["field"] == field


def test_latest_is_404_before_any_scan(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/scan/latest").status_code == 404


def test_bad_preset_in_settings_stops_start(tmp_path, db) -> None:  # type: ignore[no-untyped-def]
    from shared.errors import ConfigError

    s = make_settings(tmp_path, scanner__presets={"x": {"min_rsii": 3}},
                      scanner__default_preset="x")
    with pytest.raises(ConfigError, match="scanner.presets.x"):
        create_app(s)
