"""Pure technical analysis: TA-Lib indicators, session indicators, strategies, combination.

No Flask and no sqlite3 here.  ``indicators`` resolves and runs any indicator by name,
``custom`` holds the session indicators (VWAP, relative volume, opening and pre-market
ranges), ``strategies`` turns series into signals, ``combine`` weighs them, and
``series_cache`` extends computed series when a bar arrives.
"""
from shared.ta.combine import Combined, combine
from shared.ta.indicators import (
    COMMON,
    IndicatorSpec,
    catalogue,
    parse_specs,
    resolve,
)
from shared.ta.series_cache import SeriesState, build_states
from shared.ta.sessions import SessionRules, layout
from shared.ta.strategies import KINDS, Signal, Strategy

__all__ = ["COMMON", "KINDS", "Combined", "IndicatorSpec", "SeriesState", "SessionRules",
           "Signal", "Strategy", "build_states", "catalogue", "combine", "layout", "parse_specs", "resolve"]
