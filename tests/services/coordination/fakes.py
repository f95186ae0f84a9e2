"""A fake of coordination's ``Gateway``: the other services as plain methods, with failures
switched on per service."""
from __future__ import annotations

from typing import Any

from shared.errors import ServiceUnavailable


class FakeGateway:
    """Two scanner matches (AAA bullish, BBB bearish), a flat book, orders accepted."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.fail = set(fail or ())
        self.orders: list[dict[str, Any]] = []
        self.snapshots: list[str] = []
        self.positions_: list[dict[str, Any]] = []

    def _check(self, name: str) -> None:
        if name in self.fail:
            raise ServiceUnavailable(f"{name} is unavailable (circuit breaker open)",
                                     field=name)

    def universe(self, limit: int | None) -> list[str] | None:
        return None

    def ingest(self, symbols: list[str], now: object) -> int:
        return 0

    def scan(self, preset: str | None, limit: int, symbols: list[str] | None) -> dict[str, Any]:
        self._check("scanner")
        return {"matched": 2, "results": [
            {"symbol": "AAA", "rank": 1, "score": 0.9, "price": "50", "explanation": "up"},
            {"symbol": "BBB", "rank": 2, "score": 0.8, "price": "20", "explanation": "down"}]}

    def analyze(self, symbols: list[str], timeframe: str) -> dict[str, Any]:
        self._check("technical_analysis")
        score = {"AAA": 0.9, "BBB": -0.9}
        return {s: {"combined": {"score": score.get(s, 0.0)}, "close": 50.0 if s == "AAA"
                    else 20.0, "signals": [], "indicators": {"ATR:14": {"real": 1.0}}}
                for s in symbols}

    def chart_patterns(self, symbols: list[str]) -> dict[str, list[dict[str, Any]] | str]:
        """One batch; ``fail`` holding ``pattern_analysis:SYM`` fails that symbol alone."""
        self._check("pattern_analysis")
        return {s: "service_unavailable: no bars" if f"pattern_analysis:{s}" in self.fail
                else [] for s in symbols}

    def candles(self, symbols: list[str], timeframe: str) -> dict[str, list[dict[str, Any]]]:
        self._check("pattern_recognition")
        return {s: [] for s in symbols}

    def sentiment(self, symbols: list[str]) -> dict[str, dict[str, Any]]:
        self._check("news")
        return {s: {"symbol": s, "mean_sentiment": 0.0} for s in symbols}

    def account(self) -> dict[str, Any]:
        self._check("paper_trading")
        return {"equity": "100000", "cash": "100000", "buying_power": "100000"}

    def positions(self) -> list[dict[str, Any]]:
        self._check("paper_trading")
        return self.positions_

    def open_orders(self) -> list[dict[str, Any]]:
        self._check("paper_trading")
        return []

    def submit(self, order: dict[str, Any]) -> dict[str, Any]:
        self._check("paper_trading")
        self.orders.append(order)
        return {"id": f"o{len(self.orders)}", "status": "new"}

    def cancel(self, order_id: str) -> None:
        pass

    def snapshot(self, ts: str, run_id: str) -> dict[str, Any]:
        self._check("reporting")
        self.snapshots.append(ts)
        return {"equity": "100000"}
