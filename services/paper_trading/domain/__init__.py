"""The broker's pure domain: value types, fill rules, costs, accounting, risk and the PDT rule.

No Flask and no sqlite3 here; the service layer feeds these functions bars and order state and
writes back what they decide.
"""
from services.paper_trading.domain.accounting import (
    AccountFigures,
    FillEffect,
    Position,
    account_figures,
    apply_fill,
    fill_cash,
)
from services.paper_trading.domain.book import ALWAYS_TIF, TYPE_CODE, candidate_mask
from services.paper_trading.domain.costs import Costs, commission, price_q, slipped
from services.paper_trading.domain.fills import evaluate, limit_fill_price, stop_trigger_price
from services.paper_trading.domain.pdt import PatternDayTraderRejection, check_pdt, would_day_trade
from services.paper_trading.domain.risk import (
    OrderIntent,
    RiskContext,
    RiskLimits,
    RiskRejection,
    check_order,
    daily_loss_breached,
    split,
)
from services.paper_trading.domain.types import (
    ACTIVE,
    FINAL,
    OPEN,
    Bar,
    Decision,
    Leg,
    OrderClass,
    OrderState,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
)

__all__ = [
    "ACTIVE", "ALWAYS_TIF", "FINAL", "OPEN", "TYPE_CODE", "AccountFigures", "Bar", "Costs",
    "Decision", "FillEffect", "Leg", "OrderClass", "OrderIntent", "OrderState", "OrderStatus",
    "OrderType", "PatternDayTraderRejection", "Position", "RiskContext", "RiskLimits",
    "RiskRejection", "Side", "TimeInForce", "account_figures", "apply_fill", "candidate_mask",
    "check_order", "check_pdt", "commission", "daily_loss_breached", "evaluate", "fill_cash",
    "limit_fill_price", "price_q", "slipped", "split", "stop_trigger_price", "would_day_trade",
]
