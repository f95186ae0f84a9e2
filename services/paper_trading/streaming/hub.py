"""The connected clients and the fan-out of each poll's batch to them (on the event loop).

An update is encoded once (one websocket frame) and written to each subscriber's socket as is.
Polls never queue up on the loop: the poller hands a batch over with ``offer``, and while the
loop has not taken the previous one yet the new one is merged into it, so one fan-out pass (a
write per client) covers every poll since.  The loop's work is bounded by its own speed, not
by the poll rate times the clients (a 1,000-client account used to back the loop up seconds
behind the database under continuous orders).  A client never blocks another: a socket holding more than ``max_pending_bytes`` unsent is
closed at once as too slow (Alpaca's 407 "slow client" for data streams), and an SSE client
whose queue is full is ended (its EventSource reconnects and resumes with Last-Event-ID).
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from services.paper_trading.streaming import messages as m
from services.paper_trading.streaming.reader import Batch, Interest, Reader

log = logging.getLogger("paper_streams.hub")

#: data channels that carry bar-derived messages, and the Batch key each reads
_DATA_CHANNELS = ("bars", "trades", "quotes", "dailyBars")
#: a fan-out pass longer than this is followed by a rest as long as it took (see _drain)
FANOUT_REST_AFTER_S = 0.005


class Client:
    """One websocket connection: a transport the hub writes pre-encoded frames to."""

    kind = "client"

    def __init__(self, hub: Hub, transport: Any) -> None:
        self.hub = hub
        self.transport = transport
        self.closed = False

    def write(self, frame: bytes) -> bool:
        """Write ``frame``; False (and the socket closed) when the client is gone or too slow."""
        tr = self.transport
        if self.closed or tr is None or tr.is_closing():
            self.closed = True
            return False
        if tr.get_write_buffer_size() > self.hub.max_pending:
            self.closed = True
            self.hub.stats["slow_dropped"] += 1
            log.warning("closing a slow client", extra={"kind": self.kind,
                                                        "pending": tr.get_write_buffer_size()})
            tr.abort()
            return False
        tr.write(frame)
        self.hub.stats["frames_sent"] += 1
        return True


class TradingClient(Client):
    kind = "trading"

    def __init__(self, hub: Hub, transport: Any, account: int) -> None:
        super().__init__(hub, transport)
        self.account = account


class DataClient(Client):
    """A market-data (``stock``/``crypto``) or ``news`` stream client and its subscriptions."""

    def __init__(self, hub: Hub, transport: Any, kind: str, binary: bool) -> None:
        super().__init__(hub, transport)
        self.kind = kind
        self.binary = binary
        self.subs: dict[str, set[str]] = defaultdict(set)

    def send(self, msgs: list[dict[str, Any]]) -> bool:
        return self.write(m.ws_frame(m.pack(msgs, self.binary), text=not self.binary))

    def wants(self, channel: str, symbol: str) -> bool:
        subs = self.subs.get(channel)
        if not subs:
            return False
        if symbol in subs:
            return True
        return "*" in subs and (("/" in symbol) == (self.kind == "crypto"))


@dataclass(eq=False)
class SSEClient:
    """An SSE subscriber of one account's trade events: a bounded queue of (id, frame)."""

    account: int
    queue: asyncio.Queue[tuple[int, str] | None] = field(
        default_factory=lambda: asyncio.Queue(10_000))
    overflowed: bool = False

    def offer(self, item: tuple[int, str]) -> None:
        if self.overflowed:
            return
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True  # the handler ends the response; the client resumes


class Hub:
    """Every connected client, by kind; ``publish`` runs on the loop for each batch."""

    def __init__(self, settings: Any, reader: Reader | None = None) -> None:
        self.settings = settings
        self.cfg = settings.paper_trading.streams
        self.max_pending = self.cfg.max_pending_bytes
        self.reader = reader
        self.trading: dict[int, set[TradingClient]] = defaultdict(set)
        self.data: set[DataClient] = set()
        self.sse: dict[int, set[SSEClient]] = defaultdict(set)
        self.connections = 0  # websockets and SSE responses held open (max_clients)
        self.per_ip: dict[str, int] = defaultdict(int)  # the same by client address
        self.stats: dict[str, int] = defaultdict(int)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._pending: Batch | None = None
        self._pending_lock = threading.Lock()
        self.merged = 0  # polls merged into a batch the loop had not taken yet (poller thread)
        self._rest_until = 0.0

    # -- admission -----------------------------------------------------------------------
    def admit(self, ip: str) -> str | None:
        """Count a new connection from ``ip``; return None, or which cap refuses it
        (``"max_clients"`` / ``"max_clients_per_ip"``: nothing counted).  Called on the loop
        with no await before the handler's ``try``/``release``, so no handshake in flight
        slips past a cap."""
        if self.connections >= self.cfg.max_clients:
            refused = "max_clients"
        elif self.per_ip[ip] >= self.cfg.max_clients_per_ip:
            refused = "max_clients_per_ip"
        else:
            self.connections += 1
            self.per_ip[ip] += 1
            return None
        self.stats[f"refused_{refused}"] += 1
        return refused

    def release(self, ip: str) -> None:
        """Forget a connection ``admit`` counted."""
        self.connections -= 1
        left = self.per_ip[ip] - 1
        if left > 0:
            self.per_ip[ip] = left
        else:
            del self.per_ip[ip]

    # -- registry ------------------------------------------------------------------------
    def add_trading(self, c: TradingClient) -> None:
        self.trading[c.account].add(c)
        self._interest()

    def remove_trading(self, c: TradingClient) -> None:
        _leave(self.trading, c.account, c)
        self._interest()

    def add_data(self, c: DataClient) -> None:
        self.data.add(c)

    def remove_data(self, c: DataClient) -> None:
        self.data.discard(c)
        self._interest()

    def add_sse(self, c: SSEClient) -> None:
        self.sse[c.account].add(c)
        self._interest()

    def remove_sse(self, c: SSEClient) -> None:
        _leave(self.sse, c.account, c)
        self._interest()

    def subscriptions_changed(self) -> None:
        self._interest()

    def _interest(self) -> None:
        symbols: set[str] = set()
        daily: set[str] = set()
        wildcard = news = False
        for c in self.data:
            if c.kind == "news":
                news = news or bool(c.subs.get("news"))
                continue
            for ch in _DATA_CHANNELS:
                subs = c.subs.get(ch) or ()
                if "*" in subs:
                    wildcard = True
                symbols.update(s for s in subs if s != "*")
            daily.update(s for s in c.subs.get("dailyBars", ()) if s != "*")
        it = Interest(trading=bool(self.trading), sse=bool(self.sse), news=news,
                      accounts=frozenset(self.trading),
                      symbols=frozenset(symbols), daily=frozenset(daily), wildcard=wildcard)
        if self.reader is not None:
            self.reader.interest = it  # one reference swap: the poller reads it next poll

    # -- hand-over from the poller thread ---------------------------------------------------
    def offer(self, batch: Batch) -> None:
        """Hand a poll's batch to the loop (called on the poller thread; never blocks on it).

        At most one hand-over waits on the loop: a batch offered while the previous one is
        still waiting is merged into it (and no further callback is scheduled).
        """
        with self._pending_lock:
            if self._pending is not None:
                self._pending.merge(batch)
                self.merged += 1
                return
            self._pending = batch
        assert self.loop is not None, "Hub.loop is set when the app starts"
        self.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        assert self.loop is not None
        now = self.loop.time()
        if now + 0.001 < self._rest_until:  # a long fan-out just ran: others run first
            self.loop.call_at(self._rest_until, self._drain)
            return
        with self._pending_lock:
            batch, self._pending = self._pending, None
        if batch:
            self.publish(batch)
            cost = self.loop.time() - now
            if cost > FANOUT_REST_AFTER_S:
                # a pass costs a write per client, whatever it carries: after a long one,
                # wait as long again (polls merge meanwhile), so a large account's fan-out
                # takes at most half of a core under a stream of orders and each pass
                # carries more updates
                self._rest_until = self.loop.time() + cost

    # -- fan-out -------------------------------------------------------------------------
    def publish(self, batch: Batch) -> None:
        """Send one poll's batch to every interested client (never awaits)."""
        if batch.trade_updates:
            # one write per client per poll: an account's frames of this poll joined, in order
            joined: dict[int, list[bytes]] = defaultdict(list)
            for account, frame in batch.trade_updates:
                joined[account].append(frame)
            self.stats["trade_updates"] += len(batch.trade_updates)
            for account, frames in joined.items():
                group = self.trading.get(account)
                if group:
                    data = b"".join(frames)
                    for c in tuple(group):
                        c.write(data)
        for account, event_id, text in batch.events:
            for s in tuple(self.sse.get(account, ())):
                s.offer((event_id, text))
        if batch.bars:
            self._bars(batch.bars)
        if batch.news:
            self._news(batch.news)

    def _bars(self, bars: dict[str, dict[str, list[dict[str, Any]]]]) -> None:
        for c in tuple(self.data):
            if c.kind == "news":
                continue
            msgs: list[dict[str, Any]] = []
            for sym, per in bars.items():
                for ch in _DATA_CHANNELS:
                    if ch in per and c.wants(ch, sym):
                        msgs.extend(per[ch])
            if msgs:
                c.send(msgs)
                self.stats["data_messages"] += len(msgs)

    def _news(self, news: list[dict[str, Any]]) -> None:
        for c in tuple(self.data):
            subs = c.subs.get("news") if c.kind == "news" else None
            if not subs:
                continue
            msgs = [n for n in news if "*" in subs or subs.intersection(n["symbols"])]
            if msgs:
                c.send(msgs)
                self.stats["news_messages"] += len(msgs)

    def snapshot(self) -> dict[str, Any]:
        return {"connections": self.connections, "addresses": len(self.per_ip),
                "most_from_one_address": max(self.per_ip.values(), default=0),
                "trading_clients": sum(len(g) for g in self.trading.values()),
                "data_clients": sum(1 for c in self.data if c.kind != "news"),
                "news_clients": sum(1 for c in self.data if c.kind == "news"),
                "sse_clients": sum(len(g) for g in self.sse.values()),
                "polls_merged": self.merged, **dict(self.stats)}




def _leave(groups: dict[int, set[Any]], account: int, client: Any) -> None:
    """Take ``client`` out of its account's group; drop the group once empty (the poller
    encodes updates only for accounts that have one)."""
    group = groups.get(account)
    if group is not None:
        group.discard(client)
        if not group:
            del groups[account]


__all__ = ["Client", "DataClient", "Hub", "SSEClient", "TradingClient"]
