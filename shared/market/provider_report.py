"""What ``GET /api/v1/providers`` says about each market-data provider of a data manager.

Per provider: whether it is configured (keys present, or none needed), what it serves, which
routes name it, its breaker, its calls and failures, its last error and success, its rate
budget, and one state word a person reads first (``ready``, ``no_key``, ``breaker_open``,
``rate_limited``, ``failing``, ``unavailable``).  Only providers a route names (or already
in use) are built: building the network clients imports their libraries (ccxt alone adds
~50 MB to a process), so an unrouted one is judged by its keys and its class.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from shared.market.providers import ProviderSet
from shared.market.routing import ASSET_CLASSES, KEY_ENV, keys_using, resolve_route

if TYPE_CHECKING:
    from shared.market.manager import DataManager

TIMEFRAMES = ("1m", "5m", "15m", "1h", "1d")
#: What the built-in providers serve (the network sources say it themselves).
_BUILTIN_SERVES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "simulated": (("equity", "etf", "crypto"), TIMEFRAMES),
    "csv": (("equity", "etf", "crypto"), TIMEFRAMES),
    "alpaca": (("equity", "etf", "crypto"), TIMEFRAMES),
}
#: What the network sources serve, when their classes are not imported (shared.market.sources).
_SOURCE_SERVES: dict[str, tuple[str, ...]] = {
    "yahoo": ("equity", "etf", "crypto"), "binance": ("crypto",),
    "alphavantage": ("equity", "etf"), "polygon": ("equity", "etf", "crypto"),
    "tiingo": ("equity", "etf"), "fmp": ("equity", "etf"),
}
_REGISTRY = "shared.market.sources.registry"
STATES = ("ready", "no_key", "unavailable", "breaker_open", "rate_limited", "failing")


def iso(ts: float | None) -> str | None:
    """Return a wall-clock epoch second as ISO-8601 UTC (None stays None)."""
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def _serves(name: str, provider: Any) -> tuple[list[str], list[str]]:
    src: Any = provider
    if src is None and _REGISTRY in sys.modules:  # not built: its class says what it serves
        src = sys.modules[_REGISTRY].PROVIDERS.get(name)
    if src is not None and getattr(src, "asset_classes", None):
        classes = [c for c in ASSET_CLASSES if c in src.asset_classes]
        tfs = [t for t in TIMEFRAMES if t in (getattr(src, "timeframes", None) or TIMEFRAMES)]
        return classes, tfs
    if name in _SOURCE_SERVES:
        return list(_SOURCE_SERVES[name]), list(TIMEFRAMES)
    classes_, tfs_ = _BUILTIN_SERVES.get(name, ((), ()))
    return list(classes_), list(tfs_)


def provider_state(*, configured: bool, missing_keys: list[str], breaker: str,
                   open_until: float | None, wait_until: float | None, fail_counter: int,
                   now: float) -> tuple[str, str]:
    """Return (state, words): what a person reads first about one provider."""
    if not configured:
        if missing_keys:
            return "no_key", f"no key (set {' and '.join(missing_keys)})"
        return "unavailable", "not available in this installation"
    if breaker == "open":
        if open_until is not None and open_until > now:
            return "breaker_open", f"breaker open until {iso(open_until)}"
        return "breaker_open", "breaker open; the next call tries again"
    if wait_until is not None and wait_until > now:
        return "rate_limited", f"rate limited until {iso(wait_until)}"
    if breaker == "half-open":
        return "failing", "breaker half-open; the next call decides"
    if fail_counter:
        return "failing", f"{fail_counter} failure(s) in a row"
    return "ready", "ready"


def provider_entry(dm: DataManager, name: str, environ: Mapping[str, str],
                   now: float) -> dict[str, Any]:
    """Return one provider's line of the report."""
    ps: ProviderSet = dm.providers
    routes = keys_using(dm.cfg.routes, name)
    active = ps.built(name) or bool(routes)
    provider = ps.get(name) if active else None
    st, br = ps.status[name], ps.breakers[name]
    needs = list(KEY_ENV.get(name, ()))
    if active:
        configured = provider is not None
    elif name == "alpaca":
        configured = dm.settings.alpaca.configured
    else:
        configured = all(environ.get(v) for v in needs)
    missing = [] if configured else [v for v in needs if not environ.get(v)] or needs
    classes, tfs = _serves(name, provider)
    open_until = ps.open_until(name)
    state, words = provider_state(
        configured=configured, missing_keys=missing, breaker=br.current_state,
        open_until=open_until, wait_until=st.wait_until, fail_counter=br.fail_counter, now=now)
    return {
        "name": name, "configured": configured, "active": provider is not None,
        "keys": needs, "missing_keys": missing, "asset_classes": classes, "timeframes": tfs,
        "routes": routes, "state": state, "state_text": words,
        "breaker": {"state": br.current_state, "fail_counter": br.fail_counter,
                    "fail_max": br.fail_max, "opened_at": iso(st.opened_at),
                    "open_until": iso(open_until)},
        "calls": st.calls, "failures": st.failures, "skipped_open": st.skipped_open,
        "rate_limited": st.rate_limited, "rate_limited_until": iso(
            st.wait_until if st.wait_until and st.wait_until > now else None),
        "last_error": st.last_error, "last_error_at": iso(st.last_error_at),
        "last_success_at": iso(st.last_success_at),
        "budget": ps.budget(provider) if provider is not None else None,
    }


def providers_report(dm: DataManager, *, environ: Mapping[str, str] | None = None,
                     names: list[str] | None = None, now: float | None = None
                     ) -> dict[str, Any]:
    """Return every provider's entry (or those in ``names``), the routes as configured and
    as resolved per class and timeframe, and what the manager served stale."""
    env = os.environ if environ is None else environ
    t = time.time() if now is None else now
    wanted = [n for n in dm.providers.names if names is None or n in names]
    last = dm.last_stale
    return {
        "providers": [provider_entry(dm, n, env, t) for n in wanted],
        "routes": {k: list(v) for k, v in dm.cfg.routes.items()},
        "resolved": {cls: {tf: resolve_route(dm.cfg.routes, cls, tf) for tf in TIMEFRAMES}
                     for cls in ASSET_CLASSES},
        "breaker_fail_max": dm.cfg.breaker_fail_max,
        "breaker_reset_s": dm.cfg.breaker_reset_s,
        "stale_fallback": dm.cfg.stale_fallback,
        "stale": {"served": dm.counters.get("stale_served", 0),
                  "failovers": dm.counters.get("failovers", 0),
                  "last": None if last is None else {**last, "at": iso(last["at"])}},
        "checked_at": iso(t),
    }

