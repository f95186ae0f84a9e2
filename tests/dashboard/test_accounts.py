"""The dashboard per paper account, in a real browser against real services: the header's
selector, ?account= links, the trading and performance pages and the live stream."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.dashboard.conftest import screenshot, seed_bars
from tests.dashboard.harness import Suite, until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
BOT = {"APCA-API-KEY-ID": "BOTA", "APCA-API-SECRET-KEY": "any-secret"}


def _v2_order(suite: Suite, **body: Any) -> dict[str, Any]:
    """Place an order as the bot does: Alpaca's /v2 with its key id."""
    r = requests.post(suite.url("paper_trading") + "/v2/orders", headers=BOT, timeout=10,
                      json={"time_in_force": "gtc", **body})
    assert r.status_code == 200, r.text
    return r.json()


def _orders(suite: Suite, account: str) -> list[dict[str, Any]]:
    r = requests.get(suite.url("paper_trading") + "/api/v1/orders", timeout=5,
                     params={"status": "open", "account": account})
    assert r.status_code == 200, r.text
    return r.json()["data"]


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """Paper trading, the stream server, reporting and the dashboard, with a bot account
    ("bot-a", $25,000) holding 7 AAPL and an open MSFT order, and an open automation order."""
    from shared.db import Database
    from shared.market.clock import ClockController
    from tests.conftest import make_settings, own_market

    tmp = tmp_path_factory.mktemp("dash-accounts")
    seed_bars(tmp)
    s = Suite(tmp)
    try:
        for name in ("paper_trading", "paper_streams", "reporting", "dashboard"):
            s.start(name)
        pt = s.url("paper_trading")
        r = requests.post(pt + "/api/v1/accounts", timeout=10, json={
            "name": "bot-a", "key_id": "BOTA", "starting_cash": "25000"})
        assert r.status_code == 201, r.text
        auto = requests.post(pt + "/api/v1/orders", timeout=10, json={
            "symbol": "NVDA", "side": "buy", "qty": "2", "type": "limit", "limit_price": "1.10",
            "time_in_force": "gtc"})
        assert auto.status_code == 201, auto.text
        _v2_order(s, symbol="MSFT", side="buy", qty="3", type="limit", limit_price="1.25")
        _v2_order(s, symbol="AAPL", side="buy", qty="7", type="market", time_in_force="day")
        # the clock moves two minutes and the market owner stores the bars: the market fills
        settings = make_settings(tmp)
        db = Database.from_settings(settings)
        ClockController(db, settings.market.clock).step(2)
        own_market(settings, db).catch_up()
        deadline = time.monotonic() + 20
        while not requests.get(pt + "/api/v1/positions", params={"account": "bot-a"},
                               timeout=5).json()["data"]:
            assert time.monotonic() < deadline, "the bot's market order did not fill"
            time.sleep(0.2)
        db.close()
        # one equity snapshot of every active account, as coordination's cycle takes
        snap = requests.post(s.url("reporting") + "/api/v1/report/snapshot", json={}, timeout=10)
        assert snap.status_code == 201, snap.text
        yield s
    finally:
        s.stop_all()


def _stream(suite: Suite, query: str, events: int) -> str:
    """Read the dashboard's live stream (through its 307) until ``events`` frames came."""
    with requests.get(suite.url("dashboard") + "/api/v1/stream?" + query, stream=True,
                      timeout=10) as r:
        assert r.status_code == 200, r.text
        buf = ""
        for chunk in r.iter_content(None):
            buf += chunk.decode()
            if buf.count("\nevent: ") >= events:
                return buf
    return buf


def test_live_topics_are_the_selected_accounts(suite: Suite) -> None:
    bot = _stream(suite, "account=bot-a&topics=orders,positions,health", 3)
    assert '"symbol":"MSFT"' in bot and '"symbol":"AAPL"' in bot and "event: health" in bot
    assert '"symbol":"NVDA"' not in bot
    by_id = _stream(suite, "account=2&topics=positions", 1)
    assert '"symbol":"AAPL"' in by_id
    auto = _stream(suite, "account=automation&topics=orders,positions", 2)
    assert '"symbol":"NVDA"' in auto and '"symbol":"AAPL"' not in auto
    default = _stream(suite, "topics=orders", 1)
    assert '"symbol":"NVDA"' in default and '"symbol":"MSFT"' not in default
    bad = requests.get(suite.url("dashboard") + "/api/v1/stream?account=nope", timeout=10)
    assert bad.status_code == 404
    assert bad.json()["error"]["details"]["field"] == "account"
    assert "nope" in bad.json()["error"]["message"]


def test_exports_follow_the_account(suite: Suite) -> None:
    base = suite.url("dashboard") + "/api/v1/export/reporting"
    bot = requests.get(base, params={"format": "csv", "what": "trades", "account": "bot-a"},
                       timeout=10)
    assert bot.status_code == 200 and "AAPL" in bot.text
    auto = requests.get(base, params={"format": "csv", "what": "trades"}, timeout=10)
    assert auto.status_code == 200 and "AAPL" not in auto.text
    bad = requests.get(base, params={"format": "csv", "account": "nope"}, timeout=10)
    assert bad.status_code == 404 and bad.json()["error"]["details"]["field"] == "account"


def _header(page: Any) -> str:
    """Return the selector's text as read: "account <name>[ — note] ▾"."""
    return re.sub(r"\s+", " ", page.locator("#acct-btn").inner_text()).strip().lower()


def _loaded(page: Any, account: str) -> None:
    """Wait for the header to have resolved ``account`` and the stream to be connected."""
    until(page, f"document.body.dataset.account === {account!r}", timeout=10.0)
    page.wait_for_selector("#live-dot.ok", timeout=15_000)


def test_selector_switches_the_trading_page_between_accounts(page: Any, suite: Suite) -> None:
    page.goto("/trading")
    _loaded(page, "automation")
    assert _header(page) == "account automation ▾"
    assert page.url.endswith("/trading?account=automation")
    orders = page.locator("#orders")
    orders.locator("tr[data-order-id]").filter(has_text="NVDA").wait_for(timeout=10_000)
    assert "MSFT" not in orders.inner_text()
    assert "flat: no positions" in page.locator("#positions").inner_text()
    # open the selector: every account by name with its cash
    page.click("#acct-btn")
    options = page.locator("#acct-list [role=option]")
    options.filter(has_text="bot-a").wait_for(timeout=5_000)
    texts = [re.sub(r"\s+", " ", t) for t in options.all_inner_texts()]
    assert any(t.startswith("automation") and "$100,000.00" in t for t in texts), texts
    assert any(t.startswith("bot-a") and "$" in t for t in texts), texts
    assert page.get_attribute("#acct-btn", "aria-expanded") == "true"
    screenshot(page, "account-selector-open")
    # by keyboard: Escape closes, an arrow opens it on the current account, Enter picks
    page.keyboard.press("Escape")
    assert page.locator("#acct-list").is_hidden()
    assert page.evaluate("document.activeElement.id") == "acct-btn"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.account") == "automation"
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.dataset.account") == "bot-a"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    _loaded(page, "bot-a")
    assert page.url.endswith("/trading?account=bot-a")
    assert _header(page) == "account bot-a — not the automation's ▾"
    assert page.evaluate("localStorage.getItem('account')") == "bot-a"
    orders.locator("tr[data-order-id]").filter(has_text="MSFT").wait_for(timeout=10_000)
    assert "NVDA" not in orders.inner_text()
    page.locator("#positions tr").filter(has_text="AAPL").wait_for(timeout=10_000)
    assert "bot-a" in page.inner_text("#acct-note")
    screenshot(page, "account-bot-a")
    # the navigation keeps this tab's account
    assert page.get_attribute("nav.tabs a[href^='/performance']", "href") == \
        "/performance?account=bot-a"
    # the ticket and the cancel button act on the bot's account
    page.fill("#f-symbol", "MSFT")
    page.select_option("#f-type", "limit")
    page.fill("#f-qty", "4")
    page.fill("#f-limit_price", "1.05")
    page.click("#submit-order")
    row = orders.locator("tr[data-order-id]").filter(has_text="1.05")
    row.first.wait_for(timeout=10_000)
    oid = row.first.get_attribute("data-order-id")
    assert oid in [o["id"] for o in _orders(suite, "bot-a")]
    assert oid not in [o["id"] for o in _orders(suite, "automation")]
    page.click(f"#orders button.cancel[data-order-id='{oid}']")
    page.wait_for_selector(f"#orders tr[data-order-id='{oid}']", state="detached",
                           timeout=10_000)
    assert oid not in [o["id"] for o in _orders(suite, "bot-a")]
    # and back to the automation's
    page.click("#acct-btn")
    with page.expect_navigation():
        page.locator("#acct-list [role=option]").filter(has_text="automation").click()
    _loaded(page, "automation")
    assert "not the automation's" not in _header(page)
    orders.locator("tr[data-order-id]").filter(has_text="NVDA").wait_for(timeout=10_000)
    assert "MSFT" not in orders.inner_text()
    assert "flat: no positions" in page.locator("#positions").inner_text()
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_the_live_stream_brings_only_the_selected_accounts_orders(page: Any, suite: Suite) -> None:
    page.goto("/trading?account=bot-a")
    _loaded(page, "bot-a")
    other = page.context.new_page()
    other.goto("/trading?account=automation")
    _loaded(other, "automation")
    placed = _v2_order(suite, symbol="MSFT", side="buy", qty="9", type="limit",
                       limit_price="1.01")
    # no refresh on this page: only the stream can bring it
    page.locator(f"#orders tr[data-order-id='{placed['id']}']").wait_for(timeout=10_000)
    other.wait_for_timeout(1500)
    assert other.locator(f"#orders tr[data-order-id='{placed['id']}']").count() == 0
    requests.delete(suite.url("paper_trading") + f"/v2/orders/{placed['id']}", headers=BOT,
                    timeout=10)
    page.wait_for_selector(f"#orders tr[data-order-id='{placed['id']}']", state="detached",
                           timeout=10_000)
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_a_link_with_account_selects_it(browser: Any, suite: Suite) -> None:
    """A fresh browser (nothing remembered) opening a link by id or by name."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 768},
                              base_url=suite.url("dashboard"))
    try:
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("console", lambda m: m.type == "error" and errors.append(m.text))
        pg.goto("/trading?account=2")  # the id works too; the URL then names the account
        _loaded(pg, "bot-a")
        assert pg.url.endswith("/trading?account=bot-a")
        assert "not the automation's" in _header(pg)
        pg.locator("#positions tr").filter(has_text="AAPL").wait_for(timeout=10_000)
        # remembered by this browser: a page without ?account= shows the same account
        pg.goto("/market")
        _loaded(pg, "bot-a")
        assert pg.url.endswith("/market?account=bot-a")
        # the automation controls say whose they are
        pg.wait_for_selector("#auto-scope:has-text(\"automation's account, not bot-a\")",
                             timeout=5_000)
        screenshot(pg, "account-bot-a-market")
        assert errors == []
    finally:
        ctx.close()


def test_performance_figures_follow_the_account(page: Any, suite: Suite) -> None:
    page.goto("/performance?account=bot-a")
    _loaded(page, "bot-a")
    journal = page.locator("#journal")
    journal.locator("tr").filter(has_text="AAPL").wait_for(timeout=10_000)
    page.wait_for_selector("#metrics [data-metric='start_equity']", timeout=10_000)
    bot_start = page.inner_text("#metrics [data-metric='start_equity']")
    assert bot_start.startswith("$25,0"), bot_start
    assert re.search(r"last \$25,0\d\d\.\d\d$", page.inner_text("#equity-note"))
    for a in page.locator("a[data-export]").all():
        assert "account=bot-a" in (a.get_attribute("href") or "")
    screenshot(page, "account-bot-a-performance")
    page.goto("/performance?account=automation")
    _loaded(page, "automation")
    page.wait_for_selector("#metrics [data-metric='start_equity']", timeout=10_000)
    assert page.inner_text("#metrics [data-metric='start_equity']") == "$100,000.00"
    journal.locator("td.muted", has_text="no trades yet").wait_for(timeout=10_000)
    assert "AAPL" not in journal.inner_text()
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_an_unknown_account_is_said_plainly(page: Any, suite: Suite) -> None:
    page.goto("/trading?account=nope")
    # a selector, not wait_for_function: its polling evaluates a string, which the page's
    # CSP (no 'unsafe-eval') refuses whenever the first check comes too early
    page.wait_for_selector("body[data-account-state='missing']", state="attached",
                           timeout=10_000)
    assert "account nope — no such paper account" in _header(page)
    # the account's panels say why they are empty; the rest of the page lives on
    page.wait_for_selector("#orders:has-text('account not found for nope')", timeout=10_000)
    page.wait_for_selector("#live-dot.ok", timeout=15_000)
    page.wait_for_selector("#hdr-clock:not(:has-text('clock …'))", timeout=10_000)
    assert page.evaluate("localStorage.getItem('account')") is None  # not remembered
    screenshot(page, "account-unknown")
    # picking a real one from the header recovers
    page.click("#acct-btn")
    with page.expect_navigation():
        page.locator("#acct-list [role=option]").filter(has_text="automation").click()
    _loaded(page, "automation")
    assert page.console_errors == []  # type: ignore[attr-defined]
