"""``missing_ranges``: what a cache lacks of a request, closed markets never missing."""
from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.market.missing import merge_spans, missing_ranges, subtract

T = pd.Timestamp


def spans(*pairs: tuple[str, str]) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    return [(T(a, tz="UTC") if "Z" not in a else T(a), T(b, tz="UTC") if "Z" not in b else T(b))
            for a, b in pairs]


@pytest.mark.parametrize(("covered", "start", "end", "tf", "want"), [
    # nothing cached: the request trimmed to the first open and the last close
    ([], "2024-03-04T00:00Z", "2024-03-06T00:00Z", "1m",
     [("2024-03-04T14:30Z", "2024-03-05T21:00Z")]),
    # two sessions cached, the night between them is not missing
    ([("2024-03-04T14:30Z", "2024-03-04T21:00Z"), ("2024-03-05T14:30Z", "2024-03-05T21:00Z")],
     "2024-03-04T14:30Z", "2024-03-05T21:00Z", "1m", []),
    # Friday cached, Monday asked from Friday's close: the weekend is skipped
    ([("2024-03-08T14:30Z", "2024-03-08T21:00Z")], "2024-03-08T14:30Z", "2024-03-11T16:00Z",
     "1m", [("2024-03-11T13:30Z", "2024-03-11T16:00Z")]),  # DST: Monday opens 13:30 UTC
    # a holiday (Good Friday 2024-03-29) between cached Thursday and asked Monday
    ([("2024-03-28T13:30Z", "2024-03-28T20:00Z")], "2024-03-28T13:30Z", "2024-04-02T00:00Z",
     "1m", [("2024-04-01T13:30Z", "2024-04-01T20:00Z")]),
    # a whole holiday and weekend asked: nothing to fetch
    ([], "2024-03-29T00:00Z", "2024-04-01T13:30Z", "1m", []),
    # a half day (2024-11-29 closes 18:00 UTC): after its close nothing is missing
    ([("2024-11-29T14:30Z", "2024-11-29T18:00Z")], "2024-11-29T14:30Z", "2024-11-30T00:00Z",
     "1m", []),
    # partial overlap on both sides: only the middle hole
    ([("2024-03-05T14:30Z", "2024-03-05T16:00Z"), ("2024-03-05T17:00Z", "2024-03-05T21:00Z")],
     "2024-03-05T15:00Z", "2024-03-05T20:00Z", "1m", [("2024-03-05T16:00Z", "2024-03-05T17:00Z")]),
    # the cache starts later than asked: the head is missing, the tail is cached
    ([("2024-03-05T16:00Z", "2024-03-06T00:00Z")], "2024-03-05T00:00Z", "2024-03-06T00:00Z",
     "1m", [("2024-03-05T14:30Z", "2024-03-05T16:00Z")]),
    # hour bars: the 09:00 New York bar (14:00 UTC) opens before the session
    ([], "2024-03-05T00:00Z", "2024-03-06T00:00Z", "1h",
     [("2024-03-05T14:00Z", "2024-03-05T21:00Z")]),
    # daily bars are stamped 00:00 New York (05:00 UTC in winter)
    ([], "2024-03-02T00:00Z", "2024-03-05T00:00Z", "1d",
     [("2024-03-04T05:00Z", "2024-03-04T21:00Z")]),
])
def test_equity_table(calendar, covered, start, end, tf, want):
    assert missing_ranges(spans(*covered), start, end, calendar, tf) == spans(*want)


@pytest.mark.parametrize(("covered", "start", "end", "want"), [
    # crypto: the weekend is missing like any other time
    ([("2024-03-08T00:00Z", "2024-03-09T00:00Z")], "2024-03-08T00:00Z", "2024-03-11T00:00Z",
     [("2024-03-09T00:00Z", "2024-03-11T00:00Z")]),
    ([("2024-03-09T00:00Z", "2024-03-10T00:00Z")], "2024-03-08T12:00Z", "2024-03-10T06:00Z",
     [("2024-03-08T12:00Z", "2024-03-09T00:00Z"), ("2024-03-10T00:00Z", "2024-03-10T06:00Z")]),
    ([("2024-03-01T00:00Z", "2024-04-01T00:00Z")], "2024-03-09T00:00Z", "2024-03-11T00:00Z", []),
])
def test_crypto_table(covered, start, end, want):
    assert missing_ranges(spans(*covered), start, end, None, "1m") == spans(*want)


def test_merge_and_subtract_join_touching_spans():
    assert merge_spans(spans(("2024-01-02", "2024-01-03"), ("2024-01-01", "2024-01-02"),
                             ("2024-01-05", "2024-01-04"))) == spans(("2024-01-01", "2024-01-03"))
    assert subtract("2024-01-01", "2024-01-04", spans(("2024-01-02", "2024-01-03"))) == spans(
        ("2024-01-01", "2024-01-02"), ("2024-01-03", "2024-01-04"))


BASE = T("2024-03-01T00:00Z")  # a range holding weekends, a DST change and Good Friday
minute_offsets = st.integers(min_value=0, max_value=45 * 1440)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cov=st.lists(st.tuples(minute_offsets, st.integers(1, 3 * 1440)), max_size=6),
       start=minute_offsets, length=st.integers(1, 10 * 1440))
def test_every_uncovered_session_minute_is_asked_and_nothing_else(calendar, cov, start, length):
    covered = [(BASE + pd.Timedelta(minutes=a), BASE + pd.Timedelta(minutes=a + n))
               for a, n in cov]
    s, e = BASE + pd.Timedelta(minutes=start), BASE + pd.Timedelta(minutes=start + length)
    got = missing_ranges(covered, s, e, calendar, "1m")
    # sorted, disjoint, inside the request, outside the cache
    assert all(a < b for a, b in got)
    assert all(got[i][1] <= got[i + 1][0] for i in range(len(got) - 1))
    assert all(s <= a and b <= e for a, b in got)
    for a, b in got:
        assert subtract(a, b, covered) == [(a, b)]
    # complete: every session minute of the request not cached lies in one asked range
    minutes = calendar.minutes_in_range(s, e - pd.Timedelta(minutes=1))
    need = [m for m in minutes if not any(a <= m < b for a, b in covered)]
    assert all(any(a <= m < b for a, b in got) for m in need)
    # minimal: each asked range holds at least one session minute
    for a, b in got:
        assert len(calendar.minutes_in_range(a, b - pd.Timedelta(minutes=1))) > 0
