"""Fetch through the file cache: what the cache holds is stored from disk, the providers are
asked only for the parts it lacks (``missing_ranges``: closed-market time is never missing).

The data manager's ``_fetch`` comes here when a provider of the route is a file-cached one
(``market.file_cache_sources``), so a range fetched once, by this process or an earlier one
on another database, is never fetched again.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pandas as pd

from shared.market.clock import bar_visible
from shared.market.frames import empty_frame
from shared.market.missing import Span, missing_ranges
from shared.market.validation import validate_bars

if TYPE_CHECKING:
    from shared.market.manager import DataManager

log = logging.getLogger("market.data_manager")


def fetch_missing(dm: DataManager, sym: str, tf: str, crypto: bool, s: pd.Timestamp,
                  e: pd.Timestamp, cutoff: pd.Timestamp, errors: list[str]) -> bool:
    """Store ``[s, e)`` of ``sym`` from the file cache and the route's providers; return False
    when some missing part could be fetched from no provider (its errors in ``errors``)."""
    order = dm.files.order(sym, tf, dm.route(sym, tf))
    covered = dm.files.covered(sym, tf, s, e, order)
    if covered:
        df = dm.files.read(sym, tf, s, e, order)
        source = df.attrs.get("source") or order[0]
        for a, b in covered:
            store_cached(dm, sym, tf, crypto, df[(df.index >= a) & (df.index < b)], source,
                         cutoff, (a, b))
        dm.counters["file_cache_hits"] = dm.counters.get("file_cache_hits", 0) + 1
    todo = missing_ranges(covered, s, e, None if crypto else dm.calendar, tf)
    ok = True
    for a, b in todo:
        ok = dm._fetch(sym, tf, crypto, a, b, cutoff, errors, via_cache=False) and ok
    if ok and todo != [(s, e)]:
        # the closed-market parts left out above hold no bar: the whole range is covered
        store_cached(dm, sym, tf, crypto, empty_frame(sym, tf), "file_cache", cutoff, (s, e))
    return ok


def closed_through(dm: DataManager, cutoff: pd.Timestamp, crypto: bool) -> pd.Timestamp:
    """Return the end of the last session closed at ``cutoff`` (a crypto pair's: the UTC
    midnight before it)."""
    if crypto:
        return cutoff.floor("D")
    last = dm.calendar.previous_close(cutoff)
    return pd.Timestamp(0, tz="UTC") if last is None else last


def write_closed(dm: DataManager, sym: str, tf: str, crypto: bool, valid: pd.DataFrame,
                 source: str, quality: float, cutoff: pd.Timestamp, span: Span) -> None:
    """Keep the closed sessions of a fetched batch in the file cache, with their span.

    The open session stays in the database only: the live feed stores its newest minute
    every minute, and rewriting a year file for each (~50 ms of CPU) per symbol would cost
    more than the fetch; a session is cached once it has closed and is fetched again.
    """
    end = min(span[1], closed_through(dm, cutoff, crypto))
    if span[0] >= end:
        return
    dm.files.write(sym, tf, valid[valid.index < end] if len(valid) else valid,
                   provider=source, quality=quality, covered=(span[0], end))


def store_cached(dm: DataManager, sym: str, tf: str, crypto: bool, df: pd.DataFrame,
                 source: str, cutoff: pd.Timestamp, span: Span) -> int:
    """Validate and store bars read from the file cache (only those visible at ``cutoff``)
    with ``span`` as covered; return rows stored."""
    if len(df):
        df = df[bar_visible(df.index.as_unit("ns").asi8, tf, dm.calendar, cutoff.value,
                            crypto=crypto)]
    report = validate_bars(df, tf, dm.calendar, crypto=crypto, symbol=sym)
    n = dm.store.store_batch(sym, tf, report, source, coverage=span)
    dm.counters["rows_stored"] += n
    dm.counters["rows_rejected"] += report.rows_rejected
    return n


__all__ = ["closed_through", "fetch_missing", "store_cached", "write_closed"]
