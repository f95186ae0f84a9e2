"""Request models shared by the /api/v1 and the Alpaca-compatible /v2 routes."""
from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.market.symbols import symbol_field

Price = Decimal


class TakeProfit(BaseModel):
    limit_price: Decimal = Field(gt=0)


class StopLoss(BaseModel):
    stop_price: Decimal = Field(gt=0)
    limit_price: Decimal | None = Field(None, gt=0)


class OrderRequest(BaseModel):
    """An order as Alpaca's POST /v2/orders takes it (numbers or numeric strings)."""

    model_config = ConfigDict(extra="ignore")

    symbol: str = Field(min_length=1, max_length=20)
    side: Literal["buy", "sell"]
    type: Literal["market", "limit", "stop", "stop_limit", "trailing_stop"] = "market"
    time_in_force: Literal["day", "gtc", "ioc", "fok", "opg", "cls"] = "day"
    order_class: Literal["simple", "bracket", "oco", "oto", ""] = "simple"
    # qty and notional of 0 or less are Alpaca's 422 (``alpaca_rules``), not a schema 400
    qty: Decimal | None = Field(None, le=Decimal("1e9"))
    notional: Decimal | None = Field(None, le=Decimal("1e10"))
    limit_price: Decimal | None = Field(None, gt=0, le=Decimal("1e7"))
    stop_price: Decimal | None = Field(None, gt=0, le=Decimal("1e7"))
    trail_price: Decimal | None = Field(None, gt=0, le=Decimal("1e7"))
    trail_percent: Decimal | None = Field(None, gt=0, lt=100)
    extended_hours: bool = False
    client_order_id: str | None = Field(None, min_length=1, max_length=128)
    take_profit: TakeProfit | None = None
    stop_loss: StopLoss | None = None
    position_intent: Literal["buy_to_open", "buy_to_close", "sell_to_open",
                             "sell_to_close"] | None = None

    @field_validator("symbol")
    @classmethod
    def _upper(cls, v: str) -> str:
        # the grammar of Alpaca's symbols (``SymbolStr``); whether the market has it is the
        # intake's 422 "asset not found"
        return symbol_field(v)

    @model_validator(mode="after")
    def _consistent(self) -> OrderRequest:
        if (self.order_class == "oco" and self.limit_price is None
                and self.take_profit is not None):
            # alpaca-py's OCO shape: the exit limit is the take-profit's (no top-level price)
            self.limit_price = self.take_profit.limit_price
        if (self.qty is None) == (self.notional is None):
            raise ValueError("give exactly one of qty or notional")
        if self.notional is not None and self.type != "market":
            raise ValueError("notional orders must be market orders")
        if self.type in ("limit", "stop_limit") and self.limit_price is None:
            raise ValueError(f"limit_price is required for {self.type} orders")
        if self.type in ("stop", "stop_limit") and self.stop_price is None:
            raise ValueError(f"stop_price is required for {self.type} orders")
        if self.type == "trailing_stop" and (self.trail_price is None) == (self.trail_percent is None):
            raise ValueError("trailing_stop orders need exactly one of trail_price or trail_percent")
        if self.type in ("market", "stop", "trailing_stop") and self.limit_price is not None:
            raise ValueError(f"limit_price does not apply to {self.type} orders")
        if self.type in ("market", "limit", "trailing_stop") and self.stop_price is not None:
            raise ValueError(f"stop_price does not apply to {self.type} orders")
        if self.time_in_force in ("opg", "cls") and self.type not in ("market", "limit"):
            raise ValueError("opg and cls orders must be market or limit orders")
        cls_ = self.order_class or "simple"
        if cls_ in ("bracket", "oco") and (self.take_profit is None or self.stop_loss is None):
            raise ValueError(f"{cls_} orders need take_profit and stop_loss")
        if cls_ == "oto" and (self.take_profit is None) == (self.stop_loss is None):
            raise ValueError("oto orders need exactly one of take_profit or stop_loss")
        if cls_ == "oco" and self.type != "limit":
            raise ValueError("oco orders must be limit orders (the take-profit leg)")
        if cls_ != "simple" and self.notional is not None:
            raise ValueError(f"{cls_} orders need qty, not notional")
        return self


class ReplaceRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # stored as micro-units with CHECK (qty_micros > 0): a qty under one micro-share would
    # round to 0 there, so more than 6 places is a 400 here
    qty: Decimal | None = Field(None, gt=0, le=Decimal("1e9"), decimal_places=6)
    time_in_force: Literal["day", "gtc", "ioc", "fok", "opg", "cls"] | None = None
    limit_price: Decimal | None = Field(None, gt=0, le=Decimal("1e7"))
    stop_price: Decimal | None = Field(None, gt=0, le=Decimal("1e7"))
    trail: Decimal | None = Field(None, gt=0, le=Decimal("1e7"))
    client_order_id: str | None = Field(None, min_length=1, max_length=128)
