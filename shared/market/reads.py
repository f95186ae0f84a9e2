"""The data manager's read path for one or many symbols: memory cache -> database -> providers.

One coverage query and one bar query per chunk of symbols (not one of each per symbol), bars
taken into numpy directly, the visibility cutoff as the query's upper bound (only bars that
may still be open at the cutoff are checked against the session calendar), and missing ranges
filled per group of symbols sharing the same gap: for the simulated provider a whole session
of the group is generated at once (``SimulatedProvider.generate_session``) and resampled as a
panel, anything else goes through the per-symbol provider chain with failover.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from shared.errors import AppError, ServiceUnavailable
from shared.market.calendar import to_utc
from shared.market.clock import bar_visible
from shared.market.frames import BarArrays
from shared.market.release import BULK_ROWS, release_memory
from shared.market.resample import bucket_starts
from shared.market.storage import iso_ts
from shared.market.symbols import classify, normalize_symbol
from shared.market.timeframes import parse_timeframe

if TYPE_CHECKING:
    from shared.market.manager import DataManager

log = logging.getLogger("market.data_manager")
_MIN = pd.Timedelta(minutes=1)


def cache_key(sym: str, tf: str, s: pd.Timestamp, e: pd.Timestamp, cutoff: pd.Timestamp
              ) -> tuple[Any, ...]:
    return (sym, *_key_tail(tf, s, e, cutoff))


def _key_tail(tf: str, s: pd.Timestamp, e: pd.Timestamp, cutoff: pd.Timestamp
              ) -> tuple[Any, ...]:
    # Timestamp.floor is slow enough to matter per symbol in a batch: done once per read.
    return (tf, s.value, e.floor("min").value, cutoff.floor("min").value)


def read_many(dm: DataManager, symbols: list[str], tf: str, s: pd.Timestamp, e: pd.Timestamp,
              cutoff: pd.Timestamp, errors: dict[str, AppError] | None, *, cache: bool = True
              ) -> tuple[dict[str, BarArrays], dict[str, list[str]]]:
    """Return the visible bars of each symbol with open time in ``[s, e)``.

    Returns the arrays by symbol and, for symbols served stale, the provider errors.  A symbol
    that cannot be served goes to ``errors`` when given, else its error is raised.  With
    ``cache=False`` the memory cache is neither read nor filled.

    Raises:
        ServiceUnavailable: every provider failed and nothing is cached (without ``errors``).
    """
    out: dict[str, BarArrays] = {}
    misses: list[str] = []
    # the owner's history epoch in the key: bars backfilled since are read, not cached ones
    tail = (*_key_tail(tf, s, e, cutoff), dm.history_epoch())
    for sym in symbols:
        hit = dm.memory.get((sym, *tail)) if cache else None
        if hit is None:
            misses.append(sym)
        else:
            out[sym] = hit
    if not misses:
        return out, {}
    crypto = {sym: classify(sym).value == "crypto" for sym in misses}
    failed: dict[str, list[str]] = {}
    stored = 0
    if dm.owner:  # only the market-data owner fills what is missing; readers only read
        dm.ensure_universe()
        with dm._fetch_lock:
            stored = dm.counters["rows_stored"]
            for is_crypto in (False, True):
                group = [x for x in misses if crypto[x] is is_crypto]
                if group:
                    fill_missing(dm, group, tf, is_crypto, s, e, cutoff, failed)
            stored = dm.counters["rows_stored"] - stored
    behind = dm.feed_behind(cutoff) if not dm.owner else None
    got = dm.store.read_arrays(misses, tf, iso_ts(s), iso_ts(e))
    if stored + sum(len(a) for a in got.values()) >= BULK_ROWS:
        # a backfill: what it cached and freed on the way is not needed again
        release_memory(dm.store.db.get_db_connection())
    dur_ns = parse_timeframe(tf).minutes * 60_000_000_000
    stale_errors: dict[str, list[str]] = {}
    for sym in misses:
        arr = got[sym]
        if len(arr) and arr.ts[-1] > cutoff.value - dur_ns:
            # Only bars opening within one bar of the cutoff can still be open (or capped by
            # the session close); earlier ones closed by construction.
            arr = visible_prefix(arr, bar_visible(arr.ts, tf, dm.calendar, cutoff.value,
                                                  crypto=crypto[sym]))
        if sym in failed:
            errs = failed[sym]
            if len(arr) == 0:
                df = dm.files.read(sym, tf, s, e, dm.route(sym, tf))  # the route's order
                if len(df):
                    arr = BarArrays.from_frame(df)
            if len(arr) == 0 or not dm.cfg.stale_fallback:
                exc = ServiceUnavailable(f"no provider could serve {sym} {tf} and nothing is "
                                         "cached", details={"errors": errs})
                if errors is None:
                    raise exc
                errors[sym] = exc
                continue
            dm.counters["stale_served"] += 1
            dm.last_stale = {"symbol": sym, "timeframe": tf, "at": time.time(), "reason": errs}
            log.warning("serving stale bars", extra={"symbol": sym, "errors": errs})
            arr = BarArrays(*(getattr(arr, f) for f in (
                "ts", "open", "high", "low", "close", "volume", "vwap", "trade_count")),
                arr.source, True)
            stale_errors[sym] = errs
        elif behind is not None and e > behind:
            # the owner has not stored up to the clock: say so, and do not cache it
            arr = BarArrays(*(getattr(arr, f) for f in (
                "ts", "open", "high", "low", "close", "volume", "vwap", "trade_count")),
                arr.source, True)
            stale_errors[sym] = [f"the market-data owner (coordination) has stored bars "
                                 f"through {behind.isoformat()} only; the clock is at "
                                 f"{cutoff.isoformat()}"]
        elif cache:
            dm.memory.set((sym, *tail), arr)
        out[sym] = arr
    return out, stale_errors


def visible_prefix(arr: BarArrays, keep: np.ndarray) -> BarArrays:
    """Return the bars of ``arr`` flagged in ``keep``, as views when they are a prefix.

    A bar's end (open + duration, capped at its session's close) never decreases with its
    open, so the visible bars are always the first ones: slicing them shares the read's
    arrays instead of copying eight columns per symbol (~30 MB of small allocations for a
    500-symbol window read while its last bar is still open).
    """
    k = int(np.count_nonzero(keep))
    if k == keep.size:
        return arr
    return arr.take(slice(0, k) if keep[:k].all() else keep)


def coverage_cap(dm: DataManager, tf: str, crypto: bool, cutoff: pd.Timestamp) -> pd.Timestamp:
    """Return the time before which every ``tf`` bar opening has closed at ``cutoff``: what
    may be stored (and recorded as covered) then."""
    if tf == "1d":
        return dm.clock_open_of_last_closed(cutoff, crypto) + _MIN
    # every bar opening at or before (cutoff - duration) has closed
    return (cutoff - parse_timeframe(tf).duration).floor("min") + _MIN


def fill_missing(dm: DataManager, syms: list[str], tf: str, crypto: bool, s: pd.Timestamp,
                 e: pd.Timestamp, cutoff: pd.Timestamp, failed: dict[str, list[str]]) -> None:
    """Fetch and store what is missing of ``[s, e)`` for symbols of one asset class."""
    hi = min(e, coverage_cap(dm, tf, crypto, cutoff))
    if s >= hi:
        return
    gaps = dm.store.covered_gaps(syms, tf, iso_ts(s), iso_ts(hi))
    by_gap: dict[tuple[str, str], list[str]] = {}
    for sym, spans in gaps.items():
        for span in spans:
            by_gap.setdefault(span, []).append(sym)
    for (a, b), group in by_gap.items():
        gs, ge = to_utc(a), to_utc(b)
        if not crypto and len(dm.calendar.sessions_with_bars(gs, ge, tf)) == 0:
            continue
        # one asset class per call, and routes go by class: one look for the whole group
        batch = group if _vectorisable(dm, group[0], tf) else []
        if len(batch) > 1:
            try:
                _fill_simulated(dm, batch, tf, gs, ge, cutoff, crypto)
                done = set(batch)
                group = [x for x in group if x not in done]
            except Exception as exc:  # noqa: BLE001 - fall back to the per-symbol chain
                log.warning("batched simulated fill failed", extra={"error": str(exc)})
        if len(group) > 1:
            group = _fetch_many(dm, group, tf, crypto, gs, ge, cutoff)
        for sym in group:
            errs: list[str] = []
            if not dm._fetch(sym, tf, crypto, gs, ge, cutoff, errs):
                failed.setdefault(sym, []).extend(errs)


def _fetch_many(dm: DataManager, group: list[str], tf: str, crypto: bool, gs: pd.Timestamp,
                ge: pd.Timestamp, cutoff: pd.Timestamp) -> list[str]:
    """Fetch ``group`` in multi-symbol requests from its first provider when it offers them
    (Alpaca: the market feed polls the whole universe each minute); return the symbols left
    for the per-symbol chain (a different route, or the batched call failed)."""
    name = dm.route(group[0], tf)[0]
    same = [x for x in group if dm.route(x, tf)[0] == name]
    if name in dm.cfg.file_cache_sources:  # those the file cache holds: one by one, through it
        same = [x for x in same if not dm.files.covered(x, tf, gs, ge)]
    provider = dm.providers.get(name)
    if len(same) < 2 or not hasattr(provider, "fetch_bars_many"):
        return group
    try:
        frames = dm.providers.call(name, "fetch_bars_many", same, tf, gs, ge)
    except Exception as exc:  # noqa: BLE001 - any fault: each symbol takes its own chain
        log.warning("batched fetch failed", extra={"provider": name, "error": str(exc)[:300]})
        return group
    for sym, df in frames.items():
        dm._ingest(sym, tf, crypto, df, name, cutoff, (gs, ge))
    done = set(frames)
    return [x for x in group if x not in done]


def _vectorisable(dm: DataManager, sym: str, tf: str) -> bool:
    return (dm.route(sym, tf)[:1] == ["simulated"]
            and "simulated" not in dm.cfg.file_cache_sources)


def _days(dm: DataManager, gs: pd.Timestamp, ge: pd.Timestamp, crypto: bool,
          tf: str = "1m") -> list[pd.Timestamp]:
    """Return the sessions (equities) holding a ``tf`` bar opening in ``[gs, ge)`` (a daily
    bar opens at 00:00 New York, the first hour bar at 09:00), or the UTC days (crypto, 24/7)
    overlapping it."""
    if not crypto:
        return list(dm.calendar.sessions_with_bars(gs, ge, tf))
    last = (ge - pd.Timedelta(1)).floor("D")
    return [d.tz_localize(None) for d in pd.date_range(gs.floor("D"), last, freq="1D")]


def _session(dm: DataManager, day: pd.Timestamp, syms: list[str], live: bool) -> Any:
    """Return one generated session (day) of ``syms``.

    A session still open at the cutoff comes from the provider's cache (each step of a
    replay stores its newest minutes for the same symbols); a closed one is kept in a single
    slot, so the owner's backfill storing each timeframe of it in turn generates it once
    without evicting the open session from the provider's cache.
    """
    if live and hasattr(dm.providers.get("simulated"), "session_cached"):
        return dm.providers.call("simulated", "session_cached", day, syms)
    key = (pd.Timestamp(day).value, tuple(syms))
    slot = dm._closed_session
    if slot is not None and slot[0] == key:
        return slot[1]
    slot = dm._closed_session = None  # its memory is free for the new one (not both at once)
    arr = dm.providers.call("simulated", "generate_session", day, syms)
    dm._closed_session = (key, arr)
    return arr


def _fill_simulated(dm: DataManager, syms: list[str], tf: str, gs: pd.Timestamp,
                    ge: pd.Timestamp, cutoff: pd.Timestamp, crypto: bool = False) -> None:
    """Generate ``[gs, ge)`` for many equities a session at a time and store it at once.

    Equal bar for bar to ``SimulatedProvider.fetch_bars`` per symbol then ``_ingest``: the
    same sessions, the same session-aligned resampling, the same visibility cut.
    """
    parts: list[tuple[np.ndarray, ...]] = []
    for day in _days(dm, gs, ge, crypto, tf):
        end = (pd.Timestamp(day, tz="UTC") + pd.Timedelta(days=1) if crypto
               else dm.calendar.session_bounds(day)[1])
        arr = _session(dm, day, syms, end.value > cutoff.value)
        cols = (arr.open, arr.high, arr.low, arr.close, arr.volume, arr.vwap, arr.trade_count)
        ts, cols = ((arr.ts_ns, cols) if tf == "1m"
                    else _resample_panel(arr.ts_ns, cols, tf, dm, crypto))
        keep = (ts >= gs.value) & (ts < ge.value)
        keep &= bar_visible(ts, tf, dm.calendar, cutoff.value, crypto=crypto)
        if keep.any():
            parts.append((ts[keep], *(c[:, keep] for c in cols)))
    dm.counters["fetches"] += 1
    if not parts:
        dm.store.store_arrays(tuple(syms), np.empty(0, "int64"), *(np.empty((len(syms), 0))
                              for _ in range(7)), tf, "simulated", coverage=(gs, ge))
        return
    ts = np.concatenate([p[0] for p in parts])
    o, h, lo, c, v, vw, n = (np.concatenate([p[k] for p in parts], axis=1) for k in range(1, 8))
    bad = ((h < np.maximum(o, c)) | (lo > np.minimum(o, c)) | (v < 0) | (lo <= 0)).any(axis=1)
    for i in np.flatnonzero(bad):  # never expected: these go row by row, with reasons
        dm._fetch(syms[i], tf, crypto, gs, ge, cutoff, [])
    good = np.flatnonzero(~bad)
    n_rows = dm.store.store_arrays(tuple(syms[i] for i in good), ts, o[good], h[good],
                                   lo[good], c[good], v[good], vw[good], n[good], tf,
                                   "simulated", coverage=(gs, ge))
    dm.counters["rows_stored"] += n_rows


def _resample_panel(ts: np.ndarray, cols: tuple[np.ndarray, ...], tf: str, dm: DataManager,
                    crypto: bool = False) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
    """Return one session's (symbols x minutes) bars aggregated like ``resample_bars``."""
    b = bucket_starts(ts, tf, dm.calendar, crypto)
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    ends = np.r_[starts[1:], len(b)] - 1
    o, h, lo, c, v, vw, n = cols
    vol = np.add.reduceat(v.astype("int64"), starts, axis=1)
    num = np.add.reduceat(vw * v, starts, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        vwap = np.where(vol > 0, np.round(num / np.maximum(vol, 1), 4), np.nan)
    count = np.add.reduceat(n.astype("float64"), starts, axis=1).astype("int64")
    return b[starts], (o[:, starts], np.maximum.reduceat(h, starts, axis=1),
                       np.minimum.reduceat(lo, starts, axis=1), c[:, ends], vol, vwap, count)


def normalize_all(symbols: list[str] | tuple[str, ...], errors: dict[str, AppError] | None
                  ) -> list[str]:
    """Return the symbols normalised and deduplicated (bad ones to ``errors`` or raised)."""
    out: dict[str, None] = {}
    for raw in symbols:
        try:
            out[normalize_symbol(raw)] = None
        except AppError as exc:
            if errors is None:
                raise
            errors[str(raw)] = exc
    return list(out)

