"""The file cache of fetched bars, one folder per symbol, timeframe and provider.

``data-cache/<SYMBOL>/bars/<timeframe>/<provider>/<year>.bars.gz`` holds the year's bars as
columnar arrays (``shared.market.barfile``), ``<year>.json`` beside it what they are: provider,
rows, first and last bar, when they were fetched, their quality score (``validate_bars``'s:
share of valid rows x share of expected minutes present; a file's is the row-weighted mean of
its batches') and the spans fetched (``covered``: a span fetched with no bar in it, such as a
halted afternoon, is still covered, so it is never asked for again).  Fundamentals live beside
``bars/`` in ``<SYMBOL>/fundamentals/``.

Providers are kept apart on disk; a read names its providers in order (the route's) and each
bar comes from the first of them that has it (``attrs['source']`` names the first contributing,
``attrs['providers']`` all of them).  Writes merge with what is there (newer rows win) under a
lock (a thread lock and ``flock`` across processes) and replace the file atomically, data before
metadata, so the metadata never claims more than the data holds.  Files of the first layout
(``<symbol>/<timeframe>/<year>.csv.gz``) are rewritten in this one on first use.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import threading
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from shared.market.barfile import (
    SUFFIX,
    encode,
    merge_newer,
    read_file,
    read_legacy_csv,
    write_atomic,
)
from shared.market.calendar import to_utc
from shared.market.frames import BarArrays, empty_arrays
from shared.market.missing import Span, clip, merge_spans
from shared.market.timeframes import parse_timeframe

log = logging.getLogger("market.filecache")
_NS_YEAR = "datetime64[Y]"


def safe_symbol(symbol: str) -> str:
    """Return the folder name of a symbol (``BTC/USD`` -> ``BTC-USD``)."""
    return symbol.replace("/", "-")


def _year_bounds(year: int) -> Span:
    return pd.Timestamp(year=year, month=1, day=1, tz="UTC"), pd.Timestamp(
        year=year + 1, month=1, day=1, tz="UTC")


def _years(start: pd.Timestamp, end: pd.Timestamp) -> range:
    return range(start.year, (end - pd.Timedelta(1)).year + 1) if end > start else range(0)


class FileCache:
    """Bars by symbol, timeframe, provider and year under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._lock = threading.RLock()
        self._migrated: set[tuple[str, str]] = set()

    # -- layout --------------------------------------------------------------------------
    def bars_dir(self, symbol: str, timeframe: str) -> Path:
        return self.root / safe_symbol(symbol) / "bars" / timeframe

    def path(self, symbol: str, timeframe: str, year: int, provider: str) -> Path:
        return self.bars_dir(symbol, timeframe) / provider / f"{year}{SUFFIX}"

    def _meta_path(self, symbol: str, timeframe: str, year: int, provider: str) -> Path:
        return self.bars_dir(symbol, timeframe) / provider / f"{year}.json"

    def providers(self, symbol: str, timeframe: str) -> list[str]:
        """Return the providers with files for this symbol and timeframe (by name)."""
        self._migrate(symbol, timeframe)
        d = self.bars_dir(symbol, timeframe)
        return sorted(p.name for p in d.iterdir() if p.is_dir()) if d.is_dir() else []

    def order(self, symbol: str, timeframe: str, route: Iterable[str] = ()) -> list[str]:
        """Return the providers on disk, those of ``route`` first in its order, then the rest."""
        on_disk = self.providers(symbol, timeframe)
        first = [p for p in dict.fromkeys(route) if p in on_disk]
        return first + [p for p in on_disk if p not in first]

    # -- metadata ------------------------------------------------------------------------
    def metadata(self, symbol: str, timeframe: str, year: int, provider: str | None = None
                 ) -> dict[str, Any] | None:
        """Return a year file's metadata (of the first provider on disk when none is named)."""
        names = [provider] if provider else self.order(symbol, timeframe)
        for name in names:
            p = self._meta_path(symbol, timeframe, year, name)
            with contextlib.suppress(FileNotFoundError):
                return json.loads(p.read_text())
        return None

    def covered(self, symbol: str, timeframe: str, start: object, end: object,
                providers: Iterable[str] | None = None) -> list[Span]:
        """Return the spans of ``[start, end)`` fetched by any of ``providers`` (default: all)."""
        s, e = to_utc(start), to_utc(end)
        names = self.providers(symbol, timeframe) if providers is None else list(providers)
        spans: list[Span] = []
        for name in names:
            for year in _years(s, e):
                meta = self.metadata(symbol, timeframe, year, name)
                if meta:
                    spans += [(to_utc(a), to_utc(b)) for a, b in meta.get("covered", ())]
        return clip(spans, s, e)

    # -- reads ---------------------------------------------------------------------------
    def _load(self, symbol: str, timeframe: str, year: int, provider: str) -> BarArrays | None:
        try:
            return read_file(self.path(symbol, timeframe, year, provider), provider)
        except FileNotFoundError:
            return None

    def read_arrays(self, symbol: str, timeframe: str, start: object, end: object,
                    providers: Iterable[str] | None = None) -> BarArrays:
        """Return the cached bars with ``start <= ts < end``; on equal times the first of
        ``providers`` (default: the providers on disk by name) wins, then any other on disk."""
        s, e = to_utc(start), to_utc(end)
        names = self.order(symbol, timeframe, providers or ())
        parts: list[BarArrays] = []
        for name in names:
            years = [a for y in _years(s, e)
                     if (a := self._load(symbol, timeframe, y, name)) is not None and len(a)]
            if not years:
                continue
            arr = years[0]
            for nxt in years[1:]:
                arr = arr.then(nxt)
            lo, hi = np.searchsorted(arr.ts, [s.value, e.value], side="left")
            if hi > lo:
                parts.append(arr.take(slice(int(lo), int(hi))))
        if not parts:
            return empty_arrays("file_cache")
        if len(parts) == 1:
            return parts[0]
        return _by_priority(parts)

    def read(self, symbol: str, timeframe: str, start: object, end: object,
             providers: Iterable[str] | None = None) -> pd.DataFrame:
        """Return ``read_arrays`` as a bar frame (``attrs``: symbol, timeframe, source,
        providers, stale False)."""
        arr = self.read_arrays(symbol, timeframe, start, end, providers)
        df = arr.frame(symbol, timeframe)
        df.attrs["providers"] = sorted(set(arr.source.split("+"))) if len(arr) else []
        df.attrs["source"] = arr.source.split("+")[0]
        return df

    # -- writes --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self, symbol: str, timeframe: str) -> Iterator[None]:
        d = self.root / safe_symbol(symbol)
        d.mkdir(parents=True, exist_ok=True)
        with self._lock, open(d / f".{timeframe}.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def write(self, symbol: str, timeframe: str, df: pd.DataFrame | BarArrays, *,
              provider: str | None = None, source: str | None = None, quality: float = 1.0,
              covered: tuple[object, object] | None = None) -> list[Path]:
        """Merge the bars into ``provider``'s year files (newer rows win) and record the span
        ``covered`` as fetched (default: first bar to the end of the last); return the paths
        written.

        Raises:
            ValueError: no provider named.
        """
        name = provider or source
        if not name:
            raise ValueError("FileCache.write needs the provider that supplied the bars")
        self._migrate(symbol, timeframe)
        with self._locked(symbol, timeframe):
            return self._write(symbol, timeframe, df, name, quality, covered)

    def _write(self, symbol: str, timeframe: str, df: pd.DataFrame | BarArrays, provider: str,
               quality: float, covered: tuple[object, object] | None) -> list[Path]:
        arr = df if isinstance(df, BarArrays) else BarArrays.from_frame(df)
        if covered is None:
            if not len(arr):
                return []
            dur = parse_timeframe(timeframe).duration
            covered = (pd.Timestamp(int(arr.ts.min()), tz="UTC"),
                       pd.Timestamp(int(arr.ts.max()), tz="UTC") + dur)
        span = (to_utc(covered[0]), to_utc(covered[1]))
        bar_years = arr.ts.astype("datetime64[ns]").astype(_NS_YEAR).astype("int64") + 1970
        years = sorted(set(bar_years.tolist()) | set(_years(*span)))
        written = []
        for year in years:
            part = arr.take(bar_years == year) if len(arr) else arr
            written.append(self._write_year(symbol, timeframe, int(year), provider, part,
                                            quality, clip([span], *_year_bounds(int(year)))))
        return written

    def _write_year(self, symbol: str, timeframe: str, year: int, provider: str,
                    new: BarArrays, quality: float, span: list[Span]) -> Path:
        path = self.path(symbol, timeframe, year, provider)
        meta = self.metadata(symbol, timeframe, year, provider) or {}
        old = self._load(symbol, timeframe, year, provider) if meta or path.exists() else None
        merged, kept = merge_newer(old if old is not None else empty_arrays(provider), new)
        rows = len(merged)
        q_old = float(meta.get("quality", 1.0))
        q = (q_old * kept + float(quality) * len(new)) / (kept + len(new)) if rows else quality
        spans = merge_spans([*((a, b) for a, b in meta.get("covered", ())), *span])
        write_atomic(path, encode(merged))  # data first: the metadata never claims more
        out = {
            "format": "bars-npy/1", "symbol": symbol, "timeframe": timeframe, "year": year,
            "provider": provider, "source": provider, "rows": rows,
            "first_bar": _iso(merged.ts[0]) if rows else None,
            "last_bar": _iso(merged.ts[-1]) if rows else None,
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "quality": round(q, 4),
            "covered": [[a.isoformat(), b.isoformat()] for a, b in spans],
        }
        write_atomic(self._meta_path(symbol, timeframe, year, provider),
                     json.dumps(out, indent=1).encode())
        return path

    # -- the first layout ----------------------------------------------------------------
    def _migrate(self, symbol: str, timeframe: str) -> None:
        """Rewrite ``<symbol>/<timeframe>/<year>.csv.gz`` files in this layout, once."""
        key = (symbol, timeframe)
        if key in self._migrated:
            return
        old_dir = self.root / safe_symbol(symbol) / timeframe
        if old_dir.is_dir() and timeframe not in ("bars", "fundamentals"):
            with self._locked(symbol, timeframe):
                for csv in sorted(old_dir.glob("*.csv.gz")):
                    year = csv.name.split(".")[0]
                    meta_p = old_dir / f"{year}.json"
                    meta = json.loads(meta_p.read_text()) if meta_p.exists() else {}
                    df = read_legacy_csv(csv)
                    self._write(symbol, timeframe, df, str(meta.get("source") or "legacy"),
                                float(meta.get("quality", 1.0)), None)
                    csv.unlink()
                    meta_p.unlink(missing_ok=True)
                    log.info("file cache rewritten", extra={"file": str(csv), "rows": len(df)})
                with contextlib.suppress(OSError):
                    old_dir.rmdir()
        self._migrated.add(key)


def _iso(ns: np.int64) -> str:
    return pd.Timestamp(int(ns), tz="UTC").isoformat()


def _by_priority(parts: list[BarArrays]) -> BarArrays:
    """Return one series from providers' bars in priority order (the first has each time)."""
    fields = ("ts", "open", "high", "low", "close", "volume", "vwap", "trade_count")
    ts = np.concatenate([p.ts for p in parts])
    rank = np.concatenate([np.full(len(p), i, "int16") for i, p in enumerate(parts)])
    order = np.lexsort((rank, ts))
    ts_sorted = ts[order]
    keep = order[np.r_[True, ts_sorted[1:] != ts_sorted[:-1]]]  # the first rank of each time
    used = sorted(set(rank[keep].tolist()))
    cols = [np.concatenate([getattr(p, f) for p in parts])[keep] for f in fields]
    return BarArrays(*cols, "+".join(parts[i].source for i in used))


__all__ = ["FileCache", "safe_symbol"]
