"""Market data for the whole suite: one data manager, providers, validation, resampling, clock.

``get_data_manager()`` gives the process's ``DataManager`` (bars, latest prices, streaming,
health); ``MarketClock`` / ``ClockController`` are the suite's one clock; the providers
(``SimulatedProvider``, ``CsvProvider``, ``AlpacaProvider``), ``validate_bars`` and
``resample_bars`` are usable on their own.  Importing this package opens nothing and starts
nothing.
"""
from shared.market.calendar import MarketCalendar, get_calendar, to_utc
from shared.market.clock import ClockController, ClockState, MarketClock, bar_visible
from shared.market.csv_provider import CsvProvider, bundled_datasets, read_ohlcv_file
from shared.market.filecache import FileCache
from shared.market.frames import BAR_COLUMNS, BarArrays, empty_frame, make_frame
from shared.market.manager import DataManager, LatestPrice, get_data_manager, reset_data_manager
from shared.market.memcache import MemoryCache
from shared.market.reader import BarReader, ClockView
from shared.market.resample import resample_bars
from shared.market.simulated import SimulatedProvider
from shared.market.storage import BarStore
from shared.market.symbols import AssetClass, SymbolInfo, build_universe, classify, normalize_symbol
from shared.market.timeframes import TIMEFRAMES, Timeframe, parse_timeframe
from shared.market.validation import ValidationReport, validate_bars

__all__ = [
    "BAR_COLUMNS", "TIMEFRAMES", "AssetClass", "BarArrays", "BarReader", "BarStore",
    "ClockController", "ClockState", "ClockView", "CsvProvider", "DataManager", "FileCache",
    "LatestPrice", "MarketCalendar", "MarketClock", "MemoryCache", "SimulatedProvider",
    "SymbolInfo", "Timeframe", "ValidationReport", "bar_visible", "build_universe",
    "bundled_datasets", "classify", "empty_frame", "get_calendar", "get_data_manager",
    "make_frame", "normalize_symbol", "parse_timeframe", "read_ohlcv_file", "reset_data_manager",
    "resample_bars", "to_utc", "validate_bars",
]
