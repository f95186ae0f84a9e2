"""The fundamentals file cache (layout, expiry on an injected clock, old files removed), the
combiner (priority, sources, disagreements) and the cache-first reader over them."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from shared.errors import NotFound, ServiceUnavailable
from shared.market import get_calendar
from shared.market.fundamentals import Fundamentals, FundamentalsStore, combine
from shared.market.fundamentals.simulated import SimulatedFundamentals, path_price_scale
from shared.market.symbols import universe_map


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 3, 1, 14, 30, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class FakeProvider:
    """A provider honouring the sources contract: ``fetch_fundamentals(symbol) -> dict``."""

    def __init__(self, **values: object) -> None:
        self.values = values
        self.calls = 0
        self.fail = False

    def fetch_fundamentals(self, symbol: str) -> dict[str, object]:
        self.calls += 1
        if self.fail:
            raise ServiceUnavailable("provider down")
        return {"name": f"{symbol} Inc.", **self.values}


def test_layout_name_and_path_safe_symbol_like_the_bar_cache(tmp_path: Path) -> None:
    clock = Clock()
    store = FundamentalsStore(tmp_path, timedelta(days=7), clock=clock)
    e = store.write("BTC/USD", "fmp", {"market_cap": 1.5e12, "sector": "Crypto"})
    assert e.path == tmp_path / "BTC-USD" / "fundamentals" / "fmp_20240301_143005.json"
    # the symbol's folder is the one the bar cache uses (shared/market/filecache.py)
    assert e.path.parents[1].name == "BTC-USD"
    body = json.loads(e.path.read_text())
    assert body["provider"] == "fmp" and body["fetched_at"] == "2024-03-01T14:30:05+00:00"
    assert body["data"]["market_cap"] == "1500000000000"   # a decimal string, no exponent
    assert [p.name for p in e.path.parent.iterdir()] == [e.path.name]  # no temp file left


def test_seven_day_expiry_on_the_injected_clock(tmp_path: Path) -> None:
    clock = Clock()
    store = FundamentalsStore(tmp_path, timedelta(days=7), clock=clock)
    store.write("AAPL", "fmp", {"pe_ratio": "30"})
    assert store.fresh(store.read("AAPL", "fmp"))
    clock.now += timedelta(days=7) - timedelta(seconds=1)
    assert store.fresh(store.read("AAPL", "fmp"))
    clock.now += timedelta(seconds=1)
    entry = store.read("AAPL", "fmp")
    assert entry is not None and not store.fresh(entry)   # still there, but expired


def test_newer_write_removes_the_providers_older_files_only(tmp_path: Path) -> None:
    clock = Clock()
    store = FundamentalsStore(tmp_path, timedelta(days=7), clock=clock)
    first = store.write("AAPL", "fmp", {"pe_ratio": "30"})
    other = store.write("AAPL", "yahoo", {"pe_ratio": "31"})
    clock.now += timedelta(days=8)
    newer = store.write("AAPL", "fmp", {"pe_ratio": "32"})
    names = sorted(p.name for p in store.folder("AAPL").iterdir())
    assert names == sorted([newer.path.name, other.path.name])
    assert not first.path.exists()
    assert store.read("AAPL", "fmp").data["pe_ratio"] == "32"


def test_memory_layer_serves_repeats_and_sees_another_writer(tmp_path: Path) -> None:
    clock = Clock()
    store = FundamentalsStore(tmp_path, timedelta(days=7), clock=clock, memory_size=4)
    store.write("AAPL", "fmp", {"pe_ratio": "30"})
    store.read("AAPL", "fmp")
    hits = store.hits
    assert store.read("AAPL", "fmp").data["pe_ratio"] == "30" and store.hits == hits + 1
    # another process (a second store on the same folder) writes a newer file
    clock.now += timedelta(seconds=2)
    FundamentalsStore(tmp_path, timedelta(days=7), clock=clock).write("AAPL", "fmp",
                                                                      {"pe_ratio": "35"})
    assert store.read("AAPL", "fmp").data["pe_ratio"] == "35"


def test_combiner_priority_sources_and_disagreements() -> None:
    records = {
        "simulated": {"market_cap": "2900000000000", "sector": "Technology", "pe_ratio": "27",
                      "beta": "1.06", "industry": "Consumer Electronics"},
        "yahoo": {"market_cap": "3000000000000", "sector": "technology ", "pe_ratio": "31.5",
                  "beta": None, "industry": "Consumer Electronics"},
        "fmp": {"market_cap": "3050000000000", "sector": "Information Technology",
                "pe_ratio": None, "beta": None},
    }
    out = combine(records, ["fmp", "yahoo", "alphavantage", "simulated"], Decimal("0.05"))
    assert out.record["market_cap"] == "3050000000000" and out.sources["market_cap"] == "fmp"
    assert out.record["pe_ratio"] == "31.5" and out.sources["pe_ratio"] == "yahoo"
    assert out.record["beta"] == "1.06" and out.sources["beta"] == "simulated"
    assert out.record["eps"] is None and "eps" not in out.sources
    by_field = {d["field"]: d for d in out.disagreements}
    # 3.05T vs 2.9T is 4.9 %: within 5 %; 31.5 vs 27 is 14 %: reported with every value
    assert "market_cap" not in by_field
    assert by_field["pe_ratio"]["values"] == {"yahoo": "31.5", "simulated": "27"}
    assert by_field["pe_ratio"]["chosen"] == "yahoo"
    assert by_field["pe_ratio"]["max_relative_diff"] == "0.1429"
    # text differs (case and spaces aside): FMP's sector against the others'
    assert by_field["sector"]["values"]["fmp"] == "Information Technology"
    assert "industry" not in by_field
    tight = combine(records, ["fmp", "yahoo", "simulated"], "0.01")
    assert "market_cap" in {d["field"] for d in tight.disagreements}


def _reader(tmp_path: Path, clock: Clock, providers: dict, writable: bool = True) -> Fundamentals:
    uni = universe_map(42, 60)
    sim = SimulatedFundamentals(42, uni, path_price_scale(42, uni, get_calendar()),
                                today=lambda: date(2024, 3, 1))
    store = FundamentalsStore(tmp_path, timedelta(days=7), clock=clock)
    return Fundamentals(store, {**providers, "simulated": sim},
                        ["fmp", "yahoo", "simulated"], "0.05", known=uni.__contains__,
                        writable=writable)


def test_reader_is_cache_first_refreshes_after_ttl_and_falls_back_stale(tmp_path: Path) -> None:
    clock, fmp = Clock(), FakeProvider(market_cap="3.1e12", pe_ratio="31")
    f = _reader(tmp_path, clock, {"fmp": fmp})
    got = f.get("AAPL")
    assert got["sources"]["market_cap"] == "fmp" and got["sources"]["eps"] == "simulated"
    assert got["simulated"] is False and got["stale"] is False
    assert set(got["fetched_at"]) == {"fmp", "simulated"}
    assert {d["field"] for d in got["disagreements"]} >= {"name"}
    f.get("AAPL")
    assert fmp.calls == 1                       # fresh file: no second fetch
    f.get("AAPL", refresh=True)
    assert fmp.calls == 2                       # refresh forces one
    clock.now += timedelta(days=7, seconds=5)
    fmp.fail = True
    stale = f.get("AAPL")
    assert fmp.calls == 3 and stale["stale"] is True
    assert stale["providers"]["fmp"]["error"] == "provider down"
    assert stale["fundamentals"]["market_cap"] == "3100000000000"
    # a failed provider is not asked again for a while (its timeouts on every request)
    again = f.get("AAPL")
    assert fmp.calls == 3 and again["providers"]["fmp"]["error"] == "provider down"
    fmp.fail = False
    clock.now += timedelta(minutes=5)
    assert f.get("AAPL")["stale"] is False and fmp.calls == 4
    # the simulated record is never stored; one file per provider
    assert [p.name.split("_")[0] for p in f.store.folder("AAPL").iterdir()] == ["fmp"]


def test_reader_unknown_symbol_stores_nothing_and_read_only_never_fetches(tmp_path: Path) -> None:
    clock, fmp = Clock(), FakeProvider(market_cap="1")
    f = _reader(tmp_path, clock, {"fmp": fmp})
    with pytest.raises(NotFound, match="ZZZZ"):
        f.get("ZZZZ")
    assert fmp.calls == 0 and not (tmp_path / "ZZZZ").exists()
    only_sim = f.get("MSFT")
    assert only_sim["simulated"] is False      # fmp had its name
    ro = _reader(tmp_path, clock, {}, writable=False)
    clock.now += timedelta(days=30)
    got = ro.get("MSFT")                        # fmp's expired file, read, not refetched
    assert got["sources"]["name"] == "fmp" and got["stale"] is True
    assert fmp.calls == 1
    assert ro.get("NVDA")["simulated"] is True  # nothing stored: the built-in market's


def test_network_sources_only_with_their_key_or_a_route(tmp_path: Path) -> None:
    from shared.market.fundamentals.build import external_providers
    from tests.conftest import make_settings

    offline = make_settings(tmp_path)
    assert external_providers(offline, {}) == {}          # the default: the built-in market only
    keyed = external_providers(offline, {"FMP_API_KEY": "k", "POLYGON_API_KEY": "k"})
    assert set(keyed) == {"fmp", "polygon"}
    routed = make_settings(tmp_path, market__routes={"equity": ["yahoo", "simulated"],
                                                     "crypto": ["simulated"]})
    assert set(external_providers(routed, {})) == {"yahoo"}
