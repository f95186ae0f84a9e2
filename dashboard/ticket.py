"""The order ticket's figures: the symbol's quote, the estimated cost and buying power after,
and whether the order is big enough to ask for a confirmation.

Every figure is paper trading's, read over HTTP (``/v2/stocks/snapshots``, ``/api/v1/account``,
``/api/v1/positions``) and combined in ``Decimal``.  The estimate prices an order the way
paper trading's intake reserves buying power for it (``service_layer/intake.py``): a buy limit
or stop-limit at its limit price (a stop-limit at least the last price), every other order at
the last one-minute close; only the shares that open or add to a position take buying power,
so "buying power after" is what the account shows once the order is working.

The ticket's hold on the market clock (pause while a person edits, replay only) lives here
too: ``ClockHold`` pauses through coordination and resumes once the page releases it or stops
renewing it, so a closed tab never leaves the clock paused.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.money import D, money_str
from shared.market.symbols import SymbolStr

log = logging.getLogger("dashboard.ticket")


class TicketQuery(BaseModel):
    """What the ticket holds; every field but the symbol is optional while it is typed."""

    model_config = ConfigDict(extra="forbid")
    symbol: SymbolStr = Field(..., max_length=21, description="ticker, e.g. AAPL")
    account: str | None = Field(None, min_length=1, max_length=128,
                                description="paper account id or name (default: the automation's)")
    side: Literal["buy", "sell"] = "buy"
    type: Literal["market", "limit", "stop", "stop_limit", "trailing_stop"] = "market"
    qty: Decimal | None = Field(None, gt=0, le=Decimal("1e9"), description="shares, e.g. 10")
    notional: Decimal | None = Field(None, gt=0, le=Decimal("1e12"), description="dollars")
    limit_price: Decimal | None = Field(None, gt=0, le=Decimal("1e9"))
    stop_price: Decimal | None = Field(None, gt=0, le=Decimal("1e9"))


def _dec(v: Any) -> Decimal | None:
    return None if v is None else D(v)


def _s(v: Decimal | None) -> str | None:
    return None if v is None else money_str(v)


def parse_quote(symbol: str, snapshots: dict[str, Any]) -> dict[str, Any]:
    """Return ``{symbol, bid, ask, last, as_of}`` (Decimals) from Alpaca's snapshots body.

    ``last`` is the last closed one-minute bar's close: the price paper trading fills and
    reserves against (its tape's last trade prints the same close).
    """
    snap = snapshots.get(symbol) or {}
    quote = snap.get("latestQuote") or {}
    trade = snap.get("latestTrade") or {}
    bar = snap.get("minuteBar") or {}
    last = _dec(bar.get("c")) if bar else _dec(trade.get("p"))
    return {"symbol": symbol, "bid": _dec(quote.get("bp")), "ask": _dec(quote.get("ap")),
            "last": last, "as_of": bar.get("t") or trade.get("t") or quote.get("t")}


def reserve_price(q: TicketQuery, last: Decimal | None) -> tuple[Decimal | None, str]:
    """Return the per-share price paper trading reserves for ``q`` and what it is.

    Mirrors intake: a buy limit / stop-limit at its limit (a stop-limit at least ``last``),
    everything else at ``last`` (a stop or limit price when there is no last price yet).
    """
    ref = last if last is not None else (q.limit_price or q.stop_price)
    if q.side == "buy" and q.type in ("limit", "stop_limit") and q.limit_price is not None:
        if q.type == "stop_limit" and ref is not None and ref > q.limit_price:
            return ref, "last price"
        return q.limit_price, "limit price"
    return ref, "last price" if last is not None else "order price"


def estimate(q: TicketQuery, quote: dict[str, Any], account: dict[str, Any],
             position_qty: Decimal, confirm_above: Decimal) -> dict[str, Any]:
    """Return the ticket's estimate: price, cost, buying power and after, the confirmation.

    ``cost`` is qty x price (the notional for a notional order); ``buying_power_after`` takes
    off only the opening shares' part (closing shares reserve nothing, as in intake).
    """
    price, basis = reserve_price(q, quote.get("last"))
    buying_power = D(account.get("buying_power") or 0)
    qty = q.qty  # a notional order's shares depend on its fill: its cost is the notional
    signed = (qty or Decimal(0)) * (1 if q.side == "buy" else -1)
    if position_qty == 0 or (position_qty > 0) == (signed > 0):
        closing, opening = Decimal(0), abs(signed)
    else:
        closing = min(abs(signed), abs(position_qty))
        opening = abs(signed) - closing
    if q.notional is not None and q.qty is None:
        cost: Decimal | None = q.notional
        reserve = q.notional
    elif qty is None or price is None:
        cost = reserve = None
    else:
        cost = qty * price
        reserve = opening * price
    after = None if reserve is None else buying_power - reserve
    return {
        "symbol": q.symbol, "side": q.side, "type": q.type, "qty": _s(qty),
        "price": _s(price), "price_basis": basis, "cost": _s(cost),
        "opening_qty": _s(opening), "closing_qty": _s(closing),
        "buying_power": _s(buying_power), "buying_power_after": _s(after),
        "exceeds_buying_power": after is not None and after < 0,
        "confirm_above": _s(confirm_above),
        "needs_confirmation": cost is not None and cost > confirm_above,
        "quote": {k: (_s(v) if isinstance(v, Decimal) else v) for k, v in quote.items()},
    }


def position_qty(positions: list[dict[str, Any]] | None, symbol: str) -> Decimal:
    """Return the signed quantity of ``symbol`` in paper trading's positions (0: none)."""
    for p in positions or []:
        if p.get("symbol") == symbol:
            return D(p.get("qty") or 0)
    return Decimal(0)


def read_json(resp: Any) -> Any:
    """Return a response body with every JSON number as ``Decimal`` (never a float)."""
    return json.loads(resp.content or b"null", parse_float=Decimal)


class ClockHold:
    """Pause the market clock for the ticket while someone edits; resume when released or
    when the page stops renewing the hold (a closed tab, a crash): ``ttl_s`` after the last
    renewal a watcher thread resumes.

    Only a clock this hold paused is resumed; a clock paused by someone else is left alone.
    One hold per dashboard process (the dashboard runs one worker).
    """

    def __init__(self, pause: Callable[[], Any], resume: Callable[[], Any],
                 clock: Callable[[], dict[str, Any]], ttl_s: float) -> None:
        self._pause, self._resume, self._clock = pause, resume, clock
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._expires: float | None = None  # monotonic deadline while we hold a pause
        self._thread: threading.Thread | None = None

    _made = threading.Lock()

    @classmethod
    def of(cls, store: dict[str, Any], make: Callable[[], ClockHold]) -> ClockHold:
        """Return the hold kept in ``store`` (an app's extensions), made once by ``make``."""
        with cls._made:
            if "ticket_hold" not in store:
                store["ticket_hold"] = make()
            return store["ticket_hold"]  # type: ignore[no-any-return]

    def hold(self) -> dict[str, Any]:
        """Pause the clock (a running replay only) or renew our pause; return the state."""
        with self._lock:
            if self._expires is not None:
                self._expires = time.monotonic() + self.ttl_s
                return self._state(True, "renewed")
            clock = self._clock()
            if clock.get("mode") != "replay":
                return self._state(False, "the clock is live: only a replay can be paused")
            if clock.get("paused"):
                return self._state(False, "the clock is already paused")
            self._pause()
            self._expires = time.monotonic() + self.ttl_s
            self._watch()
            return self._state(True, "paused")

    def release(self) -> dict[str, Any]:
        """Resume the clock if this hold paused it; return the state."""
        with self._lock:
            if self._expires is None:
                return self._state(False, "no hold")
            self._expires = None
            self._resume()
            return self._state(False, "resumed")

    def status(self) -> dict[str, Any]:
        with self._lock:
            return self._state(self._expires is not None, "held" if self._expires else "no hold")

    def _state(self, held: bool, what: str) -> dict[str, Any]:
        left = None if self._expires is None else max(0.0, self._expires - time.monotonic())
        return {"held": held, "result": what, "ttl_s": self.ttl_s,
                "expires_in_s": None if left is None else round(left, 1)}

    def _watch(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._thread = threading.Thread(target=self._run, name="ticket-clock-hold", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(0.25)
            with self._lock:
                if self._expires is None:
                    self._thread = None
                    return
                if time.monotonic() < self._expires:
                    continue
                self._expires = None
                try:
                    self._resume()
                    log.info("ticket hold lapsed: clock resumed")
                except Exception:  # noqa: BLE001 - retried below: the clock must not stay paused
                    log.warning("ticket hold lapsed but resume failed; retrying", exc_info=True)
                    self._expires = time.monotonic() + 1.0
                    continue
                self._thread = None
                return


def ticket_figures(backend: Any, q: TicketQuery) -> dict[str, Any]:
    """Read the quote, the account and its positions from paper trading; return ``estimate``.

    A symbol without market data, an unknown account or a down paper trading are states the
    ticket shows while it polls (as the dashboard's other reads do), not errors:
    ``{"available": False, "message", "down"?}``.
    """
    from shared.errors import AppError, ServiceUnavailable

    try:
        return _figures(backend, q)
    except ServiceUnavailable as exc:
        return {"available": False, "down": True,
                "message": f"paper trading is down: {exc.message}"}
    except AppError as exc:
        if exc.http_status != 404:
            raise
        return {"available": False, "message": exc.message}


def _figures(backend: Any, q: TicketQuery) -> dict[str, Any]:
    from shared.errors import AppError, NotFound

    client = backend.client("paper_trading")
    symbol = q.symbol.upper()
    key = backend.settings.security.api_key
    # the market-data routes are Alpaca's: the suite's key goes in Alpaca's secret header
    headers = {"APCA-API-SECRET-KEY": key.get_secret_value()} if key else {}
    resp = client.request_raw("GET", "/v2/stocks/snapshots", params={"symbols": symbol},
                              headers=headers)
    if resp.status_code == 404:
        raise NotFound(f"no market data for {symbol}: type a symbol of the universe",
                       field="symbol")
    if resp.status_code >= 400:
        raise AppError(f"paper trading answered {resp.status_code} for {symbol}'s quote",
                       code="upstream_error")
    quote = parse_quote(symbol, read_json(resp) or {})
    params = {"account": q.account} if q.account else None
    account = client.request("GET", "/api/v1/account", params=params)
    positions = client.request("GET", "/api/v1/positions", params=params)
    confirm = backend.settings.dashboard.confirm_notional_above
    return estimate(q.model_copy(update={"symbol": symbol}), quote, account,
                    position_qty(positions, symbol), confirm)
