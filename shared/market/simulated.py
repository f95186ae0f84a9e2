"""The built-in market: deterministic one-minute bars from a seed, only inside real sessions.

Every (seed, symbol, session) has its own random stream, so any session of any symbol can be
generated alone and comes out identical on any machine.  A per-symbol daily path (trend,
mean-reverting or shock-driven, with overnight gaps) fixes each session's open and close;
intraday paths are Brownian bridges between them with U-shaped volatility and volume and
clustered volatility.  Prices are rounded to cents.
"""
from __future__ import annotations

import threading
import zlib
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
from cachetools import LRUCache

from shared.market.calendar import MarketCalendar, to_utc
from shared.market.frames import empty_frame, make_frame
from shared.market.resample import resample_bars
from shared.market.symbols import SymbolInfo, classify
from shared.market.timeframes import parse_timeframe

CRYPTO_EPOCH = pd.Timestamp("2015-01-01")
_MAX_DAYS = 8000
#: Sessions in an equity's daily path, counted from the calendar's first session (1990): to
#: about 2037.  Fixed, because every value of a path depends on its length (the generator's
#: later draws start after the first n): sized by the calendar, which exchange_calendars ends a
#: year after today, the whole market shifted each trading day.
EQUITY_PATH_SESSIONS = 12_000
_KERNEL_LEN = 120
#: Sessions per cached block of a daily path, and blocks kept (of all symbols together).
#: A full path is 12,000 sessions (from the calendar's start on) but a suite only
#: reads the few hundred around its clock: caching whole paths held ~75 MB per process for a
#: 500-name universe, these blocks at most 2 x 8 B x 256 x 2048 = 8 MiB.
PATH_BLOCK = 256
PATH_BLOCKS_KEPT = 2048


def _crc(symbol: str) -> int:
    return zlib.crc32(symbol.encode())


def _is_crypto(symbol: str) -> bool:
    return classify(symbol).value == "crypto"


@lru_cache(maxsize=4)
def _ar_matrix(n: int, phi: float) -> np.ndarray:
    """Return the (n x n) matrix M so that ``eta @ M`` is the AR(1) filter of each row."""
    i = np.arange(n)
    lag = i[None, :] - i[:, None]
    m = np.where(lag >= 0, phi ** np.clip(lag, 0, None), 0.0)
    m[lag > _KERNEL_LEN] = 0.0
    return m


@dataclass(frozen=True)
class SessionArrays:
    """One session of bars for many symbols: arrays shaped (symbols, minutes)."""

    symbols: tuple[str, ...]
    ts_ns: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    vwap: np.ndarray
    trade_count: np.ndarray

    def frame(self, i: int) -> pd.DataFrame:
        return make_frame(self.ts_ns, self.open[i], self.high[i], self.low[i], self.close[i],
                          self.volume[i], self.vwap[i], self.trade_count[i],
                          symbol=self.symbols[i], timeframe="1m", source="simulated")


class SimulatedProvider:
    """Deterministic bars for any ticker; the seeded universe gives names, sectors and regimes."""

    name = "simulated"

    def __init__(self, seed: int, universe: dict[str, SymbolInfo],
                 calendar: MarketCalendar) -> None:
        self.seed = int(seed)
        self.universe = universe
        self.calendar = calendar
        self._daily: LRUCache[tuple[str, int], np.ndarray] = LRUCache(PATH_BLOCKS_KEPT)
        self._sessions: LRUCache[tuple[int, tuple[str, ...]], SessionArrays] = LRUCache(4)
        self._lock = threading.Lock()

    # -- symbols and daily path ----------------------------------------------------------
    def info(self, symbol: str) -> SymbolInfo:
        """Return the universe entry, or a derived one for a ticker outside the universe."""
        known = self.universe.get(symbol)
        if known is not None:
            return known
        rng = np.random.default_rng([self.seed, _crc(symbol), 1])
        crypto = classify(symbol).value == "crypto"
        return SymbolInfo(symbol, symbol, "Crypto" if crypto else "Unknown",
                          "crypto" if crypto else "equity", "CRYPTO" if crypto else "OTHER",
                          ("trend", "mean_revert", "shock", "random")[int(rng.integers(4))],
                          float(np.round(rng.uniform(10, 300), 2)), float(rng.uniform(0.01, 0.03)))

    def _path_length(self, symbol: str) -> int:
        return EQUITY_PATH_SESSIONS if self.info(symbol).asset_class == "equity" else _MAX_DAYS

    def _daily_path(self, symbol: str) -> tuple[np.ndarray, np.ndarray]:
        """Return (log open, log close) for every session index of the symbol (not cached).

        The whole path is always drawn, whatever part is wanted: each value depends on the
        draws before it and on the path's length, and the bars must never change.
        """
        info = self.info(symbol)
        n = self._path_length(symbol)
        rng = np.random.default_rng([self.seed, _crc(symbol), 2])
        vol = info.daily_vol
        e = rng.standard_normal(n) * vol
        if info.regime == "trend":
            seg = np.repeat(rng.choice([-1.0, 1.0], n // 60 + 1), 60)[:n]
            delta = e + seg * vol * 0.12
        elif info.regime == "mean_revert":
            kernel = 0.9 ** np.arange(80)
            level = np.convolve(e * 2.0, kernel)[:n]
            delta = np.diff(level, prepend=0.0)
        elif info.regime == "shock":
            jumps = (rng.random(n) < 0.03) * rng.standard_normal(n) * vol * 6
            delta = e + jumps
        else:
            delta = e
        gap = 0.3 * delta + rng.standard_normal(n) * vol * 0.15
        log_close = np.log(info.base_price) + np.cumsum(delta)
        log_close = np.clip(log_close, np.log(2.0), np.log(info.base_price * 40))
        log_open = np.clip(np.concatenate(([np.log(info.base_price)], log_close[:-1])) + gap,
                           np.log(1.5), np.log(info.base_price * 45))
        return log_open, log_close

    def daily_open_close(self, symbol: str, idx: int) -> tuple[float, float]:
        """Return the (log open, log close) of session index ``idx`` of the symbol's path.

        Indices past the path's end take its last session; a negative one counts from the
        end, as indexing the path would.  Only the block of ``PATH_BLOCK`` sessions holding
        ``idx`` is kept (in a bounded LRU over all symbols): a miss draws the whole path again
        and keeps that block, so the values are those of the full path exactly.

        Raises:
            IndexError: an index before the path's start.
        """
        n = self._path_length(symbol)
        i = min(idx, n - 1)
        if i < 0:
            i += n
            if i < 0:
                raise IndexError(f"session index {idx} is out of bounds for a path of {n}")
        key = (symbol, i // PATH_BLOCK)
        with self._lock:
            block = self._daily.get(key)
        if block is None:
            lo = key[1] * PATH_BLOCK
            log_open, log_close = self._daily_path(symbol)
            # a copy: a slice would keep the whole path alive
            block = np.stack((log_open[lo:lo + PATH_BLOCK], log_close[lo:lo + PATH_BLOCK]))
            with self._lock:
                self._daily[key] = block
        return float(block[0, i % PATH_BLOCK]), float(block[1, i % PATH_BLOCK])

    # -- sessions ------------------------------------------------------------------------
    def _session_span(self, crypto: bool, session: pd.Timestamp) -> tuple[int, int, int]:
        if crypto:
            day = pd.Timestamp(session).normalize().tz_localize(None)
            idx = int((day - CRYPTO_EPOCH).days)
            start = pd.Timestamp(day, tz="UTC").value
            return idx, start, 1440
        idx = self.calendar.session_ordinal(session)
        o, c = self.opens_closes(idx)
        return idx, o, int((c - o) // 60_000_000_000)

    def opens_closes(self, idx: int) -> tuple[int, int]:
        return int(self.calendar._open_ns[idx]), int(self.calendar._close_ns[idx])

    def session_cached(self, session: object, symbols: list[str] | tuple[str, ...]
                       ) -> SessionArrays:
        """Return ``generate_session``, keeping the last few results (read-only arrays).

        A suite stepping through a session asks for the same session of the same symbols at
        every step, only to store its newest minutes.  Only one day of each asset class is
        kept (a chunk of symbols a key): the clock is in one session at a time, and the LRU
        alone kept the last four days (~11 MB each for 500 names), a step of memory at every
        session change of a replay.  The other days go before the new one is generated, so
        it can take their memory.  A day asked for again is generated again, identically.
        """
        key = (pd.Timestamp(session).value, tuple(symbols))
        crypto = _is_crypto(key[1][0])
        with self._lock:
            hit = self._sessions.get(key)
            if hit is not None:
                return hit
            for old in [k for k in self._sessions.keys()
                        if k[0] != key[0] and _is_crypto(k[1][0]) is crypto]:
                del self._sessions[old]
        arr = self.generate_session(session, key[1])
        for a in (arr.ts_ns, arr.open, arr.high, arr.low, arr.close, arr.volume, arr.vwap,
                  arr.trade_count):
            a.setflags(write=False)
        with self._lock:
            self._sessions[key] = arr
        return arr

    def generate_session(self, session: object, symbols: list[str] | tuple[str, ...]) -> SessionArrays:
        """Return one session of one-minute bars for ``symbols`` (all of one asset class)."""
        syms = tuple(symbols)
        crypto = classify(syms[0]).value == "crypto"
        if any((classify(s).value == "crypto") != crypto for s in syms):
            raise ValueError("generate_session takes symbols of one asset class")
        label = pd.Timestamp(session)
        idx, start_ns, n = self._session_span(crypto, label)
        t = np.arange(n)
        ts_ns = start_ns + t.astype("int64") * 60_000_000_000
        S = len(syms)
        lo_arr, lc_arr, vol, price = (np.empty(S) for _ in range(4))
        shock = np.zeros(S, dtype=bool)
        z = np.empty((S, 5, n))
        for k, s in enumerate(syms):
            lo_arr[k], lc_arr[k] = self.daily_open_close(s, idx)
            info = self.info(s)
            vol[k] = info.daily_vol
            shock[k] = info.regime == "shock"
            price[k] = info.base_price
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(
                [self.seed, _crc(s), idx, 3])))
            z[k] = rng.standard_normal((5, n))
        x = (t + 0.5) / n
        u_shape = 0.7 + 1.6 * (2 * x - 1) ** 2
        h = (z[:, 1, :] * 0.25) @ _ar_matrix(n, 0.95)
        sigma = (vol * 0.8 / np.sqrt(n))[:, None] * u_shape[None, :] * np.exp(h - 0.4)
        steps = z[:, 0, :] * sigma
        # shock names: one intraday jump a day, which the bridge then partly fades
        jump_at = (np.abs(z[:, 4, 0]) * n / 3).astype(int) % n
        jump = np.where(shock & (np.abs(z[:, 4, 1]) > 1.0), z[:, 4, 2] * vol * 1.5, 0.0)
        steps[np.arange(S), jump_at] += jump
        path = np.cumsum(steps, axis=1)
        target = (lc_arr - lo_arr)[:, None]
        frac = (t + 1)[None, :] / n
        path = path - frac * (path[:, -1:] - target)
        close = np.exp(lo_arr[:, None] + path)
        opn = np.empty_like(close)
        opn[:, 0] = np.exp(lo_arr)
        opn[:, 1:] = close[:, :-1]
        wick = np.abs(z[:, 2:4, :]) * sigma[:, None, :] * 0.6
        close = np.round(close, 2)
        opn = np.round(opn, 2)
        high = np.round(np.maximum(opn, close) * np.exp(wick[:, 0]), 2)
        low = np.round(np.minimum(opn, close) * np.exp(-wick[:, 1]), 2)
        low = np.maximum(low, 0.01)
        base_shares = 2.0e7 / np.maximum(price, 1.0) / n
        activity = 1.0 + 8.0 * np.abs(steps) / np.maximum(sigma, 1e-12) * 0.1
        volume = np.round(base_shares[:, None] * (0.6 + 1.8 * (2 * x - 1) ** 2)[None, :]
                          * activity * np.exp(0.35 * z[:, 1, :])).astype("int64")
        vwap = np.round((high + low + close) / 3.0, 2)
        trade_count = np.maximum(volume // 120, 1)
        return SessionArrays(syms, ts_ns, opn, high, low, close, volume, vwap, trade_count)

    def _days(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp,
              timeframe: str = "1m") -> list[pd.Timestamp]:
        if classify(symbol).value == "crypto":
            days = pd.date_range(start.normalize(), end.normalize(), freq="1D")
            return [d.tz_localize(None) for d in days]
        # by bar: a session's daily bar opens at 00:00 New York and its first hour bar at
        # 09:00, before the session's hours, so [start, end) can hold them without the hours
        return list(self.calendar.sessions_with_bars(start, end, timeframe))

    # -- provider interface --------------------------------------------------------------
    def fetch_bars(self, symbol: str, timeframe: str, start: object, end: object) -> pd.DataFrame:
        """Return the bars of ``symbol`` whose open time is in ``[start, end)``."""
        tf = parse_timeframe(timeframe)
        s, e = to_utc(start), to_utc(end)
        frames = [self.generate_session(d, [symbol]).frame(0)
                  for d in self._days(symbol, s, e, tf.name)]
        if not frames:
            return empty_frame(symbol, tf.name, self.name)
        df = pd.concat(frames) if len(frames) > 1 else frames[0]
        if not tf.name == "1m":
            df = resample_bars(df, tf.name, self.calendar,
                               crypto=classify(symbol).value == "crypto")
        df = df[(df.index >= s) & (df.index < e)]
        df.attrs.update(symbol=symbol, timeframe=tf.name, source=self.name, stale=False)
        return df

    def health(self) -> dict[str, object]:
        return {"provider": self.name, "ok": True, "seed": self.seed,
                "symbols": len(self.universe)}
