"""The trading kernel: value types, fill rules, costs, accounting, risk, the PDT rule and
position sizing (``shared.trading.sizing``).

Paper trading, coordination and the backtester (``backtest``) all import it from here, so a
replay fills, costs and sizes exactly as the live suite does.  No Flask and no sqlite3 here;
a service layer feeds these functions bars and order state and writes back what they decide.
"""
from shared.trading.accounting import (
    AccountFigures,
    FillEffect,
    Position,
    account_figures,
    apply_fill,
    fill_cash,
)
from shared.trading.book import ALWAYS_TIF, TYPE_CODE, candidate_mask
from shared.trading.costs import Costs, commission, price_q, slipped
from shared.trading.fills import evaluate, limit_fill_price, stop_trigger_price
from shared.trading.pdt import PatternDayTraderRejection, check_pdt, would_day_trade
from shared.trading.risk import (
    OrderIntent,
    RiskContext,
    RiskLimits,
    RiskRejection,
    check_order,
    daily_loss_breached,
    split,
)
from shared.trading.types import (
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
