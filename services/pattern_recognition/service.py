"""Use cases of the pattern recognition service: scan bars, store detections, measure them.

``update`` is incremental: it scans only bars after the last one processed (with a warm-up
window before them so TA-Lib's rolling candle averages match a full-history run) and writes
the forward returns of earlier detections whose k-th bar has now closed.  Everything one update
writes goes in one transaction.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from services.pattern_recognition import repository as repo
from services.pattern_recognition.domain import (
    PATTERNS,
    PatternStats,
    detect_arrays,
    forward_outcomes,
    tod_buckets,
)
from services.pattern_recognition.feed import BarFeed, MarketFeed, bar_end_ns, is_crypto, ts_ns
from shared.config import Settings
from shared.db import Database, DatabaseServiceMixin
from shared.domain.money import from_micros
from shared.errors import ValidationError
from shared.market.calendar import to_utc
from shared.market.frames import iso, micros
from shared.market.timeframes import parse_timeframe

log = logging.getLogger("pattern_recognition")


# (window start, the bars visible from it, the clock time in ns they were read at)
Prefetched = tuple[pd.Timestamp, pd.DataFrame, int]


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
    write: Callable[[Any], UpdateResult] | None


class CandlestickService(DatabaseServiceMixin):
    """Candlestick detections and their walk-forward reliability, for one database."""

    def __init__(self, settings: Settings, db: Database | None = None,
                 feed: BarFeed | None = None) -> None:
        self.settings = settings
        self.cfg = settings.candlesticks
        self.init_database(db or settings)
        self.feed: BarFeed = feed or MarketFeed(settings)

    # -- helpers -------------------------------------------------------------------------
    def _timeframe(self, timeframe: str | None) -> str:
        return parse_timeframe(timeframe or self.cfg.default_timeframe).name

    def _span(self, timeframe: str) -> pd.Timedelta:
        """Return a time span holding at least ``warmup_bars`` bars across closed hours."""
        tf = parse_timeframe(timeframe)
        # Sessions leave gaps (nights, weekends, holidays), so take twice the bars' time and
        # never less than five days, which covers the longest exchange closure plus a session.
        return max(pd.Timedelta(minutes=tf.minutes * self.cfg.warmup_bars * 2),
                   pd.Timedelta(days=5 if not tf.is_daily else 7))

    def now(self) -> pd.Timestamp:
        return self.feed.now()

    def _bars(self, symbol: str, tf: str, load_from: pd.Timestamp, scan_from: pd.Timestamp,
              now: pd.Timestamp, pre: Prefetched | None = None) -> pd.DataFrame:
        """Return the visible bars from ``load_from``, or from later when that holds the same.

        Detection needs only ``warmup_bars`` bars before ``scan_from``; inside a session they
        lie within ``2 x warmup_bars`` bar lengths, so an update every bar reads those first
        (tens of bars, not the days ``_span`` allows for nights and weekends), then that
        window widened by one night, and the whole span only when both hold too few of them.
        """
        end = now + pd.Timedelta(microseconds=1)
        tfo = parse_timeframe(tf)
        short = load_from + self._span(tf) - tfo.duration * (2 * self.cfg.warmup_bars)
        # then the same across one night (early in a session the warm-up lies in the last one)
        tries = [short, short - pd.Timedelta(hours=18)] if not tfo.is_daily else [short]
        for start in tries:
            if start <= load_from:
                break
            # read already with the scan's batch, at this same "now"
            if pre is not None and pre[2] == now.value and pre[0] <= start:
                df = pre[1][pre[1].index >= start]
            else:
                df = self.feed.bars(symbol, tf, start, end)
            if int(df.index.searchsorted(scan_from, side="left")) >= self.cfg.warmup_bars:
                return df
        return self.feed.bars(symbol, tf, load_from, end)

    # -- use cases -----------------------------------------------------------------------
    def _prefetch(self, symbols: list[str], tf: str, now: pd.Timestamp
                  ) -> dict[str, Prefetched]:
        """Return, per symbol, the bars an update every bar needs (see ``_bars``), read in
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
        out = {sym: (start, df, now.value) for sym, df in many(symbols, tf, start, end).items()
               if len(df) >= want}
        rest = [sym for sym in symbols if sym not in out]
        if rest:
            wide = now - tfo.duration * (2 * self.cfg.warmup_bars + 1) - pd.Timedelta(hours=18)
            out.update({sym: (wide, df, now.value)
                        for sym, df in many(rest, tf, wide, end).items()})
        return out

    def update(self, symbol: str, timeframe: str | None = None, *,
               pre: Prefetched | None = None) -> UpdateResult:
        """Scan the newly visible bars of ``symbol`` and record new detections and outcomes.

        ``pre`` is (start, the symbol's bars from start on, the clock time they were read at),
        read beforehand by ``scan``; used only when the clock still stands there.

        Raises:
            ValidationError: for an unknown timeframe.
            ServiceUnavailable: when market data cannot be read.
        """
        plan = self._plan(symbol, self._timeframe(timeframe), pre)
        return plan.result if plan.write is None else \
            self.run_in_transaction(plan.write, "candlesticks:update")

    def _plan(self, symbol: str, tf: str, pre: Prefetched | None = None) -> _Planned:
        """Read and scan the newly visible bars of ``symbol``; return the write to make.

        Nothing is written here, so ``scan`` can write every symbol's update in one
        transaction (one write lock and one commit per batch instead of one per symbol).

        Raises:
            ServiceUnavailable: when market data cannot be read.
        """
        now = self.feed.now()
        conn = self.get_db_connection()
        last = repo.progress(conn, symbol, tf)
        horizons = self.cfg.horizons
        waiting = repo.pending(conn, symbol, tf)
        if last is None:
            scan_from = now - pd.Timedelta(days=self.cfg.backfill_days)
            load_from = scan_from - self._span(tf)
        else:
            scan_from = pd.Timestamp(last) + pd.Timedelta(microseconds=1)
            first = pd.Timestamp(waiting[0]["ts"]) if waiting else scan_from
            load_from = min(first, scan_from) - self._span(tf)
        df = self._bars(symbol, tf, load_from, scan_from, now, pre)
        if len(df) == 0:
            return _Planned(UpdateResult(symbol, tf, 0, 0, 0, last), None)
        bar_ts = ts_ns(df.index)
        ends = bar_end_ns(bar_ts, tf, is_crypto(symbol))
        start = int(df.index.searchsorted(scan_from, side="left"))
        close = df["close"].to_numpy(dtype="float64")
        arr = detect_arrays(df["open"].to_numpy(), df["high"].to_numpy(),
                            df["low"].to_numpy(), close, start=start)
        # ISO strings and buckets vectorised, and only for the bars that get a row (the
        # detected ones; the warm-up bars before them need none).
        hit = np.unique(arr.bar)
        at = {int(b): k for k, b in enumerate(hit.tolist())}
        ts_iso, end_iso = iso(bar_ts[hit]), iso(ends[hit])
        buckets = tod_buckets(df.index[hit], self.cfg.tod_bucket_minutes, self.cfg.exchange_tz,
                              parse_timeframe(tf).is_daily)
        close_micros = micros(close[hit])
        stamp = _iso(pd.Timestamp.now(tz="UTC"))
        rows = [(symbol, tf, ts_iso[at[b]], end_iso[at[b]], PATTERNS[p], 1 if v > 0 else -1,
                 v, abs(v) / 100.0, int(close_micros[at[b]]), str(buckets[at[b]]), stamp)
                for b, p, v in zip(arr.bar.tolist(), arr.pattern.tolist(), arr.value.tolist(),
                                   strict=True)]
        scanned = len(df) - start
        last_bar = iso(bar_ts[-1:])[0]

        def write(conn: Any) -> UpdateResult:
            n_det = repo.insert_detections(conn, rows) if rows else 0
            todo = repo.pending(conn, symbol, tf)
            n_out = 0
            if todo:
                det_ts = ts_ns(pd.DatetimeIndex([r["ts"] for r in todo]))
                det_close = np.array([r["close_micros"] for r in todo], dtype="float64") / 1e6
                det_dir = np.array([r["direction"] for r in todo], dtype="float64")
                outs = forward_outcomes(det_ts, det_close, det_dir, bar_ts, close, ends, horizons)
                out_iso = iso(ends[[o.bar for o in outs]]) if outs else []
                n_out = repo.insert_outcomes(conn, [
                    (todo[o.index]["id"], o.horizon, o.ret, o.signed_ret, out_iso[k])
                    for k, o in enumerate(outs)])
                repo.mark_complete(conn, sorted({todo[o.index]["id"] for o in outs}),
                                   len(horizons))
            repo.set_progress(conn, symbol, tf, last_bar, stamp)
            return UpdateResult(symbol, tf, scanned, n_det, n_out, last_bar)

        return _Planned(UpdateResult(symbol, tf, scanned, 0, 0, last_bar), write)

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
        pre = self._prefetch(list(dict.fromkeys(symbols)), tf, now)
        plans = {sym: self._plan(sym, tf, pre.get(sym)) for sym in dict.fromkeys(symbols)}

        def write_all(conn: Any) -> dict[str, UpdateResult]:
            return {sym: p.result if p.write is None else p.write(conn)
                    for sym, p in plans.items()}

        done = self.run_in_transaction(write_all, "candlesticks:scan")
        out = []
        for sym in symbols:
            r = done[sym]
            latest: list[dict[str, Any]] = []
            if r.last_bar is not None:
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
