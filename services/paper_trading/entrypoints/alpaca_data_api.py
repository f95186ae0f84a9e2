"""The Alpaca-compatible market-data routes: /v2/stocks (bars at every Alpaca timeframe, the
latest bars, trades and quotes, historical trades and quotes, snapshots) and /v1beta1/news, as
alpaca-py's ``StockHistoricalDataClient`` and ``NewsClient`` call them.

Read-only over the market owner's tables (``bars``, ``symbols``, ``news``).
"""
from __future__ import annotations

from typing import Literal

from flask import Blueprint, Response, request
from pydantic import BaseModel, ConfigDict, Field

from services.paper_trading.adapters import marketdata
from services.paper_trading.entrypoints.alpaca_json import json_response as _json
from shared.errors import ValidationError
from shared.market.limits import require_symbols, symbol_list
from shared.web import current_service, validate


class BarsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    symbols: str = Field(min_length=1)
    timeframe: str = "1Day"
    start: str | None = None
    end: str | None = None
    limit: int = Field(1000, ge=1, le=10000)
    page_token: str | None = None
    sort: Literal["asc", "desc"] = "asc"


class TicksQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    symbols: str = Field(min_length=1)
    start: str | None = None
    end: str | None = None
    limit: int = Field(1000, ge=1, le=10000)
    page_token: str | None = None
    sort: Literal["asc", "desc"] = "asc"


class NewsQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    symbols: str | None = None
    start: str | None = None
    end: str | None = None
    limit: int = Field(10, ge=1, le=50)
    sort: Literal["asc", "desc"] = "desc"
    include_content: bool = False
    exclude_contentless: bool = False
    page_token: str | None = None


def _symbols(text: str | None) -> list[str]:
    return symbol_list(text)


def _known(text: str | None) -> list[str]:
    """Return the requested symbols after checking each is in the market.

    Raises:
        ValidationError: no symbol given (400).
        NotFound: a symbol the market does not have (404).
    """
    syms = _symbols(text)
    if not syms:
        raise ValidationError("symbols is required, e.g. symbols=AAPL,MSFT", field="symbols")
    return require_symbols(current_service().db, syms)


def _ticks(query: TicksQuery, kind: str) -> Response:
    svc = current_service()
    return _json(marketdata.ticks(svc.db, svc.now(), _known(query.symbols), kind, query.start,
                                  query.end, query.limit, query.page_token, query.sort))


def data_blueprints(v2: Blueprint, v1b: Blueprint) -> list[Blueprint]:
    """Add the market-data routes to the /v2 and /v1beta1 blueprints; return /v1beta1."""
    _svc = current_service

    # -- market data ------------------------------------------------------------------------
    @v2.get("/stocks/bars")
    @validate(query=BarsQuery, summary="Alpaca: historical bars", tags=["alpaca"])
    def bars(query: BarsQuery) -> Response:
        svc = _svc()
        return _json(marketdata.stock_bars(svc.db, svc.cal, svc.now(), _known(query.symbols),
                                           query.timeframe, query.start, query.end, query.limit,
                                           query.page_token, query.sort))

    @v2.get("/stocks/bars/latest")
    @validate(summary="Alpaca: latest minute bars", tags=["alpaca"])
    def latest_bars() -> Response:
        svc = _svc()
        return _json(marketdata.latest_bars(svc.db, svc.now(),
                                            _known(request.args.get("symbols"))))

    @v2.get("/stocks/snapshots")
    @validate(summary="Alpaca: snapshots", tags=["alpaca"])
    def snapshots() -> Response:
        svc = _svc()
        return _json(marketdata.snapshots(svc.db, svc.cal, svc.now(),
                                          _known(request.args.get("symbols"))))

    @v2.get("/stocks/trades")
    @validate(query=TicksQuery, summary="Alpaca: historical trades", tags=["alpaca"])
    def trades(query: TicksQuery) -> Response:
        return _ticks(query, "trades")

    @v2.get("/stocks/quotes")
    @validate(query=TicksQuery, summary="Alpaca: historical quotes", tags=["alpaca"])
    def quotes(query: TicksQuery) -> Response:
        return _ticks(query, "quotes")

    @v2.get("/stocks/trades/latest")
    @validate(summary="Alpaca: latest trades", tags=["alpaca"])
    def latest_trades() -> Response:
        svc = _svc()
        return _json(marketdata.latest(svc.db, svc.now(), _known(request.args.get("symbols")),
                                       "trades"))

    @v2.get("/stocks/quotes/latest")
    @validate(summary="Alpaca: latest quotes", tags=["alpaca"])
    def latest_quotes() -> Response:
        svc = _svc()
        return _json(marketdata.latest(svc.db, svc.now(), _known(request.args.get("symbols")),
                                       "quotes"))

    @v1b.get("/news")
    @validate(query=NewsQuery, summary="Alpaca: news", tags=["alpaca"])
    def news(query: NewsQuery) -> Response:
        svc = _svc()
        return _json(marketdata.news(svc.db, svc.now(), _symbols(query.symbols) or None,
                                     query.start, query.end, query.limit, query.sort,
                                     query.include_content, query.page_token,
                                     query.exclude_contentless))

    return [v1b]


__all__ = ["data_blueprints"]
