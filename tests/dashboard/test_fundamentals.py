"""Fundamentals end to end: coordination's GET /api/v1/fundamentals/<symbol> on a loopback port,
with FMP (its client, shared.market.sources.fmp) answering from a local fake of its API: 200
combined with sources and disagreements, cache-first (a file per provider, refetched only on
?refresh=true), 404 naming an unknown symbol with nothing stored, 400 for bad text, OpenAPI;
and the chart page's fundamentals panel in Chromium at 1366x768 and 1920x1080."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.dashboard.conftest import screenshot
from tests.dashboard.harness import Suite

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
VIEWPORTS = [(1366, 768), (1920, 1080)]
UNIVERSE = 20  # AAPL, SPY and the other largest names


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """Coordination (the market's owner), the stream server and the dashboard over one temp
    database holding the built-in market up to the clock."""
    from shared.db import Database, migrate
    from tests.conftest import make_settings, own_market, serve
    from tests.shared.market.sources.fakes import fmp

    tmp = tmp_path_factory.mktemp("fundamentals")
    cache = tmp / "data-cache"
    settings = make_settings(tmp, market__universe_size=UNIVERSE,
                             market__data_cache_dir=str(cache))
    db = Database.from_settings(settings)
    migrate(db)
    own_market(settings, db, history_days={"5m": 3, "1d": 40})
    db.close()
    fake = fmp()
    with serve(fake.app) as fmp_url:
        s = Suite(tmp, {"TRADING__market__universe_size": str(UNIVERSE),
                        "TRADING__market__data_cache_dir": str(cache),
                        "TRADING__coordination__autostart": "false",
                        # FMP on its fake, then the built-in market
                        "TRADING__market__fundamentals_priority": '["fmp", "simulated"]',
                        "FMP_API_KEY": "fmp-key", "FMP_BASE_URL": fmp_url})
        s.cache = cache  # type: ignore[attr-defined]
        s.fmp = fake  # type: ignore[attr-defined]
        try:
            for name in ("coordination", "paper_streams", "dashboard"):
                s.start(name)
            yield s
        finally:
            s.stop_all()


def _get(suite: Suite, symbol: str, **params: Any) -> requests.Response:
    return requests.get(f"{suite.url('coordination')}/api/v1/fundamentals/{symbol}",
                        params=params, timeout=30)


# ---- the endpoint -------------------------------------------------------------------------
def _profile_calls(suite: Suite) -> int:
    return sum("/stable/profile?" in c for c in suite.fmp.calls)  # type: ignore[attr-defined]


def _files(suite: Suite, symbol: str) -> list[str]:
    folder = suite.cache / symbol / "fundamentals"  # type: ignore[attr-defined]
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_known_symbol_combined_with_sources_cache_first(suite: Suite) -> None:
    r = _get(suite, "AAPL")
    assert r.status_code == 200, r.text
    d = r.json()["data"]
    f = d["fundamentals"]
    assert d["symbol"] == "AAPL" and d["simulated"] is False and d["stale"] is False
    # FMP first: its market cap, P/E and beta; the built-in market fills what FMP's plan
    # leaves out (shares outstanding and float)
    assert f["market_cap"] == "2627985195008" and d["sources"]["market_cap"] == "fmp"
    assert f["pe_ratio"] == "26.4572" and d["sources"]["pe_ratio"] == "fmp"
    assert d["sources"]["float_shares"] == "simulated" and float(f["float_shares"]) > 1e10
    assert set(d["fetched_at"]) == {"fmp", "simulated"}
    cap = {x["field"]: x for x in d["disagreements"]}["market_cap"]
    assert cap["chosen"] == "fmp" and set(cap["values"]) == {"fmp", "simulated"}
    assert [n.split("_")[0] for n in _files(suite, "AAPL")] == ["fmp"]
    calls = _profile_calls(suite)
    assert _get(suite, "AAPL").json()["data"]["fundamentals"] == f
    assert _profile_calls(suite) == calls           # a fresh file: FMP not asked again
    again = _get(suite, "AAPL", refresh="true")
    assert again.status_code == 200 and again.json()["data"]["fundamentals"] == f
    assert _profile_calls(suite) == calls + 1
    assert len(_files(suite, "AAPL")) == 1          # the newer file replaced the older


def test_a_symbol_fmp_lacks_is_the_built_in_markets(suite: Suite) -> None:
    spy = _get(suite, "spy").json()["data"]     # upper-cased like every symbol
    assert spy["simulated"] is True and set(spy["sources"].values()) == {"simulated"}
    assert spy["fundamentals"]["pe_ratio"] is None
    assert spy["missing"]["pe_ratio"] == "a fund has no earnings of its own"
    assert "fmp has no profile of SPY" in spy["providers"]["fmp"]["error"]
    btc = _get(suite, "BTC-USD")                # a pair's slash would split the path
    assert btc.status_code == 200, btc.text
    coin = btc.json()["data"]
    assert coin["symbol"] == "BTC/USD" and coin["fundamentals"]["shares_outstanding"] is None
    assert coin["missing"]["eps"] == "a coin has no earnings"
    assert float(coin["fundamentals"]["market_cap"]) > 1e11


def test_unknown_symbol_is_a_404_naming_it_and_stores_nothing(suite: Suite) -> None:
    r = _get(suite, "ZZZZZ")
    assert r.status_code == 404, r.text
    err = r.json()["error"]
    assert "ZZZZZ" in err["message"] and err["details"]["field"] == "symbol"
    assert not (suite.cache / "ZZZZZ").exists()  # type: ignore[attr-defined]
    assert not any("ZZZZZ" in c for c in suite.fmp.calls)  # type: ignore[attr-defined]


@pytest.mark.parametrize("bad", ["1ABC", "A$B", "TOOLONGSYMBOL1"])
def test_bad_symbol_text_is_a_400(suite: Suite, bad: str) -> None:
    r = _get(suite, bad)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["details"]["field"] == "symbol"
    assert _get(suite, "AAPL", refresh="maybe").status_code == 400


def test_openapi_documents_the_route(suite: Suite) -> None:
    spec = requests.get(suite.url("coordination") + "/openapi.json", timeout=10).json()
    op = spec["paths"]["/api/v1/fundamentals/{symbol}"]["get"]
    assert {"200", "400", "404"} <= set(op["responses"])
    assert any(p["name"] == "refresh" for p in op.get("parameters", []))


# ---- the chart page's panel ---------------------------------------------------------------
@pytest.fixture(params=VIEWPORTS, ids=lambda v: f"{v[0]}x{v[1]}")
def page(request: pytest.FixtureRequest, browser: Any, suite: Suite) -> Iterator[Any]:
    w, h = request.param
    ctx = browser.new_context(viewport={"width": w, "height": h}, base_url=suite.url("dashboard"))
    pg = ctx.new_page()
    pg.console_errors = []
    pg.size = f"{w}x{h}"
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.console_errors.append(f"pageerror: {e}"))
    pg.on("response", lambda r: r.status >= 400 and pg.console_errors.append(
        f"HTTP {r.status} {r.request.method} {r.url}"))
    yield pg
    ctx.close()


def _panel(page: Any) -> dict[str, dict[str, str]]:
    deadline = time.monotonic() + 20
    while not page.query_selector("[data-testid=fundamentals]"):
        assert time.monotonic() < deadline, page.inner_text("#fundamentals")
        page.wait_for_timeout(100)
    return page.eval_on_selector_all("[data-testid=fundamentals] dd", "els => Object.fromEntries("
                                     "els.map(e => [e.dataset.field, {text: e.textContent, "
                                     "title: e.title, source: e.dataset.source}]))")


def test_chart_page_shows_the_fundamentals_panel(page: Any, suite: Suite) -> None:
    d = _get(suite, "AAPL").json()["data"]
    odd = {x["field"] for x in d["disagreements"]}
    assert {"market_cap", "eps"} <= odd and "pe_ratio" not in odd

    def shown(field: str, text: str) -> str:  # a value providers disagree on is marked
        return text + (" ≠" if field in odd else "")

    page.goto("/symbol?symbol=AAPL&timeframe=5m")
    rows = _panel(page)
    assert rows["market_cap"]["text"] == shown("market_cap", "$2.63T")  # FMP's 2,627,985,195,008
    assert rows["market_cap"]["title"].startswith("from fmp · providers disagree: fmp "
                                                  "2627985195008, simulated ")
    assert rows["float_shares"]["text"].endswith("B")
    assert rows["float_shares"]["title"] == "from simulated"
    assert rows["pe_ratio"]["text"] == "26.45" and rows["pe_ratio"]["title"] == "from fmp"
    assert rows["eps"]["text"] == shown("eps", "$6.43")
    assert rows["sector"]["text"] == shown("sector", "Technology")
    assert rows["industry"]["text"] == shown("industry", "Consumer Electronics")
    assert rows["dividend_yield"]["text"] == shown("dividend_yield", "0.56%")  # FMP's 0.005629
    assert rows["next_earnings_date"]["text"] == shown("next_earnings_date",
                                                       d["fundamentals"]["next_earnings_date"])
    assert not page.query_selector("[data-testid=fund-simulated]")
    assert page.is_visible("[data-testid=fundamentals]")
    screenshot(page, f"fundamentals-aapl-{page.size}")
    # a fund: no P/E, the reason on hover; another symbol replaces the panel
    page.fill("#sym", "SPY")
    page.press("#sym", "Enter")
    deadline = time.monotonic() + 20
    while _panel(page)["sector"]["text"] != "ETF":
        assert time.monotonic() < deadline
        page.wait_for_timeout(100)
    rows = _panel(page)
    assert rows["pe_ratio"]["text"] == "—"
    assert rows["pe_ratio"]["title"] == "a fund has no earnings of its own"
    assert rows["market_cap"]["title"] == "from simulated"
    assert page.inner_text("[data-testid=fund-simulated]") == "simulated"
    screenshot(page, f"fundamentals-spy-{page.size}")
    assert page.console_errors == []


