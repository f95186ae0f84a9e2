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
