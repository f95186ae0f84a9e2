"""Fixtures: every provider's loopback fake, started once per test module, and clients with
short retry waits pointed at them through the environment (as users point them at a proxy)."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from shared.market.sources import HttpOptions, build
from tests.conftest import serve
from tests.shared.market.sources import fakes

#: Fast retries: three tries, waits of 10-40 ms (generous timeouts: a loaded CI machine).
FAST = HttpOptions(timeout_s=10.0, retries=2, backoff_s=0.01, backoff_max_s=0.04,
                   total_s=30.0, max_wait_s=0.0)
KEYS = {"ALPHAVANTAGE_API_KEY": "av-key", "POLYGON_API_KEY": "pg-key",
        "TIINGO_API_KEY": "tg-key", "FMP_API_KEY": "fmp-key"}


class Waits(list):
    """A ``sleep`` that records each wait it takes."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)
        time.sleep(seconds)


class Served(dict):
    """The fakes started so far, by provider name: each starts on first use (a module
    starts only those it tests; stopping one takes werkzeug's half-second poll)."""

    def __init__(self, stack: ExitStack) -> None:
        super().__init__()
        self._stack = stack

    def __missing__(self, name: str) -> tuple[fakes.FakeApi, str]:
        fake = fakes.FAKES[name]()
        self[name] = (fake, self._stack.enter_context(serve(fake.app)))
        return self[name]


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with ExitStack() as stack:
        yield Served(stack)


@pytest.fixture
def make(served: Served, calendar: Any
         ) -> Callable[..., tuple[Any, fakes.FakeApi]]:
    """Return ``make(name, **options)``: a fresh client of ``name`` on its fake, and the fake
    (its forced answers and calls cleared)."""

    def _make(name: str, **opts: Any) -> tuple[Any, fakes.FakeApi]:
        fake, url = served[name]
        fake.queue.clear()
        fake.calls.clear()
        env = {**KEYS, f"{name.upper()}_BASE_URL": url}
        options = HttpOptions(**{**FAST.__dict__, **opts})
        client = build(name, None, env, options=options, calendar=calendar)
        client.http.sleep = Waits()  # the retries' waits, recorded (and taken)
        return client, fake

    return _make
