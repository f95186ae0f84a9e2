"""PATCH /api/v1/strategy refuses what cannot be traded: unknown presets, non-finite or absurd
numbers, sizes beyond the account; a refused change stores nothing; a good one reads back
exactly as set."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from services.coordination import create_app
from tests.services.coordination.fakes import FakeGateway

PRESETS = "day_trading, gappers, momentum, reversal, unusual_volume"


@pytest.fixture
def client(settings, db):  # type: ignore[no-untyped-def]
    app = create_app(settings)
    app.extensions["service"]._gateway = FakeGateway()  # the account's equity is $100,000
    return app.test_client()


def _patch(client: Any, body: object, raw: str | None = None) -> Any:
    if raw is not None:
        return client.patch("/api/v1/strategy", data=raw, content_type="application/json")
    return client.patch("/api/v1/strategy", json=body)


@pytest.mark.parametrize(("body", "field", "words"), [
    ({"scanner_preset": "gapers"}, "scanner_preset", f"valid: {PRESETS}"),
    ({"weights": {"technical": 1e308}}, "weights.technical", "a number from 0 to 10"),
    ({"weights": {"news": -0.1}}, "weights.news", "a number from 0 to 10"),
    ({"weights": {"technical": 0, "patterns": 0, "candles": 0, "news": 0}}, "weights",
     "at least one weight"),
    ({"sizing": {"fixed_dollars": "Infinity"}}, "sizing.fixed_dollars",
     "must be a number above 0 and at most the account's equity ($100,000.00); got 'Infinity'"),
    ({"sizing": {"fixed_dollars": 250_000}}, "sizing.fixed_dollars",
     "at most the account's equity ($100,000.00)"),
    ({"sizing": {"risk_dollars": 1e6}}, "sizing.risk_dollars", "account's equity"),
    ({"sizing": {"risk_pct": 50}}, "sizing.risk_pct", "above 0 and up to 10"),
    ({"sizing": {"equity_pct": "NaN"}}, "sizing.equity_pct", "above 0 and up to 100"),
    ({"max_positions": -1}, "max_positions", "a whole number from 1 to 500"),
    ({"max_holding_minutes": -5}, "max_holding_minutes", "from 1 to 390 (or empty for none)"),
    ({"no_entry_minutes_before_close": -1}, "no_entry_minutes_before_close", "from 0 to 390"),
    ({"block_news_below": 3}, "block_news_below", "a number from -1 to 1"),
    ({"timeframe": "2m"}, "timeframe", "one of 1m, 5m, 15m, 1h, 1d"),
])
def test_bad_settings_are_400_naming_field_and_range(client, body, field, words) -> None:  # type: ignore[no-untyped-def]
    before = client.get("/api/v1/strategy").get_json()["data"]
    r = _patch(client, body)
    assert r.status_code == 400, r.get_json()
    err = r.get_json()["error"]
    assert err["details"]["field"] == field
    assert field in err["message"] and words in err["message"], err["message"]
    assert client.get("/api/v1/strategy").get_json()["data"] == before  # nothing stored
    assert client.get("/api/v1/strategy/changes").get_json()["data"] == []


@pytest.mark.parametrize("raw", ['{"weights": {"news": NaN}}',
                                 '{"sizing": {"fixed_dollars": Infinity}}',
                                 '{"entry_threshold": -Infinity}'])
def test_json_nan_and_infinity_literals_are_refused(client, raw) -> None:  # type: ignore[no-untyped-def]
    r = _patch(client, None, raw)
    assert r.status_code == 400, r.get_json()
    assert "valid JSON" in r.get_json()["error"]["message"]  # refused before any setting
    assert client.get("/api/v1/strategy/changes").get_json()["data"] == []


def test_every_bad_field_is_listed_and_a_good_one_with_them_is_not_stored(client) -> None:  # type: ignore[no-untyped-def]
    r = _patch(client, {"entry_threshold": 0.3, "max_positions": 0,
                        "weights": {"candles": 11}, "scanner_preset": "nope"})
    assert r.status_code == 400
    fields = {e["field"] for e in r.get_json()["error"]["details"]["errors"]}
    assert fields == {"max_positions", "weights.candles"}  # the preset is checked once valid
    assert client.get("/api/v1/strategy").get_json()["data"]["entry_threshold"] == 0.25


def test_the_default_preset_is_the_scanners_day_trading_one(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/strategy").get_json()["data"]["scanner_preset"] == "day_trading"


def test_settings_read_back_exactly_as_set(client) -> None:  # type: ignore[no-untyped-def]
    patch = {"scanner_preset": "momentum", "allow_short": False, "max_positions": 7,
             "weights": {"technical": 0.45, "patterns": 0.3, "candles": 0.05, "news": 0.2},
             "sizing": {"method": "fixed", "fixed_dollars": "2500.50", "risk_dollars": "99.99",
                        "max_position_pct": 12.5},
             "max_holding_minutes": None, "entry_threshold": 0.333}
    r = _patch(client, patch)
    assert r.status_code == 200, r.get_json()
    got = client.get("/api/v1/strategy").get_json()["data"]
    money = {"fixed_dollars", "risk_dollars"}  # exact Decimals, strings in JSON
    for k, v in patch.items():
        if isinstance(v, dict):
            assert {kk: got[k][kk] for kk in v if kk not in money} == \
                {kk: x for kk, x in v.items() if kk not in money}
            for kk in money & set(v):
                assert isinstance(got[k][kk], str) and Decimal(got[k][kk]) == Decimal(v[kk])
        else:
            assert got[k] == v
    assert json.loads(json.dumps(got)) == got  # plain JSON: no NaN/Infinity could be stored
    log = client.get("/api/v1/strategy/changes").get_json()["data"]
    changed = {c["key"]: (c["old_value"], c["new_value"]) for c in log}
    assert changed["sizing.fixed_dollars"] == ("5000", "2500.50")  # money: exact strings
    assert changed["scanner_preset"] == ("day_trading", "momentum")
    assert all(c["changed_by"] and c["changed_at"] for c in log)
    # no preset at all is a choice too
    assert _patch(client, {"scanner_preset": None}).status_code == 200
    assert client.get("/api/v1/strategy").get_json()["data"]["scanner_preset"] is None
