"""The Alpaca account routes on /v2: account configurations, watchlists, portfolio history and
account activities, each for the account of the request's key id (``g.account``).

Routes only parse and serialize; the use cases are in ``account_config``, ``watchlists``,
``portfolio_history`` and ``activities``.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from flask import Blueprint, Response, g
from pydantic import BaseModel, ConfigDict, Field

from services.paper_trading.entrypoints.alpaca_json import json_response as _json
from services.paper_trading.service_layer.account_config import ConfigPatch, get_config, set_config
from services.paper_trading.service_layer.activities import ActivityQuery, activities
from services.paper_trading.service_layer.portfolio_history import HistoryQuery, portfolio_history
from services.paper_trading.service_layer.watchlists import Watchlists
from shared.market.limits import MAX_SYMBOLS_PER_REQUEST
from shared.market.symbols import SymbolStr
from shared.web import current_service, validate
from shared.web.validation import AnyInstant, SessionDate


class WatchlistBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=64)
    symbols: list[SymbolStr] | None = Field(None, max_length=MAX_SYMBOLS_PER_REQUEST)


class WatchlistUpdate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str | None = Field(None, min_length=1, max_length=64)
    symbols: list[SymbolStr] | None = Field(None, max_length=MAX_SYMBOLS_PER_REQUEST)


class SymbolBody(BaseModel):
    model_config = ConfigDict(extra="ignore")
    symbol: SymbolStr = Field(min_length=1, max_length=21)


class NameQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    name: str = Field(min_length=1, max_length=64)


class NameSymbolQuery(NameQuery):
    symbol: SymbolStr | None = Field(None, min_length=1, max_length=21)


class HistoryParams(BaseModel):
    model_config = ConfigDict(extra="ignore")
    period: str | None = Field(None, description="number + D/W/M/A, e.g. 1M (default)")
    timeframe: Literal["1Min", "5Min", "15Min", "1H", "1D"] | None = None
    date_end: SessionDate | None = None
    start: AnyInstant | None = None
    end: AnyInstant | None = None
    extended_hours: bool = False
    intraday_reporting: Literal["market_hours", "extended_hours", "continuous"] | None = None
    pnl_reset: Literal["per_day", "no_reset"] | None = None
    cashflow_types: str | None = None


class ActivitiesParams(BaseModel):
    model_config = ConfigDict(extra="ignore")
    activity_types: str | None = Field(None, description="comma-separated, e.g. FILL,JNLC")
    category: Literal["trade_activity", "non_trade_activity"] | None = None
    date: SessionDate | AnyInstant | None = None
    until: AnyInstant | None = None
    after: AnyInstant | None = None
    direction: Literal["asc", "desc"] = "desc"
    page_size: int | None = Field(None, ge=1, le=10000)
    page_token: str | None = Field(None, max_length=80)


def _acct() -> int:
    return g.account  # type: ignore[no-any-return]


def _wl() -> Watchlists:
    return Watchlists(current_service(), _acct())


def _activities(q: ActivitiesParams, only: str | None) -> Response:
    types = {t.strip().upper() for t in (q.activity_types or "").split(",") if t.strip()}
    if only is not None:
        types = {only.upper()}
    on = q.date.date() if isinstance(q.date, datetime) else q.date
    aq = ActivityQuery(activity_types=frozenset(types) or None, category=q.category,
                       on=on if isinstance(on, date) else None, after=q.after, until=q.until,
                       direction=q.direction, page_size=q.page_size, page_token=q.page_token)
    return _json(activities(current_service(), _acct(), aq))


def account_routes(v2: Blueprint) -> None:  # noqa: C901 - one short view per route
    """Add the account configuration, watchlist, portfolio history and activity routes."""
    tags = ["alpaca"]

    # -- configurations ---------------------------------------------------------------------
    @v2.get("/account/configurations")
    @validate(summary="Alpaca: the account's configurations", tags=tags)
    def get_configurations() -> Response:
        return _json(get_config(current_service(), _acct()).json())

    @v2.patch("/account/configurations")
    @validate(body=ConfigPatch, summary="Alpaca: change the account's configurations", tags=tags)
    def patch_configurations(body: ConfigPatch) -> Response:
        return _json(set_config(current_service(), _acct(), body).json())

    # -- portfolio history and activities ----------------------------------------------------
    @v2.get("/account/portfolio/history")
    @validate(query=HistoryParams, summary="Alpaca: the account's equity over time", tags=tags)
    def history(query: HistoryParams) -> Response:
        q = HistoryQuery(**query.model_dump(exclude={"cashflow_types"}))
        return _json(portfolio_history(current_service(), _acct(), q))

    @v2.get("/account/activities")
    @validate(query=ActivitiesParams, summary="Alpaca: account activities", tags=tags)
    def account_activities(query: ActivitiesParams) -> Response:
        return _activities(query, None)

    @v2.get("/account/activities/<activity_type>")
    @validate(query=ActivitiesParams, summary="Alpaca: account activities of one type",
              tags=tags)
    def account_activities_of(activity_type: str, query: ActivitiesParams) -> Response:
        return _activities(query, activity_type)

    # -- watchlists by id ---------------------------------------------------------------------
    @v2.get("/watchlists")
    @validate(summary="Alpaca: the account's watchlists", tags=tags)
    def watchlists() -> Response:
        return _json(_wl().list())

    @v2.post("/watchlists")
    @validate(body=WatchlistBody, summary="Alpaca: create a watchlist", tags=tags)
    def create_watchlist(body: WatchlistBody) -> Response:
        return _json(_wl().create(body.name, body.symbols))

    @v2.get("/watchlists/<watchlist_id>")
    @validate(summary="Alpaca: one watchlist", tags=tags)
    def get_watchlist(watchlist_id: str) -> Response:
        return _json(_wl().get(wid=watchlist_id))

    @v2.put("/watchlists/<watchlist_id>")
    @validate(body=WatchlistUpdate, summary="Alpaca: rename / replace a watchlist", tags=tags)
    def update_watchlist(watchlist_id: str, body: WatchlistUpdate) -> Response:
        return _json(_wl().update(wid=watchlist_id, new_name=body.name, symbols=body.symbols))

    @v2.post("/watchlists/<watchlist_id>")
    @validate(body=SymbolBody, summary="Alpaca: add an asset to a watchlist", tags=tags)
    def add_to_watchlist(watchlist_id: str, body: SymbolBody) -> Response:
        return _json(_wl().add(body.symbol, wid=watchlist_id))

    @v2.delete("/watchlists/<watchlist_id>")
    @validate(summary="Alpaca: delete a watchlist", tags=tags)
    def delete_watchlist(watchlist_id: str) -> Response:
        _wl().delete(wid=watchlist_id)
        return Response(status=204)

    @v2.delete("/watchlists/<watchlist_id>/<path:symbol>")
    @validate(summary="Alpaca: remove an asset from a watchlist", tags=tags)
    def remove_from_watchlist(watchlist_id: str, symbol: str) -> Response:
        return _json(_wl().remove(symbol, wid=watchlist_id))

    # -- watchlists by name (Alpaca's /v2/watchlists:by_name) ---------------------------------
    @v2.get("/watchlists:by_name")
    @validate(query=NameQuery, summary="Alpaca: one watchlist by name", tags=tags)
    def get_watchlist_by_name(query: NameQuery) -> Response:
        return _json(_wl().get(name=query.name))

    @v2.put("/watchlists:by_name")
    @validate(query=NameQuery, body=WatchlistUpdate,
              summary="Alpaca: rename / replace a watchlist by name", tags=tags)
    def update_watchlist_by_name(query: NameQuery, body: WatchlistUpdate) -> Response:
        return _json(_wl().update(name=query.name, new_name=body.name, symbols=body.symbols))

    @v2.post("/watchlists:by_name")
    @validate(query=NameQuery, body=SymbolBody,
              summary="Alpaca: add an asset to a watchlist by name", tags=tags)
    def add_to_watchlist_by_name(query: NameQuery, body: SymbolBody) -> Response:
        return _json(_wl().add(body.symbol, name=query.name))

    @v2.delete("/watchlists:by_name")
    @validate(query=NameSymbolQuery,
              summary="Alpaca: delete a watchlist (or, with symbol, remove an asset) by name",
              tags=tags)
    def delete_watchlist_by_name(query: NameSymbolQuery) -> Response:
        if query.symbol:
            return _json(_wl().remove(query.symbol, name=query.name))
        _wl().delete(name=query.name)
        return Response(status=204)


__all__ = ["account_routes"]
