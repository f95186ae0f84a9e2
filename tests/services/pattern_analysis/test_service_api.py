"""The service and its API on a real SQLite file, with bars from an in-memory source whose
"now" the test moves (the data manager's clock does this in production)."""
from __future__ import annotations

import pandas as pd
import pytest

from services.pattern_analysis import create_app
from services.pattern_analysis.service import PatternService
from shared.errors import NotFound
from tests.services.pattern_analysis.planted import (
    DOUBLE_TOP,
    HEAD_SHOULDERS,
    RANGE_BREAKOUT,
    SPIKE,
)
from tests.services.pattern_analysis.series import T0, path_frame


class FakeSource:
    """Serves whole frames (future bars included) so the service's own filter is tested."""

    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        self.frames = frames
        self.minute = 0

    def now(self) -> pd.Timestamp:
        return T0 + pd.Timedelta(minutes=self.minute)

    def bars(self, symbol, timeframe, start, end):
        if symbol not in self.frames:
            raise NotFound(f"unknown symbol {symbol}", field="symbol")
        df = self.frames[symbol]
        return df[(df.index >= start) & (df.index <= end)]


@pytest.fixture
def source() -> FakeSource:
    spikes = {i: SPIKE for i in range(146, 156)}
    return FakeSource({
        "DT": path_frame(DOUBLE_TOP + [(230, 92)], seed=0, spikes=spikes),
        "HS": path_frame(HEAD_SHOULDERS, seed=1, spikes={i: SPIKE for i in range(168, 180)}),
        "RNG": path_frame(RANGE_BREAKOUT[:8], seed=2, noise=0.03),
        "FAIL": path_frame(DOUBLE_TOP[:4] + [(135, 99.0), (170, 103.0)], seed=1),
    })


@pytest.fixture
def service(settings, db, source) -> PatternService:
    return PatternService(settings, db, source)


@pytest.fixture
def client(settings, service):
    return create_app(settings, service=service).test_client()


def _double_tops(client, symbol: str = "DT") -> list[dict]:
    resp = client.get(f"/api/v1/patterns/{symbol}?timeframe=1m&pattern=double_top")
    assert resp.status_code == 200, resp.json
    return resp.json["data"]["detections"]


def test_detection_is_updated_in_place_as_bars_arrive(client, source, db) -> None:
    source.minute = 141  # bars 0..140 are visible
    first = _double_tops(client)
    assert [d["status"] for d in first] == ["forming"]
    source.minute = 165
    second = _double_tops(client)
    assert [d["status"] for d in second] == ["confirmed"]
    assert second[0]["id"] == first[0]["id"] and second[0]["confirmed_ts"] is not None
    source.minute = 231
    assert [d["status"] for d in _double_tops(client)] == ["completed"]
    n = db.fetch_one("SELECT COUNT(*) FROM chart_patterns WHERE pattern = 'double_top'")[0]
    assert n == 1


def test_key_prices_are_two_decimal_strings_and_cent_micros(client, source, db) -> None:
    source.minute = 165
    det = _double_tops(client)[0]
    kp = det["key_prices"]
    for name in ("neckline", "breakout_level", "target", "invalidation"):
        whole, frac = kp[name].split(".")
        assert len(frac) == 2
    assert abs(float(kp["neckline"]) - 97.0) < 0.6
    assert {p["name"] for p in det["pivots"]} == {"first", "neck", "second"}
    assert "symmetry" in det["measurements"] and 0.5 <= det["confidence"] <= 1
    row = db.fetch_one("SELECT neckline_micros, target_micros FROM chart_patterns "
                       "WHERE pattern = 'double_top'")
    assert row[0] % 10_000 == 0 and row[1] % 10_000 == 0


def test_no_bar_after_the_clock_is_used(client, source) -> None:
    source.minute = 100
    data = client.get("/api/v1/patterns/DT?timeframe=1m").json["data"]
    assert data["bars"] == 100
    assert data["as_of"] == (T0 + pd.Timedelta(minutes=99)).isoformat()
    assert all(d["end_ts"] <= data["as_of"] for d in data["detections"])


def test_levels_endpoint(client, source) -> None:
    source.minute = 141
    data = client.get("/api/v1/levels/RNG?timeframe=1m").json["data"]
    res = [lv for lv in data["levels"] if abs(float(lv["price"]) - 100.0) < 0.2]
    assert res and res[0]["kind"] == "resistance" and res[0]["touches"] >= 3
    assert len(res[0]["touch_ts"]) == res[0]["touches"]
    assert data["last_close"] is not None


def test_forming_pattern_that_fails_is_marked_invalidated(client, source) -> None:
    source.minute = 131
    assert [d["status"] for d in _double_tops(client, "FAIL")] == ["forming"]
    source.minute = 171
    assert [d["status"] for d in _double_tops(client, "FAIL")] == ["invalidated"]


def test_scan_batch(client, source, db) -> None:
    source.minute = 200
    resp = client.post("/api/v1/patterns/scan", json={"symbols": ["DT", "hs"], "timeframe": "1m"})
    assert resp.status_code == 200, resp.json
    results = {r["symbol"]: r for r in resp.json["data"]["results"]}
    assert set(results) == {"DT", "HS"} and all(r["analyzed"] for r in results.values())
    hs = client.get("/api/v1/patterns/HS?pattern=head_and_shoulders").json["data"]
    assert hs["count"] == 1 and hs["detections"][0]["status"] in ("confirmed", "completed")
    again = client.post("/api/v1/patterns/scan", json={"symbols": ["DT"]}).json["data"]
    assert again["results"][0]["analyzed"] is False  # no new bar: nothing to redo


def test_scan_with_an_unknown_symbol_writes_nothing(client, source, db) -> None:
    source.minute = 200
    resp = client.post("/api/v1/patterns/scan", json={"symbols": ["DT", "NOPE"]})
    assert resp.status_code == 404
    assert resp.json["error"]["details"]["field"] == "symbols.1"
    assert db.fetch_one("SELECT COUNT(*) FROM chart_scan_state")[0] == 0
    assert db.fetch_one("SELECT COUNT(*) FROM chart_patterns")[0] == 0


@pytest.mark.parametrize("method,url,body,field", [
    ("get", "/api/v1/patterns/DT?timeframe=2m", None, "timeframe"),
    ("get", "/api/v1/patterns/DT?status=nope", None, "status.0"),
    ("get", "/api/v1/patterns/DT?min_confidence=2", None, "min_confidence"),
    ("get", "/api/v1/patterns/DT?bogus=1", None, "bogus"),
    ("get", "/api/v1/levels/bad%20sym!", None, "symbol"),
    ("post", "/api/v1/patterns/scan", {"symbols": []}, "symbols"),
    ("post", "/api/v1/patterns/scan", {"symbols": ["DT", "bad sym!"]}, "symbols.1"),
    ("post", "/api/v1/patterns/scan", {"symbols": ["DT"], "timeframe": "7m"}, "timeframe"),
])
def test_bad_input_is_a_400_naming_the_field(client, method, url, body, field) -> None:
    resp = client.get(url) if method == "get" else client.post(url, json=body)
    assert resp.status_code == 400, resp.json
    assert resp.json["error"]["details"]["field"] == field


def test_scan_limit(settings, db, source, tmp_path) -> None:
    from tests.conftest import make_settings

    small = make_settings(tmp_path, patterns__scan_max_symbols=1)
    client = create_app(small, service=PatternService(small, db, source)).test_client()
    resp = client.post("/api/v1/patterns/scan", json={"symbols": ["DT", "HS"]})
    assert resp.status_code == 400 and resp.json["error"]["details"]["field"] == "symbols"
