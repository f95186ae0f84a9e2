"""Hypothesis: random order sequences over random bars keep every accounting invariant."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal as D

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.paper_trading.service_layer.service import PaperTradingService
from shared.db import Database, migrate
from shared.errors import AppError
from shared.trading import Position
from shared.trading.schemas import OrderRequest
from tests.conftest import make_settings
from tests.services.paper_trading.helpers import OPEN, Clock, seed_bars

M = timedelta(minutes=1)


@st.composite
def bar_paths(draw: st.DrawFn) -> list[tuple[D, D, D, D, int]]:
    n = draw(st.integers(8, 20))
    price = D(draw(st.integers(2000, 20000))) / 100
    out = []
    for _ in range(n):
        o = max(D("1.00"), price + D(draw(st.integers(-300, 300))) / 100)
        c = max(D("1.00"), o + D(draw(st.integers(-300, 300))) / 100)
        h = max(o, c) + D(draw(st.integers(0, 200))) / 100
        lo = max(D("0.50"), min(o, c) - D(draw(st.integers(0, 200))) / 100)
        out.append((o, h, lo, c, draw(st.integers(0, 5000))))
        price = c
    return out


order_st = st.fixed_dictionaries({
    "side": st.sampled_from(["buy", "sell"]),
    "type": st.sampled_from(["market", "limit", "stop", "trailing_stop"]),
    "qty": st.integers(1, 40),
    "offset": st.integers(-300, 300),
    "tif": st.sampled_from(["day", "gtc", "ioc"]),
    "at": st.integers(0, 15),
})


def _request(o: dict, ref: D) -> OrderRequest:
    px = max(D("0.50"), ref + D(o["offset"]) / 100)
    kw: dict = {"symbol": "XYZ", "side": o["side"], "type": o["type"], "qty": o["qty"],
                "time_in_force": o["tif"]}
    if o["type"] == "limit":
        kw["limit_price"] = px
    elif o["type"] == "stop":
        kw["stop_price"] = px
    elif o["type"] == "trailing_stop":
        kw["trail_price"] = D(abs(o["offset"]) + 1) / 100
    return OrderRequest(**kw)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(bars=bar_paths(), orders=st.lists(order_st, min_size=1, max_size=12),
       account=st.sampled_from(["cash", "margin"]),
       cap=st.sampled_from([None, "0.05"]))
def test_invariants_hold_after_every_operation(tmp_path_factory, bars, orders, account,  # noqa: ANN001
                                               cap) -> None:  # noqa: ANN001
    tmp = tmp_path_factory.mktemp("prop")
    s = make_settings(tmp, paper_trading__account_type=account,
                      paper_trading__starting_cash="5000",
                      paper_trading__fills__volume_participation=cap,
                      paper_trading__fills__slippage_bps="5",
                      paper_trading__fills__commission_per_share="0.01")
    db = Database.from_settings(s)
    migrate(db)
    clock = Clock(OPEN + M)
    svc = PaperTradingService(s, database=db, now=clock)
    seed_bars(db, "XYZ", OPEN, bars)
    submitted: dict[str, datetime] = {}
    for o in sorted(orders, key=lambda x: x["at"]):
        clock.t = OPEN + M + o["at"] * M
        svc.process_until()
        _check(svc, db, bars, account)
        ref = bars[min(o["at"], len(bars) - 1)][3]
        try:
            rec = svc.submit_order(_request(o, ref))
            submitted[rec.id] = rec.submitted_at
        except AppError as exc:
            assert exc.http_status in (403, 422)
        _check(svc, db, bars, account)
    clock.t = OPEN + (len(bars) + 2) * M
    svc.process_until()
    _check(svc, db, bars, account)
    for f in db.fetch_all("SELECT order_id, bar_ts FROM pt_fills"):
        bar_open = datetime.fromisoformat(f["bar_ts"])
        order_time = submitted.get(f["order_id"])
        if order_time is not None:  # exit legs start after their own activation
            assert bar_open >= order_time and bar_open + M > order_time
    db.close()


def _check(svc: PaperTradingService, db: Database, bars: list, account: str) -> None:  # noqa: ANN001
    inv = svc.invariants()
    assert inv["ok"], inv
    snap = svc.account_snapshot()
    # equity = cash + sum(qty * price) to the cent, recomputed from raw rows
    total = snap.figures.cash + sum((p.position.qty * p.price for p in snap.positions), D(0))
    assert abs(snap.figures.equity - total) <= D("0.005")
    if account == "cash":
        assert snap.figures.cash >= 0
        assert all(p.position.qty > 0 for p in snap.positions)
    for row in db.fetch_all("SELECT f.price_micros, f.bar_ts FROM pt_fills f"):
        i = int((datetime.fromisoformat(row["bar_ts"]) - OPEN) / M)
        o, h, lo, c, _ = bars[i]
        assert lo <= D(row["price_micros"]) / 10**6 <= h  # only prices that traded in the bar
    _ = Position
