"""The live stream's readers per paper account: account topics carry the account, the others
are read once for every account, and only the accounts someone streams are polled."""
from __future__ import annotations

import time
from typing import Any

from dashboard.live import AccountPollers
from dashboard.sources import ACCOUNT_TOPICS, AUTOMATION, SharedReads, live_sources


class _Coordination:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def clock(self) -> dict[str, Any]:
        self.calls.append("clock")
        return {"now": "2024-01-02T14:30:00+00:00"}

    def workflow(self) -> dict[str, Any]:
        self.calls.append("workflow")
        return {"runs": []}


class _Backend:
    """Records every read the sources make."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fetches: list[tuple[str, str, dict[str, Any] | None]] = []
        self.coordination = _Coordination(self.calls)

    def services(self) -> dict[str, Any]:
        self.calls.append("health")
        return {"down": []}

    def fetch(self, service: str, path: str, params: dict[str, Any] | None = None) -> Any:
        self.fetches.append((service, path, params))
        return {"available": True, "data": {"path": path, "params": params}}


def test_account_topics_carry_the_account_and_the_automations_carry_none() -> None:
    backend = _Backend()
    bot = live_sources(backend, 7)  # type: ignore[arg-type]
    auto = live_sources(backend, AUTOMATION)  # type: ignore[arg-type]
    for topic, (_service, path, query) in ACCOUNT_TOPICS.items():
        assert bot[topic]()["data"] == {"path": path, "params": {**(query or {}), "account": 7}}
        assert auto[topic]()["data"] == {"path": path, "params": query}
    assert backend.fetches[-1][0] == "paper_trading"
    # the automation's state is coordination's, the same whichever account is streamed
    bot["automation"]()
    assert backend.fetches[-1] == ("coordination", "/api/v1/automation", None)


def test_shared_topics_are_read_once_per_interval_for_every_account() -> None:
    backend = _Backend()
    shared = SharedReads(ttl_s=0.3)
    accounts = [live_sources(backend, a, shared) for a in (1, 2, 3)]  # type: ignore[arg-type]
    for sources in accounts:
        sources["health"]()
        sources["clock"]()
        sources["automation"]()
    assert backend.calls.count("health") == 1 and backend.calls.count("clock") == 1
    assert [f for f in backend.fetches if f[0] == "coordination"] == [
        ("coordination", "/api/v1/automation", None)]
    time.sleep(0.35)
    accounts[2]["health"]()
    assert backend.calls.count("health") == 2  # read again once the interval passed


def test_only_the_streamed_accounts_are_polled() -> None:
    backend = _Backend()
    made: list[int] = []

    def sources_for(account: int) -> dict[str, Any]:
        made.append(account)
        return live_sources(backend, account, SharedReads(0.05))  # type: ignore[arg-type]

    pollers = AccountPollers(sources_for, interval_s=0.05, idle_stop_s=0.2)
    try:
        assert made == [] and pollers.polling() == []  # nothing polled before a subscriber
        bot = pollers.get(5)
        assert pollers.get(5) is bot and made == [5]
        stream = bot.subscribe({"orders"}, max_s=0.3, heartbeat_s=1.0)
        frames = "".join(stream)
        assert "event: orders" in frames and '"account":5' in frames
        assert pollers.polling() == [5]
        paper = [p for s, _path, p in backend.fetches if s == "paper_trading"]
        assert paper and all(p and p["account"] == 5 for p in paper)
        deadline = time.monotonic() + 3
        while pollers.polling() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pollers.polling() == []  # the last subscriber left: the thread stopped
        assert made == [5]  # the automation's account was never polled for this stream
    finally:
        pollers.stop()
