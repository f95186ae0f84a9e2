"""The scanner's fundamentals filters (market cap, float, P/E, sector) on a real migrated
database and the built-in market: each changes the result set, bad values are a 400 naming the
field, presets take them, and the scanner reads the fundamentals cache without writing it."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from services.scanner import create_app
from services.scanner.service import ScannerService
from shared.db import Database, migrate
from shared.errors import ConfigError
from shared.market.fundamentals import FundamentalsStore
from tests.conftest import make_settings, own_market

SIZE = 40   # the largest real names: companies and the four big funds (SPY, QQQ, IWM, DIA)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("scan-fund")
    settings = make_settings(tmp, market__universe_size=SIZE, market__crypto_symbols=[],
                             market__data_cache_dir=str(tmp / "data-cache"))
    db = Database.from_settings(settings)
    migrate(db)
    own_market(settings, db, history_days={"5m": 2, "1d": 62})
    application = create_app(settings)
    yield application
    db.close()


def scan(app: Any, **filters: Any) -> tuple[int, Any]:
    r = app.test_client().post("/api/v1/scan", json={"preset": None, "limit": 500,
                                                     "filters": filters})
    return r.status_code, r.json


def rows(app: Any, **filters: Any) -> dict[str, dict[str, Any]]:
    status, body = scan(app, **filters)
    assert status == 200, body
    return {r["symbol"]: r for r in body["data"]["results"]}


def records(app: Any) -> dict[str, dict[str, Any]]:
    svc = app.extensions["service"]
    return svc.fundamentals_of([u["symbol"] for u in svc.universe()])


def test_market_cap_float_and_pe_bounds_change_the_result_set(app: Any) -> None:
    everyone = rows(app)
    rec = records(app)
    assert set(everyone) == set(rec) and len(everyone) == SIZE
    caps = sorted(Decimal(r["market_cap"]) for r in rec.values())
    median = caps[len(caps) // 2]
    big = rows(app, min_market_cap=float(median))
    assert 0 < len(big) < len(everyone)
    assert set(big) == {s for s, r in rec.items() if Decimal(r["market_cap"]) >= median}
    expl = {e["filter"]: e for e in next(iter(big.values()))["explanation"]}
    assert expl["min_market_cap"]["passed"] and expl["min_market_cap"]["metric"] == "market_cap"
    small = rows(app, max_market_cap=float(median))
    assert set(small) | set(big) == set(everyone)
    floats = sorted(Decimal(r["float_shares"]) for r in rec.values())
    low_float = rows(app, max_float=float(floats[9]))
    assert set(low_float) == {s for s, r in rec.items() if Decimal(r["float_shares"]) <= floats[9]}
    # a P/E bound leaves out the funds (no earnings) and any company outside it
    cheap = rows(app, min_pe=0, max_pe=20)
    assert cheap and not {"SPY", "QQQ", "IWM", "DIA"} & set(cheap)
    assert all(Decimal("0") <= Decimal(rec[s]["pe_ratio"]) <= 20 for s in cheap)
    assert len(cheap) < len(everyone) - 4


def test_sector_one_or_a_list_case_aside(app: Any) -> None:
    rec = records(app)
    tech = rows(app, sector="technology")
    assert tech and set(tech) == {s for s, r in rec.items() if r["sector"] == "Technology"}
    both = rows(app, sector=["Technology", "Health Care"])
    assert set(both) > set(tech)
    assert all(rec[s]["sector"] in ("Technology", "Health Care") for s in both)
    assert {e["filter"] for e in next(iter(both.values()))["explanation"]} == {"sector"}


@pytest.mark.parametrize(("filters", "field"), [
    ({"min_market_cap": -1}, "filters.min_market_cap"),
    ({"min_float": "lots"}, "filters.min_float"),
    ({"sector": ""}, "filters.sector"),
    ({"sector": 5}, "filters.sector"),
    ({"min_pe": 30, "max_pe": 10}, "filters"),
])
def test_bad_fundamentals_filters_are_a_400_naming_the_field(app: Any, filters: dict,
                                                             field: str) -> None:
    status, body = scan(app, **filters)
    assert status == 400, body
    assert body["error"]["details"]["field"].startswith(field), body
    if field == "filters":
        assert "min_pe (30.0) is above max_pe (10.0)" in body["error"]["message"]


def test_reads_the_cache_coordination_wrote_and_never_writes(app: Any) -> None:
    settings = app.extensions["service"].settings
    root = settings.resolve(settings.market.data_cache_dir)
    rec = records(app)
    top = max(Decimal(r["market_cap"]) for r in rec.values())
    # coordination stored FMP's figures for one name: they outrank the built-in market's
    FundamentalsStore(root, timedelta(days=7)).write("KO", "fmp", {"market_cap": str(top * 2)})
    before = sorted(p.relative_to(root) for p in Path(root).rglob("*"))
    assert set(rows(app, min_market_cap=float(top * 3 / 2))) == {"KO"}
    assert sorted(p.relative_to(root) for p in Path(root).rglob("*")) == before


def test_presets_take_fundamentals_filters_and_name_a_bad_one(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, market__universe_size=SIZE, market__crypto_symbols=[],
                             scanner__presets={"large_tech": {"min_market_cap": 1e11,
                                                              "sector": "Technology"}},
                             scanner__default_preset="large_tech")
    svc = ScannerService(settings)
    f = svc.filters_for("large_tech", {"max_pe": 40})
    assert (f.min_market_cap, f.sector, f.max_pe) == (1e11, "Technology", 40)
    assert f.any_fundamentals()
    with pytest.raises(ConfigError, match="scanner.presets.x"):
        ScannerService(make_settings(tmp_path, scanner__presets={"x": {"max_float": 0}},
                                     scanner__default_preset="x"))
