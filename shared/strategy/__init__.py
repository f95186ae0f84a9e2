"""Strategies users write: the API (``Strategy``, indicators by TA-Lib name, crossings) and the
runner that loads one from its file and drives it over history or on the live last bar.

The backtester (``backtest``) and technical analysis's live signals both use this package, so
one class runs unchanged in a replay and in the running suite.
"""
from shared.strategy.api import (
    Decision,
    LookAheadError,
    Series,
    Strategy,
    StrategyError,
    crossed_above,
    crossed_below,
)
from shared.strategy.runner import (
    FLAT,
    decide_last,
    is_file_ref,
    load_strategy,
    run_signals,
)

__all__ = ["FLAT", "Decision", "LookAheadError", "Series", "Strategy", "StrategyError",
           "crossed_above", "crossed_below", "decide_last", "is_file_ref", "load_strategy",
           "run_signals"]
