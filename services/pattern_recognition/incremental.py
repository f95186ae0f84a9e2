"""The pieces of an update that keep state between bars: the tails held per symbol, the read
of the bars since them, one symbol's write, and the time-of-day labels by bar time.

Every write leaves exactly the rows the first update of a symbol would (today's SQL, against
the same window of bars); a held ``Tail`` only spares re-reading what the last write already
knew, and whenever the database answers other than the tail predicts, the write goes the
reading way and the tail is rebuilt from the database.
"""
from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from services.pattern_recognition import repository as repo
from services.pattern_recognition.domain import forward_outcomes, tod_buckets
from services.pattern_recognition.feed import BarFeed, bar_end_ns, is_crypto, ts_ns
from services.pattern_recognition.tails import Tail, Waiting, waiting_from_rows
from shared.cache import SizedLRU
from shared.domain.money import from_micros
from shared.market.frames import BarArrays, iso

if TYPE_CHECKING:
    from services.pattern_recognition.service import CandlestickService, UpdateResult


class TailStore:
    """The tails of the symbols updated lately, up to ``max_bytes`` of them (least recently
    used dropped first; a tail is a few hundred bars, ~25 KB for a 1m equity).

    Bounded by bytes, not by count: a bound of 4,096 tails filled over the first sessions of
    a replay as each cycle's candidates came and went, and the worker's memory rose with it.
    """

    def __init__(self, max_bytes: int) -> None:
        self._tails: SizedLRU[tuple[str, str], Tail] = SizedLRU(max_bytes)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._tails)

    @property
    def nbytes(self) -> int:
        with self._lock:
            return int(self._tails.currsize)

    def current(self, symbols: Sequence[str], tf: str,
                versions: dict[str, tuple[str, str]]) -> dict[str, Tail]:
        """Return the held tails whose progress row still reads as when they were made."""
        with self._lock:
            got = {sym: self._tails.get((sym, tf)) for sym in symbols}
        return {sym: t for sym, t in got.items()
                if t is not None and versions.get(sym) == t.version}

    def put(self, tf: str, tails: dict[str, Tail]) -> None:
        with self._lock:
            for sym, t in tails.items():
                self._tails[(sym, tf)] = t


def _row(bars: BarArrays, i: int) -> tuple[int, float, float, float, float]:
    """Return bar ``i``'s open time and prices (what a re-read of it must find unchanged)."""
    return (int(bars.ts[i]), float(bars.open[i]), float(bars.high[i]), float(bars.low[i]),
            float(bars.close[i]))


def read_new(feed: BarFeed, tails: dict[str, Tail], tf: str, now: pd.Timestamp
             ) -> dict[str, BarArrays]:
    """Return, per symbol, the bars visible at ``now`` after the last one its tail holds.

    One batched read from the earliest last bar when the feed has ``bars_many`` (past the
    reader's cache: the tail keeps them).  The last held bar is read again and must be
    unchanged; a symbol whose read fails or whose bars changed is left out (its update then
    reads everything, as a first one does).
    """
    if not tails:
        return {}
    starts = {sym: int(t.bars.ts[-1]) if len(t.bars) else t.cov for sym, t in tails.items()}
    end = now + pd.Timedelta(microseconds=1)
    many = getattr(feed, "bars_many", None)
    if many is not None:
        got = many(list(tails), tf, pd.Timestamp(min(starts.values()), tz="UTC"), end,
                   cache=False)
    else:
        got = {sym: feed.bars(sym, tf, pd.Timestamp(starts[sym], tz="UTC"), end)
               for sym in tails}
    out = {}
    for sym, t in tails.items():
        b = got.get(sym)
        if b is None:
            continue
        b = b.since(starts[sym])
        if len(t.bars):
            if not len(b) or _row(b, 0) != _row(t.bars, -1):
                continue
            b = b.since(int(b.ts[0]) + 1)
        out[sym] = b
    return out


#: Bar times whose labels ``Buckets`` keeps (a step's bar times repeat across symbols; older
#: ones are rarely asked again): cleared past it.  It was 200,000: tens of MB once full.
BUCKET_MEMO = 8192


class Buckets:
    """Time-of-day labels by bar open time (every symbol of a step shares its bar times, so
    one pandas time-zone conversion a step instead of one per symbol)."""

    def __init__(self, minutes: int, tz: str) -> None:
        self.minutes, self.tz = minutes, tz
        self._memo: dict[int, str] = {}

    def get(self, ts: np.ndarray, daily: bool) -> list[str]:
        if daily:
            return ["session"] * len(ts)
        keys = ts.tolist()
        miss = [k for k in dict.fromkeys(keys) if k not in self._memo]
        if miss:
            if len(self._memo) > BUCKET_MEMO:
                self._memo.clear()
            idx = pd.DatetimeIndex(np.array(miss, dtype="int64").astype("M8[ns]")
                                   ).tz_localize("UTC")
            labels = tod_buckets(idx, self.minutes, self.tz, False)
            self._memo.update(zip(miss, (str(x) for x in labels), strict=True))
        return [self._memo[k] for k in keys]


def row_dict(r: Sequence[Any]) -> dict[str, Any]:
    """Return a candle_detections insert row in the API's form (as ``_row`` gives it)."""
    return {"symbol": r[0], "timeframe": r[1], "ts": r[2], "visible_at": r[3], "pattern": r[4],
            "bias": "bullish" if r[5] > 0 else "bearish", "value": r[6], "strength": r[7],
            "close": from_micros(r[8]), "time_of_day": r[9]}


class Writer:
    """Store one symbol's update: detections, outcomes, completion, progress; return the
    result and the symbol's new ``Tail``.  Re-runnable (a transaction retried on a lock runs
    it again): it changes nothing but the database."""

    def __init__(self, svc: CandlestickService, symbol: str, tf: str, last: str | None,
                 window: BarArrays, keep: tuple[BarArrays, int], rows: list[tuple[Any, ...]],
                 result: UpdateResult, tail: Tail | None, stamp: str) -> None:
        self.svc, self.symbol, self.tf, self.last = svc, symbol, tf, last
        self.window, self.keep, self.rows, self.result = window, keep, rows, result
        self.tail, self.stamp = tail, stamp
        self.horizons = list(svc.cfg.horizons)

    def _ends(self) -> np.ndarray:
        """Return the window's bar close times (when each bar's outcome becomes known)."""
        return bar_end_ns(self.window.ts, self.tf, is_crypto(self.symbol))

    def __call__(self, conn: Any, current: tuple[str, str] | None
                 ) -> tuple[UpdateResult, Tail]:
        sym, tf, r = self.symbol, self.tf, self.result
        n_det = repo.insert_detections(conn, self.rows) if self.rows else 0
        todo = self._held_todo(conn, current, n_det)
        waiting: tuple[Waiting, ...] | None = None
        if todo is None:
            n_out = self._outcomes_from_db(conn)
        else:
            n_out, waiting = self._outcomes_held(conn, todo)
        repo.set_progress(conn, sym, tf, r.last_bar, self.stamp)
        latest = None
        if waiting is None:
            waiting = waiting_from_rows(repo.pending_outcomes(conn, sym, tf))
        elif r.bars_scanned:
            latest = tuple(row_dict(x) for x in self.rows if x[2] == r.last_bar)
        elif self.tail is not None:
            latest = self.tail.latest
        bars, cov = self.keep
        tail = Tail((str(r.last_bar), self.stamp), cov, bars, waiting, latest)
        return (replace(r, detections=n_det, outcomes=n_out),
                tail.trimmed(self._keep_from(str(r.last_bar), waiting)))

    def _keep_from(self, last_bar: str, waiting: tuple[Waiting, ...]) -> pd.Timestamp:
        """Return the earliest bar time the next update can read (see ``_tries``)."""
        svc = self.svc
        scan_from = pd.Timestamp(last_bar) + pd.Timedelta(microseconds=1)
        first = pd.Timestamp(waiting[0].ts_ns, tz="UTC") if waiting else scan_from
        load_from = min(first, scan_from) - svc._span(self.tf)
        tries = svc._tries(self.tf, load_from)
        return tries[-1] if tries else load_from

    def _held_todo(self, conn: Any, current: tuple[str, str] | None, n_det: int
                   ) -> list[Waiting] | None:
        """Return the pending detections from the tail plus the ones just stored, or None
        when the database is not what the tail says (then it is read instead)."""
        t = self.tail
        if t is None or current != t.version or self.last is None:
            return None
        todo = list(t.waiting)
        if self.rows:
            new = repo.pending_after(conn, self.symbol, self.tf, self.last)
            if n_det != len(self.rows) or len(new) != n_det:
                return None
            ts = self.window.since(pd.Timestamp(self.last).value + 1).ts
            at = dict(zip(iso(ts), ts.tolist(), strict=True))
            todo.extend(Waiting(int(x["id"]), at[x["ts"]], int(x["close_micros"]),
                                int(x["direction"]), 0, frozenset()) for x in new)
        return todo

    def _outcomes_from_db(self, conn: Any) -> int:
        """Store the outcomes of every pending detection read from the database."""
        w = self.window
        todo = repo.pending(conn, self.symbol, self.tf)
        if not todo:
            return 0
        det_ts = ts_ns(pd.DatetimeIndex([x["ts"] for x in todo]))
        det_close = np.array([x["close_micros"] for x in todo], dtype="float64") / 1e6
        det_dir = np.array([x["direction"] for x in todo], dtype="float64")
        ends = self._ends()
        outs = forward_outcomes(det_ts, det_close, det_dir, w.ts, w.close, ends, self.horizons)
        out_iso = iso(ends[[o.bar for o in outs]]) if outs else []
        n_out = repo.insert_outcomes(conn, [
            (todo[o.index]["id"], o.horizon, o.ret, o.signed_ret, out_iso[k])
            for k, o in enumerate(outs)])
        repo.mark_complete(conn, sorted({todo[o.index]["id"] for o in outs}),
                           len(self.horizons))
        return n_out

    def _outcomes_held(self, conn: Any, todo: list[Waiting]
                       ) -> tuple[int, tuple[Waiting, ...] | None]:
        """Store only the outcomes the tail says are missing; return how many were stored and
        the detections still pending (None when the database already held some of them)."""
        if not todo:
            return 0, ()
        w, hz = self.window, self.horizons
        det_ts = np.array([x.ts_ns for x in todo], dtype="int64")
        det_close = np.array([x.close_micros for x in todo], dtype="float64") / 1e6
        det_dir = np.array([x.direction for x in todo], dtype="float64")
        skip = np.array([[k in x.done for k in hz] for x in todo], dtype=bool)
        ends = self._ends()
        outs = forward_outcomes(det_ts, det_close, det_dir, w.ts, w.close, ends, hz, skip)
        n_out = 0
        if outs:
            out_iso = iso(ends[[o.bar for o in outs]])
            n_out = repo.insert_outcomes(conn, [
                (todo[o.index].id, o.horizon, o.ret, o.signed_ret, out_iso[k])
                for k, o in enumerate(outs)])
        # The detections the reading way passes to ``mark_complete``: those with any
        # outcome on these bars, stored before or now.
        n = len(w)
        pos = np.searchsorted(w.ts, det_ts)
        found = (pos < n) & (w.ts[np.minimum(pos, n - 1)] == det_ts) if n else pos < 0
        cand = found & (pos + min(hz) < n) & (det_close > 0)
        if n_out != len(outs):  # the database held outcomes the tail did not know of
            repo.mark_complete(conn, sorted(todo[i].id for i in np.flatnonzero(cand)), len(hz))
            return n_out, None
        added: dict[int, set[int]] = {}
        for o in outs:
            added.setdefault(o.index, set()).add(o.horizon)
        keep, complete = [], []
        for i, x in enumerate(todo):
            got = added.get(i)
            if got:
                x = replace(x, n_done=x.n_done + len(got), done=x.done | got)
            if cand[i] and x.n_done >= len(hz):
                complete.append(x.id)
            else:
                keep.append(x)
        repo.mark_complete(conn, sorted(complete), len(hz))
        return n_out, tuple(keep)
