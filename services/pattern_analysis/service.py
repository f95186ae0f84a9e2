"""Use cases of the pattern-analysis service: analyse visible bars, store, answer queries.

Bars come from ``shared.market``'s data manager, which only returns bars the market clock
has made visible; detections are re-run whenever a newer bar is visible than the one last
analysed and upserted by their stable id, and stored open detections the fresh run no longer
sees are moved on by ``reassess`` (completed, invalidated or expired).
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from services.pattern_analysis.domain import (
    Analysis,
    Derived,
    PatternParams,
    analyze_bars,
    reassess,
    unfollowed,
)
from services.pattern_analysis.repository import (
    PatternRepository,
    detection_id,
    iso,
)
from shared.cache import SizedLRU
from shared.config import Settings
from shared.db import Database, DatabaseServiceMixin
from shared.errors import AppError, ValidationError
from shared.market.calendar import get_calendar
from shared.market.depth import bars_skipped, history_start, within_history
from shared.market.frames import BarArrays
from shared.market.reader import BarReader, history_epoch
from shared.market.symbols import AssetClass, classify
from shared.market.timeframes import parse_timeframe

log = logging.getLogger("pattern_analysis")

#: Market time after which a symbol nobody asked about has its kept window and cached rows
#: dropped (a day: the night between two sessions does not count as idle).  Coordination asks
#: about each cycle's candidates, a few at a time from the whole universe: kept for every
#: symbol ever asked about, the worker grew for as long as the replay ran.
IDLE_NS = pd.Timedelta(days=1).value


class BarSource(Protocol):
    """Where bars and "now" come from (a ``BarReader`` in production: ``MarketBarSource``).

    A source may also offer ``bars_many(symbols, timeframe, start, end)``, ``bars`` of many
    symbols read in one batch (those it cannot read left out).
    """

    def now(self) -> pd.Timestamp: ...

    def bars(self, symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp
             ) -> BarArrays: ...


class MarketBarSource:
    """Bars from a ``BarReader`` (``shared.market.get_data_manager(settings)`` unless one is
    given) and its market clock."""

    def __init__(self, settings: Settings, reader: BarReader | None = None) -> None:
        self.settings = settings
        self._reader = reader

    def reader(self) -> BarReader:
        if self._reader is None:
            from shared.market import get_data_manager

            self._reader = get_data_manager(self.settings)
        return self._reader

    def now(self) -> pd.Timestamp:
        return self.reader().clock.now_ts()

    def history_start(self, timeframe: str, now: pd.Timestamp | None = None
                      ) -> pd.Timestamp | None:
        """Return the reader's history floor (``shared.market.depth``)."""
        return history_start(self.reader(), timeframe, now)

    def bars(self, symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp
             ) -> BarArrays:
        # past the reader's memory cache: the service keeps the window it reads, and cached
        # too its arrays stayed pinned twice for the cache's TTL (keys move every minute)
        got = self.reader().get_bars_many([symbol], timeframe, start, end, cache=False)
        return next(iter(got.values()))

    def bars_many(self, symbols: list[str], timeframe: str, start: pd.Timestamp,
                  end: pd.Timestamp) -> dict[str, BarArrays]:
        """Return ``bars`` of many symbols read in one batch; failing symbols (and those only
        served stale) are left out."""
        errors: dict[str, AppError] = {}
        got = self.reader().get_bars_many(symbols, timeframe, start, end, errors=errors,
                                          cache=False)
        return {sym: arr for sym, arr in got.items() if not arr.stale}


def _closed_by(bars: BarArrays, now_ns: int, duration_ns: int) -> BarArrays:
    """Return the bars closed at ``now_ns`` (open time + one bar <= now)."""
    keep = bars.ts + duration_ns <= now_ns
    return bars if keep.all() else bars.take(keep)


def _extended(kept: BarArrays, new: BarArrays) -> BarArrays:
    """Return ``kept`` followed by ``new``, cut to ``kept``'s length."""
    n = len(kept)
    if not len(new) or not n:
        return kept
    # drop what falls out first, so only the window's length is concatenated
    return kept.take(slice(min(len(new), n), None)).then(new).tail(n)


@dataclass(frozen=True)
class _Prepared:
    """One symbol's fresh analysis, computed before any write."""

    symbol: str
    timeframe: str
    bars: Derived
    analysis: Analysis
    last_bar_ts: str | None
    unchanged: bool
    skipped: bool = False  # bars lie between the last analysis's last bar and this window


class PatternService(DatabaseServiceMixin):
    """Chart-pattern detection over visible bars; the one writer of the chart_* tables."""

    def __init__(self, settings: Settings, db: Database | None = None,
                 source: BarSource | None = None) -> None:
        self.settings = settings
        self.section = settings.patterns
        self.params = PatternParams.from_mapping(self.section.model_dump())
        self.init_database(db or settings)
        self.repo = PatternRepository(self.db)
        self.source: BarSource = source or MarketBarSource(settings)
        # the last bars read per (symbol, timeframe), with the clock time they were read at,
        # up to ``patterns.cache_max_mb``; a symbol idle for ``IDLE_NS`` is dropped, and the
        # cached rows of a symbol whose window is gone go too (``_forget_idle``)
        self._recent: SizedLRU[tuple[str, str], tuple[int, BarArrays]] = SizedLRU(
            int(self.section.cache_max_mb * (1 << 20)))
        self._epoch = 0  # the market owner's history epoch the kept windows were read at
        self._lock = threading.Lock()
        self._calendar = get_calendar(settings.market.calendar)

    def _drop_kept_if_history_moved(self) -> None:
        """Forget the kept windows when the market owner stored older bars since."""
        reader = getattr(self.source, "reader", None)  # MarketBarSource's (a fake has none)
        epoch = history_epoch(reader() if callable(reader) else reader)
        if epoch != self._epoch:
            with self._lock:
                self._recent.clear()
                self._epoch = epoch

    def _forget_idle(self, now: pd.Timestamp) -> None:
        """Drop the kept windows of symbols not read for ``IDLE_NS``, and the cached rows of
        every symbol without a kept window (idle, or pushed out by the bound)."""
        with self._lock:
            idle = [k for k, (at, _) in self._recent.items() if at < now.value - IDLE_NS]
            for k in idle:
                del self._recent[k]
            kept = set(self._recent)
        self.repo.retain(kept)

    # -- analysis ------------------------------------------------------------------------
    def _window_start(self, timeframe: str, now: pd.Timestamp) -> pd.Timestamp:
        """Return where a window read at ``now`` starts: far enough back for
        ``lookback_bars``, never past the history the market owner keeps (older bars are
        there or not depending on timing: ``shared.market.depth``)."""
        tf = parse_timeframe(timeframe)
        if tf.is_daily:
            days = float(int(self.section.lookback_bars * 1.6) + 10)
        else:  # sessions are 390 minutes and nights/weekends hold no bars: enough days
            days = self.section.lookback_bars * tf.minutes / 390 * 1.6 + 5
        return within_history(self.source, timeframe, now - pd.Timedelta(days=days), now)

    def visible_bars(self, symbol: str, timeframe: str, *, now: pd.Timestamp | None = None
                     ) -> pd.DataFrame:
        """Return the last ``lookback_bars`` bars the market clock has made visible.

        ``now`` is the clock time to read at (default: read the clock).
        """
        return self._visible(symbol, timeframe, now=now).frame(symbol, timeframe,
                                                               ohlcv_only=True)

    def _visible(self, symbol: str, timeframe: str, *, now: pd.Timestamp | None = None,
                 fresh: BarArrays | None = None) -> BarArrays:
        """Return ``visible_bars`` as arrays; ``fresh`` is the bars a batch read since the kept
        window's end (see ``_extend_kept``)."""
        now = pd.Timestamp(self.source.now()) if now is None else now
        tf = parse_timeframe(timeframe)
        want = self.section.lookback_bars
        start = self._window_start(timeframe, now)
        kept = self._extend_kept(symbol, timeframe, now, start, fresh)
        if kept is not None:
            return kept
        dur = pd.Timedelta(tf.duration).value
        # Most reads find their bars in a much shorter window (the bars' own length plus one
        # night); the full window, sized for weekends and holidays, only when that falls short.
        short = now - tf.duration * want - (pd.Timedelta(days=4) if tf.is_daily
                                            else pd.Timedelta(hours=18))
        w = None
        if short > start:
            w = self.source.bars(symbol, timeframe, short, now)
            if len(w) and not tf.is_daily:
                w = _closed_by(w, now.value, dur)
            if len(w) < want:
                w = None
        if w is None:
            w = self.source.bars(symbol, timeframe, start, now)
        if len(w) and not tf.is_daily:
            # The data manager filters by the clock already; this keeps the no-look-ahead rule
            # true for any source.
            w = _closed_by(w, now.value, dur)
        out = w.tail(want)
        if len(out) == want:
            with self._lock:
                self._recent[(symbol, timeframe)] = (now.value, out)
        return out

    def _extend_kept(self, symbol: str, timeframe: str, now: pd.Timestamp,
                     start: pd.Timestamp, fresh: BarArrays | None = None) -> BarArrays | None:
        """Return the kept last ``lookback_bars`` bars extended by those closed since, or None.

        Visible bars never change, so the window a fresh read would return is the kept one
        plus the new bars, cut to its length: one read of a few bars instead of days of them.
        None (read afresh) when nothing is kept, the clock went back (kept bars may lie after
        its "now"), or the window's start has passed the oldest bar kept.  ``fresh`` is the
        symbol's bars from at or before the kept window's last one to ``now``, when a batch
        read them already.
        """
        self._drop_kept_if_history_moved()
        with self._lock:
            hit = self._recent.get((symbol, timeframe))
        if hit is None or now.value < hit[0]:
            return None
        kept = hit[1]
        last = int(kept.ts[-1])
        new = fresh if fresh is not None and len(fresh) and fresh.ts[0] <= last else \
            self.source.bars(symbol, timeframe, pd.Timestamp(last, tz="UTC"), now)
        # bars come sorted by time: slices by position cost a third of boolean masks
        lo = int(np.searchsorted(new.ts, last, side="right"))
        tf = parse_timeframe(timeframe)
        hi = (int(np.searchsorted(new.ts, (now - tf.duration).value, side="right"))
              if not tf.is_daily else len(new))
        out = _extended(kept, new.take(slice(lo, max(lo, hi))))
        if out.ts[0] < start.value:
            return None
        with self._lock:
            self._recent[(symbol, timeframe)] = (now.value, out)
        return out

    def _prepare(self, symbol: str, timeframe: str, force: bool, *,
                 now: pd.Timestamp | None = None, fresh: BarArrays | None = None
                 ) -> _Prepared:
        bars = Derived.of(self._visible(symbol, timeframe, now=now, fresh=fresh), self.params)
        last = iso(int(bars.ts[-1])) if len(bars) else None
        state = self.repo.state(symbol, timeframe)
        unchanged = (not force and state is not None and state["last_bar_ts"] == last)
        analysis = (Analysis([], [], [], len(bars), None) if unchanged
                    else analyze_bars(bars, self.params))
        seen = None if state is None else state["last_bar_ts"]
        skipped = bool(seen and len(bars)) and bars_skipped(
            pd.Timestamp(seen).value, int(bars.ts[0]), timeframe, self._calendar,
            crypto=classify(symbol) == AssetClass.CRYPTO)
        return _Prepared(symbol, timeframe, bars, analysis, last, unchanged, skipped)

    def _store(self, prepared: list[_Prepared], at: str) -> list[dict[str, Any]]:
        """Write every prepared analysis in one transaction (all or nothing)."""
        summary = []
        with self.unit_of_work("patterns.store") as uow:
            for p in prepared:
                if p.unchanged:
                    summary.append({"symbol": p.symbol, "bars": len(p.bars),
                                    "last_bar_ts": p.last_bar_ts, "analyzed": False})
                    continue
                fresh = {detection_id(p.symbol, p.timeframe, d): d for d in p.analysis.detections}
                moved = []
                for did, old in self.repo.open_detection_objects(p.symbol, p.timeframe):
                    if did not in fresh:  # followed bar by bar, unless bars were skipped
                        new = (unfollowed(old, p.bars) if p.skipped
                               else reassess(old, p.bars, self.params))
                        if new != old:
                            moved.append(new)
                written = self.repo.upsert_detections(uow.conn, p.symbol, p.timeframe,
                                                      [*fresh.values(), *moved], at)
                self.repo.replace_levels(uow.conn, p.symbol, p.timeframe, p.analysis.levels, at)
                last_close = float(p.bars.close[-1]) if len(p.bars) else None
                self.repo.save_state(uow.conn, p.symbol, p.timeframe, p.last_bar_ts,
                                     len(p.bars), last_close, len(fresh), at)
                summary.append({"symbol": p.symbol, "bars": len(p.bars),
                                "last_bar_ts": p.last_bar_ts, "analyzed": True,
                                "detections": len(fresh), "reassessed": len(moved),
                                "written": written, "levels": len(p.analysis.levels)})
            uow.commit()
        return summary

    def refresh(self, symbol: str, timeframe: str | None = None, *, force: bool = False
                ) -> dict[str, Any]:
        """Re-analyse ``symbol`` if a newer bar is visible; return what was done.

        Raises:
            ValidationError: a bad symbol or timeframe.
            ServiceUnavailable: market data could not be read.
        """
        tf = parse_timeframe(timeframe or self.section.default_timeframe).name
        at = self._now_iso()
        return self._store([self._prepare(symbol, tf, force)], at)[0]

    def scan(self, symbols: list[str], timeframe: str | None = None, *, force: bool = False
             ) -> dict[str, Any]:
        """Analyse a batch of symbols; store all of them or, if any fails, none.

        Raises:
            ValidationError: too many symbols, or one is bad (``field`` names it).
            AppError: the first symbol whose data could not be read, naming it.
        """
        if len(symbols) > self.section.scan_max_symbols:
            raise ValidationError(f"at most {self.section.scan_max_symbols} symbols per scan, "
                                  f"got {len(symbols)}", field="symbols")
        tf = parse_timeframe(timeframe or self.section.default_timeframe).name
        at = self._now_iso()
        prepared = []
        for i, sym in enumerate(dict.fromkeys(symbols)):
            try:
                prepared.append(self._prepare(sym, tf, force))
            except AppError as exc:
                exc.field = f"symbols.{i}"
                exc.message = f"{sym}: {exc.message}"
                raise
        results = self._store(prepared, at)
        self._forget_idle(pd.Timestamp(self.source.now()))
        return {"timeframe": tf, "as_of": at, "count": len(results), "results": results}

    def _now_iso(self) -> str:
        now = pd.Timestamp(self.source.now())
        now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
        return now.isoformat()

    # -- queries -------------------------------------------------------------------------
    def _maybe_refresh(self, symbol: str, timeframe: str) -> dict[str, Any] | None:
        if self.section.refresh_on_read or self.repo.state(symbol, timeframe) is None:
            return self.refresh(symbol, timeframe)
        return None

    def patterns(self, symbol: str, timeframe: str | None = None, *,
                 statuses: list[str] | None = None, patterns: list[str] | None = None,
                 min_confidence: float | None = None, limit: int = 200) -> dict[str, Any]:
        """Return the stored detections of ``symbol`` (re-analysed first if bars arrived)."""
        tf = parse_timeframe(timeframe or self.section.default_timeframe).name
        self._maybe_refresh(symbol, tf)
        return self._stored(symbol, tf, statuses, patterns, min_confidence, limit)

    def patterns_many(self, symbols: list[str], timeframe: str | None = None, *,
                      statuses: list[str] | None = None, patterns: list[str] | None = None,
                      min_confidence: float | None = None, limit: int = 200
                      ) -> dict[str, Any]:
        """Return ``patterns`` for each of ``symbols``, refreshed as one batch.

        The symbols' new bars are read in one query, and every re-analysis is stored in one
        transaction.  A symbol whose bars cannot be read gets an ``error`` entry (code and
        message) instead of failing the others.

        Raises:
            ValidationError: too many symbols or a bad timeframe.
        """
        if len(symbols) > self.section.scan_max_symbols:
            raise ValidationError(f"at most {self.section.scan_max_symbols} symbols per "
                                  f"request, got {len(symbols)}", field="symbols")
        tf = parse_timeframe(timeframe or self.section.default_timeframe).name
        syms = list(dict.fromkeys(symbols))
        todo = [s for s in syms
                if self.section.refresh_on_read or self.repo.state(s, tf) is None]
        failed: dict[str, AppError] = {}
        if todo:
            now = pd.Timestamp(self.source.now())
            at = self._now_iso()
            fresh = self._read_new_bars(todo, tf, now)
            prepared = []
            for sym in todo:
                try:
                    prepared.append(self._prepare(sym, tf, False, now=now, fresh=fresh.get(sym)))
                except AppError as exc:
                    failed[sym] = exc
            if prepared:
                self._store(prepared, at)
        results = [{"symbol": s, "error": {"code": failed[s].code, "message": failed[s].message}}
                   if s in failed else
                   self._stored(s, tf, statuses, patterns, min_confidence, limit) for s in syms]
        if todo:  # after the answers, which cache rows too
            self._forget_idle(now)
        return {"timeframe": tf, "count": len(results), "results": results}

    def _read_new_bars(self, symbols: list[str], timeframe: str, now: pd.Timestamp
                       ) -> dict[str, BarArrays]:
        """Return, in one batch read, the bars since their kept window's end of the symbols
        that have one (see ``_extend_kept``); empty when the source reads one at a time."""
        many = getattr(self.source, "bars_many", None)
        self._drop_kept_if_history_moved()
        with self._lock:
            kept = [(s, int(hit[1].ts[-1])) for s in symbols
                    if (hit := self._recent.get((s, timeframe))) is not None
                    and hit[0] <= now.value]
        if many is None or len(kept) < 2:
            return {}
        since = pd.Timestamp(min(last for _, last in kept), tz="UTC")
        return many([s for s, _ in kept], timeframe, since, now)

    def _stored(self, symbol: str, tf: str, statuses: list[str] | None,
                patterns: list[str] | None, min_confidence: float | None, limit: int
                ) -> dict[str, Any]:
        state = self.repo.state(symbol, tf) or {}
        dets = self.repo.detections(symbol, tf, statuses=statuses, patterns=patterns,
                                    min_confidence=min_confidence or 0.0, limit=limit)
        return {"symbol": symbol, "timeframe": tf, "as_of": state.get("last_bar_ts"),
                "bars": state.get("bars", 0), "count": len(dets), "detections": dets}

    def levels(self, symbol: str, timeframe: str | None = None) -> dict[str, Any]:
        """Return the current support/resistance levels of ``symbol``, strongest first."""
        tf = parse_timeframe(timeframe or self.section.default_timeframe).name
        self._maybe_refresh(symbol, tf)
        state = self.repo.state(symbol, tf) or {}
        levels = self.repo.levels(symbol, tf)
        return {"symbol": symbol, "timeframe": tf, "as_of": state.get("last_bar_ts"),
                "last_close": state.get("last_close"), "count": len(levels), "levels": levels}

    def ready(self) -> bool:
        return self.db.ping()

    def health(self) -> dict[str, Any]:
        row = self.db.fetch_one("SELECT COUNT(*) AS n FROM chart_patterns")
        with self._lock:
            kept, kept_bytes = len(self._recent), self._recent.currsize
        return {"patterns_stored": row["n"] if row else 0,
                "default_timeframe": self.section.default_timeframe,
                "kept_windows": kept, "kept_mb": round(kept_bytes / (1 << 20), 2)}

