"""Provider selection from the settings, failover behind breakers, the 429 wait and the stale
fallback, with fake providers registered through the data manager's ``extra_providers``."""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import pytest

from shared.config import Settings, load_settings
from shared.errors import ConfigError, NotFound, RateLimited, UpstreamUnavailable
from shared.market import DataManager
from shared.market.provider_report import providers_report
from shared.market.routing import resolve_route, route_keys
from tests.conftest import make_settings

DESIGN = {  # the design's rules, as config/providers.example.yaml ships them
    "crypto": ["binance"],
    "equity:daily": ["yahoo", "alpaca", "alphavantage", "polygon", "tiingo"],
    "equity:intraday": ["alpaca", "alphavantage", "polygon", "tiingo"],
}
ALL_TF = frozenset({"1m", "5m", "15m", "1h", "1d"})


@pytest.mark.parametrize(("cls", "tf", "chain"), [
    ("crypto", "1m", ["binance"]),
    ("crypto", "1d", ["binance"]),
    ("equity", "1d", ["yahoo", "alpaca", "alphavantage", "polygon", "tiingo"]),
    ("equity", "5m", ["alpaca", "alphavantage", "polygon", "tiingo"]),
    ("etf", "1d", ["yahoo", "alpaca", "alphavantage", "polygon", "tiingo"]),  # equity's keys
    ("etf", "1h", ["alpaca", "alphavantage", "polygon", "tiingo"]),
    ("fx", "15m", ["simulated"]),  # no fx route: the built-in market
])
def test_design_routes_resolve(cls: str, tf: str, chain: list[str]) -> None:
    assert resolve_route(DESIGN, cls, tf) == chain


def test_the_most_specific_key_wins() -> None:
    routes = {"equity": ["csv"], "equity:intraday": ["polygon"], "equity:5m": ["tiingo"],
              "etf": ["yahoo"]}
    assert resolve_route(routes, "equity", "5m") == ["tiingo"]
    assert resolve_route(routes, "equity", "1m") == ["polygon"]
    assert resolve_route(routes, "equity", "1d") == ["csv"]
    assert resolve_route(routes, "etf", "5m") == ["yahoo"]  # its own class before equity's
    assert resolve_route({}, "fx", "1d") == ["simulated"]
    assert route_keys("etf", "1d") == ["etf:1d", "etf:daily", "etf", "equity:1d",
                                       "equity:daily", "equity"]


def test_the_shipped_example_and_the_offline_default(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    s = load_settings(root / "config" / "providers.example.yaml", environ={})
    assert s.market.routes == DESIGN
    assert set(s.market.file_cache_sources) >= {"yahoo", "binance", "alphavantage", "polygon",
                                                "tiingo", "alpaca"}
    default = load_settings(root / "config" / "default.yaml", environ={})
    assert {p for chain in default.market.routes.values() for p in chain} == {"simulated"}


def test_bad_route_keys_and_names_stop_the_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="route key 'stocks'"):
        make_settings(tmp_path, market__routes={"stocks": ["yahoo"]})
    with pytest.raises(ConfigError, match="equity:weekly"):
        make_settings(tmp_path, market__routes={"equity:weekly": ["yahoo"]})
    with pytest.raises(ConfigError, match="market.routes.crypto.0"):
        make_settings(tmp_path, market__routes={"crypto": ["kraken"]})


def test_manager_routes_by_the_classifier(db, market_settings: Settings, controller) -> None:
    s = _with(market_settings, routes=DESIGN, etf_symbols=["VTI"])
    dm = DataManager(s, db, clock=controller.clock, owner=True)
    assert dm.route("BTC/USD", "1m")[0] == "binance"
    assert dm.route("EUR/USD", "1d") == ["simulated"]
    assert dm.route("SPY", "1d")[0] == "yahoo" and dm.route("VTI", "1m")[0] == "alpaca"
    assert dm.route("AAPL", "15m")[0] == "alpaca"


# -- failover --------------------------------------------------------------------------
class Fake:
    """A provider honouring the sources' contract; ``mode`` decides its answer."""

    asset_classes = frozenset({"equity", "etf"})
    timeframes = ALL_TF

    def __init__(self, name: str, inner=None, mode: str = "ok") -> None:
        self.name, self.inner, self.mode, self.calls = name, inner, mode, 0
        self.next_slot_s = 0.0

    def fetch_bars(self, symbol, timeframe, start, end):
        self.calls += 1
        if self.mode == "500":
            raise UpstreamUnavailable(f"{self.name} answered HTTP 500", field="provider")
        if self.mode == "429":
            raise RateLimited(f"{self.name}: too many requests",
                              details={"retry_after_s": 2.0})
        if self.mode == "missing":
            raise NotFound(f"{self.name} knows no {symbol}", field="symbol")
        return self.inner.fetch_bars(symbol, timeframe, start, end)

    def health(self):
        return {"mode": self.mode}

    def budget(self):
        return {"limit": 5, "period_s": 60, "remaining": 0 if self.next_slot_s else 5,
                "next_slot_s": self.next_slot_s}


def _with(settings: Settings, **market) -> Settings:
    return settings.model_copy(update={"market": settings.market.model_copy(update=market)})


@pytest.fixture
def chain(db, market_settings: Settings, controller, monkeypatch: pytest.MonkeyPatch):
    """A manager whose equity chain is alphavantage (no key), polygon (down), tiingo (up)."""
    for var in ("ALPHAVANTAGE_API_KEY", "POLYGON_API_KEY", "TIINGO_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    fakes: dict[str, Fake] = {}
    s = _with(market_settings, routes={"equity": ["alphavantage", "polygon", "tiingo"],
                                       "crypto": ["simulated"]},
              breaker_fail_max=2, breaker_reset_s=60.0, file_cache_sources=["polygon", "tiingo"])

    def fake(name: str, mode: str):
        return lambda: fakes.setdefault(name, Fake(name, dm.providers.get("simulated"), mode))

    dm = DataManager(s, db, clock=controller.clock, owner=True, extra_providers={
        "alphavantage": lambda: None, "polygon": fake("polygon", "500"),
        "tiingo": fake("tiingo", "ok")})
    controller.advance("2024-03-05T15:00Z")
    yield dm, fakes, controller
    dm.close()


def test_failover_skips_the_keyless_and_passes_the_failing(chain) -> None:
    dm, fakes, ctl = chain
    sym = "AAPL"
    df = dm.get_historical_data(sym, "1m", start="2024-03-05")
    assert len(df) == 30 and not df.attrs["stale"]
    assert df.attrs["source"] == "tiingo"
    assert (fakes["polygon"].calls, fakes["tiingo"].calls) == (1, 1)
    st = dm.providers.status
    assert st["alphavantage"].calls == 0 and st["alphavantage"].failures == 0  # skipped
    assert st["polygon"].failures == 1 and "HTTP 500" in st["polygon"].last_error
    assert dm.counters["failovers"] == 1


def test_breaker_opens_after_fail_max_and_is_skipped(chain) -> None:
    dm, fakes, ctl = chain
    for _ in range(4):
        ctl.step()
        assert len(dm.get_historical_data("AAPL", "1m", start="2024-03-05"))
    assert fakes["polygon"].calls == 2  # breaker_fail_max, then skipped while open
    assert fakes["tiingo"].calls == 4
    br = dm.providers.breakers["polygon"]
    assert br.current_state == "open" and dm.providers.status["polygon"].skipped_open == 2
    until = dm.providers.open_until("polygon")
    assert until is not None and 55 < until - time.time() <= 60
    entry = _entry(dm, "polygon")
    assert entry["state"] == "breaker_open" and entry["state_text"].startswith("breaker open until")
    assert entry["breaker"]["fail_counter"] == 2 and entry["failures"] == 2
    assert _entry(dm, "tiingo")["state"] == "ready"


def test_not_found_moves_on_without_counting(chain) -> None:
    dm, fakes, ctl = chain
    dm.providers.get("polygon").mode = "missing"
    assert len(dm.get_historical_data("AAPL", "1m", start="2024-03-05")) == 30
    st = dm.providers.status["polygon"]
    assert st.calls == 1 and st.failures == 0
    assert dm.providers.breakers["polygon"].fail_counter == 0


def test_a_429_counts_and_waits_for_the_budget(chain) -> None:
    dm, fakes, ctl = chain
    polygon = dm.providers.get("polygon")
    polygon.mode, polygon.next_slot_s = "429", 5.0
    assert len(dm.get_historical_data("AAPL", "1m", start="2024-03-05")) == 30
    st = dm.providers.status["polygon"]
    assert (st.failures, st.rate_limited) == (1, 1)
    assert dm.providers.breakers["polygon"].fail_counter == 1  # counted by the breaker
    assert 4 < st.wait_until - time.time() <= 5  # the later of budget (5 s) and Retry-After (2 s)
    ctl.step()
    dm.get_historical_data("AAPL", "1m", start="2024-03-05")
    assert polygon.calls == 1  # not asked again while it waits
    entry = _entry(dm, "polygon")
    assert entry["state"] == "rate_limited" and entry["budget"]["next_slot_s"] == 5.0
    st.wait_until = time.time() - 1  # its slot has come: asked again
    polygon.mode = "ok"
    ctl.step()
    dm.get_historical_data("AAPL", "1m", start="2024-03-05")
    assert polygon.calls == 2 and st.wait_until is None


def test_all_fail_serves_stored_bars_stale_with_the_reason(chain) -> None:
    dm, fakes, ctl = chain
    assert len(dm.get_historical_data("AAPL", "1m", start="2024-03-05")) == 30
    fakes["tiingo"].mode = "500"
    ctl.step(5)
    df = dm.get_historical_data("AAPL", "1m", start="2024-03-05")
    assert df.attrs["stale"] and len(df) == 30
    reasons = " | ".join(df.attrs["errors"])
    assert "alphavantage: skipped" in reasons and "polygon" in reasons and "tiingo" in reasons
    report = providers_report(dm)
    assert report["stale"]["served"] == 1 and report["stale"]["last"]["symbol"] == "AAPL"
    assert "tiingo answered HTTP 500" in " ".join(report["stale"]["last"]["reason"])


def test_all_fail_serves_the_file_cache_stale(chain, db) -> None:
    dm, fakes, ctl = chain
    idx = pd.date_range("2024-03-05T14:30Z", periods=10, freq="1min")
    sim = dm.providers.get("simulated").fetch_bars("MSFT", "1m", idx[0], idx[-1] + pd.Timedelta("1min"))
    dm.files.write("MSFT", "1m", sim, source="polygon")  # an earlier run's download
    fakes_mode = {"tiingo": "500"}
    dm.providers.get("tiingo").mode = fakes_mode["tiingo"]
    df = dm.get_historical_data("MSFT", "1m", start="2024-03-05")
    assert df.attrs["stale"] and len(df) == 10
    assert (df["close"].to_numpy() == sim["close"].to_numpy()).all()


def test_report_lists_every_provider(chain) -> None:
    dm, fakes, ctl = chain
    report = providers_report(dm, environ={})
    names = [p["name"] for p in report["providers"]]
    assert names[:3] == ["simulated", "csv", "alpaca"]
    assert {"yahoo", "binance", "alphavantage", "polygon", "tiingo", "fmp"} <= set(names)
    av = next(p for p in report["providers"] if p["name"] == "alphavantage")
    assert (av["configured"], av["state"]) == (False, "no_key")
    assert av["state_text"] == "no key (set ALPHAVANTAGE_API_KEY)"
    assert av["routes"] == ["equity"]
    sim = next(p for p in report["providers"] if p["name"] == "simulated")
    assert sim["configured"] and sim["state"] == "ready" and "equity" in sim["asset_classes"]
    assert report["resolved"]["equity"]["1m"] == ["alphavantage", "polygon", "tiingo"]


def _entry(dm: DataManager, name: str) -> dict:
    return providers_report(dm, names=[name])["providers"][0]


def test_a_reader_behind_the_owner_says_stale_and_why(db, market_settings: Settings,
                                                      controller) -> None:
    from tests.conftest import own_market

    controller.advance("2024-03-05T15:00Z")
    own_market(market_settings, db, controller.clock)
    reader = DataManager(market_settings, db, clock=controller.clock)
    fresh = reader.get_historical_data("AAPL", "1m", start="2024-03-05")
    assert not fresh.attrs["stale"] and "errors" not in fresh.attrs
    controller.advance("2024-03-05T15:30Z")  # the owner has not caught up
    reader._feed = (-1e9, None, 0)  # its once-a-second view of the owner, read again now
    df = reader.get_historical_data("AAPL", "1m", start="2024-03-05")
    assert df.attrs["stale"] and len(df) == 30
    assert df.attrs["errors"] == ["the market-data owner (coordination) has stored bars "
                                  "through 2024-03-05T15:00:00+00:00 only; the clock is at "
                                  "2024-03-05T15:30:00+00:00"]


@pytest.mark.parametrize(("kw", "state", "words"), [
    ({}, "ready", "ready"),
    ({"configured": False, "missing_keys": ["POLYGON_API_KEY"]}, "no_key",
     "no key (set POLYGON_API_KEY)"),
    ({"configured": False, "missing_keys": ["A", "B"]}, "no_key", "no key (set A and B)"),
    ({"configured": False}, "unavailable", "not available in this installation"),
    ({"breaker": "open", "open_until": 1_700_000_060.0}, "breaker_open",
     "breaker open until 2023-11-14T22:14:20+00:00"),
    ({"breaker": "open", "open_until": 1_699_999_000.0}, "breaker_open",
     "breaker open; the next call tries again"),
    ({"wait_until": 1_700_000_005.0, "fail_counter": 1}, "rate_limited",
     "rate limited until 2023-11-14T22:13:25+00:00"),
    ({"fail_counter": 2}, "failing", "2 failure(s) in a row"),
    ({"breaker": "half-open"}, "failing", "breaker half-open; the next call decides"),
])
def test_provider_state_in_words(kw: dict, state: str, words: str) -> None:
    from shared.market.provider_report import provider_state

    args = {"configured": True, "missing_keys": [], "breaker": "closed", "open_until": None,
            "wait_until": None, "fail_counter": 0, "now": 1_700_000_000.0, **kw}
    assert provider_state(**args) == (state, words)
