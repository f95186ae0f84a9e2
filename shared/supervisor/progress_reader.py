"""Read the figures of the progress line from the services' public APIs.

Coordination's ``GET /api/v1/clock`` and ``GET /api/v1/runs`` (cycles), paper trading's
``GET /api/v1/events`` (orders submitted, fills; read forward from the last id seen, so a poll
costs only what happened since the one before) and ``GET /api/v1/account`` (equity, the last
session's closing equity).  All of it is the automation's account (the routes' default).
A service that does not answer is named in the line and its last figures kept.  A new
market run (the clock rewound or reset: ``run`` in the clock, ``market_run`` in a cycle) starts
the counts over.
"""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import requests

from shared.supervisor.progress import EXCHANGE_TZ, Progress, session_day

log = logging.getLogger("supervisor.progress")
#: A page of runs when nothing is missed in between; a first read (or a gap) takes RUNS_MAX.
RUNS_PAGE, RUNS_MAX = 100, 1000
EVENTS_PAGE, EVENT_PAGES_PER_READ = 1000, 5


def _when(value: Any) -> datetime | None:
    try:
        ts = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return ts if ts.tzinfo is not None else None


def _decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


class ProgressReader:
    """Poll coordination and paper trading; ``read()`` returns the current ``Progress``."""

    def __init__(self, coordination_url: str, paper_trading_url: str, timeout_s: float = 2.0,
                 ) -> None:
        self.coord = coordination_url.rstrip("/")
        self.broker = paper_trading_url.rstrip("/")
        self.timeout_s = timeout_s
        self.http = requests.Session()
        self.day: date | None = None
        self.run: Any = None                   # the clock's market run (None before they existed)
        self._now: datetime | None = None
        self.last = Progress()
        self._runs: set[str] = set()           # ids of the day's cycles
        self._runs_read = False
        self._after = 0                        # last trade event id read
        self._events: Counter[tuple[date, str]] = Counter()

    def _get(self, url: str, **params: Any) -> Any:
        """Return the envelope's data, or raise ``requests.RequestException``/``ValueError``."""
        return self._envelope(url, **params)["data"]

    def _envelope(self, url: str, **params: Any) -> Any:
        r = self.http.get(url, params=params, timeout=self.timeout_s)
        r.raise_for_status()
        return r.json()

    def read(self) -> Progress:
        """Return the figures now (the last known ones for a service that did not answer)."""
        down: list[str] = []
        p = self.last
        try:
            p = self._read_clock(p)
            p = replace(p, cycles=self._read_cycles())
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            log.debug("coordination did not answer", extra={"error": str(exc)})
            down.append("coordination")
        try:
            p = self._read_account(p)
        except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
            log.debug("paper trading did not answer", extra={"error": str(exc)})
            down.append("paper_trading")
        self.last = replace(p, down=())
        return replace(p, down=tuple(down))

    def _read_clock(self, p: Progress) -> Progress:
        envelope = self._envelope(self.coord + "/api/v1/clock")
        clock = envelope["data"]
        now = _when(clock["now"])
        if now is not None:
            run = clock.get("run")
            if run != self.run or (self._now is not None and now < self._now):
                self._start_over(run)  # rewound: the live tables hold only the new run's rows
            day = session_day(now, EXCHANGE_TZ)
            if day != self.day:  # a new session: its own counts
                self.day, self._runs = day, set()
                self._events = Counter({k: n for k, n in self._events.items() if k[0] >= day})
            self._now = now
        return replace(p, now=now, market_open=bool(clock.get("is_open")),
                       paused=bool(clock.get("paused")),
                       simulated=(envelope.get("market") or {}).get("simulated"))

    def _start_over(self, run: Any) -> None:
        self.run, self.day, self._now = run, None, None
        self._runs, self._runs_read = set(), False
        self._after, self._events = 0, Counter()

    def _read_cycles(self) -> int | None:
        if self.day is None:
            return None
        limit = RUNS_PAGE if self._runs_read else RUNS_MAX
        page = self._get(self.coord + "/api/v1/runs", limit=limit)
        oldest = page[-1] if page else None
        if (limit < RUNS_MAX and len(page) == limit and oldest["id"] not in self._runs
                and self._day_of(oldest) == self.day):  # more ran than a page since last time
            page = self._get(self.coord + "/api/v1/runs", limit=RUNS_MAX)
        self._runs.update(r["id"] for r in page if self._day_of(r) == self.day)
        self._runs_read = True
        return len(self._runs)

    def _day_of(self, row: dict[str, Any]) -> date | None:
        if self.run is not None and row.get("market_run", self.run) != self.run:
            return None  # an earlier market run's cycle
        ts = _when(row.get("clock_ts"))
        return session_day(ts, EXCHANGE_TZ) if ts is not None else None

    def _read_account(self, p: Progress) -> Progress:
        for _ in range(EVENT_PAGES_PER_READ):  # a long history is caught up over a few reads
            page = self._get(self.broker + "/api/v1/events", after=self._after,
                             limit=EVENTS_PAGE)
            for e in page:
                self._after = max(self._after, int(e["id"]))
                ts = _when(e.get("created_at"))
                if ts is not None and e.get("type") in ("order_submitted", "fill"):
                    self._events[(session_day(ts, EXCHANGE_TZ), e["type"])] += 1
            if len(page) < EVENTS_PAGE:
                break
        acct = self._get(self.broker + "/api/v1/account")
        equity, last = _decimal(acct.get("equity")), _decimal(acct.get("last_equity"))
        day = self.day
        return replace(
            p, orders=self._events[(day, "order_submitted")] if day else None,
            fills=self._events[(day, "fill")] if day else None, equity=equity,
            day_pnl=equity - last if equity is not None and last is not None else None)
