"""Use cases of the scanner: build the universe panel at the clock's latest bars, scan, store."""
from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError as PydanticError

from services.scanner.bar_cache import WindowBars
from services.scanner.crypto import crypto_windows, rules_for
from services.scanner.domain import Filters, Panel, ScanParams, scan
from services.scanner.repository import ScanRepository
from shared.config import Settings
from shared.db import Database, DatabaseServiceMixin
from shared.errors import ConfigError, NotFound, ValidationError
from shared.market.depth import within_history
from shared.market.frames import BarArrays
from shared.market.release import BULK_ROWS, release_memory, trim_heap

_COLS = ("open", "high", "low", "close", "volume")


def _grid(series: Sequence[BarArrays], n: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Return the union time axis and (symbols x times) arrays, NaN where a bar is missing."""
    first = series[0].ts if series else None
    if first is not None and all(b.ts is first or np.array_equal(b.ts, first)
                                 for b in series[1:]):
        # every symbol has a bar at every time (the usual case): their bars are the rows,
        # stacked in one call per column instead of placed a symbol at a time
        return first, {c: np.vstack([getattr(b, c) for b in series]).astype("float64", copy=False)
                       for c in _COLS}
    axis = np.unique(np.concatenate([b.ts for b in series])) if series else np.array([], "int64")
    out = {c: np.full((n, axis.size), np.nan) for c in _COLS}
    for i, b in enumerate(series):
        pos = np.searchsorted(axis, b.ts)
        for c in out:
            out[c][i, pos] = getattr(b, c)
    return axis, out


class ScannerService(DatabaseServiceMixin):
    """Scan the data manager's equity universe with filters and presets."""

    def __init__(self, settings: Settings, db: Database | None = None, market: Any = None) -> None:
        """Check the presets in the settings.

        Raises:
            ConfigError: naming a preset with an unknown or bad filter.
        """
        self.init_database(db or settings)
        self.settings = settings
        self.cfg = settings.scanner
        self.presets: dict[str, Filters] = {}
        for name, raw in self.cfg.presets.items():
            try:
                self.presets[name] = Filters.model_validate(raw)
            except PydanticError as exc:
                raise ConfigError(f"scanner.presets.{name}: {exc.errors()[0]['msg']}",
                                  field=f"scanner.presets.{name}") from None
        self.params = ScanParams(self.cfg.avg_volume_days, self.cfg.rvol_sessions,
                                 self.cfg.rsi_period, self.cfg.atr_period,
                                 self.cfg.change_window_bars, self.cfg.new_high_days)
        self._market = market
        self._fundamentals: Any = None
        self.repo = ScanRepository(self.db)
        self._panel: tuple[tuple[Any, ...], Panel] | None = None
        self._lock = threading.Lock()
        self._universe: list[dict[str, Any]] | None = None
        self._chosen_last: tuple[tuple[str, ...] | None, list[dict[str, Any]]] | None = None
        self._intraday = WindowBars(lambda: self.market, self.cfg.timeframe)
        self._daily = WindowBars(lambda: self.market, "1d")
        self._crypto: tuple[WindowBars, WindowBars] | None = None  # the pairs' windows

    @property
    def market(self) -> Any:
        if self._market is None:
            from shared.market import DataManager

            self._market = DataManager(self.settings, self.db)
        return self._market

    def fundamentals_of(self, symbols: list[str]) -> dict[str, dict[str, Any]]:
        """Return symbol -> combined fundamentals, read only: the files coordination stored
        (fresh or not) and the built-in market's values; the scanner never fetches or writes."""
        if self._fundamentals is None:
            from shared.market.fundamentals import build_fundamentals

            clock = self.market.clock
            self._fundamentals = build_fundamentals(
                self.settings, writable=False,
                today=lambda: pd.Timestamp(clock.now()).tz_convert("America/New_York").date())
        return self._fundamentals.records(symbols)

    def universe(self) -> list[dict[str, Any]]:
        """Return the tradable equities of the data manager's universe (symbol, sector).

        Read once: the universe is fixed for a data manager's life, and building its dicts
        cost more than the incremental scan itself.
        """
        return [dict(s) for s in self._tradable()]

    def _tradable(self, asset_class: str = "equity") -> list[dict[str, Any]]:
        """Return the cached universe rows themselves (callers must not change them)."""
        if asset_class == "crypto":
            return [s for s in self.market.get_symbols("crypto") if s.get("tradable", True)]
        if self._universe is None:
            self._universe = [s for s in self.market.get_symbols("equity")
                              if s.get("tradable", True)]
        return self._universe

    def _windows(self, asset_class: str) -> tuple[WindowBars, WindowBars]:
        """Return the (intraday, daily) windows of ``asset_class``'s symbols."""
        if asset_class != "crypto":
            return self._intraday, self._daily
        if self._crypto is None:
            self._crypto = crypto_windows(lambda: self.market, self.cfg.timeframe)
        return self._crypto

    def _chosen(self, symbols: Sequence[str] | None,
                asset_class: str = "equity") -> list[dict[str, Any]]:
        """Return the universe rows of ``symbols`` (all of them for None), in universe order.

        The last answer is kept: coordination asks for the same symbols at every step.
        """
        key = (asset_class, None if not symbols else tuple(symbols))
        last = self._chosen_last
        if last is not None and last[0] == key:
            return last[1]
        uni = self._tradable(asset_class)
        if symbols:
            wanted = {s.upper() for s in symbols}
            uni = [u for u in uni if u["symbol"] in wanted]
        self._chosen_last = (key, uni)
        return uni

    def panel(self, symbols: Sequence[str] | None = None,
              asset_class: str = "equity") -> Panel:
        """Return the universe's visible bars as a panel.

        Bars are kept between scans and only the new ones read (see ``WindowBars``); the panel
        is rebuilt only when some symbol's bars changed (a bar of the scan's timeframe closed,
        or one left the window), so scans between two such bars reuse it.

        Raises:
            NotFound: when no symbol has visible bars.
        """
        now = pd.Timestamp(self.market.clock.now())
        uni = self._chosen(symbols, asset_class)
        days = int(self.params.rvol_sessions * 7 / 5) + 6
        w_intraday, w_daily = self._windows(asset_class)
        syms = [u["symbol"] for u in uni]
        errors: dict[str, Any] = {}  # a symbol the provider cannot serve is left out
        # One batched read per timeframe and group of symbols, of the new bars only.
        # never past the history the market owner keeps: older bars are there or not
        # depending on timing (shared.market.depth)
        got, v_intraday = w_intraday.get_versioned(syms, within_history(
            self.market, w_intraday.timeframe, now - pd.Timedelta(days=days), now), now, errors)
        got_d, v_daily = w_daily.get_versioned(
            [s for s in syms if s in got], within_history(
                self.market, "1d", now - pd.Timedelta(days=self.cfg.daily_lookback_days), now),
            now, errors)
        # the same symbols' bars at the same versions of both windows: the same panel
        key = (asset_class, tuple(syms), v_intraday, v_daily)
        with self._lock:
            if self._panel is not None and self._panel[0] == key:
                return self._panel[1]
        intraday, daily, keep = [], [], []
        for u in uni:
            b, d = got.get(u["symbol"]), got_d.get(u["symbol"])
            if b is not None and d is not None and len(b):
                intraday.append(b)
                daily.append(d)
                keep.append(u)
        if not keep:
            raise NotFound("no symbol has visible bars at the clock's time", field="universe")
        ts, g = _grid(intraday, len(keep))
        dts, dg = _grid(daily, len(keep))
        p = Panel(np.array([u["symbol"] for u in keep]), np.array([u["sector"] for u in keep]),
                  ts, g["open"], g["high"], g["low"], g["close"], g["volume"],
                  dts, dg["high"], dg["low"], dg["close"], dg["volume"], self.params,
                  rules_for(asset_class))
        with self._lock:
            self._panel = (key, p)
        if w_intraday.rows_read + w_daily.rows_read >= BULK_ROWS:
            # a first scan (or one after the clock jumped) backfills the whole universe: give
            # back the page cache and the freed temporaries of the reads and the old panel
            release_memory(self.db.get_db_connection())
        else:
            # a new panel replaced the old one (tens of MB for the whole universe, and every
            # symbol's window was extended by a copy): give the freed heap back, or the
            # worker's resident memory grew by ~100 MB over its first minutes of scans
            trim_heap()
        return p

    def filters_for(self, preset: str | None, overrides: dict[str, Any]) -> Filters:
        """Return the preset's filters with ``overrides`` applied and the exclusion list added.

        Raises:
            ValidationError: unknown preset or bad filter values.
        """
        base: dict[str, Any] = {}
        if preset:
            if preset not in self.presets:
                raise ValidationError(f"unknown preset '{preset}'; known: {sorted(self.presets)}",
                                      field="preset")
            base = self.presets[preset].model_dump(exclude_defaults=True)
        base.update(overrides)
        base["exclude"] = sorted(set(base.get("exclude", [])) | set(self.cfg.exclude))
        try:
            return Filters.model_validate(base)
        except PydanticError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"]) or "filters"
            raise ValidationError(f"filters.{where}: {err['msg']}", field=f"filters.{where}") from None

    def run_scan(self, preset: str | None, overrides: dict[str, Any], limit: int | None = None,
                 symbols: Sequence[str] | None = None,
                 asset_class: str = "equity") -> dict[str, Any]:
        """Scan, rank, explain and store the run with its clock time (the equities, or the
        crypto pairs with ``asset_class="crypto"``: at any hour, their days UTC days).

        Raises:
            ValidationError: unknown preset or bad filters.
            NotFound: no visible bars at all.
        """
        filters = self.filters_for(preset, overrides)
        clock = self.market.clock.now()
        t0 = time.perf_counter()
        panel = self.panel(symbols, asset_class)
        records = (self.fundamentals_of([str(x) for x in panel.symbols])
                   if filters.any_fundamentals() else None)
        matches, matched = scan(panel, filters, limit or self.cfg.max_results, records)
        run = {"id": uuid.uuid4().hex, "clock_ts": clock.isoformat(), "preset": preset,
               "filters": filters.model_dump(exclude_defaults=True),
               "universe_size": len(panel), "matched": matched,
               "duration_ms": round((time.perf_counter() - t0) * 1000, 3),
               "created_at": datetime.now(UTC).isoformat(),
               "bar_ts": pd.Timestamp(int(panel.ts[-1]), tz="UTC").isoformat()}
        self.repo.save(run, matches)
        return {**run, "results": [
            {"rank": r, "symbol": m.symbol, "sector": m.sector, "score": m.score,
             "price": str(round(m.price, 6)), "metrics": m.metrics, "explanation": m.explanation}
            for r, m in enumerate(matches, start=1)]}

    def latest(self) -> dict[str, Any]:
        """Return the newest stored scan.

        Raises:
            NotFound: when no scan has run yet.
        """
        run = self.repo.latest()
        if run is None:
            raise NotFound("No scan has run yet. The automation scans at each step while the "
                           "market is open; run a scan to see matches now.", field="scan")
        # the stored rows keep no sector (the universe's): a stored scan reads like a fresh one
        sectors = {u["symbol"]: u.get("sector")
                   for u in (*self._tradable(), *self._tradable("crypto"))}
        for r in run["results"]:
            r["sector"] = sectors.get(r["symbol"])
        return run

    @property
    def default_preset(self) -> str | None:
        return self.cfg.default_preset

    def list_presets(self) -> dict[str, Any]:
        return {n: f.model_dump(exclude_defaults=True) for n, f in self.presets.items()}

    def default_preset_view(self) -> dict[str, Any]:
        """Return the default preset's name and filters (both None when there is none)."""
        name = self.default_preset
        return {"preset": name, "filters": None if name is None else
                self.presets[name].model_dump(exclude_defaults=True)}
