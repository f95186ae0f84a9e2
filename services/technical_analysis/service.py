"""Use cases of the technical analysis service: indicators, signals, batch analysis."""
from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from services.technical_analysis.repository import SignalRepository
from shared import ta as D
from shared.cache import SizedLRU
from shared.config import Settings
from shared.db import Database, DatabaseServiceMixin
from shared.errors import AppError, ConfigError, ValidationError
from shared.market.clock import bar_end, bar_visible
from shared.market.depth import within_history
from shared.market.frames import BarArrays
from shared.market.reader import BarReader, history_epoch
from shared.market.resample import next_bucket_start
from shared.market.symbols import classify, normalize_symbol
from shared.market.timeframes import parse_timeframe
from shared.ta.market_source import load_bars, load_bars_many


def _iso(ns: int) -> str:
    return pd.Timestamp(int(ns), tz="UTC").isoformat()


def _json_series(a: np.ndarray) -> list[float | None]:
    return [None if not math.isfinite(x) else x for x in a.tolist()]


def _latest(a: np.ndarray) -> float | None:
    x = float(a[-1]) if a.size else math.nan
    return round(x, 8) if math.isfinite(x) else None


def build_strategies(cfg: Any) -> list[D.Strategy]:
    """Return the enabled strategies of the ``technical`` settings.

    Raises:
        ConfigError: naming a strategy with an unknown kind or a bad parameter.
    """
    from shared.config import ROOT
    from shared.ta.user_strategy import UserStrategy, resolve_ref

    out: list[Any] = []
    for name, sc in cfg.strategies.items():
        if not sc.enabled:
            continue
        if sc.file:
            out.append(UserStrategy(name, resolve_ref(sc.file, ROOT), sc.params, sc.weight,
                                    sc.timeframe))
        else:
            out.append(D.Strategy(name, sc.kind or name, sc.params, sc.weight, sc.timeframe))
    return out


class TechnicalAnalysisService(DatabaseServiceMixin):
    """Indicators and strategy signals over the data manager's visible bars."""

    def __init__(self, settings: Settings, db: Database | None = None,
                 market: BarReader | None = None) -> None:
        """Check the strategies and the battery in the settings.

        Raises:
            ConfigError: a bad strategy or default indicator in the settings.
        """
        self.init_database(db or settings)
        self.settings = settings
        self.cfg = settings.technical
        self.strategies = build_strategies(self.cfg)
        try:
            self.battery = D.parse_specs(list(self.cfg.default_battery))
        except ValidationError as exc:
            raise ConfigError(f"technical.default_battery: {exc.message}",
                              field="technical.default_battery") from None
        self._market = market
        self.repo = SignalRepository(self.db)
        self._epoch = 0  # the market owner's history epoch the cache was filled at
        self._cache: SizedLRU[tuple[str, str], D.SeriesState] = SizedLRU(
            int(self.cfg.cache_max_mb * (1 << 20)))
        self._lock = threading.Lock()
        from services.technical_analysis.strategy_admin import StrategyAdmin

        self.admin = StrategyAdmin(self)  # the run-time overrides (read on each analysis)

    @property
    def market(self) -> BarReader:
        if self._market is None:
            from shared.market import DataManager

            self._market = DataManager(self.settings, self.db)
        return self._market

    def now(self) -> datetime:
        return self.market.clock.now()

    # -- catalogue and stateless compute -----------------------------------------------
    def catalogue(self) -> dict[str, Any]:
        """Return every indicator with its inputs, outputs and parameters."""
        cat = D.catalogue()
        return {"count": len(cat), "common": list(D.COMMON),
                "indicators": [i.to_dict() for i in cat.values()]}

    def _specs(self, names: Sequence[str] | None) -> list[D.IndicatorSpec]:
        names = list(names or self.cfg.default_battery)
        if len(names) > self.cfg.max_indicators:
            raise ValidationError(f"at most {self.cfg.max_indicators} indicators per request, "
                                  f"got {len(names)}", field="names")
        return D.parse_specs(names)

    def compute(self, series: Mapping[str, Sequence[float]], names: Sequence[str] | None,
                timestamps: Sequence[datetime] | None = None) -> dict[str, Any]:
        """Return indicators over OHLCV arrays given by the caller (nothing stored).

        Raises:
            ValidationError: unknown indicator, bad parameter, missing or too-short series.
        """
        specs = self._specs(names)
        data = {k: np.asarray(v, dtype="float64") for k, v in series.items() if v is not None}
        ts = None
        if timestamps is not None:
            ts = np.asarray([pd.Timestamp(t).as_unit("ns").value for t in timestamps], "int64")
            if ts.size > 1 and np.any(np.diff(ts) <= 0):
                raise ValidationError("timestamps must be strictly ascending", field="timestamps")
        out = {s.key: self._run(s, data, ts) for s in specs}
        return {"length": len(next(iter(data.values()))), "indicators": out}

    @staticmethod
    def _run(spec: D.IndicatorSpec, data: Mapping[str, np.ndarray],
             ts: np.ndarray | None) -> dict[str, Any]:
        res = spec.compute(data, ts)
        return {"name": spec.name, "params": spec.param_dict,
                "outputs": {k: _json_series(v) for k, v in res.items()}}

    # -- symbol indicators -------------------------------------------------------------
    def indicators(self, symbol: str, timeframes: Sequence[str], names: Sequence[str] | None,
                   start: datetime | None, end: datetime | None,
                   limit: int | None = None) -> dict[str, Any]:
        """Return indicator series of ``symbol`` on each timeframe, aligned to bar times.

        Raises:
            ValidationError: bad symbol, timeframe, indicator, parameter, or too few bars.
        """
        specs = self._specs(names)
        result = {}
        for tf in dict.fromkeys(parse_timeframe(t).name for t in timeframes):
            bars = load_bars(self.market, symbol, tf, start=start, end=end,
                             days=self.cfg.history_days[tf])
            if len(bars) == 0:
                raise ValidationError(f"no visible {tf} bars for {symbol} in that range",
                                      field="start")
            data = bars.ohlcv()
            series = {s.key: self._run(s, data, bars.ts) for s in specs}
            if limit:
                for item in series.values():
                    item["outputs"] = {k: v[-limit:] for k, v in item["outputs"].items()}
            ts = bars.ts[-limit:] if limit else bars.ts
            result[tf] = {"timestamps": [_iso(t) for t in ts], "indicators": series}
        return {"symbol": symbol, "timeframes": result,
                "clock": self.now().isoformat()}

    # -- analysis ----------------------------------------------------------------------
    def _states(self, symbols: Sequence[str], tf: str, specs: list[D.IndicatorSpec],
                bars: int | None, use_cache: bool,
                errors: dict[str, AppError]) -> dict[str, D.SeriesState]:
        """Return each symbol's series on ``tf``: cached ones extended by their new bars, the
        rest read and computed as one batch.  Failures go to ``errors`` by symbol."""
        keys = {s.key for s in specs}
        now = pd.Timestamp(self.now())
        epoch = history_epoch(self.market)
        if epoch != self._epoch:  # the owner stored older bars: cached series may lack them
            with self._lock:
                self._cache.clear()
                self._epoch = epoch
        out: dict[str, D.SeriesState] = {}
        need = max(s.min_bars for s in specs)
        stale: dict[int, list[str]] = {}  # cached states to extend, by their last bar
        fresh: list[str] = []
        for sym in symbols:
            if sym in errors:
                continue
            with self._lock:
                state = self._cache.get((sym, tf)) if use_cache else None
            if state is not None and len(state) and not self._visible(state.ts[-1:], tf, sym,
                                                                       now)[0]:
                # The clock went back: bars cached after its cutoff must not be served.
                with self._lock:
                    state.truncate(int(self._visible(state.ts, tf, sym, now).sum()))
                    if len(state) < max(s.min_bars for s in specs):
                        self._cache.pop((sym, tf), None)
                        state = None
            if state is None or not keys <= {s.key for s in state.specs}:
                fresh.append(sym)
            elif not self._new_bar_closed(state.last_ts, tf, sym, now):
                out[sym] = state  # no bar has closed since the cached one: nothing to read
            else:
                stale.setdefault(state.last_ts, []).append(sym)
        for last_ts, group in stale.items():
            got = load_bars_many(self.market, group, tf, errors,
                                 start=pd.Timestamp(last_ts, tz="UTC"))
            for sym, new in got.items():
                with self._lock:
                    state = self._cache.get((sym, tf))
                if state is None:  # evicted meanwhile: computed afresh below
                    fresh.append(sym)
                    continue
                ok = new.ts > state.last_ts  # the store's range includes its start
                state.append(new.ts[ok], {k: v[ok] for k, v in new.ohlcv().items()})
                self._trim(state, tf, now, need, bars)
                out[sym] = state
                if use_cache:
                    with self._lock:  # set again: the cache counts the state's new size
                        self._cache[(sym, tf)] = state
        pending: list[tuple[str, BarArrays]] = []
        got = load_bars_many(self.market, fresh, tf, errors, bars=bars,
                             days=self.cfg.history_days[tf])
        for sym in fresh:
            b = got.get(sym)
            if b is None:
                continue
            if len(b) == 0:
                errors[sym] = ValidationError(f"no visible {tf} bars for {sym}", field="symbols")
            elif len(b) < need:
                errors[sym] = ValidationError(f"{sym} has {len(b)} {tf} bars; the indicators "
                                              f"need at least {need}", field="symbols")
            else:
                pending.append((sym, b))
        built = D.build_states(specs, [(b.ts, b.ohlcv()) for _, b in pending])
        for (sym, _), state in zip(pending, built, strict=True):
            out[sym] = state
            if use_cache:
                with self._lock:
                    self._cache[(sym, tf)] = state
        return out

    def _trim(self, state: D.SeriesState, tf: str, now: pd.Timestamp, need: int,
              bars: int | None) -> None:
        """Keep a cached series to the window a fresh read would give (``history_days``, at
        least ``need`` and ``bars`` bars, at most ``cache_max_bars``): appended bars would
        otherwise grow every cached series, and the process, session after session."""
        cutoff = within_history(self.market, tf, now - pd.Timedelta(
            days=self.cfg.history_days[tf]), now).value
        keep = max(int(np.count_nonzero(state.ts >= cutoff)), need, bars or 0)
        keep = min(keep, self.cfg.cache_max_bars)
        if len(state) > keep:
            state.trim(keep)

    def _visible(self, ts: np.ndarray, tf: str, sym: str, now: pd.Timestamp) -> np.ndarray:
        """Return which bars (open times) have closed by ``now`` (the market clock's rule)."""
        cal = getattr(self.market, "calendar", None)
        if cal is None:
            step = int(parse_timeframe(tf).duration.total_seconds() * 1e9)
            return np.asarray(ts, "int64") + step <= now.value
        return bar_visible(ts, tf, cal, now.value, crypto=classify(sym).value == "crypto")

    def _new_bar_closed(self, last_ts: int, tf: str, sym: str, now: pd.Timestamp) -> bool:
        """Return whether a bar after the one opening at ``last_ts`` has closed by ``now``.

        The next bar is the next bucket of the calendar (one step later inside the session,
        else the next session's first: its 09:00 hour bar, its daily stamp), and it has
        closed when ``bar_end`` (capped at its session's close) has passed.
        """
        step = int(parse_timeframe(tf).duration.total_seconds() * 1e9)
        cal = getattr(self.market, "calendar", None)
        crypto = classify(sym).value == "crypto"
        if cal is None:
            return now.value >= last_ts + 2 * step
        try:
            nxt = next_bucket_start(last_ts, tf, cal, crypto)
        except AppError:
            return True
        return bool(bar_end(np.array([nxt], dtype="int64"), tf, cal, crypto=crypto)[0]
                    <= now.value)

    def analyze(self, symbols: Sequence[str], timeframe: str | None = None, *,
                names: Sequence[str] | None = None, bars: int | None = None,
                strategies: bool = True, store: bool = True,
                use_cache: bool = True) -> dict[str, Any]:
        """Return, per symbol, the latest indicator values, strategy signals and their blend.

        A symbol that fails (unknown, too few bars) gets an ``error`` entry; the others go on.
        Signals are stored once per bar when ``store`` (and the settings) allow.

        Raises:
            ValidationError: too many symbols, bad timeframe, indicator or parameter.
        """
        if len(symbols) > self.cfg.max_batch_symbols:
            raise ValidationError(f"at most {self.cfg.max_batch_symbols} symbols per call, "
                                  f"got {len(symbols)}", field="symbols")
        tf = parse_timeframe(timeframe or self.cfg.default_timeframe).name
        battery = self._specs(names)
        plan: dict[str, list[D.IndicatorSpec]] = {tf: list(battery)}
        if strategies:
            self.admin.sync()
        chosen = list(self.strategies) if strategies else []
        for st in chosen:
            plan.setdefault(st.timeframe or tf, []).extend(st.specs.values())
        plan = {k: list({s.key: s for s in v}.values()) for k, v in plan.items()}
        clock = self.now()
        errors: dict[str, AppError] = {}
        syms = []
        for raw in dict.fromkeys(symbols):
            try:
                syms.append(normalize_symbol(raw))
            except AppError as exc:
                errors[str(raw)] = exc
        states = {t: self._states(syms, t, specs, bars if t == tf else None, use_cache, errors)
                  for t, specs in plan.items()}
        results: dict[str, Any] = {}
        rows: list[dict[str, Any]] = []
        for sym in [*syms, *[e for e in errors if e not in syms]]:
            if sym in errors:
                results[sym] = {"error": errors[sym].to_dict()}
                continue
            results[sym] = self._analyze_one(sym, tf, {t: states[t][sym] for t in plan},
                                             battery, chosen, clock, rows)
        stored = self.repo.save(rows) if store and self.cfg.store_signals else 0
        return {"timeframe": tf, "clock": clock.isoformat(), "stored_signals": stored,
                "results": results}

    def _analyze_one(self, sym: str, tf: str, states: dict[str, D.SeriesState],
                     battery: list[D.IndicatorSpec], chosen: list[D.Strategy],
                     clock: datetime, rows: list[dict[str, Any]]) -> dict[str, Any]:
        main = states[tf]
        latest = {s.key: {o: _latest(v) for o, v in main.outputs[s.key].items()}
                  for s in battery}
        out: dict[str, Any] = {"bar_ts": _iso(main.last_ts), "bars": len(main),
                               "close": _latest(main.data["close"]), "indicators": latest}
        if not chosen:
            return out
        signals = []
        for st in chosen:
            s = states[st.timeframe or tf]
            sig = (st.evaluate(s.outputs, s.data, s.ts, sym) if st.kind == "user"
                   else st.evaluate(s.outputs, s.data))
            if not sig.timeframe:
                sig = D.Signal(sig.strategy, sig.kind, sig.direction, sig.score, sig.rule,
                               sig.values, tf)
            signals.append(sig)
            if st.kind == "user":
                self.admin.note_signal(st.name, sig.rule)
        combined = D.combine(signals, {s.name: s.weight for s in chosen}, long_threshold=self.cfg.long_threshold,
                             short_threshold=self.cfg.short_threshold)
        out["signals"] = [s.to_dict() for s in signals]
        out["combined"] = combined.to_dict()
        now = datetime.now(UTC).isoformat()
        base = {"symbol": sym, "bar_ts": out["bar_ts"], "clock_ts": clock.isoformat(),
                "created_at": now}
        for sig in signals:
            if sig.direction != "flat":
                bar = _iso(states[sig.timeframe].last_ts)
                rows.append({**base, "timeframe": sig.timeframe, "strategy": sig.strategy,
                             "kind": sig.kind, "direction": sig.direction,
                             "score": sig.score, "rule": sig.rule, "indicators": sig.values,
                             "bar_ts": bar})
        rows.append({**base, "timeframe": tf, "strategy": "combined", "kind": "combined",
                     "direction": combined.direction, "score": combined.score,
                     "rule": f"weighted blend of {len(signals)} strategies",
                     "indicators": {c["strategy"]: c["score"] for c in combined.contributions}})
        return out

    def signals(self, symbol: str, *, strategy: str | None = None, timeframe: str | None = None,
                since: datetime | None = None, limit: int = 100,
                refresh: bool = False) -> dict[str, Any]:
        """Return stored signals of ``symbol``, newest first (computing fresh ones if asked).

        Raises:
            ValidationError: a bad symbol or timeframe.
        """
        sym = normalize_symbol(symbol)
        fresh = None
        if refresh:
            fresh = self.analyze([sym], timeframe)["results"][sym]
            if "error" in fresh:
                raise ValidationError(fresh["error"]["message"], field="symbol")
        rows = self.repo.list(sym, strategy=strategy, timeframe=timeframe, since=since,
                              limit=limit)
        return {"symbol": sym, "signals": rows, "latest": fresh}
