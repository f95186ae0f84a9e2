"""A user's strategy file as a live strategy: the class ``replay --strategy`` runs, unchanged,
gives technical analysis's signal on the built-in market's last closed bar."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import talib

from services.technical_analysis.service import TechnicalAnalysisService
from shared.db import Database, migrate
from shared.errors import ConfigError
from shared.market import ClockController, DataManager
from tests.conftest import make_settings

MINE = {"mine": {"file": "docs/strategies/sma_cross.py:SmaCross",
                 "params": {"fast": 3, "slow": 8}}}


def _service(tmp_path: Path, strategies: dict) -> tuple[TechnicalAnalysisService, DataManager]:
    settings = make_settings(tmp_path, market__universe_size=30,
                             market__data_cache_dir=str(tmp_path / "data-cache"),
                             technical__strategies=strategies)
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="max")
    ctl.advance("2024-01-04T17:00Z")
    dm = DataManager(settings, db, clock=ctl.clock, owner=True)
    return TechnicalAnalysisService(settings, db, market=dm), dm


def _expected(close: np.ndarray) -> str:
    f, s = talib.SMA(close, 3), talib.SMA(close, 8)
    if f[-2] <= s[-2] and f[-1] > s[-1]:
        return "long"
    if f[-2] >= s[-2] and f[-1] < s[-1]:
        return "short"
    return "flat"


def test_the_user_class_signals_on_the_live_last_bar(tmp_path: Path) -> None:
    svc, dm = _service(tmp_path, MINE)
    syms = [s["symbol"] for s in dm.get_symbols("equity")][:30]
    res = svc.analyze(syms, "1m", bars=120, store=False)["results"]
    seen = set()
    for sym in syms:
        sig = {s["strategy"]: s for s in res[sym]["signals"]}["mine"]
        assert sig["kind"] == "user"
        bars = dm.get_bars(sym, "1m", start_hours_ago=3)
        last = np.datetime64(int(bars.ts[-1]), "ns").astype("datetime64[s]")
        assert res[sym]["bar_ts"].startswith(str(last).replace("T", "T")[:16])
        want = _expected(np.asarray(bars.close, dtype="float64"))
        assert sig["direction"] == want, sym
        seen.add(want)
        if want != "flat":
            assert "crossed" in sig["rule"] and res[sym]["combined"]["direction"] == want
    assert seen >= {"flat"} and len(seen) >= 2  # a cross somewhere among 30 symbols


def test_a_bad_strategy_file_stops_the_start_with_its_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="strategy 'mine': .*no Strategy class 'Nope'"):
        _service(tmp_path, {"mine": {"file": "docs/strategies/sma_cross.py:Nope"}})
    with pytest.raises(ConfigError, match=r"unknown parameter\(s\) \['fats'\]"):
        _service(tmp_path, {"mine": {"file": "docs/strategies/sma_cross.py",
                                     "params": {"fats": 3}}})


def test_every_documented_example_runs_live(tmp_path: Path) -> None:
    """The three examples of docs/STRATEGIES.md, as live strategies on the built-in market's
    one-minute bars mid-session: each gives a signal and none fails."""
    examples = {"cross": {"file": "docs/strategies/sma_cross.py:SmaCross",
                          "params": {"fast": 3, "slow": 8}},
                "bands": {"file": "docs/strategies/rsi_bands.py"},
                "orb": {"file": "docs/strategies/opening_range.py:OpeningRange"}}
    svc, dm = _service(tmp_path, examples)
    syms = [s["symbol"] for s in dm.get_symbols("equity")][:30]
    res = svc.analyze(syms, "1m", bars=240, store=False)["results"]
    directions: dict[str, set[str]] = {k: set() for k in examples}
    for sym in syms:
        for sig in res[sym]["signals"]:
            assert sig["kind"] == "user"
            assert not sig["rule"].startswith("strategy error"), (sym, sig)
            directions[sig["strategy"]].add(sig["direction"])
    assert all(directions.values())
