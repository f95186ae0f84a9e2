"""Security of every service, derived from each /openapi.json so new routes are covered.

API key on every mutating route (and the dashboard's actions), constant-time comparison (code
inspection), failures logged without the key, rate limiting with 429 + Retry-After, secure
headers, CORS closed unless configured, loopback binding unless configured.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from shared.config import ROOT
from shared.web.runner import gunicorn_options
from tests.conftest import make_settings
from tests.reliability.conftest import (
    API_KEY,
    MUTATING,
    SERVICE_MODULES,
    build_app,
    operations,
    reliability_settings,
)

WRONG = "wrong-" + API_KEY[::-1]
#: Routes that check the key themselves (the dashboard's login form takes it as its input).
SELF_CHECKED = {("dashboard", "/login")}


def _url(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x1", path)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("keyed")
    settings = reliability_settings(tmp, security__api_key=API_KEY,
                                    security__rate_limit="1000 per second",
                                    market__universe_size=25)
    return settings, {n: build_app(n, settings) for n in SERVICE_MODULES}


@pytest.mark.parametrize("name", list(SERVICE_MODULES))
def test_api_key_is_required_on_every_mutating_route(keyed, name):
    settings, apps = keyed
    client = apps[name].test_client()
    spec = client.get("/openapi.json").get_json()
    checked = []
    for path, method, _op in operations(spec):
        if method not in MUTATING or (name, path) in SELF_CHECKED:
            continue
        for headers in ({}, {"X-API-Key": WRONG},
                        {"APCA-API-SECRET-KEY": WRONG, "APCA-API-KEY-ID": WRONG}):
            resp = client.open(_url(path), method=method.upper(), json={}, headers=headers)
            assert resp.status_code == 401, (method, path, headers, resp.status_code)
        # on /v2 the key id names the paper account (here the automation's), the secret is
        # the suite's key
        right = ({"APCA-API-SECRET-KEY": API_KEY, "APCA-API-KEY-ID": "automation"}
                 if path.startswith(("/v2", "/v1beta1")) else {"X-API-Key": API_KEY})
        resp = client.open(_url(path), method=method.upper(), json={}, headers=right)
        assert resp.status_code != 401, (method, path, resp.get_data(as_text=True)[:200])
        checked.append(f"{method} {path}")
    print(f"\n{name}: key enforced on {len(checked)} mutating operations")
    assert checked


def test_key_failures_are_logged_without_the_key(keyed):
    settings, apps = keyed
    for app in apps.values():
        app.test_client().post("/api/v1/anything-mutating", headers={"X-API-Key": WRONG})
        spec = app.test_client().get("/openapi.json").get_json()
        path, method = next((p, m) for p, m, _ in operations(spec) if m in MUTATING)
        app.test_client().open(_url(path), method=method.upper(), headers={"X-API-Key": WRONG})
    logs = [p for p in Path(settings.log_dir).rglob("*") if p.is_file()]
    text = b"".join(p.read_bytes() for p in logs)
    assert b"API key" in text or b"api key" in text.lower(), "the rejection was not logged"
    assert API_KEY.encode() not in text and WRONG.encode() not in text


def test_key_comparisons_are_constant_time():
    """Every comparison against a configured secret goes through hmac.compare_digest."""
    offenders, guarded = [], 0
    for path in [*ROOT.glob("shared/**/*.py"), *ROOT.glob("services/**/*.py"),
                 *ROOT.glob("dashboard/**/*.py")]:
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare) and any(isinstance(o, (ast.Eq, ast.NotEq))
                                                     for o in node.ops):
                src = ast.unparse(node)
                if re.search(r"get_secret_value|api_key\b|secret_key|csrf|header_key", src,
                             re.I) and "is None" not in src and "None" not in src:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {src}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "compare_digest"):
                guarded += 1
    assert offenders == []
    assert guarded >= 3  # the skeleton, the Alpaca-compatible API, the dashboard login/guard


def test_rate_limit_answers_429_with_retry_after_on_mutating_routes(tmp_path):
    settings = reliability_settings(tmp_path, security__rate_limit="1 per minute",
                                    market__universe_size=25)
    limited = 0
    for name in SERVICE_MODULES:
        client = build_app(name, settings).test_client()
        spec = client.get("/openapi.json").get_json()
        for path, method, _op in operations(spec):
            if method not in MUTATING or (name, path) in SELF_CHECKED:
                continue
            # a bad body is answered fast and still counts against the limit
            for _ in range(2):
                resp = client.open(_url(path), method=method.upper(), data="{bad json",
                                   content_type="application/json")
            assert resp.status_code == 429, (name, method, path, resp.status_code)
            assert int(resp.headers["Retry-After"]) >= 1
            limited += 1
        assert client.get("/health").status_code == 200  # reads are not limited
        assert client.get("/health").status_code == 200
    print(f"\n429 + Retry-After on {limited} mutating operations")


@pytest.mark.parametrize("name", list(SERVICE_MODULES))
def test_secure_headers_and_closed_cors(keyed, name):
    settings, apps = keyed
    client = apps[name].test_client()
    for resp in (client.get("/health", headers={"Origin": "http://evil.example"}),
                 client.get("/no/such/route", headers={"Origin": "http://evil.example"}),
                 client.post("/api/v1/x", headers={"Origin": "http://evil.example"})):
        h = resp.headers
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-Frame-Options"] == "DENY"
        assert "Access-Control-Allow-Origin" not in h


def test_cors_opens_only_to_configured_origins(tmp_path):
    settings = reliability_settings(tmp_path, security__cors_origins=["http://ok.example"])
    client = build_app("reporting", settings).test_client()
    good = client.get("/health", headers={"Origin": "http://ok.example"})
    assert good.headers["Access-Control-Allow-Origin"] == "http://ok.example"
    bad = client.get("/health", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in bad.headers


def test_services_bind_loopback_unless_configured(tmp_path):
    default = make_settings(tmp_path)
    for name in SERVICE_MODULES:
        assert gunicorn_options(name, default)["bind"].startswith("127.0.0.1:"), name
    opened = make_settings(tmp_path, security__bind_host="0.0.0.0")
    assert gunicorn_options("paper_trading", opened)["bind"].startswith("0.0.0.0:")
