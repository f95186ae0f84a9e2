"""The exchange schedule: built by exchange_calendars once a day, then loaded from a file."""
from __future__ import annotations

import numpy as np
import pytest

from shared.market import calendar_cache as cc
from shared.market.calendar import CALENDAR_START, MarketCalendar


@pytest.fixture
def cache(tmp_path, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("TRADING_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_the_stored_schedule_is_exchange_calendars_own(cache) -> None:  # noqa: ANN001
    built = cc.build_schedule("XNYS", CALENDAR_START)
    first = MarketCalendar("XNYS")  # builds and stores
    assert cc.cache_file("XNYS", CALENDAR_START).exists()
    second = MarketCalendar("XNYS")  # loads
    for cal in (first, second):
        assert np.array_equal(cal.sessions.asi8, built[0])
        assert np.array_equal(cal._open_ns, built[1]) and np.array_equal(cal._close_ns, built[2])
        assert str(cal.first_session) == CALENDAR_START
    # a half day and a holiday, straight from the rules
    assert second.is_half_day("2024-11-29") and not second.is_session("2024-12-25")


def test_a_stored_schedule_is_loaded_without_exchange_calendars(cache, monkeypatch) -> None:  # noqa: ANN001
    MarketCalendar("XNYS")

    def refuse(*_a: object) -> None:
        raise AssertionError("built again")

    monkeypatch.setattr(cc, "build_schedule", refuse)
    assert len(MarketCalendar("XNYS").sessions) > 9000


@pytest.mark.parametrize("content", [b"not a zip file", b""])
def test_a_damaged_file_is_rebuilt(cache, content) -> None:  # noqa: ANN001
    path = cc.cache_file("XNYS", CALENDAR_START)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    cal = MarketCalendar("XNYS")
    assert len(cal.sessions) > 9000
    assert cc._read(path) is not None  # replaced by a good one


def test_an_inconsistent_file_is_rebuilt(cache) -> None:  # noqa: ANN001
    path = cc.cache_file("XNYS", CALENDAR_START)
    s, o, c = cc.build_schedule("XNYS", CALENDAR_START)
    cc._write(path, (s, c, o))  # closes before opens
    assert cc._read(path) is None
    assert MarketCalendar("XNYS").opens[0] < MarketCalendar("XNYS").closes[0]


def test_yesterdays_file_goes_and_an_unwritable_dir_still_works(cache, monkeypatch) -> None:  # noqa: ANN001
    old = cc.cache_file("XNYS", CALENDAR_START, today="2000-01-01")
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_bytes(b"x")
    MarketCalendar("XNYS")
    assert not old.exists() and cc.cache_file("XNYS", CALENDAR_START).exists()
    blocker = cache / "file"
    blocker.write_text("")
    monkeypatch.setenv("TRADING_CACHE_DIR", str(blocker / "sub"))  # cannot be created
    assert len(MarketCalendar("XNYS").sessions) > 9000
