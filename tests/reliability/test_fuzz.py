"""Schema-based fuzzing (schemathesis) of every service's /openapi.json, in-process over WSGI.

For each operation a fixed, small number of generated requests is sent; every response must
not be a 5xx and must match the documented schema (status code and body).
"""
from __future__ import annotations

import re
import time
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from tests.reliability.conftest import SERVICE_MODULES

EXAMPLES_PER_OPERATION = 10
# Operations that stream forever unless bounded, or that would rebuild the whole market per
# example: the fuzzer gets them with explicit bounds instead of skipping them.
STREAMING = ("/stream",)


def _fuzz_operation(op: Any, failures: list[str]) -> int:
    sent = 0

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None,
              derandomize=True, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy())
    def run(case: Any) -> None:
        nonlocal sent
        if any(s in op.path for s in STREAMING):
            case.query = {**(case.query or {}), "max_events": 1, "idle_timeout_s": 0.05}
        sent += 1
        try:
            case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
        except Exception as exc:  # collect every operation's failure, not only the first
            failures.append(f"{op.method.upper()} {op.path}: {str(exc)[:1500]}")
            raise

    try:
        run()
    except Exception:  # noqa: S110 - recorded in ``failures`` above
        pass
    return sent


@pytest.mark.parametrize("name", list(SERVICE_MODULES))
def test_schemathesis_finds_no_5xx_and_no_schema_violation(apps, name):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", apps[name])
    failures: list[str] = []
    t0 = time.perf_counter()
    ops = sent = 0
    for result in schema.get_all_operations():
        op = result.ok()
        ops += 1
        sent += _fuzz_operation(op, failures)
    print(f"\n{name}: {ops} operations, {sent} requests in {time.perf_counter() - t0:.1f}s")
    assert ops > 0
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("name", list(SERVICE_MODULES))
def test_openapi_documents_every_route_parameter_body_and_response(apps, name):
    app = apps[name]
    spec = app.test_client().get("/openapi.json").get_json()
    missing: list[str] = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions[rule.endpoint]
        meta = getattr(view, "_api", None)
        if meta is None:
            missing.append(f"{rule.rule}: no @validate/_api contract")
            continue
        path = rule.rule
        for arg in rule.arguments:
            path = path.replace(f"<{arg}>", "{" + arg + "}")
        path = re.sub(r"<[a-z]+(?:\([^)]*\))?:(\w+)>", r"{\1}", path)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            op = spec["paths"].get(path, {}).get(method.lower())
            if op is None:
                missing.append(f"{method} {path}: not in /openapi.json")
                continue
            documented = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            if documented != set(rule.arguments):
                missing.append(f"{method} {path}: path parameters {documented}")
            if meta.get("query") is not None:
                names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
                want = {f.alias or n for n, f in meta["query"].model_fields.items()}
                if names != want:
                    missing.append(f"{method} {path}: query parameters {names} != {want}")
            if meta.get("body") is not None and "requestBody" not in op:
                missing.append(f"{method} {path}: body not documented")
            ok_codes = [c for c in op["responses"] if c.startswith(("2", "3"))]
            if not ok_codes or not all(op["responses"][c].get("content") for c in ok_codes):
                missing.append(f"{method} {path}: success response not documented")
            for code in ("400", "401", "429", "500"):
                if code not in op["responses"]:
                    missing.append(f"{method} {path}: {code} not documented")
    assert not missing, "\n".join(missing)


# --- Query and path parameters at their boundaries -------------------------------------------
#: Values every query and path parameter of every GET operation gets, one parameter at a time
#: (the others at a minimal valid value when required): integers at and past SQLite's 64-bit
#: range, dates unparsable, impossible, before 1970 and past pandas' 2262, and symbols outside
#: the ticker grammar.  Each is sent whatever the parameter's documented type: a string field
#: may still be parsed as a date or an id further in.
BOUNDARY_INTS = ["0", "-1", str(2**63 - 1), str(2**63), str(-(2**63) - 1), str(10**20)]
BOUNDARY_DATES = ["foo", "2024-02-30", "0001-01-01", "1969-12-31T23:59:59Z",
                  "2262-04-12T00:00:00Z", "9999-12-31T23:59:59Z"]
BOUNDARY_STRINGS = ["<SVG/ONLOAD=1>", "=1+1", "", "A" * 300]
BOUNDARY_VALUES = BOUNDARY_INTS + BOUNDARY_DATES + BOUNDARY_STRINGS
#: the key id names a paper account on the Alpaca-compatible routes (without one they are 401s)
FUZZ_HEADERS = {"APCA-API-KEY-ID": "PKFUZZQUERY00000001"}
STREAM_BOUNDS = {"max_events": 1, "idle_timeout_s": 0.05}


def _minimal_param(param: dict[str, Any]) -> Any:
    """Return a plausible valid value for a required query or path parameter."""
    schema = param.get("schema", {})
    alts = [schema, *schema.get("anyOf", [])]
    for alt in alts:
        if "enum" in alt:
            return alt["enum"][0]
        if "default" in alt:
            return alt["default"]
    types = {a.get("type") for a in alts}
    if "integer" in types or "number" in types:
        return max(1, schema.get("minimum", 1))
    if "array" in types:
        return "AAPL" if "symbol" in param["name"] else "x"
    return "AAPL" if "symbol" in param["name"] else "x"


def _boundary_cases(op: Any, spec_op: dict[str, Any]) -> list[tuple[str, Any]]:
    params = spec_op.get("parameters", [])
    base_q = {p["name"]: _minimal_param(p) for p in params
              if p["in"] == "query" and p.get("required")}
    base_p = {p["name"]: _minimal_param(p) for p in params if p["in"] == "path"}
    if any(s in op.path for s in STREAMING):
        base_q.update({k: v for k, v in STREAM_BOUNDS.items()
                       if k in {p["name"] for p in params}})
    out = []
    for p in params:
        if p["in"] not in ("query", "path"):
            continue
        for value in BOUNDARY_VALUES:
            if p["in"] == "path" and value == "":
                continue  # an empty path segment is another route
            q, pp = dict(base_q), dict(base_p)
            (q if p["in"] == "query" else pp)[p["name"]] = value
            label = f"GET {op.path} {p['name']}={value[:30]!r}"
            out.append((label, op.Case(query=q, path_parameters=pp, headers=dict(FUZZ_HEADERS))))
    return out


@pytest.mark.parametrize("name", list(SERVICE_MODULES))
def test_query_and_path_parameters_at_their_boundaries_give_no_5xx(apps, name):
    """Every GET operation's every parameter, at each of ``BOUNDARY_VALUES``: no 5xx and the
    answer is documented (schemathesis' ``not_a_server_error`` and schema conformance)."""
    app = apps[name]
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    spec = app.test_client().get("/openapi.json").get_json()
    failures: list[str] = []
    t0 = time.perf_counter()
    sent = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if op.method.lower() != "get":
            continue
        for label, case in _boundary_cases(op, spec["paths"][op.path]["get"]):
            sent += 1
            try:
                case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - report every case
                failures.append(f"{label}: {str(exc)[:600]}")
    print(f"\n{name}: {sent} boundary requests in {time.perf_counter() - t0:.1f}s")
    assert sent > 0 or name == "scanner"
    assert not failures, f"{len(failures)} failures:\n\n" + "\n\n".join(failures[:60])
