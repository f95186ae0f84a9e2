"""Hostile input in every string and number field of every mutating route of every service.

The routes and their fields come from each service's ``/openapi.json``, so a new route is
covered without touching this file.  Each payload goes into one field of an otherwise minimal
body (or into a path parameter) and is sent over loopback to the live in-process service.
Every answer must be a 2xx or a 4xx (never a 5xx); a string a 2xx echoes back must be the
one sent; afterwards no table is gone and ``PRAGMA integrity_check`` is ok.
"""
from __future__ import annotations

import json
import sqlite3
import urllib.parse
import uuid
from typing import Any

import pytest
import requests

from shared.config import Settings
from tests.reliability.conftest import MUTATING, SERVICE_MODULES, operations

SQL = ["x'); DROP TABLE orders;--", "1 OR 1=1", "\" OR \"\"=\"", "'; DELETE FROM ledger; --"]
TRAVERSAL = ["../../../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "/etc/shadow"]
SCRIPT = ["<script>alert(1)</script>", "\"><img src=x onerror=alert(1)>"]
UNICODE = ["nul\x00byte", "\u202eRTL-override", "\ud800lone-surrogate", "Z\u0351\u0300\u036b",
           "\U0001f4a5emoji", "\ufeffbom", "\r\nInjected-Header: 1"]
LONG = ["A" * 100_000]
STRINGS = SQL + TRAVERSAL + SCRIPT + UNICODE + LONG + ["", " ", "NaN", "Infinity", "1e400",
                                                       "-0", str(10**40), "0001-01-01",
                                                       "9999-12-31T23:59:59+00:00"]
# Raw JSON number tokens (not valid JSON for the first three: the service must refuse them).
NUMBERS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400", str(10**400), str(-(10**30)),
           "1e-400", "0", "-1", "0.0000001", "9007199254740993"]
# A symbol every simulated universe has, for required symbol fields of the minimal body.
SYMBOL = "AAPL"


def _resolve(spec: dict[str, Any], schema: dict[str, Any] | None) -> dict[str, Any]:
    while schema and "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema or {}


def _types(spec: dict[str, Any], schema: dict[str, Any]) -> set[str]:
    schema = _resolve(spec, schema)
    out = {schema["type"]} if isinstance(schema.get("type"), str) else set(schema.get("type", []))
    for alt in schema.get("anyOf", []) + schema.get("oneOf", []):
        out |= _types(spec, alt)
    if "enum" in schema or "const" in schema:
        out.add("string")
    return out


def _minimal(spec: dict[str, Any], name: str, schema: dict[str, Any]) -> Any:
    """Return a plausible valid value for a required field."""
    schema = _resolve(spec, schema)
    if "enum" in schema:
        return schema["enum"][0]
    if "const" in schema:
        return schema["const"]
    if "default" in schema:
        return schema["default"]
    types = _types(spec, schema) - {"null"}
    if "array" in types:
        return [SYMBOL] if "symbol" in name else []
    if "string" in types:
        fmt = schema.get("format")
        if fmt == "date-time":
            return "2024-03-01T15:00:00+00:00"
        if fmt == "date":
            return "2024-03-01"
        # unique, so that a service that merges near-duplicates (news) stores each one
        return SYMBOL if "symbol" in name else f"reliability {uuid.uuid4().hex}"
    if "integer" in types or "number" in types:
        return max(1, schema.get("minimum", 1))
    if "boolean" in types:
        return False
    return {}


def _cases(spec: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Return (method, path, where, field, kind) for every string/number slot of every
    mutating operation; ``where`` is body, body[] (array item), path or query."""
    out = []
    for path, method, op in operations(spec):
        if method not in MUTATING:
            continue
        for p in op.get("parameters", []):
            kinds = _types(spec, p.get("schema", {}))
            out.append((method, path, p["in"], p["name"],
                        "number" if kinds & {"number", "integer"} else "string"))
        body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
        schema = _resolve(spec, body.get("schema"))
        for name, sub in schema.get("properties", {}).items():
            kinds = _types(spec, sub)
            if kinds & {"number", "integer"}:
                out.append((method, path, "body", name, "number"))
            if "string" in kinds:
                out.append((method, path, "body", name, "string"))
            items = _resolve(spec, _resolve(spec, sub).get("items")) if "array" in kinds else {}
            if items and "string" in _types(spec, items):
                out.append((method, path, "body[]", name, "string"))
    return out


def _send(base: str, spec: dict[str, Any], method: str, path: str, where: str, field: str,
          raw: str, is_json_token: bool) -> requests.Response:
    op = spec["paths"][path][method]
    schema = _resolve(spec, op.get("requestBody", {}).get("content", {})
                      .get("application/json", {}).get("schema"))
    body: dict[str, Any] = {n: _minimal(spec, n, schema["properties"][n])
                            for n in schema.get("required", [])}
    url_path, query = path, {}
    for p in op.get("parameters", []):
        if p["in"] == "path":
            value = raw if (where == "path" and p["name"] == field) else "x1"
            url_path = url_path.replace("{" + p["name"] + "}", urllib.parse.quote(
                value.encode("utf-8", "surrogatepass"), safe=""))
    if where == "query":
        query[field] = raw.encode("utf-8", "surrogatepass")
    marker = "__injected__"
    if where == "body":
        body[field] = marker
    elif where == "body[]":
        body[field] = [marker]
    data = None
    if "requestBody" in op or where.startswith("body"):
        text = json.dumps(body)
        token = raw if is_json_token else json.dumps(raw)
        data = text.replace(json.dumps(marker), token).encode("utf-8", "surrogatepass")
    return requests.request(method.upper(), base + url_path, params=query, data=data,
                            headers={"Content-Type": "application/json"}, timeout=60)


def _echoed_strings(data: Any, field: str) -> list[Any]:
    if isinstance(data, dict):
        found = [data[field]] if isinstance(data.get(field), str) else []
        return found + [v for x in data.values() for v in _echoed_strings(x, field)]
    if isinstance(data, list):
        return [v for x in data for v in _echoed_strings(x, field)]
    return []


def _tables(settings: Settings) -> set[str]:
    with sqlite3.connect(settings.database_path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


@pytest.mark.parametrize("name", list(SERVICE_MODULES))
def test_hostile_input_is_rejected_or_stored_verbatim_never_a_500(apps, module_settings, name):
    settings = module_settings
    app = apps[name]
    spec = app.test_client().get("/openapi.json").get_json()
    base = f"http://127.0.0.1:{settings.port(name)}"
    tables = _tables(settings)
    cases = _cases(spec)
    problems: list[str] = []
    sent = 0
    for method, path, where, field, kind in cases:
        payloads = [(n, True) for n in NUMBERS] if kind == "number" else []
        payloads += [(s, False) for s in STRINGS]
        for raw, token in payloads:
            if where in ("path", "query") and token:
                continue  # path and query values are text either way
            resp = _send(base, spec, method, path, where, field, raw, token)
            sent += 1
            label = f"{method.upper()} {path} {where}:{field}={raw[:40]!r}"
            if resp.status_code >= 500:
                problems.append(f"{label} -> {resp.status_code} {resp.text[:300]}")
                continue
            if 200 <= resp.status_code < 300 and not token and where.startswith("body"):
                try:
                    data = resp.json()
                except ValueError:
                    continue
                payload = data.get("data", data)
                if isinstance(payload, dict) and payload.get("merged"):
                    continue  # merged into an earlier story: that one's fields come back
                for value in _echoed_strings(payload, field):
                    # Symbols are upper-cased and headlines stripped by design; else verbatim.
                    if value not in (raw, raw.upper(), raw.strip()) and raw not in value:
                        problems.append(f"{label} stored as {value[:60]!r}")
    print(f"\n{name}: {len(cases)} slots, {sent} hostile requests")
    assert _tables(settings) == tables, "a table disappeared"
    with sqlite3.connect(settings.database_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not problems, "\n".join(problems[:40])


def test_stored_strings_read_back_identical(apps, module_settings):
    """Hostile strings that are accepted come back identical on a later read (news stories:
    the headline is stripped by design, the content is kept as sent)."""
    base = f"http://127.0.0.1:{module_settings.port('news')}"
    stored = 0
    for text in STRINGS:
        headline = f"{uuid.uuid4().hex} {text}"
        resp = requests.post(f"{base}/api/v1/news", json={
            "headline": headline, "content": text, "author": text[:200],
            "symbols": [SYMBOL]}, timeout=30)
        assert resp.status_code in (201, 400), resp.text[:300]
        if resp.status_code == 400:
            assert "\ud800" in text or len(text) > 1000, (text[:40], resp.text[:300])
            continue
        article = resp.json()["data"]
        got = requests.get(f"{base}/api/v1/news/{article['id']}", timeout=30).json()["data"]
        assert got["headline"] == headline.strip()
        assert got.get("content", text) == text and got["author"] == text[:200]
        stored += 1
    assert stored >= len(STRINGS) - 3


@pytest.mark.parametrize("name", list(SERVICE_MODULES))
def test_body_over_max_body_bytes_gets_413_on_every_mutating_route(apps, module_settings, name):
    client = apps[name].test_client()
    spec = client.get("/openapi.json").get_json()
    big = b"{" + b" " * (module_settings.security.max_body_bytes + 1) + b"}"
    checked = 0
    for path, method, _op in operations(spec):
        if method not in MUTATING:
            continue
        url = path.replace("{", "").replace("}", "")
        resp = client.open(url, method=method.upper(), data=big,
                           content_type="application/json")
        assert resp.status_code == 413, (method, path, resp.status_code)
        assert resp.get_json() is not None
        checked += 1
    assert checked > 0 or name in ()
