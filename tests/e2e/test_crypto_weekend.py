"""Crypto around the clock: a replay from Friday 2024-03-08 to Monday 2024-03-11 UTC, across a
weekend and the US daylight-saving change (Sunday 2024-03-10, 07:00 UTC), driving the market
owner's clock and feed in-process, with paper trading served on loopback and used through the
unmodified alpaca-py ``TradingClient``.

The clock moves as the suite's replay moves it: told to go to Saturday 03:00, then to Sunday
06:59:30 (just before the change), and stepped, skipping closed time as the replay does by
default, from Sunday 07:01 to Monday's open in one jump; the pairs' bars of every minute it
jumped over are stored anyway.  Orders are placed on Saturday (the pairs and an equity) and
across the change.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pandas as pd
import pytest

with warnings.catch_warnings():  # alpaca-py imports websockets.legacy, which warns
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, TimeInForce
    from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest

from services.paper_trading import create_app
from shared.db import Database, migrate
from tests.conftest import make_settings, serve

PAIRS = ["BTC/USD", "ETH/USD"]
FRI = datetime(2024, 3, 8, tzinfo=UTC)
SAT_3AM = datetime(2024, 3, 9, 3, 0, tzinfo=UTC)
#: Monday's open after the change to EDT: 09:30 New York is 13:30 UTC (Friday's was 14:30)
MON_OPEN = datetime(2024, 3, 11, 13, 30, tzinfo=UTC)
MIN = timedelta(minutes=1)
#: 02:00 EST on Sunday 2024-03-10 became 03:00 EDT: 07:00 UTC
DST = datetime(2024, 3, 10, 7, 0, tzinfo=UTC)


@dataclass
class Suite:
    db: Database
    ctl: Any
    feed: Any
    client: TradingClient
    orders: dict[str, Any]
    before_jump: Any  # the Saturday fill, seen before the clock jumped


def _catch_up(feed: Any) -> None:
    feed.catch_up()
    while feed.backfill_step():
        pass


def _fills(db: Database, order_id: str) -> list[Any]:
    return db.fetch_all("SELECT qty_micros, price_micros, bar_ts, commission_micros FROM "
                        "pt_fills WHERE order_id = ? ORDER BY id", (order_id,))


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    from shared.market import ClockController, DataManager
    from shared.market.feed import MarketFeed

    settings = make_settings(tmp_path_factory.mktemp("crypto_weekend"),
                             market__universe_size=4, market__crypto_symbols=PAIRS,
                             market__clock__cache_ms=0)
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="max", replay_start="2024-03-08", replay_end="2024-03-11")
    assert ctl.clock.now_ts() == pd.Timestamp("2024-03-08T14:30Z")  # Friday's open (EST)
    dm = DataManager(settings, db, clock=ctl.clock, owner=True)
    cfg = settings.market.ingest.model_copy(
        update={"history_days": {"1m": 1, "5m": 1, "15m": 1, "1h": 2, "1d": 5}})
    feed = MarketFeed(dm, cfg)
    _catch_up(feed)
    with serve(create_app(settings)) as url:  # paper trading reads the replay's clock
        client = TradingClient("weekend", "s", url_override=url)
        client._retry = 0
        # Saturday 03:00 UTC: equities closed since Friday 21:00, the pairs trading
        ctl.advance(SAT_3AM)
        _catch_up(feed)
        orders = {
            "btc": client.submit_order(MarketOrderRequest(
                symbol="BTC/USD", qty=0.0123, side=OrderSide.BUY,
                time_in_force=TimeInForce.GTC)),
            "eth": client.submit_order(MarketOrderRequest(
                symbol="ETH/USD", notional=100.5, side=OrderSide.BUY,
                time_in_force=TimeInForce.GTC)),
            "limit": client.submit_order(LimitOrderRequest(
                symbol="BTC/USD", qty=0.5, limit_price=1.0, side=OrderSide.BUY,
                time_in_force=TimeInForce.GTC)),
            "limit_fill": client.submit_order(LimitOrderRequest(  # marketable: fills
                symbol="BTC/USD", qty=0.0005, limit_price=1_000_000, side=OrderSide.BUY,
                time_in_force=TimeInForce.GTC)),
            "aapl": client.submit_order(MarketOrderRequest(
                symbol="AAPL", qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)),
        }
        ctl.advance(SAT_3AM + MIN)  # the 03:00 bar closed
        _catch_up(feed)
        before = client.get_order_by_id(orders["btc"].id)
        # half a minute before New York's clocks spring forward (07:00 UTC): fills at 07:00
        ctl.advance(DST - MIN / 2)
        _catch_up(feed)
        orders["dst"] = client.submit_order(MarketOrderRequest(
            symbol="BTC/USD", qty=0.0041, side=OrderSide.SELL, time_in_force=TimeInForce.GTC))
        ctl.advance(DST + MIN)
        _catch_up(feed)
        # one step of the replay: Sunday 07:01 -> Monday's first minute, in one jump
        ctl.step()
        assert ctl.clock.now_ts() == pd.Timestamp(MON_OPEN + MIN)
        _catch_up(feed)
        yield Suite(db, ctl, feed, client, orders, before)
    db.close()


def _minutes(db: Database, sym: str, tf: str, lo: datetime, hi: datetime) -> list[datetime]:
    rows = db.fetch_all("SELECT ts FROM bars WHERE symbol = ? AND timeframe = ? AND ts >= ? "
                        "AND ts < ? ORDER BY ts", (sym, tf, lo.isoformat(), hi.isoformat()))
    return [datetime.fromisoformat(r[0]) for r in rows]


def test_every_minute_of_the_weekend_is_stored_once(suite: Suite) -> None:
    end = MON_OPEN + MIN  # the clock: its last closed minute opened at 13:30
    want = [FRI + i * MIN for i in range(int((end - FRI) / MIN))]
    for pair in PAIRS:
        got = _minutes(suite.db, pair, "1m", FRI, end + timedelta(days=1))
        assert got == want, (pair, len(got), len(want))  # none missing, none twice, none ahead
        for tf, step in (("5m", 5), ("15m", 15)):
            bars = _minutes(suite.db, pair, tf, FRI, end)
            assert bars == [FRI + i * timedelta(minutes=step)
                            for i in range(int((MON_OPEN - FRI) / timedelta(minutes=step)))]


def test_an_hour_bar_per_utc_hour_across_the_dst_change(suite: Suite) -> None:
    hours = _minutes(suite.db, "BTC/USD", "1h", FRI, MON_OPEN + MIN)
    # 24 a UTC day, Sunday too (New York's clocks skipped 02:00 local, UTC did not)
    assert hours == [FRI + timedelta(hours=i) for i in range(24 * 3 + 13)]
    sunday = [h for h in hours if h.date() == datetime(2024, 3, 10).date()]
    assert len(sunday) == 24
    # each hour holds its 60 minutes: the hour bar's volume is theirs
    for h in (datetime(2024, 3, 10, 6, tzinfo=UTC), datetime(2024, 3, 10, 7, tzinfo=UTC)):
        (vol,) = suite.db.fetch_one("SELECT volume FROM bars WHERE symbol = 'BTC/USD' AND "
                                    "timeframe = '1h' AND ts = ?", (h.isoformat(),))
        (mins,) = suite.db.fetch_one(
            "SELECT SUM(volume) FROM bars WHERE symbol = 'BTC/USD' AND timeframe = '1m' AND "
            "ts >= ? AND ts < ?", (h.isoformat(), (h + timedelta(hours=1)).isoformat()))
        assert vol == mins


def test_a_day_bar_per_utc_day(suite: Suite) -> None:
    for pair in PAIRS:
        days = _minutes(suite.db, pair, "1d", FRI - timedelta(days=3), MON_OPEN + MIN)
        # Tuesday to Sunday: Monday's day is still running at the clock
        assert days == [FRI + timedelta(days=d) for d in range(-3, 3)]
    # the equities' daily bars: sessions only, stamped at New York midnight (EST then EDT)
    aapl = _minutes(suite.db, "AAPL", "1d", FRI - timedelta(days=3), MON_OPEN + MIN)
    assert aapl[-1] == datetime(2024, 3, 8, 5, tzinfo=UTC)
    assert not _minutes(suite.db, "AAPL", "1m", datetime(2024, 3, 9, tzinfo=UTC),
                        datetime(2024, 3, 11, 8, tzinfo=UTC))


def test_an_order_placed_on_saturday_fills_on_the_next_bar(suite: Suite) -> None:
    btc = suite.before_jump
    assert btc.status.value == "filled" and btc.qty == "0.0123" and btc.filled_qty == "0.0123"
    ((qty, px, bar_ts, fee),) = _fills(suite.db, str(btc.id))
    assert bar_ts == "2024-03-09T03:00:00+00:00" and qty == 12_300
    assert Decimal(btc.filled_avg_price) == Decimal(px) / 10**6
    assert btc.filled_at == SAT_3AM + MIN


def test_an_order_across_the_dst_change_fills_on_the_next_bar(suite: Suite) -> None:
    placed = suite.orders["dst"]
    assert placed.status.value == "new"  # a pair's order works at once, at any hour
    got = suite.client.get_order_by_id(placed.id)
    assert got.status.value == "filled" and got.filled_qty == "0.0041"
    ((qty, _px, bar_ts, _f),) = _fills(suite.db, str(placed.id))
    assert bar_ts == "2024-03-10T07:00:00+00:00" and qty == 4_100


def test_notional_and_limit_orders_keep_exact_fractions(suite: Suite) -> None:
    eth = suite.client.get_order_by_id(suite.orders["eth"].id)
    assert eth.status.value == "filled" and eth.notional == "100.5"
    qty, avg = Decimal(eth.filled_qty), Decimal(eth.filled_avg_price)
    assert qty == qty.quantize(Decimal("0.000001")) and qty != qty.to_integral_value()
    assert qty * avg <= Decimal("100.5") < (qty + Decimal("0.000001")) * avg
    limit = suite.client.get_order_by_id(suite.orders["limit"].id)
    assert limit.status.value == "new" and limit.qty == "0.5"  # $1 is far below the market
    filled = suite.client.get_order_by_id(suite.orders["limit_fill"].id)
    assert filled.status.value == "filled" and filled.filled_qty == "0.0005"
    ((qty, px, bar_ts, _f),) = _fills(suite.db, str(filled.id))
    (open_micros,) = suite.db.fetch_one("SELECT open_micros FROM bars WHERE symbol = "
                                        "'BTC/USD' AND timeframe = '1m' AND ts = ?", (bar_ts,))
    assert bar_ts == "2024-03-09T03:00:00+00:00" and px == open_micros  # at the next open


def test_positions_and_equity_are_exact_to_the_cent(suite: Suite) -> None:
    c = suite.client
    fills = [(1, f) for k in ("btc", "limit_fill", "eth", "aapl")
             for f in _fills(suite.db, str(suite.orders[k].id))]
    fills += [(-1, f) for f in _fills(suite.db, str(suite.orders["dst"].id))]  # a sale
    # each fill books qty x price to the cent (half-even), as a broker does
    cost = sum(sign * (Decimal(q) * Decimal(p) / 10**12).quantize(Decimal("0.01"),
                                                                  ROUND_HALF_EVEN)
               + Decimal(fee) / 10**6 for sign, (q, p, _t, fee) in fills)
    assert any(Decimal(q) * Decimal(p) / 10**12 != (Decimal(q) * Decimal(p) / 10**12)
               .quantize(Decimal("0.01")) for _s, (q, p, _t, _f) in fills)  # cent fractions
    acct = c.get_account()
    assert Decimal(acct.cash) == Decimal(100_000) - cost
    positions = {p.symbol: p for p in c.get_all_positions()}
    assert positions["BTC/USD"].qty == "0.0087"  # 0.0123 + 0.0005 bought, 0.0041 sold
    assert positions["BTC/USD"].asset_class.value == "crypto"
    market = sum(Decimal(p.market_value) for p in positions.values())
    # the positions' values are exact (fractions of a cent), the account's figures in cents
    assert Decimal(acct.equity) == (Decimal(acct.cash) + market).quantize(Decimal("0.01"),
                                                                          ROUND_HALF_EVEN)
    for p in positions.values():  # market value is qty x the last close, to the cent
        last = suite.db.fetch_one("SELECT close_micros FROM bars WHERE symbol = ? AND "
                                  "timeframe = '1m' AND ts <= ? ORDER BY ts DESC LIMIT 1",
                                  (p.symbol, MON_OPEN.isoformat()))[0]
        want = (Decimal(p.qty) * Decimal(last) / 10**6).quantize(Decimal("0.01"))
        assert Decimal(p.market_value).quantize(Decimal("0.01")) == want


def test_the_equity_order_waited_for_monday(suite: Suite) -> None:
    placed = suite.orders["aapl"]
    assert placed.status.value == "accepted"  # queued: the market was closed on Saturday
    aapl = suite.client.get_order_by_id(placed.id)
    assert aapl.status.value == "filled"
    ((_q, _p, bar_ts, _f),) = _fills(suite.db, str(placed.id))
    assert bar_ts == MON_OPEN.strftime("%Y-%m-%dT%H:%M:%S+00:00")  # Monday's first bar


def test_a_crypto_round_trip_in_a_session_is_no_day_trade(suite: Suite) -> None:
    c, ctl = suite.client, suite.ctl
    placed = []
    for side in (OrderSide.BUY, OrderSide.SELL, OrderSide.BUY, OrderSide.SELL,
                 OrderSide.BUY, OrderSide.SELL, OrderSide.BUY, OrderSide.SELL):
        placed.append(c.submit_order(MarketOrderRequest(
            symbol="ETH/USD", qty=0.25, side=side, time_in_force=TimeInForce.GTC)).id)
        ctl.step()
        _catch_up(suite.feed)
        assert c.get_order_by_id(placed[-1]).status.value == "filled"
    acct = c.get_account()
    # four round trips inside Monday's session: none counted, none refused
    assert acct.daytrade_count == 0 and not acct.pattern_day_trader
    assert suite.db.fetch_one("SELECT COUNT(*) FROM pt_day_trades")[0] == 0
