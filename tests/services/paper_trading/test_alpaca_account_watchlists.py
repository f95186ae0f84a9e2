"""Watchlists through the unmodified alpaca-py SDK: every route, isolation between key ids,
and the errors Alpaca answers."""
from __future__ import annotations

import uuid
import warnings

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.common.exceptions import APIError
    from alpaca.trading.client import TradingClient
    from alpaca.trading.models import Watchlist
    from alpaca.trading.requests import CreateWatchlistRequest, UpdateWatchlistRequest

from tests.services.paper_trading.alpaca_account_helpers import BARS, trading_client
from tests.services.paper_trading.helpers import OPEN, seed_bars


@pytest.fixture
def tc(live_url: str, db) -> TradingClient:  # noqa: ANN001
    for sym in ("AAPL", "MSFT", "NVDA"):
        seed_bars(db, sym, OPEN, BARS[:3])
    return trading_client(live_url)


def _syms(w: Watchlist) -> list[str]:
    return [a.symbol for a in w.assets or []]


def test_watchlist_round_trip(tc: TradingClient) -> None:
    w = tc.create_watchlist(CreateWatchlistRequest(name="tech", symbols=["AAPL", "msft"]))
    assert w.name == "tech" and _syms(w) == ["AAPL", "MSFT"]
    assert w.account_id == tc.get_account().id
    assert w.assets[0].exchange.value == "NASDAQ" and w.assets[0].tradable
    listed = tc.get_watchlists()
    assert [x.id for x in listed] == [w.id]
    assert _syms(tc.get_watchlist_by_id(w.id)) == ["AAPL", "MSFT"]
    w2 = tc.update_watchlist_by_id(w.id, UpdateWatchlistRequest(name="chips", symbols=["NVDA"]))
    assert (w2.name, _syms(w2)) == ("chips", ["NVDA"])
    assert w2.created_at == w.created_at
    w3 = tc.add_asset_to_watchlist_by_id(w.id, "AAPL")
    assert _syms(w3) == ["NVDA", "AAPL"]
    w4 = tc.remove_asset_from_watchlist_by_id(w.id, "NVDA")
    assert _syms(w4) == ["AAPL"]
    w5 = tc.update_watchlist_by_id(w.id, UpdateWatchlistRequest(name="renamed"))
    assert (w5.name, _syms(w5)) == ("renamed", ["AAPL"])
    assert tc.delete_watchlist_by_id(w.id) is None
    assert tc.get_watchlists() == []
    with pytest.raises(APIError) as e:
        tc.get_watchlist_by_id(w.id)
    assert e.value.status_code == 404 and e.value.code == 40410000


def test_watchlists_by_name(tc: TradingClient) -> None:
    tc.create_watchlist(CreateWatchlistRequest(name="mine", symbols=[]))
    got = Watchlist(**tc.get("/watchlists:by_name", {"name": "mine"}))
    assert got.assets == []
    got = Watchlist(**tc.post("/watchlists:by_name?name=mine", {"symbol": "AAPL"}))
    assert _syms(got) == ["AAPL"]
    got = Watchlist(**tc.put("/watchlists:by_name?name=mine", {"symbols": ["MSFT", "NVDA"]}))
    assert _syms(got) == ["MSFT", "NVDA"]
    got = Watchlist(**tc.delete("/watchlists:by_name", {"name": "mine", "symbol": "MSFT"}))
    assert _syms(got) == ["NVDA"]
    tc.delete("/watchlists:by_name", {"name": "mine"})
    with pytest.raises(APIError) as e:
        tc.get("/watchlists:by_name", {"name": "mine"})
    assert e.value.status_code == 404


def test_key_ids_do_not_see_each_others_watchlists(tc: TradingClient, live_url: str) -> None:
    w = tc.create_watchlist(CreateWatchlistRequest(name="tech", symbols=["AAPL"]))
    other = trading_client(live_url, "other")
    assert other.get_watchlists() == []
    for call in (lambda: other.get_watchlist_by_id(w.id),
                 lambda: other.add_asset_to_watchlist_by_id(w.id, "MSFT"),
                 lambda: other.delete_watchlist_by_id(w.id)):
        with pytest.raises(APIError) as e:
            call()
        assert e.value.status_code == 404
    # the same name is free in another account
    assert other.create_watchlist(CreateWatchlistRequest(name="tech", symbols=[])).id != w.id
    assert _syms(tc.get_watchlist_by_id(w.id)) == ["AAPL"]


def test_watchlist_errors(tc: TradingClient) -> None:
    w = tc.create_watchlist(CreateWatchlistRequest(name="tech", symbols=["AAPL"]))
    cases = [
        (lambda: tc.create_watchlist(CreateWatchlistRequest(name="x", symbols=["NOPE"])), 422),
        (lambda: tc.create_watchlist(CreateWatchlistRequest(name="tech", symbols=[])), 422),
        (lambda: tc.add_asset_to_watchlist_by_id(w.id, "AAPL"), 422),
        (lambda: tc.add_asset_to_watchlist_by_id(w.id, "NOPE"), 422),
        (lambda: tc.remove_asset_from_watchlist_by_id(w.id, "MSFT"), 404),
        (lambda: tc.get_watchlist_by_id(uuid.uuid4()), 404),
        (lambda: tc.post("/watchlists", {"symbols": ["AAPL"]}), 400),
        (lambda: tc.post("/watchlists", {"name": "x" * 65, "symbols": []}), 400),
        (lambda: tc.post("/watchlists", {"name": "bad", "symbols": ["AA PL"]}), 400),
        (lambda: tc.put(f"/watchlists/{w.id}", {}), 400),
    ]
    for call, status in cases:
        with pytest.raises(APIError) as e:
            call()
        assert e.value.status_code == status, e.value
        assert isinstance(e.value.code, int) and e.value.message
    assert _syms(tc.get_watchlist_by_id(w.id)) == ["AAPL"]
