"""The runtime dependency set is complete and holds no test or dev tool.

pyproject.toml declares the sets, requirements/*.lock pin them (scripts/lock.py), the Docker
image installs only the runtime lock.  The proof that runtime needs nothing else: a fresh
interpreter in which every module of the test and dev locks is unimportable builds every
service's app, runs the manager's migrate and imports the backtester.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from shared.config import ROOT

sys.path.insert(0, str(ROOT / "scripts"))
import lock  # noqa: E402  (scripts/lock.py)

LOCKS = {name: lock.read_lock(ROOT / "requirements" / f"{name}.lock") for name in lock.SETS}
#: what the issue names as never in the image
NOT_RUNTIME = ("pytest", "playwright", "schemathesis", "hypothesis", "ruff", "scipy",
               "empyrical-reloaded", "backtesting")


def test_each_lock_pins_exactly_its_sets_closure_at_the_installed_versions():
    expected = lock.locks()
    for name in lock.SETS:
        pins = {k: v for k, (_, v) in expected[name].items()}
        assert LOCKS[name] == pins, f"requirements/{name}.lock is stale: run `make lock`"
    declared = lock.declared()
    for name in lock.SETS:  # every declared name is pinned in its own lock or an earlier one
        pinned = set().union(*(LOCKS[s] for s in lock.SETS[:lock.SETS.index(name) + 1]))
        for req in declared[name]:
            assert canonicalize_name(lock.Requirement(req).name) in pinned, (name, req)


def test_the_sets_do_not_overlap_and_runtime_has_no_test_tool():
    runtime, test, dev = (set(LOCKS[s]) for s in lock.SETS)
    assert not runtime & test and not runtime & dev and not test & dev
    for name in NOT_RUNTIME:
        assert canonicalize_name(name) not in runtime, name
    assert {"pytest", "playwright", "scipy"} <= test and "ruff" in dev


def test_requirements_txt_installs_the_three_locks_and_make_reinstalls_on_a_change():
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    for name in lock.SETS:
        assert f"-r requirements/{name}.lock" in lines
    makefile = (ROOT / "Makefile").read_text()
    assert "$(STAMP): requirements.txt $(LOCKS)" in makefile
    for name in lock.SETS:
        assert f"requirements/{name}.lock" in makefile


#: code the services, the manager and the backtester run (the documented example strategies
#: are loaded by technical analysis at run time)
RUNTIME_CODE = ("shared", "services", "dashboard", "backtest", "hybrid_manager.py",
                "docs/strategies")
LOCAL = {"shared", "services", "dashboard", "backtest", "hybrid_manager"}


def test_every_module_the_runtime_code_imports_anywhere_is_in_the_runtime_lock():
    """Also the imports inside functions (psycopg, ccxt...) that building the apps never
    runs: each names a distribution of the runtime lock."""
    import ast
    from importlib.metadata import packages_distributions

    owners = packages_distributions()
    runtime = set(LOCKS["runtime"])
    missing: dict[str, set[str]] = {}
    for top in RUNTIME_CODE:
        path = ROOT / top
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for f in files:
            for node in ast.walk(ast.parse(f.read_text(), str(f))):
                if isinstance(node, ast.Import):
                    mods = [a.name.split(".")[0] for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    mods = [node.module.split(".")[0]]
                else:
                    continue
                for m in mods:
                    if m in sys.stdlib_module_names or m in LOCAL:
                        continue
                    dists = {canonicalize_name(d) for d in owners.get(m, [])}
                    if not dists & runtime:
                        missing.setdefault(m, set()).add(str(f.relative_to(ROOT)))
    assert missing == {}, "imported at run time but not in pyproject's dependencies " \
        "(add them, then `make lock`): " + repr(missing)


def _top_level_modules(dist_name: str) -> set[str]:
    """Return the importable top-level names a distribution installs."""
    names = set()
    for f in distribution(dist_name).files or []:
        first = f.parts[0]
        if first.endswith((".dist-info", ".data")) or first in ("..", "__pycache__"):
            continue
        if len(f.parts) == 1:
            if first.endswith(".py"):
                names.add(first[:-3])
            elif first.endswith(".so"):
                names.add(first.split(".", 1)[0])
        elif not first.endswith(".libs"):
            names.add(first)
    return names


_PROBE = r"""
import importlib, json, os, sys
from importlib.abc import MetaPathFinder

BLOCKED = set(json.loads(os.environ["BLOCKED_MODULES"]))


class Blocker(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"test-only module {name} imported at run time", name=name)
        return None


sys.meta_path.insert(0, Blocker())
try:
    import pytest  # noqa: F401
    raise SystemExit("the blocker let pytest through")
except ModuleNotFoundError:
    pass

import hybrid_manager
assert hybrid_manager.main(["migrate"]) == 0

from shared.config import SERVICES, load_settings
settings = load_settings()
built = []
for name, _, module in SERVICES:
    pkg = importlib.import_module(module)
    factory = getattr(pkg, "create_app", None) or getattr(pkg, "create_stream_app")
    app = factory(settings)
    built.append(name)
    db = getattr(app, "extensions", {}).get("db")
    if db is not None:
        db.close()
importlib.import_module("backtest.cli")
importlib.import_module("shared.supervisor.cli")
loaded = sorted({m.split(".")[0] for m in sys.modules} & BLOCKED)
print(json.dumps({"built": built, "loaded": loaded}))
"""


@pytest.mark.slow
def test_every_service_and_the_manager_run_without_the_test_and_dev_sets(tmp_path: Path):
    blocked = set()
    for name in ("test", "dev"):
        for dist in LOCKS[name]:
            blocked |= _top_level_modules(dist)
    assert {"pytest", "playwright", "scipy", "hypothesis", "schemathesis", "backtesting",
            "empyrical", "ruff"} <= blocked
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRADING__", "PYTEST"))
           and k not in ("DATABASE_URL", "TRADING_CONFIG", "PROMETHEUS_MULTIPROC_DIR")}
    env.update(BLOCKED_MODULES=json.dumps(sorted(blocked)), PYTHONPATH=str(ROOT),
               DATABASE_PATH=str(tmp_path / "trading.db"), LOG_DIR=str(tmp_path / "logs"),
               TRADING__ENV="test")
    out = subprocess.run([sys.executable, "-c", _PROBE], cwd=ROOT, env=env, text=True,
                         capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(result["built"]) == 10 and result["loaded"] == []
