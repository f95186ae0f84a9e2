"""The market-data owner: the one writer of bars in the suite.

Coordination (the process that owns the market clock) runs one ``MarketFeed``.  As the clock
advances it stores every universe symbol's bars up to the clock (one-minute bars and the 5m,
15m, 1h and 1d bars derived from them, each stored once, when it closes), in bulk, a chunk of
symbols per short ``BEGIN IMMEDIATE`` transaction; between clock steps it backfills history
(newest session first) down to the configured depth per timeframe.  Every other process opens
the market tables read-only (``Database.protect(MARKET_TABLES)``) and only reads what this
stores, so a symbol is priced from the first second whether or not anyone looked at it, and a
read never writes.

``market_feed`` (one row) says how far the store reaches (``through_ts``, market time) and
how far the backfill has come; readers compare it with the clock to say their data is stale.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pandas as pd

from shared.db.notify import MARKET_FEED, notify
from shared.db.ownership import MARKET_TABLES
from shared.market.reads import coverage_cap, fill_missing
from shared.market.release import limit_sqlite_heap, release_memory
from shared.market.timeframes import parse_timeframe

if TYPE_CHECKING:
    from shared.config_sections.market import IngestSection
    from shared.market.manager import DataManager

log = logging.getLogger("market.feed")

INTRADAY = ("1m", "5m", "15m", "1h")
TIMEFRAMES = (*INTRADAY, "1d")
_MIN = pd.Timedelta(minutes=1)
_LAST_HOUR = pd.Timedelta(hours=1)
_NEVER = pd.Timestamp(0, tz="UTC")
_MINUTES = {"1m": 1, "5m": 5, "15m": 15, "1h": 60}
#: Daily bars of this many days come right after the session before (the scanner's 60-day
#: averages and the news service's 30-day gaps need them from the first cycle).
DAILY_FIRST_DAYS = 100
_BARS_PER_SESSION = {"1m": 390, "5m": 78, "15m": 26, "1h": 7, "1d": 1}
_DAY = pd.Timedelta(days=1)
#: WAL frames (4 KiB pages) the checkpoint thread lets pile up between two checkpoints:
#: 16 MB, four times SQLite's own 1000, well under database.wal_autocheckpoint_pages
_CHECKPOINT_FRAMES = 4000


@dataclass
class FeedStats:
    """What the feed has done since it started (for ``status()`` and the bench)."""

    rows: int = 0
    catch_ups: int = 0
    catch_up_s: float = 0.0
    backfill_jobs: int = 0
    backfill_s: float = 0.0
    errors: int = 0
    last_error: str | None = None
    checkpoints: int = 0
    checkpoint_s: float = 0.0
    checkpoint_frames: int = 0  # frames written to the WAL between checkpoints


class MarketFeed:
    """Stores the market up to the clock, then its history, for the whole universe."""

    def __init__(self, dm: DataManager, cfg: IngestSection, *, owner: str | None = None) -> None:
        self.dm = dm
        self.cfg = cfg
        self.cal = dm.calendar
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        syms = list(dm.universe.values())
        self.equities = [i.symbol for i in syms if i.asset_class == "equity" and i.tradable]
        self.crypto = [i.symbol for i in syms if i.asset_class == "crypto" and i.tradable]
        self.stats = FeedStats()
        self._lock = threading.Lock()  # one catch-up or backfill job at a time
        self._through: pd.Timestamp | None = None
        self._backfill: Iterator[Callable[[], int]] | None = None
        self._backfill_done = False
        self._backfill_label = "pending"
        # the history the services read by default is stored (the minutes may still come)
        self._history_ready = False
        # (session or crypto day, timeframe) -> coverage cap the catch-up last checked it to
        self._checked: dict[tuple[Any, ...], pd.Timestamp] = {}
        # bumped after each backfill write; a restarted owner continues from the stored one
        row = feed_row(dm.db)
        self._epoch = 0 if row is None else int(row["history_epoch"])
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._heap_before: int | None = None  # SQLite's soft heap limit before ``start``
        self._checkpointer: threading.Thread | None = None
        self._wal_frames = 0  # the WAL's frames at the last checkpoint

    # -- the store up to the clock ---------------------------------------------------------
    def catch_up(self, now: object = None) -> int:
        """Store every symbol's bars that the clock has closed and the store lacks; return rows.

        The last closed session and the current one (equities), and for crypto pairs every
        UTC day from the one the store reached to the clock's (at least the last two): a
        replay that skips closed time jumps from Friday's close to Monday's open, and the
        pairs traded the whole weekend it jumped over.  After a jump of more than a session,
        older sessions (and their days) come with the backfill.  Cheap when nothing is
        missing (one coverage query per timeframe and chunk).
        """
        cutoff = self.dm.clock.now_ts() if now is None else pd.Timestamp(now)
        t0 = time.perf_counter()
        with self._lock:
            # jumps are the clock's own: a caller's "now" taken a moment ago is no jump back
            self._follow_jumps(cutoff if now is None else self.dm.clock.now_ts())
            self.dm.ensure_universe()
            rows = 0
            current = self._session_index(cutoff)
            for k in self._recent_sessions(cutoff):
                # of the session before, only its last hour of minutes (and all its longer
                # bars): what prices every symbol; the backfill's first job stores the rest
                rows += self._store_session(k, cutoff, TIMEFRAMES, minutes_from=(
                    self.cal.closes[k] - _LAST_HOUR if k < current else None))
            day = cutoff.floor("D")
            if self.crypto:
                first = day - _DAY
                if self._through is not None:
                    first = min(first, self._through.floor("D"))
                for d in pd.date_range(first, day, freq="D"):
                    rows += self._store_crypto_day(d, cutoff, TIMEFRAMES, catch_up=True)
            self._forget_checked(current - 1, day - _DAY)
            if self._through is None or cutoff > self._through:
                self._through = cutoff
            self._write_progress()
        self.stats.catch_ups += 1
        self.stats.catch_up_s += time.perf_counter() - t0
        self.stats.rows += rows
        return rows

    def _follow_jumps(self, cutoff: pd.Timestamp) -> None:
        """Walk the history again from ``cutoff`` when the clock moved back, or forward by
        more than a session (a reset, a new replay range, an advance): the history the
        readers need is the one behind the clock's new time."""
        if self._through is None:
            return
        k = self._session_index(cutoff)
        if cutoff < self._through - _MIN or k > self._session_index(self._through) + 1:
            self._backfill, self._backfill_done = None, False
            self._backfill_label = "pending"
            self._history_ready = False
            self._through = None
            self._checked.clear()

    def _forget_checked(self, session: int, day: pd.Timestamp) -> None:
        """Drop the marks of sessions before ``session`` and crypto days before ``day``: a
        catch-up checks only the last two of each, and the marks grew by a session's worth
        with every simulated day."""
        if len(self._checked) > 4 * len(TIMEFRAMES):
            self._checked = {k: v for k, v in self._checked.items()
                             if k[1] >= (session if k[0] == "s" else day)}

    def _session_index(self, ts: pd.Timestamp) -> int:
        return int(self.cal._open_ns.searchsorted(ts.value, side="right")) - 1

    def _recent_sessions(self, cutoff: pd.Timestamp) -> list[int]:
        """Return the index of the last session opened by ``cutoff`` and of the one before."""
        i = self._session_index(cutoff)
        return [k for k in (i - 1, i) if k >= 0]

    def _session_span(self, k: int) -> tuple[pd.Timestamp, pd.Timestamp]:
        """Return [New York midnight of session ``k``, its close): holds all its bars' stamps."""
        label = self.cal.sessions[k]
        start = pd.Timestamp(label).tz_localize("America/New_York").tz_convert("UTC")
        return start, self.cal.closes[k]

    def _chunks(self, symbols: list[str], bars_per_symbol: int) -> Iterator[list[str]]:
        per = max(1, self.cfg.chunk_rows // max(1, bars_per_symbol))
        for a in range(0, len(symbols), per):
            yield symbols[a:a + per]

    def _store_session(self, k: int, cutoff: pd.Timestamp, tfs: tuple[str, ...],
                       symbols: list[str] | None = None, *,
                       minutes_from: pd.Timestamp | None = None) -> int:
        """Store session ``k``'s missing bars of ``tfs`` visible at ``cutoff`` (its 1m bars
        from ``minutes_from`` on, when given), a chunk of symbols per transaction (all
        timeframes of a chunk share one generated session)."""
        since = self._through if minutes_from is None else minutes_from
        chunks = (self._chunks(self.equities, self._minutes(k, cutoff, since))
                  if symbols is None else [symbols])
        before = self.dm.counters["rows_stored"]
        failed: dict[str, list[str]] = {}
        s, e = self._session_span(k)
        if symbols is None:  # a catch-up: only the timeframes a bar of may have closed since
            tfs = tuple(tf for tf in tfs if self._due(("s", k, tf), tf, False, e, cutoff))
        if self.equities and s < cutoff and tfs:
            for chunk in chunks:
                for tf in tfs:
                    start = s if tf != "1m" or minutes_from is None else max(s, minutes_from)
                    fill_missing(self.dm, chunk, tf, False, start, min(e, cutoff), cutoff,
                                 failed)
            if symbols is None and not failed:
                self._mark(("s", k), tfs, False, e, cutoff)
        self._log_failures(failed)
        return self.dm.counters["rows_stored"] - before

    def _due(self, key: tuple[Any, ...], tf: str, crypto: bool, end: pd.Timestamp,
             cutoff: pd.Timestamp) -> bool:
        """Return whether a ``tf`` bar may have closed since the catch-up last checked
        ``key`` (the coverage query of each timeframe and class, each minute, was most of a
        catch-up's cost)."""
        return self._newest_closed(tf, crypto, end, cutoff) > self._checked.get(key, _NEVER)

    def _newest_closed(self, tf: str, crypto: bool, end: pd.Timestamp,
                       cutoff: pd.Timestamp) -> pd.Timestamp:
        """Return the open of the newest ``tf`` bar that may have closed by ``cutoff`` (bars
        are on clock boundaries, a session's close is on one too), or ``end`` when later."""
        if tf == "1d":
            newest = coverage_cap(self.dm, tf, crypto, cutoff)
        else:
            newest = (cutoff - parse_timeframe(tf).duration).floor(f"{_MINUTES[tf]}min")
        return min(end, newest)

    def _mark(self, key: tuple[Any, ...], tfs: tuple[str, ...], crypto: bool,
              end: pd.Timestamp, cutoff: pd.Timestamp) -> None:
        for tf in tfs:
            self._checked[(*key, tf)] = self._newest_closed(tf, crypto, end, cutoff)

    def _minutes(self, k: int, cutoff: pd.Timestamp, since: pd.Timestamp | None = None) -> int:
        """Return how many minutes of session ``k`` may be missing (stored through ``since``)."""
        start = self.cal.opens[k] if since is None else max(self.cal.opens[k], since - _MIN)
        return max(1, int((min(self.cal.closes[k], cutoff) - start) / _MIN))

    def _store_crypto_day(self, day: pd.Timestamp, cutoff: pd.Timestamp,
                          tfs: tuple[str, ...], *, catch_up: bool = False) -> int:
        if day >= cutoff:
            return 0
        before = self.dm.counters["rows_stored"]
        failed: dict[str, list[str]] = {}
        end = min(day + _DAY, cutoff)
        if catch_up:
            tfs = tuple(tf for tf in tfs if self._due(("c", day, tf), tf, True, end, cutoff))
        for tf in tfs:
            fill_missing(self.dm, self.crypto, tf, True, day, end, cutoff, failed)
        if catch_up and not failed:
            self._mark(("c", day), tfs, True, end, cutoff)
        self._log_failures(failed)
        return self.dm.counters["rows_stored"] - before

    def _log_failures(self, failed: dict[str, list[str]]) -> None:
        if failed:
            self.stats.errors += 1
            first = next(iter(failed.items()))
            self.stats.last_error = f"{first[0]}: {'; '.join(first[1])[:300]}"
            log.warning("ingest left symbols out",
                        extra={"symbols": sorted(failed)[:20], "count": len(failed)})

    # -- history ---------------------------------------------------------------------------
    def _jobs(self, cutoff: pd.Timestamp) -> Iterator[Callable[[], int]]:
        """Yield the backfill as jobs, in the order readers need it: the rest of the session
        before; the daily bars of the last ``DAILY_FIRST_DAYS`` (a scan's averages, news
        gaps: one row a symbol a session, a block of sessions a job); then the intraday
        history, newest session first, a chunk of symbols a job; then the older daily bars."""
        depth = {tf: pd.Timedelta(days=d) for tf, d in self.cfg.history_days.items()}
        i = self._session_index(cutoff)
        if i < 1:
            return
        self._backfill_label = f"{self.cal.sessions[i - 1].date()} {','.join(TIMEFRAMES)}"
        if self.crypto:  # the pairs' days since the last session opened (a weekend's)
            days = self._crypto_days(i, cutoff)
            yield lambda: sum(self._store_crypto_day(d, cutoff, TIMEFRAMES) for d in days)
        yield from self._session_jobs(i - 1, cutoff, TIMEFRAMES)
        oldest = 0
        if "1d" in depth:
            first = min(depth["1d"], pd.Timedelta(days=DAILY_FIRST_DAYS))
            yield from self._daily_jobs(i - 2, self._session_on(cutoff - first), cutoff)
            oldest = self._session_on(cutoff - depth["1d"])
        # the longer intraday bars first (cheap, and what scans and analyses read), then
        # the minutes (the bulk of the rows)
        for group in (tuple(tf for tf in INTRADAY if tf != "1m"), ("1m",)):
            if group == ("1m",):
                yield self._history_is_ready  # what the analyses read by default is there
            k = i - 2
            while k >= 0:
                age = cutoff - self._session_span(k)[0]
                tfs = tuple(tf for tf in group if tf in depth and age <= depth[tf])
                if not tfs:
                    break
                self._backfill_label = f"{self.cal.sessions[k].date()} {','.join(tfs)}"
                yield from self._session_jobs(k, cutoff, tfs)
                k -= 1
        if "1d" in depth:
            yield from self._daily_jobs(i - 2, oldest, cutoff)  # stored ones are skipped

    def _history_is_ready(self) -> int:
        self._history_ready = True
        return 0

    def _session_jobs(self, k: int, cutoff: pd.Timestamp,
                      tfs: tuple[str, ...]) -> Iterator[Callable[[], int]]:
        # one chunk of symbols a job: a catch-up waits for at most one chunk
        per_symbol = sum(_BARS_PER_SESSION[tf] for tf in tfs)
        for chunk in self._chunks(self.equities, per_symbol):
            yield lambda c=chunk: self._store_session(k, cutoff, tfs, c)
        if self.crypto:
            days = self._crypto_days(k, cutoff)
            yield lambda: sum(self._store_crypto_day(d, cutoff, tfs) for d in days)

    def _crypto_days(self, k: int, cutoff: pd.Timestamp) -> list[pd.Timestamp]:
        """Return the UTC days from session ``k``'s date to the day before the next session's
        (a Friday's: Friday, Saturday and Sunday), up to ``cutoff``'s day: the crypto days a
        backfill by sessions stores with session ``k``, so none falls between sessions."""
        first = self._session_span(k)[0].floor("D")
        nxt = (self._session_span(k + 1)[0].floor("D") if k + 1 < len(self.cal.sessions)
               else first + _DAY)
        return list(pd.date_range(first, min(nxt - _DAY, cutoff.floor("D")), freq="D"))

    def _daily_jobs(self, newest: int, oldest: int,
                    cutoff: pd.Timestamp) -> Iterator[Callable[[], int]]:
        block = max(1, min(60, self.cfg.chunk_rows // max(1, len(self.equities))))
        k = newest
        while k >= max(0, oldest):
            lo = max(0, oldest, k - block + 1)
            self._backfill_label = f"{self.cal.sessions[lo].date()} 1d"
            yield lambda lo=lo, hi=k: self._store_daily(lo, hi, cutoff)
            k = lo - 1

    def _session_on(self, ts: pd.Timestamp) -> int:
        """Return the index of the first session on or after ``ts``'s New York date."""
        day = ts.tz_convert("America/New_York").tz_localize(None).normalize()
        return int(self.cal.sessions.searchsorted(day))

    def _store_daily(self, lo: int, hi: int, cutoff: pd.Timestamp) -> int:
        """Store the daily bars of sessions ``lo..hi`` for every symbol (one write)."""
        before = self.dm.counters["rows_stored"]
        failed: dict[str, list[str]] = {}
        s, e = self._session_span(lo)[0], self._session_span(hi)[1]
        if self.equities:
            fill_missing(self.dm, self.equities, "1d", False, s, e, cutoff, failed)
        if self.crypto:
            fill_missing(self.dm, self.crypto, "1d", True, s.floor("D"), e.ceil("D"), cutoff,
                         failed)
        self._log_failures(failed)
        return self.dm.counters["rows_stored"] - before

    def backfill_step(self) -> bool:
        """Run one backfill job; return False when the history is complete."""
        t0 = time.perf_counter()
        with self._lock:
            if self._backfill_done:
                return False
            if self._backfill is None:
                self._backfill = self._jobs(self._through or self.dm.clock.now_ts())
            job = next(self._backfill, None)
            if job is None:
                self._backfill_done = self._history_ready = True
                self._backfill_label = "done"
                self._epoch += 1  # the minutes and older days behind readers' windows too
                self._write_progress()
                release_memory(self.dm.db.get_db_connection())
                return False
            stored = job()
            self.stats.rows += stored
            if stored and not self._history_ready:
                # older bars of the readers' default windows arrived: they drop what they
                # keep (after that, once more when the rest, minutes and old days, is done)
                self._epoch += 1
                self._write_progress()
        self.stats.backfill_jobs += 1
        self.stats.backfill_s += time.perf_counter() - t0
        return True

    # -- progress row ----------------------------------------------------------------------
    def _write_progress(self) -> None:
        if self._through is None:
            return
        now = datetime.now(UTC).isoformat(timespec="milliseconds")
        with self.dm.db.transaction("market:feed") as conn:
            conn.execute(
                "INSERT INTO market_feed (id, through_ts, symbols, backfill, history_epoch, "
                "owner, updated_at) VALUES (1, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                "through_ts = excluded.through_ts, symbols = excluded.symbols, "
                "backfill = excluded.backfill, owner = excluded.owner, "
                "history_epoch = CASE WHEN market_feed.history_epoch > excluded.history_epoch "
                "THEN market_feed.history_epoch ELSE excluded.history_epoch END, "
                "updated_at = excluded.updated_at",
                (self._through.isoformat(), len(self.equities) + len(self.crypto),
                 self._backfill_label, self._epoch, self.owner, now))
            # readers waiting for bars (the stream server) wake on commit (PostgreSQL)
            notify(conn, MARKET_FEED, self._through.isoformat())

    def status(self) -> dict[str, Any]:
        s = self.stats
        return {"owner": self.owner, "through": None if self._through is None
                else self._through.isoformat(), "symbols": len(self.equities) + len(self.crypto),
                "backfill": self._backfill_label, "history_ready": self._history_ready,
                "history_epoch": self._epoch,
                "rows_stored": s.rows,
                "catch_ups": s.catch_ups, "catch_up_s": round(s.catch_up_s, 3),
                "backfill_jobs": s.backfill_jobs, "backfill_s": round(s.backfill_s, 3),
                "errors": s.errors, "last_error": s.last_error,
                "checkpoints": s.checkpoints, "checkpoint_s": round(s.checkpoint_s, 3),
                "checkpoint_frames": s.checkpoint_frames,
                "running": self._thread is not None and self._thread.is_alive()}

    # -- the thread ------------------------------------------------------------------------
    def start(self) -> None:
        """Catch up now (the suite is priced before this returns), then follow the clock.

        Then bounds SQLite's heap in this process (``ingest.sqlite_heap_mb``): the pages
        this feed writes, ~25 MB a simulated day for 500 names, otherwise stay in the page
        cache of each connection that wrote them, up to ``database.cache_size_kib`` each.
        (After the first catch-up: the start stays as fast; past the limit SQLite recycles
        pages as it next allocates.)
        """
        self.catch_up()
        if self.cfg.sqlite_heap_mb and self._heap_before is None:
            self._heap_before = limit_sqlite_heap(self.dm.db.get_db_connection(),
                                                  self.cfg.sqlite_heap_mb * 2**20)
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="market-feed", daemon=True)
            self._thread.start()
        if self._checkpointer is None and self.cfg.checkpoint_s and self.dm.db.dialect == "sqlite":
            self._checkpointer = threading.Thread(target=self._checkpoints,
                                                  name="market-feed-checkpoint", daemon=True)
            self._checkpointer.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in (self._thread, self._checkpointer):
            if thread is not None:
                thread.join(timeout=10)
        if self._heap_before is not None:  # the process's limit as it was (tests share one)
            limit_sqlite_heap(self.dm.db.get_db_connection(), self._heap_before)
            self._heap_before = None

    def checkpoint(self) -> int | None:
        """Run one PASSIVE WAL checkpoint (SQLite); return the frames written to the WAL
        since the one before (all of them copied back unless a reader still needed them),
        or None where there is no WAL.  See ``_checkpoints``."""
        t0 = time.perf_counter()
        got = self.dm.db.checkpoint()
        if got is None:  # PostgreSQL checkpoints on its own
            return None
        frames = got[1]  # in the WAL now: since the last checkpoint, or since it restarted
        grown = frames - self._wal_frames if frames >= self._wal_frames else frames
        self._wal_frames = frames
        self.stats.checkpoints += 1
        self.stats.checkpoint_s += time.perf_counter() - t0
        self.stats.checkpoint_frames += grown
        return grown

    def _checkpoints(self) -> None:
        """Checkpoint the WAL, in a thread of its own, at most ``checkpoint_s`` apart.

        SQLite's own checkpoint ran inside the commit that took the WAL past 1000 pages:
        every other minute of bars at 500 symbols, so a cycle's "bars" step waited for it.
        Each minute rewrites the same leaf pages (one per symbol), so a checkpoint every
        second or two of a fast replay copies each page once for several minutes.  Its own
        thread: a PASSIVE checkpoint blocks no writer and sqlite3 lets go of the GIL while
        it copies, so catch-ups go on beside it.  The wait shrinks with the rate the WAL
        grows (a backfill writes ~14,000 frames a second) so that about
        ``_CHECKPOINT_FRAMES`` lie between two checkpoints and the WAL never reaches
        ``database.wal_autocheckpoint_pages``, where a commit would checkpoint inside.
        """
        wait = self.cfg.checkpoint_s
        last = time.monotonic()
        while not self._stop.wait(wait):
            try:
                grown = self.checkpoint()
            except Exception as exc:  # noqa: BLE001 - e.g. a read-only file: next time
                log.warning("market feed checkpoint failed", extra={"error": str(exc)[:300]})
                grown = None
            now = time.monotonic()
            rate = (grown or 0) / max(now - last, 1e-3)  # frames a second
            last = now
            wait = self.cfg.checkpoint_s if rate <= 0 else \
                min(self.cfg.checkpoint_s, max(0.05, _CHECKPOINT_FRAMES / rate))

    def _run(self) -> None:
        last_minute = None
        while not self._stop.is_set():
            try:
                now = self.dm.clock.now_ts()
                minute = now.floor("min")
                if minute != last_minute:
                    self.catch_up(now)
                    last_minute = minute
                    continue
                if self.backfill_step():
                    continue
            except Exception as exc:  # noqa: BLE001 - keep feeding; counted and logged
                self.stats.errors += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.exception("market feed step failed")
                self._stop.wait(1.0)
            self._stop.wait(self.cfg.poll_s)


def feed_row(db: Any) -> dict[str, Any] | None:
    """Return the owner's progress row, or None before the owner first stored anything."""
    row = db.fetch_one("SELECT through_ts, symbols, backfill, history_epoch, owner, "
                       "updated_at FROM market_feed WHERE id = 1")
    return None if row is None else dict(row)


_clocks: dict[str, Any] = {}


def allowed_lag(state: Any, cfg: IngestSection) -> pd.Timedelta:
    """Return how far (market time) the store may trail the clock before it is stale:
    ``stale_after_minutes``, or what the clock covers in ``stale_after_s`` of wall time when
    it runs faster (x130: the owner storing every half second is minutes behind, not down)."""
    speed = 0.0
    if state.mode == "live" or (not state.paused and state.pace == "realtime"):
        speed = 1.0
    elif not state.paused and state.pace == "multiplier":
        speed = float(state.speed)
    return pd.Timedelta(minutes=max(cfg.stale_after_minutes,
                                    speed * cfg.stale_after_s / 60.0))


def market_data_status(db: Any, settings: Any) -> dict[str, Any]:
    """Return whether the stored market reaches the clock: ``stale`` when the owner's
    ``through`` is more than ``ingest.stale_after_minutes`` behind the clock (or missing)."""
    from shared.market.clock import MarketClock

    clock = _clocks.get(str(db.path))
    if clock is None:
        clock = _clocks[str(db.path)] = MarketClock(db, settings.market.clock)
    now = clock.now_ts()
    row = feed_row(db)
    through = None if row is None else pd.Timestamp(row["through_ts"])
    lag = allowed_lag(clock.state(), settings.market.ingest)
    routes = settings.market.routes
    return {"stale": through is None or now - through > lag, "clock": now.isoformat(),
            "through": None if through is None else through.isoformat(),
            "backfill": None if row is None else row["backfill"],
            "source": ",".join(sorted({p for chain in routes.values() for p in chain}))}


__all__ = ["MARKET_TABLES", "FeedStats", "MarketFeed", "allowed_lag", "feed_row",
           "market_data_status"]
