"""Value types of the broker: enums with Alpaca's exact strings, bars, order state, fills."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

ONE_MINUTE = timedelta(minutes=1)


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"
    TRAILING_STOP = "trailing_stop"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    OPG = "opg"
    CLS = "cls"


class OrderClass(StrEnum):
    SIMPLE = "simple"
    BRACKET = "bracket"
    OCO = "oco"
    OTO = "oto"


class OrderStatus(StrEnum):
    NEW = "new"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    EXPIRED = "expired"
    REJECTED = "rejected"
    REPLACED = "replaced"
    PENDING_CANCEL = "pending_cancel"
    HELD = "held"


#: Orders that are working on the book (evaluated against bars).
ACTIVE = frozenset({OrderStatus.NEW, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED})
#: Orders that are not final: working, or held until their parent fills.
OPEN = ACTIVE | {OrderStatus.HELD}
FINAL = frozenset(OrderStatus) - OPEN


class Leg(StrEnum):
    """The role of an order inside a bracket, OCO or OTO group."""

    ENTRY = "entry"
    TAKE_PROFIT = "take_profit"
    STOP_LOSS = "stop_loss"


@dataclass(frozen=True)
class Bar:
    """One bar; ``ts`` is its open time, it closes at ``ts + duration``."""

    ts: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: int = 0
    duration: timedelta = ONE_MINUTE

    @property
    def close_time(self) -> datetime:
        return self.ts + self.duration


@dataclass(frozen=True)
class OrderState:
    """What the fill rules need to know about one working order."""

    side: Side
    type: OrderType
    tif: TimeInForce = TimeInForce.DAY
    remaining: Decimal | None = None  # shares left; None for a notional order not yet filled
    notional: Decimal | None = None
    limit: Decimal | None = None
    stop: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    hwm: Decimal | None = None
    triggered: bool = False
    fractionable: bool = True
    first_bar: bool = True  # no bar has been evaluated for this order yet
    # opg/cls: the open time of the bar the order must fill on (session open / last bar)
    target_bar: datetime | None = None


@dataclass(frozen=True)
class Decision:
    """What one bar did to one order."""

    qty: Decimal = Decimal(0)
    price: Decimal | None = None
    triggered: bool = False
    hwm: Decimal | None = None
    stop: Decimal | None = None
    cancel_reason: str | None = None  # cancel what remains (ioc, fok, opg/cls missed...)

    @property
    def filled(self) -> bool:
        return self.qty > 0
