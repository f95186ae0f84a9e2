"""The hub's hand-over from the poller: polls made while the loop is busy merge into one
fan-out pass (one write per client), in order; a long pass is followed by a rest."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from services.paper_trading.streaming import hub as hub_mod
from services.paper_trading.streaming.hub import Hub, SSEClient, TradingClient
from services.paper_trading.streaming.reader import Batch
from tests.conftest import make_settings


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def is_closing(self) -> bool:
        return False

    def get_write_buffer_size(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        self.writes.append(data)


def _batch(account: int, frame: bytes, event_id: int | None = None) -> Batch:
    b = Batch(trade_updates=[(account, frame)], committed_at=float(event_id or 1))
    if event_id is not None:
        b.events.append((account, event_id, f"id: {event_id}\n\n"))
    return b


def test_batch_merge_keeps_order_of_every_kind() -> None:
    a = Batch(trade_updates=[(1, b"a")], events=[(1, 1, "e1")],
              bars={"AAPL": {"bars": [{"n": 1}]}}, news=[{"id": 1}], committed_at=5.0)
    b = Batch(trade_updates=[(2, b"b"), (1, b"c")], events=[(1, 2, "e2")],
              bars={"AAPL": {"bars": [{"n": 2}], "trades": [{"t": 1}]}, "MSFT": {"bars": []}},
              news=[{"id": 2}], committed_at=3.0)
    a.merge(b)
    assert a.trade_updates == [(1, b"a"), (2, b"b"), (1, b"c")]
    assert [e[1] for e in a.events] == [1, 2]
    assert a.bars["AAPL"] == {"bars": [{"n": 1}, {"n": 2}], "trades": [{"t": 1}]}
    assert "MSFT" in a.bars and [n["id"] for n in a.news] == [1, 2]
    assert a.committed_at == 3.0


def test_polls_offered_while_the_loop_is_busy_make_one_write_per_client(
        tmp_path: Path) -> None:
    asyncio.run(_one_write_per_client(Hub(make_settings(tmp_path))))


async def _one_write_per_client(hub: Hub) -> None:
    hub.loop = asyncio.get_running_loop()
    mine, other = FakeTransport(), FakeTransport()
    hub.add_trading(TradingClient(hub, mine, 1))
    hub.add_trading(TradingClient(hub, other, 2))
    sse = SSEClient(1, asyncio.Queue(10))
    hub.add_sse(sse)
    for i in range(3):  # the loop does not run in between: as if it were busy
        hub.offer(_batch(1, f"f{i}".encode(), event_id=i + 1))
    assert hub.merged == 2 and mine.writes == []
    await asyncio.sleep(0)
    assert mine.writes == [b"f0f1f2"] and other.writes == []
    assert [sse.queue.get_nowait()[0] for _ in range(3)] == [1, 2, 3]
    hub.offer(_batch(1, b"f3"))  # the loop is free again: a pass of its own
    await asyncio.sleep(0)
    assert mine.writes == [b"f0f1f2", b"f3"]


def test_a_long_pass_is_followed_by_a_rest_during_which_polls_merge(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_mod, "FANOUT_REST_AFTER_S", -1.0)  # every pass counts as long
    asyncio.run(_rest(Hub(make_settings(tmp_path))))


async def _rest(hub: Hub) -> None:
    loop = hub.loop = asyncio.get_running_loop()
    t = FakeTransport()
    hub.add_trading(TradingClient(hub, t, 1))
    hub.offer(_batch(1, b"a"))
    await asyncio.sleep(0)
    assert t.writes == [b"a"]
    hub._rest_until = loop.time() + 0.05  # as if that pass had taken 50 ms
    hub.offer(_batch(1, b"b"))
    await asyncio.sleep(0)
    hub.offer(_batch(1, b"c"))
    assert t.writes == [b"a"]  # resting: b waits, c merges into it
    await asyncio.sleep(0.08)
    assert t.writes == [b"a", b"bc"]


def test_the_poller_encodes_trade_updates_only_for_accounts_someone_listens_to(
        client, db, clock, settings) -> None:  # noqa: ANN001
    from services.paper_trading.streaming.reader import Interest, Reader
    from tests.services.paper_trading.helpers import OPEN, seed_bars

    seed_bars(db, "AAPL", OPEN, [(100, 101, 99, 100.5)])
    reader = Reader(settings.database_path, settings)
    reader.interest = Interest(trading=True, accounts=frozenset({1}))  # the automation's
    body = {"symbol": "AAPL", "side": "buy", "qty": "1", "type": "limit",
            "limit_price": "1.00", "time_in_force": "gtc"}
    for key in ("automation", "fanout-other", "automation"):
        resp = client.post("/v2/orders", json=body, headers={"APCA-API-KEY-ID": key})
        assert resp.status_code == 200, resp.get_json()
    batch = reader.poll()
    assert batch is not None
    assert [account for account, _ in batch.trade_updates] == [1, 1]
    # the other account's rows were read past, not left for a later poll
    assert reader.marks["orders"] == db.fetch_one("SELECT MAX(seq) AS s FROM pt_orders")["s"]
    reader.conn.close()
