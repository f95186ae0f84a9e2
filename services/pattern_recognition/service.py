"""Use cases of the pattern recognition service: scan bars, store detections, measure them.

``update`` is incremental: it scans only bars after the last one processed (with a warm-up
window before them so TA-Lib's rolling candle averages match a full-history run) and writes
the forward returns of earlier detections whose k-th bar has now closed.  Everything one update
writes goes in one transaction.  Between updates the service holds each symbol's recent bars
and pending detections (``incremental.TailStore``), so an update every bar reads only the new
bars and stores exactly what reading everything again would (``keep_tails=False``).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from services.pattern_recognition import repository as repo
from services.pattern_recognition.domain import PATTERNS, PatternStats, detect_arrays
from services.pattern_recognition.feed import BarFeed, MarketFeed, bar_end_ns, is_crypto
from services.pattern_recognition.incremental import Buckets, TailStore, Writer, read_new
from services.pattern_recognition.tails import Tail
from shared.config import Settings
from shared.db import Database, DatabaseServiceMixin
from shared.domain.money import from_micros
from shared.errors import ValidationError
from shared.market.calendar import to_utc
from shared.market.frames import BarArrays, iso, micros
from shared.market.timeframes import parse_timeframe

log = logging.getLogger("pattern_recognition")


# (window start, the bars visible from it, the clock time in ns they were read at)
Prefetched = tuple[pd.Timestamp, BarArrays, int]


def _iso(ts: pd.Timestamp) -> str:
    return iso(np.array([ts.value], dtype="int64"))[0]


@dataclass(frozen=True)
class UpdateResult:
    symbol: str
    timeframe: str
    bars_scanned: int
    detections: int
    outcomes: int
    last_bar: str | None


@dataclass(frozen=True)
class _Planned:
    """One symbol's update, read and scanned: its result if nothing is to be written, else
    the write that stores it and returns the result (run inside the caller's transaction)."""

    result: UpdateResult
    # (connection, the progress row's version now) -> (result, the symbol's new tail)
    write: Callable[[Any, tuple[str, str] | None], tuple[UpdateResult, Tail]] | None


class CandlestickService(DatabaseServiceMixin):
    """Candlestick detections and their walk-forward reliability, for one database."""

    def __init__(self, settings: Settings, db: Database | None = None,
                 feed: BarFeed | None = None, *, keep_tails: bool = True) -> None:
        self.settings = settings
        self.cfg = settings.candlesticks
        self.init_database(db or settings)
        self.feed: BarFeed = feed or MarketFeed(settings)
        # keep_tails=False reads every update's whole window (the reference the held path
        # is tested against)
        self._keep_tails = keep_tails
        self._tails = TailStore(int(self.cfg.cache_max_mb * (1 << 20)))
        self._span_memo: dict[str, tuple[pd.Timedelta, list[pd.Timedelta]]] = {}
        self._buckets = Buckets(self.cfg.tod_bucket_minutes, self.cfg.exchange_tz)

    def health(self) -> dict[str, Any]:
        """What ``/health`` adds: the tails kept between updates and their size."""
        return {"kept_tails": len(self._tails),
                "kept_mb": round(self._tails.nbytes / (1 << 20), 2)}

    # -- helpers -------------------------------------------------------------------------
    def _timeframe(self, timeframe: str | None) -> str:
        return parse_timeframe(timeframe or self.cfg.default_timeframe).name

    def _span(self, timeframe: str) -> pd.Timedelta:
        """Return a time span holding at least ``warmup_bars`` bars across closed hours."""
        return self._spans(timeframe)[0]

    def _spans(self, timeframe: str) -> tuple[pd.Timedelta, list[pd.Timedelta]]:
        """Return ``_span`` and the offsets of ``_tries`` from ``load_from`` (kept per
        timeframe: every symbol of every update asks for them)."""
        got = self._span_memo.get(timeframe)
        if got is None:
            tf = parse_timeframe(timeframe)
            # Sessions leave gaps (nights, weekends, holidays), so take twice the bars' time
            # and never less than five days, which covers the longest exchange closure plus a
            # session.
            span = max(pd.Timedelta(minutes=tf.minutes * self.cfg.warmup_bars * 2),
                       pd.Timedelta(days=5 if not tf.is_daily else 7))
            short = span - tf.duration * (2 * self.cfg.warmup_bars)
            # then the same across one night (early in a session the warm-up lies in the last)
            tries = [short, short - pd.Timedelta(hours=18)] if not tf.is_daily else [short]
            got = self._span_memo[timeframe] = (span, tries)
        return got

    def now(self) -> pd.Timestamp:
        return self.feed.now()

    def _tries(self, tf: str, load_from: pd.Timestamp) -> list[pd.Timestamp]:
        """Return the window starts an update tries before reading all from ``load_from``.

        Detection needs only ``warmup_bars`` bars before the first new bar; inside a session
        they lie within ``2 x warmup_bars`` bar lengths, so an update every bar tries those
        first (tens of bars, not the days ``_span`` allows for nights and weekends), then that
        window widened by one night, and the whole span only when both hold too few of them.
        """
        out = []
        for offset in self._spans(tf)[1]:
            if offset <= pd.Timedelta(0):  # the start would be at or before load_from
                break
            out.append(load_from + offset)
        return out

    def _window(self, symbol: str, tf: str, load_from: pd.Timestamp, scan_from: pd.Timestamp,
                now: pd.Timestamp, pre: Prefetched | None, held: tuple[BarArrays, int] | None
                ) -> tuple[BarArrays, int] | None:
        """Return the visible bars from the first start of ``_tries`` holding the warm-up
        (else from ``load_from``) and that start (ns); None when ``held`` (bars and the time
        from which they are complete) lacks them."""
        end = now + pd.Timedelta(microseconds=1)

        def read(start: pd.Timestamp, last: bool) -> BarArrays | None:
            if held is not None:
                return held[0].since(start.value) if start.value >= held[1] else None
            # read already with the scan's batch, at this same "now"
            if not last and pre is not None and pre[2] == now.value and pre[0] <= start:
                return pre[1].since(start.value)
            return self.feed.bars(symbol, tf, start, end)

        for start in self._tries(tf, load_from):
            bars = read(start, False)
            if bars is None:
                return None
            if int(np.searchsorted(bars.ts, scan_from.value, side="left")) >= \
                    self.cfg.warmup_bars:
                return bars, start.value
        bars = read(load_from, True)
        return None if bars is None else (bars, load_from.value)

    # -- use cases -----------------------------------------------------------------------
    def _prefetch(self, symbols: list[str], tf: str, now: pd.Timestamp
                  ) -> dict[str, Prefetched]:
        """Return, per symbol, the bars an update every bar needs (see ``_tries``), read in
        one batch when the feed can; symbols it could not read are left to ``update``."""
        many = getattr(self.feed, "bars_many", None)
        tfo = parse_timeframe(tf)
        if many is None or tfo.is_daily or len(symbols) < 2:
            return {}
        # Inside a session the warm-up and the detections still waiting for their outcomes
        # lie within the last (2 x warmup + longest horizon) bars: read those first, and the
        # window widened by one night only for the symbols where that holds too few bars
        # (early in a session); reading the night for every symbol on every bar cost 4x.
        want = 2 * self.cfg.warmup_bars + max(self.cfg.horizons) + 2
        end = now + pd.Timedelta(microseconds=1)
        start = now - tfo.duration * want
        out = {sym: (start, b, now.value) for sym, b in many(symbols, tf, start, end).items()
               if len(b) >= want}
        rest = [sym for sym in symbols if sym not in out]
        if rest:
            wide = now - tfo.duration * (2 * self.cfg.warmup_bars + 1) - pd.Timedelta(hours=18)
            out.update({sym: (wide, b, now.value)
                        for sym, b in many(rest, tf, wide, end).items()})
        return out

    def update(self, symbol: str, timeframe: str | None = None) -> UpdateResult:
        """Scan the newly visible bars of ``symbol`` and record new detections and outcomes.

        Raises:
            ValidationError: for an unknown timeframe.
            ServiceUnavailable: when market data cannot be read.
        """
        return self._update_many([symbol], self._timeframe(timeframe))[symbol][0]

    def _update_many(self, symbols: list[str], tf: str
                     ) -> dict[str, tuple[UpdateResult, Tail | None]]:
        """Update every symbol, writing all of them in one transaction (one write lock and
        one commit per batch instead of one per symbol); return each one's result and new
        tail (None when nothing was written).

        A symbol whose ``Tail`` is current reads only its new bars, in one batch with the
        others; the rest read their whole window as the first update of a symbol does.

        Raises:
            ServiceUnavailable: when market data cannot be read.
        """
        now = self.feed.now()
        syms = list(dict.fromkeys(symbols))
        versions = repo.versions(self.get_db_connection(), syms, tf)
        held: dict[str, tuple[Tail, BarArrays]] = {}
        if self._keep_tails:
            tails = self._tails.current(syms, tf, versions)
            held = {sym: (tails[sym], new) for sym, new in
                    read_new(self.feed, tails, tf, now).items()}
        pre = self._prefetch([s for s in syms if s not in held], tf, now)
        plans = {}
        for sym in syms:
            plan = None
            if sym in held:
                plan = self._plan(sym, tf, now, versions.get(sym), held=held[sym])
            plans[sym] = plan or self._plan(sym, tf, now, versions.get(sym), pre=pre.get(sym))

        def write_all(conn: Any) -> dict[str, tuple[UpdateResult, Tail | None]]:
            current = repo.versions(conn, [s for s, p in plans.items() if p.write], tf)
            return {sym: (p.result, None) if p.write is None else p.write(conn, current.get(sym))
                    for sym, p in plans.items()}

        done = self.run_in_transaction(write_all, "candlesticks:update")
        if self._keep_tails:
            self._tails.put(tf, {sym: t for sym, (_, t) in done.items() if t is not None})
        return done

    def _plan(self, symbol: str, tf: str, now: pd.Timestamp, version: tuple[str, str] | None,
              pre: Prefetched | None = None, held: tuple[Tail, BarArrays] | None = None
              ) -> _Planned | None:
        """Read and scan the newly visible bars of ``symbol``; return the write to make.

        With ``held`` (a current ``Tail`` and the bars since it) nothing is read; None when
        those lack the bars the update needs.  Nothing is written here.

        Raises:
            ServiceUnavailable: when market data cannot be read.
        """
        last = None if version is None else version[0]
        tail = None if held is None else held[0]
        if tail is not None:
            first_ns = tail.waiting[0].ts_ns if tail.waiting else None
        else:
            waiting = repo.pending(self.get_db_connection(), symbol, tf)
            first_ns = pd.Timestamp(waiting[0]["ts"]).value if waiting else None
        if last is None:
            scan_from = now - pd.Timedelta(days=self.cfg.backfill_days)
            load_from = scan_from - self._span(tf)
        else:
            scan_from = pd.Timestamp(last) + pd.Timedelta(microseconds=1)
            first = scan_from if first_ns is None else pd.Timestamp(first_ns, tz="UTC")
            load_from = min(first, scan_from) - self._span(tf)
        got = self._window(symbol, tf, load_from, scan_from, now, pre,
                           None if held is None else (held[0].bars.then(held[1]), held[0].cov))
        if got is None:
            return None
        bars, cov = got
        if len(bars) == 0:
            return _Planned(UpdateResult(symbol, tf, 0, 0, 0, last), None)
        start = int(np.searchsorted(bars.ts, scan_from.value, side="left"))
        stamp = _iso(pd.Timestamp.now(tz="UTC"))
        rows = self._rows(symbol, tf, bars, start, stamp)
        last_bar = iso(bars.ts[-1:])[0]
        result = UpdateResult(symbol, tf, len(bars) - start, 0, 0, last_bar)
        # the tail keeps every bar it held plus the new ones, from its start on
        keep = (bars, cov) if held is None else (held[0].bars.then(held[1]), held[0].cov)
        return _Planned(result, Writer(self, symbol, tf, last, bars, keep, rows, result, tail,
                                       stamp))

    def _rows(self, symbol: str, tf: str, bars: BarArrays, start: int, stamp: str
              ) -> list[tuple[Any, ...]]:
        """Return the candle_detections rows of the patterns on ``bars[start:]``."""
        arr = detect_arrays(bars.open, bars.high, bars.low, bars.close, start=start)
        # ISO strings and buckets vectorised, and only for the bars that get a row (the
        # detected ones; the warm-up bars before them need none).
        hit = np.unique(arr.bar)
        at = {int(b): k for k, b in enumerate(hit.tolist())}
        ts_iso = iso(bars.ts[hit])
        end_iso = iso(bar_end_ns(bars.ts[hit], tf, is_crypto(symbol)))
        buckets = self._buckets.get(bars.ts[hit], parse_timeframe(tf).is_daily)
        close_micros = micros(bars.close[hit])
        return [(symbol, tf, ts_iso[at[b]], end_iso[at[b]], PATTERNS[p], 1 if v > 0 else -1,
                 v, abs(v) / 100.0, int(close_micros[at[b]]), buckets[at[b]], stamp)
                for b, p, v in zip(arr.bar.tolist(), arr.pattern.tolist(), arr.value.tolist(),
                                   strict=True)]

    def detections(self, symbol: str, timeframe: str | None = None, start: Any = None,
                   end: Any = None, patterns: list[str] | None = None,
                   limit: int | None = None) -> dict[str, Any]:
        """Bring ``symbol`` up to date, then return its detections in ``[start, end)``.

        Raises:
            ValidationError: for an unknown timeframe or pattern, or start after end.
        """
        tf = self._timeframe(timeframe)
        self._check_patterns(patterns)
        if start is not None and end is not None and to_utc(start) >= to_utc(end):
            raise ValidationError("start must be before end", field="start")
        result = self.update(symbol, tf)
        now = self.feed.now()
        e = now if end is None else min(to_utc(end), now)
        s = e - pd.Timedelta(days=self.cfg.backfill_days) if start is None else to_utc(start)
        rows = [] if s >= e else repo.detections(
            self.db, symbol, tf, _iso(s), _iso(e), _iso(now), patterns,
            limit or self.cfg.max_detections)
        return {"symbol": symbol, "timeframe": tf, "as_of": now.to_pydatetime(),
                "last_bar": result.last_bar, "count": len(rows),
                "detections": [self._row(r) for r in rows]}

    def scan(self, symbols: list[str], timeframe: str | None = None,
             patterns: list[str] | None = None) -> dict[str, Any]:
        """Update every symbol; return per symbol what is new and the patterns on its last bar.

        Raises:
            ValidationError: for too many symbols, an unknown timeframe or pattern.
        """
        tf = self._timeframe(timeframe)
        self._check_patterns(patterns)
        if len(symbols) > self.cfg.max_scan_symbols:
            raise ValidationError(f"at most {self.cfg.max_scan_symbols} symbols per scan, "
                                  f"got {len(symbols)}", field="symbols")
        now = self.feed.now()
        done = self._update_many(symbols, tf)
        out = []
        for sym in symbols:
            r, tail = done[sym]
            latest: list[dict[str, Any]] = []
            if tail is not None and tail.latest is not None and tail.version[0] == r.last_bar:
                latest = [dict(x) for x in sorted(tail.latest, key=lambda x: x["pattern"])
                          if not patterns or x["pattern"] in patterns][:self.cfg.max_detections]
            elif r.last_bar is not None:
                rows = repo.detections(self.db, sym, tf, r.last_bar, _iso(now + pd.Timedelta(1)),
                                       _iso(now), patterns, self.cfg.max_detections)
                latest = [self._row(x) for x in rows]
            out.append({"symbol": sym, "bars_scanned": r.bars_scanned,
                        "new_detections": r.detections, "new_outcomes": r.outcomes,
                        "last_bar": r.last_bar, "latest": latest})
        return {"timeframe": tf, "as_of": now.to_pydatetime(), "results": out}

    def stats(self, pattern: str | None = None, symbol: str | None = None,
              timeframe: str | None = None, group_by: str = "pattern",
              horizon: int | None = None, as_of: Any = None) -> dict[str, Any]:
        """Return reliability statistics from outcomes known by ``as_of`` (default: now).

        ``as_of`` later than the clock's now is cut back to now, so no future bar is used.

        Raises:
            ValidationError: for an unknown pattern, timeframe, grouping or horizon.
        """
        tf = self._timeframe(timeframe)
        if pattern is not None:
            self._check_patterns([pattern])
        if group_by not in repo.GROUPINGS:
            raise ValidationError(f"group_by must be one of {sorted(repo.GROUPINGS)}",
                                  field="group_by")
        if horizon is not None and horizon not in self.cfg.horizons:
            raise ValidationError(f"horizon must be one of {self.cfg.horizons}", field="horizon")
        now = self.feed.now()
        t = now if as_of is None else min(to_utc(as_of), now)
        rows = repo.outcome_sums(self.db, tf, _iso(t), group_by, pattern, symbol, horizon)
        keys = [c.split(".")[1] for c in repo.GROUPINGS[group_by]]
        groups: dict[tuple[Any, ...], dict[str, Any]] = {}
        for r in rows:
            k = tuple(r[c] for c in keys)
            g = groups.setdefault(k, {**{c: r[c] for c in keys}, "horizons": {}})
            if "direction" in g:
                g["direction"] = "bullish" if r["direction"] > 0 else "bearish"
            st = PatternStats.from_sums(r["samples"], r["wins"], r["losses"], r["sum_win"],
                                        r["sum_loss"], r["sum_ret"], r["sum_signed"],
                                        r["sum_signed_sq"])
            g["horizons"][str(r["horizon"])] = {**st.to_dict(),
                                                "thin": st.samples < self.cfg.min_samples}
        return {"timeframe": tf, "as_of": t.to_pydatetime(), "symbol": symbol,
                "scope": "symbol" if symbol else "universe", "group_by": group_by,
                "horizons": self.cfg.horizons, "groups": list(groups.values())}

    # -- internals -----------------------------------------------------------------------
    @staticmethod
    def _check_patterns(patterns: list[str] | None) -> None:
        bad = [p for p in patterns or [] if p not in PATTERNS]
        if bad:
            raise ValidationError(f"unknown candlestick pattern(s) {bad}; see TA-Lib's "
                                  "Pattern Recognition group", field="pattern")

    @staticmethod
    def _row(r: Any) -> dict[str, Any]:
        return {"symbol": r["symbol"], "timeframe": r["timeframe"], "ts": r["ts"],
                "visible_at": r["visible_at"], "pattern": r["pattern"],
                "bias": "bullish" if r["direction"] > 0 else "bearish", "value": r["value"],
                "strength": r["strength"], "close": from_micros(r["close_micros"]),
                "time_of_day": r["tod_bucket"]}
