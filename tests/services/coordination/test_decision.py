"""The decision engine, sizing and clock exits (pure)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from services.coordination.domain import (
    SessionWindow,
    SymbolView,
    blend,
    decide,
    entries_allowed,
    exit_reason,
    size_entry,
    stop_price,
)
from services.coordination.domain.decision import candle_score, pattern_score
from shared.config_sections.coordination import Sizing, Strategy

RULES = Strategy()
W = RULES.weights.model_dump()


def test_blend_renormalises_without_failed_sources() -> None:
    full, _ = blend(SymbolView("A", technical=0.5, patterns=1.0, candles=0.0, news=0.0), W)
    assert full == pytest.approx((0.6 * 0.5 + 0.2 * 1.0) / 1.0)
    partial, parts = blend(SymbolView("A", technical=0.5, patterns=1.0), W)
    assert partial == pytest.approx((0.6 * 0.5 + 0.2) / 0.8)
    assert set(parts) == {"technical", "patterns"}
    assert blend(SymbolView("A"), W) == (0.0, {})


def test_entries_and_blocking_rules() -> None:
    up = SymbolView("A", technical=1.0, patterns=1.0, candles=1.0, news=0.0)
    assert decide(up, RULES).action == "enter_long"
    bad_news = SymbolView("A", technical=1.0, patterns=1.0, candles=1.0, news=-0.9)
    i = decide(bad_news, RULES)
    assert (i.action, i.blocked_by) == ("hold", "negative_news")
    down = SymbolView("A", technical=-1.0, patterns=-1.0, candles=-1.0, news=0.0)
    assert decide(down, RULES).action == "enter_short"
    no_short = RULES.model_copy(update={"allow_short": False})
    assert decide(down, no_short).blocked_by == "shorting_disabled"
    assert decide(up, RULES, entries_open=False).blocked_by == "entry_window_closed"
    assert decide(up, RULES, open_positions=5).blocked_by == "max_positions"
    weak = SymbolView("A", technical=0.1)
    assert decide(weak, RULES).action == "hold"


def test_exits_on_opposite_blend() -> None:
    v = SymbolView("A", technical=-0.5, position_qty=10)
    assert decide(v, RULES).action == "exit"
    assert decide(SymbolView("A", technical=0.5, position_qty=10), RULES).action == "hold"
    assert decide(SymbolView("A", technical=0.5, position_qty=-10), RULES).action == "exit"


def test_pattern_and_candle_scores() -> None:
    dets = [{"status": "active", "direction": "bullish", "confidence": 0.8},
            {"status": "confirmed", "direction": "bearish", "confidence": 0.4},
            {"status": "invalidated", "direction": "bearish", "confidence": 1.0}]
    s, best = pattern_score(dets)
    assert s == pytest.approx((0.8 - 0.4) / 2) and best["confidence"] == 0.8
    assert candle_score([{"bias": "bullish", "strength": 1.0},
                         {"bias": "bearish", "strength": 0.5}]) == pytest.approx(0.25)


def test_sizing_methods() -> None:
    e = Decimal("50")
    eq = Decimal("100000")
    fixed = size_entry(True, e, Sizing(method="fixed", fixed_dollars=5000), equity=eq, cash=eq)
    assert fixed.qty == 100
    pct = size_entry(True, e, Sizing(method="percent", equity_pct=10), equity=eq, cash=eq)
    assert pct.qty == 200
    # risk: 0.5% of 100000 = 500 at risk; stop 2 ATR (2 x 1.25) below -> 2.5 a share -> 200
    risk = size_entry(True, e, Sizing(method="risk"), equity=eq, cash=eq, atr=Decimal("1.25"))
    assert (risk.qty, risk.stop, risk.take_profit) == (200, Decimal("47.50"), Decimal("55.00"))
    short = size_entry(False, e, Sizing(method="risk", risk_dollars=100), equity=eq, cash=eq,
                       atr=Decimal("1.25"))
    assert (short.qty, short.stop, short.take_profit) == (40, Decimal("52.50"), Decimal("45.00"))
    capped = size_entry(True, e, Sizing(method="risk", risk_dollars=100_000), equity=eq, cash=eq,
                        atr=Decimal("1"))
    assert (capped.qty, capped.capped_by) == (400, "max_position_pct")
    allin = size_entry(True, Decimal("20"), Sizing(method="all_in"), equity=eq,
                       cash=Decimal("1000"), commission_rate=Decimal("0.01"))
    assert allin.qty == 49  # 49 x 20 x 1.01 = 989.8 <= 1000 < 50 x 20.2
    bp = size_entry(True, e, Sizing(method="fixed", fixed_dollars=5000), equity=eq, cash=eq,
                    buying_power=Decimal("1000"))
    assert (bp.qty, bp.capped_by) == (20, "buying_power")
    assert size_entry(True, e, Sizing(method="risk"), equity=eq, cash=eq).qty == 0  # no stop


def test_stop_from_pattern_invalidation() -> None:
    assert stop_price(True, Decimal(50), atr=Decimal(1), atr_multiple=2,
                      invalidation=Decimal("49.1"), source="pattern") == Decimal("49.10")
    # an invalidation on the wrong side falls back to the ATR stop
    assert stop_price(True, Decimal(50), atr=Decimal(1), atr_multiple=2,
                      invalidation=Decimal("51"), source="pattern") == Decimal("48.00")


def test_clock_exits() -> None:
    close = datetime(2024, 1, 3, 21, 0, tzinfo=UTC)
    w = SessionWindow(close - timedelta(minutes=10), close)
    assert not entries_allowed(w, RULES)  # 10 <= 15
    assert exit_reason(w, None, RULES) is None
    assert exit_reason(SessionWindow(close - timedelta(minutes=4), close), None, RULES) == "flatten"
    early = SessionWindow(close - timedelta(hours=5), close)
    assert entries_allowed(early, RULES)
    assert exit_reason(early, early.now - timedelta(minutes=121), RULES) == "time_exit"
    assert not entries_allowed(SessionWindow(close, None), RULES)
    # with 15-minute cycles the last one before the close flattens
    assert exit_reason(SessionWindow(close - timedelta(minutes=15), close, 15), None,
                       RULES) == "flatten"
