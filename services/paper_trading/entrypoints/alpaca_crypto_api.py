"""The Alpaca-compatible crypto market-data routes under /v1beta3/crypto/<feed> (bars, latest
bars, trades, quotes and order books, historical trades and quotes, snapshots), as alpaca-py's
``CryptoHistoricalDataClient`` calls them: answers keyed by the pair ("BTC/USD"), sizes in
coins (fractional), bars on UTC boundaries (a day is the UTC day).

Read-only over the market owner's tables, like the /v2/stocks routes, with their validation:
a 400 naming the field, 404 for a pair the market does not have, and a 400 for a symbol that
is not a crypto pair (the stock routes serve those).
"""
from __future__ import annotations

from flask import Blueprint, Response
from pydantic import BaseModel, ConfigDict, Field

from services.paper_trading.adapters import marketdata
from services.paper_trading.adapters.marketdata_crypto import orderbooks
from services.paper_trading.entrypoints.alpaca_data_api import BarsQuery, TicksQuery
from services.paper_trading.entrypoints.alpaca_json import json_response as _json
from shared.errors import NotFound, ValidationError
from shared.market.limits import require_symbols, symbol_list
from shared.market.symbols import classify
from shared.web import current_service, validate

#: alpaca-py's ``CryptoFeed`` values (the only one is "us")
FEEDS = ("us",)


class SymbolsQuery(BaseModel):
    """The latest-data routes' query: comma-separated pairs."""

    model_config = ConfigDict(extra="ignore")
    symbols: str = Field(min_length=1, description="crypto pairs, e.g. BTC/USD,ETH/USD")


def _pairs(text: str | None, feed: str) -> list[str]:
    """Return the requested crypto pairs after checking the feed and each pair.

    Raises:
        NotFound: a feed other than ``FEEDS`` (404), a pair the market does not have.
        ValidationError: no symbol, or one that is not a crypto pair (400).
    """
    if feed not in FEEDS:
        raise NotFound(f"crypto feed {feed!r} not found; use {', '.join(FEEDS)}", field="feed")
    syms = symbol_list(text)
    if not syms:
        raise ValidationError("symbols is required, e.g. symbols=BTC/USD,ETH/USD",
                              field="symbols")
    for sym in syms:
        if classify(sym).value != "crypto":
            raise ValidationError(f"symbols: {sym} is not a crypto pair; type a pair such as "
                                  "BTC/USD (stocks are under /v2/stocks)", field="symbols")
    return require_symbols(current_service().db, syms)


def crypto_blueprint() -> Blueprint:
    """Return the /v1beta3 blueprint."""
    bp = Blueprint("alpaca_v1beta3", __name__, url_prefix="/v1beta3/crypto/<feed>")

    @bp.before_request
    def _process() -> None:
        current_service().maybe_process()

    @bp.get("/bars")
    @validate(query=BarsQuery, summary="Alpaca: historical crypto bars", tags=["alpaca"])
    def bars(feed: str, query: BarsQuery) -> Response:
        svc = current_service()
        return _json(marketdata.stock_bars(svc.db, svc.cal, svc.now(),
                                           _pairs(query.symbols, feed), query.timeframe,
                                           query.start, query.end, query.limit,
                                           query.page_token, query.sort))

    @bp.get("/latest/bars")
    @validate(query=SymbolsQuery, summary="Alpaca: latest crypto minute bars", tags=["alpaca"])
    def latest_bars(feed: str, query: SymbolsQuery) -> Response:
        svc = current_service()
        return _json(marketdata.latest_bars(svc.db, svc.now(),
                                            _pairs(query.symbols, feed)))

    @bp.get("/latest/trades")
    @validate(query=SymbolsQuery, summary="Alpaca: latest crypto trades", tags=["alpaca"])
    def latest_trades(feed: str, query: SymbolsQuery) -> Response:
        svc = current_service()
        return _json(marketdata.latest(svc.db, svc.now(),
                                       _pairs(query.symbols, feed), "trades",
                                       crypto=True))

    @bp.get("/latest/quotes")
    @validate(query=SymbolsQuery, summary="Alpaca: latest crypto quotes", tags=["alpaca"])
    def latest_quotes(feed: str, query: SymbolsQuery) -> Response:
        svc = current_service()
        return _json(marketdata.latest(svc.db, svc.now(),
                                       _pairs(query.symbols, feed), "quotes",
                                       crypto=True))

    @bp.get("/latest/orderbooks")
    @validate(query=SymbolsQuery, summary="Alpaca: latest crypto order books", tags=["alpaca"])
    def latest_orderbooks(feed: str, query: SymbolsQuery) -> Response:
        svc = current_service()
        return _json(orderbooks(svc.db, svc.now(), _pairs(query.symbols, feed)))

    @bp.get("/snapshots")
    @validate(query=SymbolsQuery, summary="Alpaca: crypto snapshots", tags=["alpaca"])
    def snapshots(feed: str, query: SymbolsQuery) -> Response:
        svc = current_service()
        return _json({"snapshots": marketdata.snapshots(
            svc.db, svc.cal, svc.now(), _pairs(query.symbols, feed),
            crypto=True)})

    @bp.get("/trades")
    @validate(query=TicksQuery, summary="Alpaca: historical crypto trades", tags=["alpaca"])
    def trades(feed: str, query: TicksQuery) -> Response:
        return _ticks(feed, query, "trades")

    @bp.get("/quotes")
    @validate(query=TicksQuery, summary="Alpaca: historical crypto quotes", tags=["alpaca"])
    def quotes(feed: str, query: TicksQuery) -> Response:
        return _ticks(feed, query, "quotes")

    return bp


def _ticks(feed: str, query: TicksQuery, kind: str) -> Response:
    svc = current_service()
    return _json(marketdata.ticks(svc.db, svc.now(), _pairs(query.symbols, feed), kind,
                                  query.start, query.end, query.limit, query.page_token,
                                  query.sort, crypto=True))


__all__ = ["FEEDS", "SymbolsQuery", "crypto_blueprint"]
