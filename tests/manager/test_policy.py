from hypothesis import given
from hypothesis import strategies as st

from shared.supervisor.policy import RestartPolicy

POLICY = RestartPolicy(initial_s=0.5, factor=2.0, max_s=4.0, limit=3, window_s=60.0)


def test_backoff_doubles_per_recent_failure_and_is_capped():
    assert POLICY.decide([], 100.0).delay_s == 0.5
    assert POLICY.decide([99.0], 100.0).delay_s == 1.0
    assert POLICY.decide([98.0, 99.0], 100.0).delay_s == 2.0
    capped = RestartPolicy(initial_s=1, factor=10, max_s=5, limit=10, window_s=60)
    assert capped.decide([1, 2, 3], 4).delay_s == 5


def test_gives_up_once_the_limit_of_restarts_in_the_window_is_reached():
    d = POLICY.decide([97.0, 98.0, 99.0], 100.0)
    assert d.give_up and d.recent_failures == 4
    assert not POLICY.decide([97.0, 98.0], 100.0).give_up


def test_failures_outside_the_window_are_forgotten():
    d = POLICY.decide([1.0, 2.0, 3.0], 100.0)
    assert not d.give_up and d.delay_s == 0.5
    assert POLICY.recent([1.0, 50.0, 99.0], 100.0) == [50.0, 99.0]


@given(st.lists(st.floats(0, 100), max_size=20), st.floats(100, 200))
def test_delay_never_exceeds_the_cap_and_never_negative(failures, now):
    d = POLICY.decide(failures, now)
    assert 0 <= d.delay_s <= POLICY.max_s
    assert d.give_up == (len(POLICY.recent(failures, now)) >= POLICY.limit)
