"""The service and its API on a real SQLite file, with bars from an in-memory source whose
"now" the test moves (the data manager's clock does this in production)."""
from __future__ import annotations

import pandas as pd
import pytest

from services.pattern_analysis import create_app
from services.pattern_analysis.service import PatternService
from shared.errors import NotFound
from shared.market.frames import BarArrays
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

    def bars(self, symbol, timeframe, start, end) -> BarArrays:
        if symbol not in self.frames:
            raise NotFound(f"unknown symbol {symbol}", field="symbol")
        df = self.frames[symbol]
        return BarArrays.from_frame(df[(df.index >= start) & (df.index <= end)])


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


def test_batch_answers_what_one_request_per_symbol_does(db, source, tmp_path) -> None:
    from shared.db import Database, migrate
    from tests.conftest import make_settings

    # windows shorter than the bars, so they are kept and extended from request to request;
    # the same bars and clock on a second database: one request per symbol there
    settings = make_settings(tmp_path, patterns__lookback_bars=120)
    other = make_settings(tmp_path / "b", patterns__lookback_bars=120)
    db2 = Database.from_settings(other)
    migrate(db2)
    single = create_app(other, service=PatternService(other, db2, source)).test_client()
    batched: list[list[str]] = []

    def bars_many(symbols, timeframe, start, end):  # one read for all (GET never uses it)
        batched.append(list(symbols))
        return {s: source.bars(s, timeframe, start, end) for s in symbols}

    source.bars_many = bars_many
    batch = create_app(settings, service=PatternService(settings, db, source)).test_client()
    try:
        for minute in (141, 165, 200, 231):  # the kept windows grow between the requests
            source.minute = minute
            resp = batch.post("/api/v1/patterns/batch",
                              json={"symbols": ["DT", "hs", "RNG"], "timeframe": "1m"})
            assert resp.status_code == 200, resp.json
            got = resp.json["data"]
            assert [r["symbol"] for r in got["results"]] == ["DT", "HS", "RNG"]
            for r in got["results"]:
                one = single.get(f"/api/v1/patterns/{r['symbol']}?timeframe=1m").json["data"]
                strip = ("first_seen_at", "updated_at")
                assert [{k: v for k, v in d.items() if k not in strip}
                        for d in r["detections"]] == \
                    [{k: v for k, v in d.items() if k not in strip} for d in one["detections"]]
                assert (r["as_of"], r["bars"], r["count"]) == \
                    (one["as_of"], one["bars"], one["count"])
        assert any(r["count"] for r in got["results"])
        assert batched == [["DT", "HS", "RNG"]] * 3  # the new bars of each later request
    finally:
        db2.close()


def test_batch_reports_an_unknown_symbol_inline_and_serves_the_others(client, source, db
                                                                       ) -> None:
    source.minute = 200
    resp = client.post("/api/v1/patterns/batch",
                       json={"symbols": ["DT", "NOPE"], "timeframe": "1m",
                             "pattern": ["double_top"], "limit": 5})
    assert resp.status_code == 200, resp.json
    dt, nope = resp.json["data"]["results"]
    assert dt["symbol"] == "DT" and [d["pattern"] for d in dt["detections"]] == ["double_top"]
    assert nope == {"symbol": "NOPE", "error": {"code": "not_found",
                                                "message": "unknown symbol NOPE"}}
    assert db.fetch_one("SELECT COUNT(*) FROM chart_scan_state")[0] == 1


@pytest.mark.parametrize("body,field", [
    ({"symbols": []}, "symbols"),
    ({"symbols": ["DT", "bad sym!"]}, "symbols.1"),
    ({"symbols": ["DT"], "timeframe": "7m"}, "timeframe"),
    ({"symbols": ["DT"], "status": ["nope"]}, "status.0"),
    ({"symbols": ["DT"], "limit": 0}, "limit"),
    ({"symbols": ["DT"], "bogus": 1}, "bogus"),
])
def test_batch_bad_input_is_a_400_naming_the_field(client, body, field) -> None:
    resp = client.post("/api/v1/patterns/batch", json=body)
    assert resp.status_code == 400, resp.json
    assert resp.json["error"]["details"]["field"] == field


def test_batch_is_documented_and_leaves_get_of_a_symbol_named_batch_alone(client, source
                                                                          ) -> None:
    spec = client.get("/openapi.json").json
    spec = spec.get("data", spec)
    assert "post" in spec["paths"]["/api/v1/patterns/batch"]
    source.frames["BATCH"] = source.frames["DT"]
    source.minute = 100
    assert client.get("/api/v1/patterns/BATCH?timeframe=1m").json["data"]["bars"] == 100
