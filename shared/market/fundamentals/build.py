"""Build a ``Fundamentals`` from the settings: the file cache, the providers, the built-in market.

External providers come from ``shared.market.sources.registry.build(name, settings, environ)``
(None without its key); a provider without ``fetch_fundamentals`` is skipped, and so is one that
needs no key (Yahoo) unless ``market.routes`` names it: the default settings stay offline, as
the routes' default does, and no test reaches the internet.  A read-only instance builds none
of them: it reads their stored files only.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from shared.market.fundamentals.service import Fundamentals
from shared.market.fundamentals.simulated import NAME as SIMULATED
from shared.market.fundamentals.simulated import SimulatedFundamentals, path_price_scale
from shared.market.fundamentals.store import FundamentalsStore, utc_now

log = logging.getLogger(__name__)


def external_providers(settings: Any, environ: Mapping[str, str]) -> dict[str, Any]:
    """Return name -> provider of the priority list's external sources that can be built."""
    try:
        from shared.market.sources import registry
    except ImportError:  # the sources package is not there: the built-in market only
        return {}
    out = {}
    routed = {p for chain in settings.market.routes.values() for p in chain}
    keyless = {n for n, var in getattr(registry, "KEY_ENV", {}).items() if var is None}
    for name in settings.market.fundamentals_priority:
        if name == SIMULATED or (name in keyless and name not in routed):
            continue
        try:
            provider = registry.build(name, settings, environ)
        except (KeyError, ValueError, LookupError) as exc:  # a name the registry does not know
            log.info("fundamentals provider %s not built: %s", name, exc)
            continue
        if provider is not None and hasattr(provider, "fetch_fundamentals"):
            out[name] = provider
    return out


def build_fundamentals(settings: Any, *, writable: bool, today: Callable[[], date] | None = None,
                       clock: Callable[[], datetime] = utc_now,
                       environ: Mapping[str, str] | None = None,
                       providers: Mapping[str, Any] | None = None) -> Fundamentals:
    """Return the fundamentals of ``settings``' market.

    ``today`` dates the built-in market's earnings schedule (pass the market clock's date);
    ``clock`` measures the cache's TTL (wall time by default); ``providers`` replaces the
    external ones (tests); a read-only instance (``writable=False``) uses none.
    """
    from shared.market.calendar import get_calendar
    from shared.market.symbols import universe_map

    m = settings.market
    universe = universe_map(m.seed, m.universe_size, tuple(m.crypto_symbols))
    store = FundamentalsStore(settings.resolve(m.data_cache_dir),
                              timedelta(days=m.fundamentals_ttl_days), clock=clock,
                              memory_size=m.fundamentals_memory_size)
    found: dict[str, Any] = {}
    if writable:
        found = dict(providers) if providers is not None else external_providers(
            settings, os.environ if environ is None else environ)
    if SIMULATED in m.fundamentals_priority:
        scale = path_price_scale(m.seed, universe, get_calendar(m.calendar))
        found[SIMULATED] = SimulatedFundamentals(m.seed, universe, scale, today)
    return Fundamentals(store, found, m.fundamentals_priority, m.fundamentals_tolerance,
                        known=universe.__contains__, writable=writable)
