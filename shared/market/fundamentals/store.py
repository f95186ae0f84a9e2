"""The fundamentals file cache: ``<root>/<SYMBOL>/fundamentals/<provider>_<YYYYMMDD_HHMMSS>.json``.

One file per provider and fetch (UTC), written through a temp file + rename so a reader never
sees half a file; writing a provider's newer file removes its older ones for the symbol.  A
file is fresh for ``ttl`` after its fetch time, measured on an injected clock (a callable
returning an aware UTC datetime), so expiry is testable without sleeping.  A bounded memory
layer (LRU) sits in front of the disk; an entry is used only while the symbol's folder is
unchanged (one ``stat``), so a file another process wrote is seen at once.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cachetools import LRUCache

from shared.market.fundamentals.fields import Record, normalise

_STAMP = "%Y%m%d_%H%M%S"
SUBDIR = "fundamentals"


def safe_symbol(symbol: str) -> str:
    """Return the folder name of ``symbol``: as ``shared.market.filecache`` names it."""
    return symbol.replace("/", "-")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Entry:
    """One provider's record of one symbol, and when it was fetched."""

    symbol: str
    provider: str
    fetched_at: datetime
    data: Record
    notes: dict[str, str]
    path: Path

    def expired(self, now: datetime, ttl: timedelta) -> bool:
        return now - self.fetched_at >= ttl


def _parse_name(name: str) -> tuple[str, datetime] | None:
    """Return (provider, fetch time) of a cache file's name, None for any other file."""
    if not name.endswith(".json"):
        return None
    provider, _, stamp = name[:-5].partition("_")
    try:
        return provider, datetime.strptime(stamp, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


class FundamentalsStore:
    """Per-provider fundamentals files under ``root`` with a memory layer in front."""

    def __init__(self, root: str | os.PathLike[str], ttl: timedelta, *,
                 clock: Callable[[], datetime] = utc_now, memory_size: int = 8192) -> None:
        """``memory_size``: (symbol, provider) records kept; a scan reads every symbol's of
        every provider, so it should hold the universe times the providers."""
        self.root = Path(root)
        self._root = str(self.root)
        self.ttl = ttl
        self.clock = clock
        self._memory: LRUCache[tuple[str, str], tuple[int, Entry | None]] = LRUCache(memory_size)
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def folder(self, symbol: str) -> Path:
        return self.root / safe_symbol(symbol) / SUBDIR

    def path(self, symbol: str, provider: str, fetched_at: datetime) -> Path:
        return self.folder(symbol) / f"{provider}_{fetched_at.astimezone(UTC).strftime(_STAMP)}.json"

    def files(self, symbol: str, provider: str) -> list[tuple[datetime, Path]]:
        """Return the provider's files for ``symbol`` with their fetch times, oldest first."""
        folder = self.folder(symbol)
        if not folder.is_dir():
            return []
        out = []
        for p in folder.iterdir():
            parsed = _parse_name(p.name)
            if parsed is not None and parsed[0] == provider:
                out.append((parsed[1], p))
        return sorted(out)

    def write(self, symbol: str, provider: str, record: dict[str, Any],
              notes: dict[str, str] | None = None) -> Entry:
        """Store ``record`` as the provider's newest, fetched now; remove its older files."""
        now = self.clock().astimezone(UTC).replace(microsecond=0)
        data = normalise(record)
        path = self.path(symbol, provider, now)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = {"symbol": symbol, "provider": provider, "fetched_at": now.isoformat(),
                "data": data, "notes": dict(notes or {})}
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(body, indent=1))
        os.replace(tmp, path)
        for when, old in self.files(symbol, provider):
            if when < now:
                old.unlink(missing_ok=True)
        entry = Entry(symbol, provider, now, data, dict(notes or {}), path)
        with self._lock:
            self._memory.pop((symbol, provider), None)
        return entry

    def _stamp(self, symbol: str) -> int:
        try:  # os.path, not pathlib: this runs on every read (a scan: symbols x providers)
            return os.stat(os.path.join(self._root, safe_symbol(symbol), SUBDIR)).st_mtime_ns
        except FileNotFoundError:
            return -1

    def read(self, symbol: str, provider: str) -> Entry | None:
        """Return the provider's newest stored record of ``symbol`` (expired or not), or None."""
        key, stamp = (symbol, provider), self._stamp(symbol)
        with self._lock:
            held = self._memory.get(key)
        if held is not None and held[0] == stamp:
            self.hits += 1
            return held[1]
        self.misses += 1
        entry = self.read_disk(symbol, provider)
        with self._lock:
            self._memory[key] = (stamp, entry)
        return entry

    def read_disk(self, symbol: str, provider: str) -> Entry | None:
        """Return the newest file's record, bypassing the memory layer."""
        for when, path in reversed(self.files(symbol, provider)):
            try:
                body = json.loads(path.read_text())
            except (OSError, ValueError):  # removed meanwhile by a newer write, or torn
                continue
            return Entry(symbol, provider, when, normalise(body.get("data") or {}),
                         dict(body.get("notes") or {}), path)
        return None

    def fresh(self, entry: Entry | None) -> bool:
        """Return whether ``entry`` exists and its TTL has not run out at the clock's now."""
        return entry is not None and not entry.expired(self.clock(), self.ttl)
