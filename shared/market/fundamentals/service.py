"""Cache-first fundamentals of one symbol from every provider, combined.

For each provider of the priority list that is there: its stored record while fresh, else a
new fetch (stored, older files removed), else, when the fetch fails, its expired record marked
stale.  The built-in market's provider (``simulated``) is computed on each call (microseconds,
the same numbers every time) and never stored.  A read-only instance (the scanner's) never
fetches or writes: it combines what is stored, fresh or not, with the built-in market's.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.errors import AppError, NotFound
from shared.market.fundamentals.combine import combine, order
from shared.market.fundamentals.fields import FIELDS, normalise
from shared.market.fundamentals.simulated import NAME as SIMULATED
from shared.market.fundamentals.store import Entry, FundamentalsStore

log = logging.getLogger(__name__)


class Fundamentals:
    """Fundamentals of the market's symbols, cache-first, combined by priority."""

    def __init__(self, store: FundamentalsStore, providers: Mapping[str, Any],
                 priority: Sequence[str], tolerance: Decimal | float | str, *,
                 known: Callable[[str], bool], writable: bool = True,
                 retry_after: timedelta = timedelta(minutes=5)) -> None:
        """``providers``: name -> object with ``fetch_fundamentals(symbol) -> dict``;
        ``known(symbol)``: whether the market has the symbol (else 404, nothing stored);
        ``retry_after``: a provider that failed for a symbol is not asked again this long
        (an unreachable source would otherwise cost its timeouts on every request)."""
        self.store = store
        self.providers = dict(providers)
        self.priority = list(priority)
        self.tolerance = Decimal(str(tolerance))
        self.known = known
        self.writable = writable
        self.retry_after = retry_after
        self._failed: dict[tuple[str, str], tuple[datetime, str]] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _names(self) -> list[str]:
        """Return the providers to consult, by priority: those that are there, and (read-only)
        every one the priority names, since their files may be there without their keys."""
        names = list(self.providers)
        if not self.writable:
            names += [p for p in self.priority if p != SIMULATED]
        return order(names, self.priority)

    def _lock(self, symbol: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(symbol, threading.Lock())

    def _one(self, symbol: str, name: str, refresh: bool) -> tuple[Entry | None, dict[str, Any]]:
        """Return the provider's entry (None: nothing to be had) and its status."""
        now = self.store.clock()
        if name == SIMULATED and name in self.providers:
            raw = self.providers[name].fetch_fundamentals(symbol)
            entry = Entry(symbol, name, now, normalise(raw), dict(raw.get("notes") or {}),
                          self.store.folder(symbol))
            return entry, {"fetched_at": now.isoformat(), "stale": False, "cached": False}
        cached = self.store.read(symbol, name)
        if cached is not None and not refresh and self.store.fresh(cached):
            return cached, self._status(cached, stale=False, cached=True)
        if not self.writable or name not in self.providers:
            if cached is None:
                return None, {"fetched_at": None, "stale": False, "cached": False}
            return cached, self._status(cached, stale=not self.store.fresh(cached), cached=True)
        failed = self._failed.get((symbol, name))
        if failed is not None and now - failed[0] < self.retry_after and not refresh:
            return cached, self._failure(cached, failed[1])
        try:
            raw = self.providers[name].fetch_fundamentals(symbol)
        except (AppError, OSError, ValueError, RuntimeError) as exc:  # the provider's failure
            log.warning("fundamentals of %s from %s failed: %s", symbol, name, exc)
            self._failed[(symbol, name)] = (now, str(exc)[:300])
            return cached, self._failure(cached, str(exc)[:300])
        self._failed.pop((symbol, name), None)
        entry = self.store.write(symbol, name, raw or {}, (raw or {}).get("notes"))
        return entry, self._status(entry, stale=False, cached=False)

    @staticmethod
    def _failure(cached: Entry | None, error: str) -> dict[str, Any]:
        return {"fetched_at": None if cached is None else cached.fetched_at.isoformat(),
                "stale": cached is not None, "cached": cached is not None, "error": error}

    @staticmethod
    def _status(entry: Entry, *, stale: bool, cached: bool) -> dict[str, Any]:
        return {"fetched_at": entry.fetched_at.isoformat(), "stale": stale, "cached": cached}

    def get(self, symbol: str, refresh: bool = False) -> dict[str, Any]:
        """Return the combined fundamentals of ``symbol`` with sources and disagreements.

        Raises:
            NotFound: a symbol the market does not have (nothing is fetched or stored).
        """
        if not self.known(symbol):
            raise NotFound(f"unknown symbol '{symbol}': not in the market's universe",
                           field="symbol")
        entries: dict[str, Entry] = {}
        status: dict[str, dict[str, Any]] = {}
        with self._lock(symbol):
            for name in self._names():
                entry, status[name] = self._one(symbol, name, refresh)
                if entry is not None:
                    entries[name] = entry
        merged = combine({n: e.data for n, e in entries.items()}, self.priority, self.tolerance)
        notes = {}
        for f in FIELDS:
            if merged.record[f] is None:
                why = next((e.notes[f] for e in entries.values() if f in e.notes), None)
                notes[f] = why or "no provider has it"
        used = set(merged.sources.values())
        return {"symbol": symbol, "fundamentals": merged.record, "sources": merged.sources,
                "disagreements": merged.disagreements, "missing": notes,
                "providers": {n: s for n, s in status.items() if n in entries or "error" in s},
                "fetched_at": {n: s["fetched_at"] for n, s in status.items() if n in entries},
                "stale": any(status[n]["stale"] for n in used),
                "simulated": used == {SIMULATED}}

    def records(self, symbols: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Return symbol -> combined record of the known ``symbols`` (others left out)."""
        out = {}
        for s in symbols:
            if self.known(s):
                out[s] = self.get(s)["fundamentals"]
        return out
