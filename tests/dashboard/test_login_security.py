"""The dashboard's login against the real service (gunicorn, several workers): the session
secret, the login limiter, safe redirects and server-side sessions (issue "Hardening, round
two", findings 3, 6, 7 and 8)."""
from __future__ import annotations

import hashlib
import hmac
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature
from requests.adapters import HTTPAdapter

from dashboard.redirects import safe_next
from shared.db import Database, migrate
from tests.conftest import make_settings
from tests.dashboard.conftest import CHROMIUM, seed_bars
from tests.dashboard.harness import Suite

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

KEY = "hardening-round-two-key-0123456789"
KEY2 = "rotated-key-9876543210-abcdefghij"
ORDER = {"symbol": "MSFT", "side": "buy", "qty": "1", "type": "limit", "limit_price": "1.25",
         "time_in_force": "gtc"}


class _FromAddress(HTTPAdapter):
    """Connect from one loopback address (127.0.0.N): each test is its own client."""

    def __init__(self, address: str) -> None:
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args: Any, **kw: Any) -> None:
        kw["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kw)


def client(address: str) -> requests.Session:
    s = requests.Session()
    adapter = _FromAddress(address)
    s.mount("http://", adapter)
    return s


def _login(suite: Suite, c: requests.Session, key: str = KEY, nxt: str = "/trading") -> Any:
    return c.post(suite.url("dashboard") + "/login", data={"api_key": key, "next": nxt},
                  allow_redirects=False, timeout=10)


def _session(suite: Suite, c: requests.Session) -> dict[str, Any]:
    r = c.get(suite.url("dashboard") + "/api/v1/session", timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _order(suite: Suite, c: requests.Session, token: str) -> Any:
    return c.post(suite.url("dashboard") + "/api/v1/upstream/paper_trading/orders", json=ORDER,
                  headers={"X-CSRF-Token": token}, timeout=15)


def _db(suite: Suite) -> sqlite3.Connection:
    return sqlite3.connect(suite.tmp / "trading.db", timeout=10, isolation_level=None)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """Paper trading and the dashboard (three gunicorn workers) with an API key, a 3 s idle
    timeout and the default limiter (5 failures, then 30 s doubling)."""
    tmp = tmp_path_factory.mktemp("dash-login")
    seed_bars(tmp)
    s = Suite(tmp, extra_env={"API_KEY": KEY, "TRADING__services__dashboard__workers": "3",
                              "TRADING__dashboard__session_idle_minutes": "0.05"})
    try:
        s.start("paper_trading")
        s.start("dashboard")
        yield s
    finally:
        s.stop_all()


# -- finding 3: the session secret ---------------------------------------------------------------
def _verifies(cookie: str, secret: str | bytes) -> dict[str, Any] | None:
    app = Flask("probe")
    app.secret_key = secret
    try:
        return SecureCookieSessionInterface().get_signing_serializer(app).loads(cookie)
    except BadSignature:
        return None


def test_anonymous_visits_get_no_cookie_and_the_login_cookie_is_not_key_derived(
        keyed: Suite) -> None:
    c = client("127.0.0.11")
    base = keyed.url("dashboard")
    for path in ("/trading", "/login", "/symbol", "/api/v1/session", "/api/v1/overview"):
        r = c.get(base + path, timeout=10)
        assert r.status_code == 200 and "Set-Cookie" not in r.headers, path
    assert _session(keyed, c)["csrf_token"] == ""
    r = _login(keyed, c)
    assert r.status_code == 302, r.text
    cookie = c.cookies["dashboard_session"]
    # an offline guesser's candidates: the key itself and what earlier versions derived from it
    for derived in (KEY, KEY.encode(), hashlib.sha256(KEY.encode()).hexdigest(),
                    hmac.new(KEY.encode(), b"dashboard-session-v1", hashlib.sha256).hexdigest()):
        assert _verifies(cookie, derived) is None
    secret_file = keyed.tmp / "run" / "trading" / "dashboard_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    secret = secret_file.read_bytes()
    assert len(secret) == 32
    payload = _verifies(cookie, secret)
    assert payload is not None and set(payload) <= {"sid", "_permanent"}  # an id, nothing else
    # nothing a client gets carries the key or a value derived from it
    token = _session(keyed, c)["csrf_token"]
    html = c.get(base + "/trading", timeout=10).text
    assert token and token in html
    fingerprint = _db(keyed).execute("SELECT key_fp FROM dashboard_sessions").fetchone()[0]
    for seen in (html, cookie, token, str(dict(r.headers))):
        assert KEY not in seen and fingerprint not in seen


# -- finding 6: login brute force ----------------------------------------------------------------
def test_wrong_keys_are_limited_per_client_across_every_worker(keyed: Suite) -> None:
    attacker = "127.0.0.12"
    base = keyed.url("dashboard")

    def guess(i: int) -> requests.Response:
        # a new connection each time: gunicorn hands them to its three workers
        return client(attacker).post(
            base + "/login", data={"api_key": f"guess-{i}", "next": "/trading"},
            allow_redirects=False, timeout=10)

    t0 = time.monotonic()
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(guess, range(300)))
    took = time.monotonic() - t0
    codes = [r.status_code for r in answers]
    print(f"\n300 wrong keys in {took:.1f}s: {codes.count(401)} x 401, {codes.count(429)} x 429")
    assert took < 30  # the first lockout (30 s) covers the whole flood
    assert codes.count(401) == 5 and codes.count(429) == 295
    for r in answers:
        if r.status_code == 429:
            assert 1 <= int(r.headers["Retry-After"]) <= 30
            assert "too many wrong API keys" in r.text and "text/html" in r.headers["Content-Type"]
    # locked out: even the right key is not looked at
    assert _login(keyed, client(attacker)).status_code == 429
    # another client is not affected
    assert _login(keyed, client("127.0.0.13")).status_code == 302


def test_lockouts_double_and_a_success_forgets_the_failures(keyed: Suite) -> None:
    who = "127.0.0.14"
    c = client(who)
    db = _db(keyed)

    def lock_ends_now() -> None:  # the test plays the clock: the current lockout is over
        db.execute("UPDATE dashboard_login_failures SET locked_until = ?, last_failure = ? "
                   "WHERE client = ?", (time.time() - 1, time.time() - 1, who))

    for _ in range(5):
        assert _login(keyed, c, key="wrong").status_code == 401
    seen = []
    for _ in range(3):
        r = _login(keyed, c, key="wrong")
        assert r.status_code == 429
        seen.append(int(r.headers["Retry-After"]))
        lock_ends_now()
        assert _login(keyed, c, key="wrong").status_code == 401  # one more try, then longer
    r = _login(keyed, c, key="wrong")
    seen.append(int(r.headers["Retry-After"]))
    assert [round(s / 30) * 30 for s in seen] == [30, 60, 120, 240], seen
    lock_ends_now()
    assert _login(keyed, c).status_code == 302  # the right key once the lockout is over
    assert db.execute("SELECT COUNT(*) FROM dashboard_login_failures WHERE client = ?",
                      (who,)).fetchone()[0] == 0
    c2 = client(who)
    for _ in range(5):  # the count starts again from zero
        assert _login(keyed, c2, key="wrong").status_code == 401
    assert _login(keyed, c2, key="wrong").status_code == 429


# -- finding 7: open redirect --------------------------------------------------------------------
BYPASSES = ["//evil.example", "/\\evil.example", "/\t/evil.example", "/%09/evil.example",
            "https://evil.example", "http:evil.example", "javascript:alert(1)", "/\n/evil.example",
            "/\r/evil.example", "/%0a/evil.example", "/%5cevil.example", "/%2f/evil.example",
            "/%252f%252fevil.example", " /evil", "/ /evil.example", "\\\\evil.example",
            "/\x00/evil", "/\u2028/evil.example", "///evil.example", "/trading//evil.example",
            "", "evil.example", "?next=//evil", "/" + "a" * 3000]
SAFE = ["/", "/trading", "/symbol?symbol=AAPL", "/trading?account=bot-a#orders"]


@pytest.mark.parametrize("nxt", BYPASSES)
def test_next_never_leaves_the_site(nxt: str) -> None:
    assert safe_next(nxt) == "/"


def test_next_keeps_same_site_paths(keyed: Suite) -> None:
    for nxt in SAFE:
        assert safe_next(nxt) == nxt
    for nxt in BYPASSES[:12]:
        r = _login(keyed, client("127.0.0.15"), nxt=nxt)
        assert r.status_code == 302 and r.headers["Location"] == "/", (nxt, r.headers)
    r = _login(keyed, client("127.0.0.15"), nxt="/symbol?symbol=AAPL")
    assert r.headers["Location"] == "/symbol?symbol=AAPL"


def test_a_tab_in_next_keeps_a_real_browser_on_the_dashboard(keyed: Suite) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (scripts/system-deps.sh installs it)")
    from playwright.sync_api import sync_playwright

    base = keyed.url("dashboard")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            for how in ("query", "form"):
                ctx = b.new_context(base_url=base)
                page = ctx.new_page()
                ctx.route("http://evil.example/**", lambda route: route.fulfill(
                    status=200, content_type="text/html", body="<title>evil</title>evil"))
                page.goto("/login?next=/%09/evil.example")
                if how == "form":  # the hidden field itself carries the TAB
                    page.evaluate("document.querySelector('input[name=next]').value = "
                                  "'/\\t/evil.example'")
                page.fill("#api_key", KEY)
                with page.expect_navigation():
                    page.click("button[type=submit]")
                page.wait_for_load_state("load")
                assert page.url.startswith(base + "/"), (how, page.url)
                assert "evil" not in page.title()
                ctx.close()
        finally:
            b.close()


# -- finding 8: logout and session lifetime ------------------------------------------------------
def test_logout_ends_the_session_for_the_old_cookie_and_token(keyed: Suite) -> None:
    c = client("127.0.0.16")
    assert _login(keyed, c).status_code == 302
    token = _session(keyed, c)["csrf_token"]
    assert _order(keyed, c, token).status_code == 201  # logged in: the action goes through
    stolen = requests.utils.dict_from_cookiejar(c.cookies)
    r = c.post(keyed.url("dashboard") + "/logout", data={"csrf_token": token},
               allow_redirects=False, timeout=10)
    assert r.status_code == 302
    replay = client("127.0.0.16")
    replay.cookies.update(stolen)  # the cookie as it was before the logout
    assert _session(keyed, replay)["logged_in"] is False
    r = _order(keyed, replay, token)
    assert r.status_code == 401 and r.json()["error"]["details"]["field"] == "session"


def test_sessions_slide_on_while_used_and_end_when_idle_or_too_old(keyed: Suite) -> None:
    c = client("127.0.0.17")
    assert _login(keyed, c).status_code == 302
    t0 = time.monotonic()
    while time.monotonic() - t0 < 6:  # twice the 3 s idle timeout, used every 1.2 s
        time.sleep(1.2)
        assert _session(keyed, c)["logged_in"] is True
    token = _session(keyed, c)["csrf_token"]
    time.sleep(3.5)
    assert _session(keyed, c)["logged_in"] is False
    assert _order(keyed, c, token).status_code == 401
    # the absolute limit (session_hours, 12 h): the test moves the login back in time
    assert _login(keyed, c).status_code == 302
    assert _session(keyed, c)["logged_in"] is True
    _db(keyed).execute("UPDATE dashboard_sessions SET created_at = created_at - 12 * 3600 - 1")
    assert _session(keyed, c)["logged_in"] is False


def test_secret_is_kept_across_restarts_and_a_rotated_key_ends_every_session(
        tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    db = Database.from_settings(settings)
    migrate(db)
    db.close()
    s = Suite(tmp_path, extra_env={"API_KEY": KEY})
    try:
        s.start("dashboard")
        secret_file = tmp_path / "run" / "trading" / "dashboard_secret"
        secret, inode = secret_file.read_bytes(), secret_file.stat().st_ino
        c = client("127.0.0.18")
        assert _login(s, c).status_code == 302
        s.stop("dashboard")
        s.start("dashboard")  # same key: the secret file is reused, the login survives
        assert secret_file.read_bytes() == secret and secret_file.stat().st_ino == inode
        assert _session(s, c)["logged_in"] is True
        token = _session(s, c)["csrf_token"]
        s.stop("dashboard")
        s.env["API_KEY"] = KEY2  # the key is rotated
        s.start("dashboard")
        assert _session(s, c)["logged_in"] is False
        r = c.post(s.url("dashboard") + "/api/v1/clock/pause", json={},
                   headers={"X-CSRF-Token": token}, timeout=10)
        assert r.status_code == 401
        assert _login(s, client("127.0.0.18"), key=KEY).status_code == 401
        assert _login(s, client("127.0.0.18"), key=KEY2).status_code == 302
        assert oct(os.stat(secret_file).st_mode & 0o777) == "0o600"
    finally:
        s.stop_all()
