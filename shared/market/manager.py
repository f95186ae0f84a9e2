"""The data manager: one entry point for every price the suite reads.

Reads go memory cache -> database -> providers (by route, with failover behind breakers) for
only the ranges not fetched yet; every fetched batch is validated, stored (database, and the
file cache for non-simulated sources) and filtered by the market clock, so no caller sees a bar
before its close unless it passes ``as_of`` explicitly.  When every provider fails, what the
database or the file cache holds is returned with ``attrs['stale'] = True``.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pybreaker

from shared.db import Database, get_database
from shared.domain.money import cents
from shared.errors import AppError, NotFound, UnprocessableError, ValidationError
from shared.market.cache_fill import fetch_missing, write_closed
from shared.market.calendar import get_calendar, to_utc
from shared.market.classifier import SymbolClassifier
from shared.market.clock import MarketClock, bar_visible
from shared.market.csv_provider import CsvProvider
from shared.market.depth import history_floor
from shared.market.feed import allowed_lag, feed_row
from shared.market.filecache import FileCache
from shared.market.frames import BAR_COLUMNS, BarArrays, empty_frame, make_frame
from shared.market.limits import is_known, max_span, unknown_symbol
from shared.market.memcache import ForwardTimer, MemoryCache
from shared.market.providers import ProviderSet, ProviderSkipped
from shared.market.reads import normalize_all, read_many
from shared.market.routing import SOURCES, resolve_route
from shared.market.simulated import SimulatedProvider
from shared.market.storage import BarStore
from shared.market.symbols import classify, normalize_symbol, universe_map
from shared.market.timeframes import parse_timeframe
from shared.market.validation import validate_bars

if TYPE_CHECKING:
    from shared.config import Settings

log = logging.getLogger("market.data_manager")
_MIN = pd.Timedelta(minutes=1)


@dataclass(frozen=True)
class LatestPrice:
    symbol: str
    price: Decimal
    ts: datetime
    source: str
    stale: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "price": str(self.price), "ts": self.ts.isoformat(),
                "source": self.source, "stale": self.stale}


class DataManager:
    """Bars, latest prices, streaming and health for one process."""

    def __init__(self, settings: Settings, db: Database | None = None, *,
                 clock: MarketClock | None = None,
                 extra_providers: dict[str, Callable[[], Any]] | None = None,
                 owner: bool = False) -> None:
        #: Only the owner (coordination's ``MarketFeed``, the replay CLI, benches) fetches
        #: and stores what is missing; a reader returns what the owner stored.
        self.owner = owner
        self.settings = settings
        self.cfg = settings.market
        self.db = db or get_database(settings)
        self.calendar = get_calendar(self.cfg.calendar)
        self.clock = clock or MarketClock(self.db, self.cfg.clock, self.calendar)
        self.universe = universe_map(self.cfg.seed, self.cfg.universe_size,
                                     tuple(self.cfg.crypto_symbols))
        self.store = BarStore(self.db)
        self.files = FileCache(settings.resolve(self.cfg.data_cache_dir))
        # the TTL runs on market time: a key holds the clock's minute, so at replay speed
        # it is dead within wall seconds (a wall-time TTL kept 5 minutes of dead keys)
        self._market_time = ForwardTimer()
        self.memory = MemoryCache("market_bars", self.cfg.memory_cache_size,
                                  self.cfg.memory_cache_ttl_s, timer=self._market_time)
        factories: dict[str, Callable[[], Any]] = {
            "simulated": lambda: SimulatedProvider(self.cfg.seed, self.universe, self.calendar),
            "csv": lambda: CsvProvider([settings.resolve(p) for p in self.cfg.csv_paths],
                                       self.calendar, self.cfg.csv_timezone),
            "alpaca": self._alpaca_factory,
            **{name: partial(self._source_factory, name) for name in SOURCES},
        }
        factories.update(extra_providers or {})
        self.classifier = SymbolClassifier(self.cfg.etf_symbols)
        #: the last read served stale because every provider failed (symbol, when, why)
        self.last_stale: dict[str, Any] | None = None
        self.providers = ProviderSet(factories, fail_max=self.cfg.breaker_fail_max,
                                     reset_s=self.cfg.breaker_reset_s)
        self.counters = {"requests": 0, "fetches": 0, "rows_stored": 0, "rows_rejected": 0,
                         "stale_served": 0, "failovers": 0}
        self._universe_saved = False
        self._feed: tuple[float, pd.Timestamp | None, int] = (-1e9, None, 0)
        self._closed_session: tuple[Any, Any] | None = None  # reads._session's one slot
        self._fetch_lock = threading.Lock()
        self._stream: _Stream | None = None
        self._closed = False

    def _alpaca_factory(self) -> Any:
        a = self.settings.alpaca
        if not a.configured:
            return None
        from shared.market.alpaca_provider import AlpacaProvider

        return AlpacaProvider(a.api_key.get_secret_value(), a.secret_key.get_secret_value(),
                              self.calendar, feed=a.data_feed, url_override=a.data_url,
                              sdk_retries=self.cfg.alpaca_sdk_retries,
                              sdk_retry_wait_s=self.cfg.alpaca_sdk_retry_wait_s)

    def _source_factory(self, name: str) -> Any:
        """Return a network source (``shared.market.sources``), None without its keys."""
        try:
            from shared.market.sources import registry
        except ImportError:  # the sources package is not installed in this tree
            return None
        if name not in registry.PROVIDERS:
            return None
        return registry.build(name, self.settings, os.environ, calendar=self.calendar)

    # -- universe ------------------------------------------------------------------------
    def ensure_universe(self) -> None:
        """Write the symbol universe to the ``symbols`` table once per process."""
        if self.owner and not self._universe_saved:
            self.store.upsert_symbols(self.universe.values(), "simulated")
            self._universe_saved = True

    def require_known(self, symbols: list[str], errors: dict[str, AppError] | None
                      ) -> list[str]:
        """Return the symbols of the market (the universe, or stored by the owner); the
        others go to ``errors`` as NotFound, or the first is raised.  The owner may fetch
        any ticker its providers know.

        Raises:
            NotFound: a symbol that is not in the market (without ``errors``).
        """
        if self.owner:
            return symbols
        out = []
        for sym in symbols:
            if sym in self.universe or is_known(self.db, sym):
                out.append(sym)
                continue
            if errors is None:
                raise unknown_symbol(sym)
            errors[sym] = unknown_symbol(sym)
        return out

    def _feed_view(self) -> tuple[pd.Timestamp | None, int]:
        """Return the owner's (through, history epoch), read at most once a second."""
        at, through, epoch = self._feed
        if time.monotonic() - at > 1.0:
            row = feed_row(self.db)
            through = None if row is None else to_utc(row["through_ts"])
            epoch = 0 if row is None else int(row["history_epoch"])
            self._feed = (time.monotonic(), through, epoch)
        return through, epoch

    def history_epoch(self) -> int:
        """Return how many times the owner has written history behind the clock: bars kept
        from an earlier read (a cache, a window extended bar by bar) may lack older bars
        once it has moved, so keepers drop them (the owner itself: never, it wrote them)."""
        return 0 if self.owner else self._feed_view()[1]

    def history_start(self, timeframe: str, now: pd.Timestamp | None = None
                      ) -> pd.Timestamp | None:
        """Return the earliest bar of ``timeframe`` the owner keeps stored at ``now`` (see
        ``shared.market.depth``); None for the owner (its reads fill holes) or a timeframe
        it keeps no history of."""
        days = self.cfg.ingest.history_days.get(parse_timeframe(timeframe).name)
        if self.owner or days is None:
            return None
        return history_floor(self.calendar, timeframe,
                             self.clock.now_ts() if now is None else to_utc(now), days)

    def feed_behind(self, cutoff: pd.Timestamp) -> pd.Timestamp | None:
        """Return how far the owner has stored when that is short of ``cutoff`` by more than
        ``ingest.stale_after_minutes`` (market time), else None (read at most once a second)."""
        through = self._feed_view()[0]
        lag = allowed_lag(self.clock.state(), self.cfg.ingest)
        if through is None:
            return pd.Timestamp(0, tz="UTC")
        return through if cutoff - through > lag else None

    def get_symbols(self, asset_class: str | None = None) -> list[dict[str, Any]]:
        return [i.to_dict() for i in self.universe.values()
                if asset_class is None or i.asset_class == asset_class]

    def route(self, symbol: str, timeframe: str) -> list[str]:
        """Return the provider chain of ``symbol`` at ``timeframe`` (``market.routes``)."""
        return resolve_route(self.cfg.routes, self.classifier(symbol).asset_class, timeframe)

    # -- bars ----------------------------------------------------------------------------
    def _window(self, tf_name: str, crypto: bool, start: object, end: object,
                start_hours_ago: float | None, cutoff: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
        e = cutoff if end is None else min(to_utc(end), cutoff)
        if start_hours_ago is not None:
            s = cutoff - pd.Timedelta(hours=float(start_hours_ago))
        elif start is not None:
            s = to_utc(start)
        else:
            s = e - (pd.Timedelta(days=370) if tf_name == "1d" else pd.Timedelta(days=5))
        if s > e:
            raise ValidationError(f"start {s} is after end {e}", field="start")
        # bounded work whatever the caller: a read never spans more than the timeframe's cap
        # (API routes reject a wider range with a 400 first: ``shared.market.limits``)
        return max(s, e - max_span(tf_name)), e

    def get_historical_data(self, symbol: str, timeframe: str = "1m", start: object = None,
                            end: object = None, *, start_hours_ago: float | None = None,
                            as_of: object = None) -> pd.DataFrame:
        """Return the visible bars of ``symbol`` with open time in ``[start, end)``.

        ``as_of`` replaces the market clock's "now" (offline tools, the replay CLI).

        Raises:
            ValidationError: a bad symbol, timeframe or range.
            ServiceUnavailable: every provider failed and nothing is cached.
        """
        sym = normalize_symbol(symbol)
        got, tf, stale = self._read([sym], timeframe, start, end, start_hours_ago, as_of, None)
        df = got[sym].frame(sym, tf)
        if sym in stale:
            df.attrs["errors"] = stale[sym]
        return df

    def get_ohlcv(self, symbol: str, timeframe: str = "1m", start: object = None,
                  end: object = None, **kw: Any) -> pd.DataFrame:
        """Return ``get_historical_data`` with only open, high, low, close, volume."""
        sym = normalize_symbol(symbol)
        got, tf, stale = self._read([sym], timeframe, start, end, kw.get("start_hours_ago"),
                                    kw.get("as_of"), None)
        df = got[sym].frame(sym, tf, ohlcv_only=True)
        if sym in stale:
            df.attrs["errors"] = stale[sym]
        return df

    def get_bars(self, symbol: str, timeframe: str = "1m", start: object = None,
                 end: object = None, *, start_hours_ago: float | None = None,
                 as_of: object = None) -> BarArrays:
        """Return one symbol's visible bars as read-only arrays (``get_bars_many`` for one).

        Raises:
            ValidationError: a bad symbol, timeframe or range.
            NotFound: a symbol outside the market's universe.
        """
        sym = normalize_symbol(symbol)
        got, _, _ = self._read([sym], timeframe, start, end, start_hours_ago, as_of, None)
        return got[sym]

    def get_bars_many(self, symbols: list[str] | tuple[str, ...], timeframe: str = "1m",
                      start: object = None, end: object = None, *,
                      start_hours_ago: float | None = None, as_of: object = None,
                      errors: dict[str, AppError] | None = None,
                      cache: bool = True) -> dict[str, BarArrays]:
        """Return many symbols' visible bars as read-only arrays, read in one batch.

        The same window, visibility rules, memory cache and provider fill-in as
        ``get_historical_data``, with one query per chunk of symbols.  Symbols that fail (bad
        name, nothing servable) go to ``errors`` when it is given and are left out; without
        it the first failure is raised.  ``cache=False`` neither looks in nor fills the
        memory cache: for a caller that keeps what it reads (its arrays would otherwise stay
        pinned twice, for the cache's TTL).

        Raises:
            ValidationError: a bad symbol, timeframe or range.
            ServiceUnavailable: a symbol no provider could serve (without ``errors``).
        """
        syms = normalize_all(list(symbols), errors)
        got, _, _ = self._read(syms, timeframe, start, end, start_hours_ago, as_of, errors,
                               cache=cache)
        return got

    def get_ohlcv_many(self, symbols: list[str] | tuple[str, ...], timeframe: str = "1m",
                       start: object = None, end: object = None, *,
                       start_hours_ago: float | None = None, as_of: object = None,
                       errors: dict[str, AppError] | None = None) -> dict[str, pd.DataFrame]:
        """Return ``get_ohlcv`` for many symbols (by normalised symbol), read in one batch.

        Raises:
            ValidationError: a bad symbol, timeframe or range.
            ServiceUnavailable: a symbol no provider could serve (without ``errors``).
        """
        syms = normalize_all(list(symbols), errors)
        got, tf, stale = self._read(syms, timeframe, start, end, start_hours_ago, as_of, errors)
        out = {}
        for sym, arr in got.items():
            out[sym] = df = arr.frame(sym, tf, ohlcv_only=True)
            if sym in stale:
                df.attrs["errors"] = stale[sym]
        return out

    def _read(self, syms: list[str], timeframe: str, start: object, end: object,
              start_hours_ago: float | None, as_of: object,
              errors: dict[str, AppError] | None, *, cache: bool = True
              ) -> tuple[dict[str, BarArrays], str, dict[str, list[str]]]:
        tf = parse_timeframe(timeframe)
        syms = self.require_known(syms, errors)
        now = self.clock.now_ts()
        cutoff = now if as_of is None else to_utc(as_of)
        self._market_time.advance(now.value)
        if cache:
            self.memory.expire()
        s, e = self._window(tf.name, False, start, end, start_hours_ago, cutoff)
        self.counters["requests"] += len(syms)
        got, stale = read_many(self, syms, tf.name, s, e, cutoff, errors, cache=cache)
        return got, tf.name, stale

    def clock_open_of_last_closed(self, cutoff: pd.Timestamp, crypto: bool) -> pd.Timestamp:
        if crypto:
            return cutoff.floor("D") - pd.Timedelta(days=1)
        # the stamp of the last closed session's daily bar (00:00 New York of its date)
        stamp = self.calendar.previous_session_stamp(cutoff)
        return pd.Timestamp(0, tz="UTC") if stamp is None else stamp

    def _fetch(self, sym: str, tf: str, crypto: bool, s: pd.Timestamp, e: pd.Timestamp,
               cutoff: pd.Timestamp, errors: list[str], *, via_cache: bool = True) -> bool:
        """Fetch ``[s, e)`` from the first provider that answers; return False if none did.

        A route with a file-cached provider reads the file cache first and asks only for
        what it lacks (``shared.market.cache_fill``; ``via_cache=False`` from there).
        """
        if via_cache and set(self.route(sym, tf)) & set(self.cfg.file_cache_sources):
            return fetch_missing(self, sym, tf, crypto, s, e, cutoff, errors)
        chain = self.route(sym, tf)
        cls = self.classifier(sym).asset_class.value
        for i, name in enumerate(chain):
            serves = _serves(self.providers.get(name), cls, tf)
            if serves is not None:
                errors.append(f"{name}: skipped ({serves})")
                continue
            try:
                df = self.providers.call(name, "fetch_bars", sym, tf, s, e)
            except ProviderSkipped as exc:
                errors.append(f"{name}: skipped ({exc.message})")
            except pybreaker.CircuitBreakerError:
                errors.append(f"{name}: circuit open")
            except (NotFound, UnprocessableError, ValidationError) as exc:
                errors.append(f"{name}: {exc.message}")
            except Exception as exc:  # noqa: BLE001 - any provider fault means: try the next
                errors.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
            else:
                if i:
                    self.counters["failovers"] += 1
                self._ingest(sym, tf, crypto, df, name, cutoff, (s, e))
                return True
        return False

    def _ingest(self, sym: str, tf: str, crypto: bool, df: pd.DataFrame, source: str,
                cutoff: pd.Timestamp, coverage: tuple[pd.Timestamp, pd.Timestamp]) -> None:
        self.counters["fetches"] += 1
        if len(df):
            df = df[bar_visible(df.index.as_unit("ns").asi8, tf, self.calendar, cutoff.value, crypto=crypto)]
        report = validate_bars(df, tf, self.calendar, crypto=crypto, symbol=sym)
        n = self.store.store_batch(sym, tf, report, source, coverage=coverage)
        self.counters["rows_stored"] += n
        self.counters["rows_rejected"] += report.rows_rejected
        if source in self.cfg.file_cache_sources:  # closed sessions, even with no bar in them
            write_closed(self, sym, tf, crypto, report.valid, source, report.quality, cutoff,
                         coverage)

    def ingest_session(self, session: object, symbols: list[str] | None = None, *,
                       as_of: object = None, only_missing: bool = False) -> int:
        """Generate and store one whole session of simulated one-minute bars for many equities.

        Only bars visible at ``as_of`` (default: the clock) are stored.  With ``only_missing``
        only the part of the session not covered yet is written (nothing is generated when
        every symbol is covered up to the cutoff): what a caller storing the session minute
        by minute needs.  Returns rows stored.
        """
        self.ensure_universe()
        syms = symbols or [s for s, i in self.universe.items() if i.asset_class == "equity"]
        cutoff = self.clock.now_ts() if as_of is None else to_utc(as_of)
        if only_missing:
            return self._ingest_missing(session, list(dict.fromkeys(syms)), cutoff)
        sim = self.providers.get("simulated")
        arr = sim.generate_session(session, syms)
        vis = bar_visible(arr.ts_ns, "1m", self.calendar, cutoff.value)
        k = int(vis.sum())
        if k == 0:
            return 0
        sl = slice(0, k)
        o, h, lo, c, v = (a[:, sl] for a in (arr.open, arr.high, arr.low, arr.close, arr.volume))
        bad = ((h < np.maximum(o, c)) | (lo > np.minimum(o, c)) | (v < 0) | (lo <= 0)).any(axis=1)
        if bad.any():  # never expected; validate those symbols row by row so rows get reasons
            for i in np.flatnonzero(bad):
                report = validate_bars(arr.frame(int(i)).iloc[:k], "1m", self.calendar,
                                       symbol=syms[i])
                self.store.store_batch(syms[i], "1m", report, "simulated")
        good = np.flatnonzero(~bad)
        first = pd.Timestamp(int(arr.ts_ns[0]), tz="UTC")
        end = pd.Timestamp(int(arr.ts_ns[k - 1]), tz="UTC") + _MIN
        n = self.store.store_arrays(tuple(syms[i] for i in good), arr.ts_ns[:k], o[good], h[good],
                                    lo[good], c[good], v[good], arr.vwap[good, :k],
                                    arr.trade_count[good, :k], "1m", "simulated",
                                    coverage=(first, end))
        self.counters["rows_stored"] += n
        return n

    def _ingest_missing(self, session: object, syms: list[str], cutoff: pd.Timestamp) -> int:
        """Store the visible one-minute bars of ``session`` not covered yet (the read path's
        gap fill: one batched generate-and-store per group of symbols sharing a gap)."""
        from shared.market.reads import fill_missing

        start, close = self.calendar.session_bounds(session)
        before = self.counters["rows_stored"]
        failed: dict[str, list[str]] = {}
        with self._fetch_lock:
            fill_missing(self, syms, "1m", False, start, close, cutoff, failed)
        if failed:
            log.warning("ingest left symbols out", extra={"symbols": sorted(failed)[:20]})
        return self.counters["rows_stored"] - before

    # -- prices --------------------------------------------------------------------------
    def get_latest_price(self, symbol: str, *, as_of: object = None) -> LatestPrice:
        """Return the last visible price: Alpaca's latest trade when live, else the last
        closed one-minute bar's close.

        Raises:
            NotFound: when there is no visible bar yet.
        """
        sym = normalize_symbol(symbol)
        crypto = classify(sym).value == "crypto"
        live = self.clock.state().mode == "live" and as_of is None
        if live and not crypto and "alpaca" in self.route(sym, "1m"):
            try:
                t = self.providers.call("alpaca", "latest_trade", sym)
                return LatestPrice(sym, cents(t["price"]), t["timestamp"], "alpaca")
            except Exception as exc:  # noqa: BLE001 - fall back to bars
                log.warning("latest trade failed", extra={"symbol": sym, "error": str(exc)})
        # The last hour holds the last bar whenever the market is open; nights, weekends and
        # holidays need the long look-back (it ends at the same cutoff, so the same last bar).
        df = self.get_historical_data(sym, "1m", start_hours_ago=1, as_of=as_of)
        if len(df) == 0:
            df = self.get_historical_data(sym, "1m", start_hours_ago=2 if crypto else 100,
                                          as_of=as_of)
        if len(df) == 0:
            raise NotFound(f"no visible price for {sym} yet", field="symbol")
        last = df.iloc[-1]
        return LatestPrice(sym, cents(float(last["close"])),
                           (df.index[-1] + _MIN).to_pydatetime(),
                           str(df.attrs.get("source", "")), bool(df.attrs.get("stale", False)))

    def get_latest_quote(self, symbol: str) -> dict[str, Any]:
        sym = normalize_symbol(symbol)
        if "alpaca" in self.route(sym, "1m") and self.providers.get("alpaca") is not None:
            return self.providers.call("alpaca", "latest_quote", sym)
        p = self.get_latest_price(sym)
        spread = max(Decimal("0.01"), cents(p.price * Decimal("0.0002")))
        return {"symbol": sym, "bid": p.price - spread / 2, "ask": p.price + spread / 2,
                "timestamp": p.ts, "source": p.source}

    def get_news(self, symbols: list[str] | None = None, start: datetime | None = None,
                 end: datetime | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Return Alpaca news when it is configured, else an empty list."""
        if self.providers.get("alpaca") is None:
            return []
        return self.providers.call("alpaca", "news", symbols, start, end, limit)

    # -- streaming -----------------------------------------------------------------------
    def start_data_stream(self, symbols: list[str],
                          callback: Callable[[str, dict[str, Any]], None] | None = None,
                          interval_s: float | None = None) -> None:
        """Poll the symbols' newest visible bar in a thread and call ``callback(symbol, bar)``."""
        self.stop_data_stream()
        self._stream = _Stream(self, [normalize_symbol(s) for s in symbols], callback,
                               interval_s or self.cfg.stream_poll_s)
        self._stream.start()

    def stop_data_stream(self) -> None:
        if self._stream is not None:
            self._stream.stop()
            self._stream = None

    def latest_bars(self) -> dict[str, dict[str, Any]]:
        return dict(self._stream.latest) if self._stream else {}

    # -- health --------------------------------------------------------------------------
    def get_system_health(self) -> dict[str, Any]:
        fresh = self.store.freshness()
        now = self.clock.now_ts()
        last = fresh.get("last_bar")
        age = (now - to_utc(last)).total_seconds() if last else None
        providers = self.providers.health()
        degraded = any(p["breaker"] != "closed" for p in providers.values())
        return {
            "status": "degraded" if degraded else "ok",
            "providers": providers,
            "routes": self.cfg.routes,
            "cache": self.memory.stats(),
            "clock": self.clock.snapshot(),
            "freshness": {**fresh, "last_bar_age_s": age},
            "counters": dict(self.counters),
            "stream": self._stream.info() if self._stream else None,
        }

    def close(self) -> None:
        """Stop the stream and drop caches (the shared ``Database`` stays open)."""
        self.stop_data_stream()
        self.memory.clear()
        self._closed = True


class _Stream:
    def __init__(self, dm: DataManager, symbols: list[str],
                 callback: Callable[[str, dict[str, Any]], None] | None, interval: float) -> None:
        self.dm, self.symbols, self.callback, self.interval = dm, symbols, callback, interval
        self.latest: dict[str, dict[str, Any]] = {}
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="market-stream", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def info(self) -> dict[str, Any]:
        return {"symbols": len(self.symbols), "alive": self._thread.is_alive(),
                "errors": self.errors, "interval_s": self.interval}

    def poll_once(self) -> None:
        for sym in self.symbols:
            if self._stop.is_set():
                return
            try:
                df = self.dm.get_historical_data(sym, "1m", start_hours_ago=100)
            except Exception:  # noqa: BLE001 - keep streaming; counted and logged
                self.errors += 1
                log.exception("stream poll failed", extra={"symbol": sym})
                continue
            if len(df) == 0:
                continue
            ts = df.index[-1]
            prev = self.latest.get(sym)
            if prev is not None and prev["ts"] >= ts:
                continue
            row = df.iloc[-1]
            bar = {"ts": ts, **{k: row[k] for k in BAR_COLUMNS}, "stale": df.attrs.get("stale")}
            self.latest[sym] = bar
            if self.callback is not None:
                try:
                    self.callback(sym, bar)
                except Exception:  # noqa: BLE001 - a bad subscriber must not stop the stream
                    self.errors += 1
                    log.exception("stream callback failed")

    def _run(self) -> None:
        while not self._stop.is_set():
            self.poll_once()
            self._stop.wait(self.interval)


def _serves(provider: Any, asset_class: str, timeframe: str) -> str | None:
    """Return why ``provider`` cannot serve the class and timeframe (None: it can, or it does
    not say; an unconfigured one is skipped by the call itself)."""
    if provider is None:
        return None
    classes = getattr(provider, "asset_classes", None)
    if classes and asset_class not in classes and not (
            asset_class == "etf" and "equity" in classes):
        return f"serves no {asset_class}"
    tfs = getattr(provider, "timeframes", None)
    if tfs and timeframe not in tfs:
        return f"serves no {timeframe} bars"
    return None


_manager: DataManager | None = None
_manager_lock = threading.Lock()


def get_data_manager(settings: Settings | None = None) -> DataManager:
    """Return the process's data manager, creating it on first use (and anew when
    ``settings`` name another database: a process that moves to another database, such as a
    test module, must not read the clock and bars of the previous one)."""
    global _manager
    with _manager_lock:
        if (_manager is not None and not _manager._closed and settings is not None
                and str(_manager.settings.database_path) != str(settings.database_path)):
            _manager.close()
            _manager = None
        if _manager is None or _manager._closed:
            if settings is None:
                from shared.config import load_settings

                settings = load_settings()
            _manager = DataManager(settings)
        return _manager


def reset_data_manager() -> None:
    """Close and forget the process's data manager (tests, reloads)."""
    global _manager
    with _manager_lock:
        if _manager is not None:
            _manager.close()
        _manager = None


__all__ = ["BarArrays", "DataManager", "LatestPrice", "empty_frame", "get_data_manager", "make_frame",
           "reset_data_manager"]
