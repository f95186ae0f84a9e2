"""Fixtures of the dashboard tests: a live mini-suite and a headless Chromium."""
from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.db import Database, migrate
from tests.conftest import make_settings, own_market
from tests.dashboard.harness import Suite

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SEED_SYMBOLS = ("AAPL", "MSFT")


def seed_bars(tmp: Path) -> None:
    """Build the temp database with the real migrations and store the market as the owner
    does (every symbol up to the clock), with more history for the seed symbols."""
    settings = make_settings(tmp)
    db = Database.from_settings(settings)
    migrate(db)
    from shared.market import DataManager, MarketClock

    own_market(settings, db)
    dm = DataManager(settings, db, clock=MarketClock(db, settings.market.clock), owner=True)
    for sym in SEED_SYMBOLS:
        for tf in ("5m", "1d"):
            assert len(dm.get_ohlcv(sym, tf, start=dm.clock.now_ts() - _days(10 if tf == "5m" else 200)))
    dm.close()
    db.close()


def _days(n: int) -> Any:
    import pandas as pd

    return pd.Timedelta(days=n)


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """Paper trading, the stream server (the live stream) and the dashboard on free ports over
    one seeded temp database."""
    tmp = tmp_path_factory.mktemp("dash-suite")
    seed_bars(tmp)
    s = Suite(tmp)
    try:
        s.start("paper_trading")
        s.start("paper_streams")
        s.start("dashboard")
        yield s
    finally:
        s.stop_all()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/system-deps.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, suite: Suite) -> Iterator[Any]:
    """A fresh 1366x768 page that records console errors and failed requests."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=suite.url("dashboard"))
    pg = ctx.new_page()
    pg.console_errors = []  # type: ignore[attr-defined]
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.console_errors.append(f"pageerror: {e}"))
    pg.on("response", lambda r: r.status >= 400 and pg.console_errors.append(
        f"HTTP {r.status} {r.request.method} {r.url}"))
    yield pg
    ctx.close()


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
