"""Coordination's calls to the other services, each through ``ServiceClient.for_service``
(timeouts, retries, one circuit breaker per target).  The cycle depends only on this class's
methods, so its tests can hand it a fake.

The batched analysis calls (technical analysis, chart and candlestick patterns) are split
over every replica of their service: under ``docker compose --scale technical-analysis=3``
the service's name resolves to three addresses and each gets a part of the batch, in turn
(``shared.http.Replicas``); one address means one request, as before."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests

from shared.config import Settings
from shared.http import Replicas, ServiceClient


def _session() -> requests.Session:
    """Return a session for calls inside the suite.

    The targets are the suite's own plain-HTTP services, never reached through a proxy, so
    requests' per-call environment lookups (proxies and their bypass list, netrc), which
    scanned the whole environment twice per call, are switched off: about a tenth of a
    cycle's CPU.
    """
    s = requests.Session()
    s.trust_env = False
    return s


class Gateway:
    """The suite as coordination sees it."""

    def __init__(self, settings: Settings) -> None:
        cfg = settings.coordination
        t = cfg.call_timeout_s
        self.settings = settings

        def client(target: str, timeout: float, **kw: Any) -> ServiceClient:
            return ServiceClient.for_service(target, settings, timeout=timeout,
                                             session=_session(), **kw)

        self.scanner = client("scanner", cfg.scan_timeout_s)
        self.technical = client("technical_analysis", cfg.scan_timeout_s)
        self.patterns_c = client("pattern_analysis", t)
        self.candles_c = client("pattern_recognition", t)
        self.news = client("news", t, retries=0)
        self.broker = client("paper_trading", t)
        self.reporting = client("reporting", t)
        # the stateless analysis services a batch is spread over (compose --scale)
        self.replicas = {name: Replicas(settings.url(name)) for name in
                         ("technical_analysis", "pattern_analysis", "pattern_recognition")}
        self._universe: list[str] | None = None
        self.feed: Any = None  # the service's MarketFeed, set by CoordinationService
        # the parts of a split batch (see chart_patterns); apart from the cycle's own pool,
        # which runs the calls that submit here
        self._fan_out = ThreadPoolExecutor(4, thread_name_prefix="gateway-fan-out")

    def suite_ready(self) -> bool:
        """Return whether the services a cycle cannot do without answer ``/ready``.

        Probed directly, not through the breakers: a loop that cycled while the suite was
        still starting would open them and fail every cycle for their reset time.
        """
        for c in (self.broker, self.scanner, self.technical, self.reporting):
            try:
                if requests.get(c.base_url + "/ready", timeout=2).status_code != 200:
                    return False
            except requests.RequestException:
                return False
        return True

    def universe(self, limit: int | None) -> list[str] | None:
        """Return the first ``limit`` equity symbols of the market (None: the whole universe)."""
        if limit is None:
            return None
        if self._universe is None:
            # the market feed's data manager (this process's owner); a second one only
            # when there is no feed (a gateway on its own)
            if self.feed is not None:
                dm = self.feed.dm
            else:
                from shared.market import get_data_manager

                dm = get_data_manager(self.settings)
            rows = dm.get_symbols("equity")
            self._universe = sorted(r["symbol"] for r in rows)
        return self._universe[:limit]

    def ingest(self, symbols: list[str], now: object) -> int:
        """Store every universe symbol's bars up to ``now`` before the cycle reads them.

        The market feed (coordination's one writer of market data) follows the clock on its
        own; a cycle asks it once more so the bar that just closed is stored before the
        other services analyse it.  ``symbols`` are the cycle's (the feed stores them all).
        """
        return 0 if self.feed is None else int(self.feed.catch_up(now))

    def scan(self, preset: str | None, limit: int, symbols: list[str] | None) -> dict[str, Any]:
        # sent even when None: the scanner's "no preset" (left out, it uses its default)
        body: dict[str, Any] = {"limit": limit, "preset": preset}
        if symbols:
            body["symbols"] = symbols
        return self.scanner.post("/api/v1/scan", json=body)

    def _spread(self, target: str, client: ServiceClient, path: str, symbols: list[str],
                body: dict[str, Any], per_replica: int = 1) -> list[Any]:
        """POST ``body`` with ``symbols`` split into ``per_replica`` parts per replica of
        ``target``, each part to its own replica, at once; return the answers in order."""
        urls = self.replicas[target].urls()
        parts = _split(symbols, per_replica * len(urls))
        bases = self.replicas[target].take(len(parts))

        def one(part: list[str], base: str) -> Any:
            # one replica: the configured URL, as before (the name, not its address)
            kw = {"base_url": base} if len(urls) > 1 else {}
            return client.post(path, json={**body, "symbols": part}, **kw)

        if len(parts) == 1:
            return [one(parts[0], bases[0])]
        futs = [self._fan_out.submit(one, part, base) for part, base in zip(parts, bases, strict=True)]
        return [f.result() for f in futs]

    def analyze(self, symbols: list[str], timeframe: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for answer in self._spread("technical_analysis", self.technical, "/api/v1/analyze",
                                   symbols, {"timeframe": timeframe, "indicators": ["ATR:14"]}):
            out.update(answer["results"])
        return out

    def chart_patterns(self, symbols: list[str]) -> dict[str, list[dict[str, Any]] | str]:
        """Return each symbol's chart patterns, or its error message.

        The heaviest analysis of a cycle: the symbols go in one batched request per worker
        process of each replica of pattern analysis, sent at once, so its workers share the
        batch (each request is served by one process; its detection holds the GIL).
        """
        answers = self._spread("pattern_analysis", self.patterns_c, "/api/v1/patterns/batch",
                               symbols, {"limit": 20},
                               self.settings.services["pattern_analysis"].workers)
        results = [r for a in answers for r in a["results"]]
        return {r["symbol"]: r["detections"] if "error" not in r else
                f"{r['error'].get('code')}: {r['error'].get('message')}" for r in results}

    def candles(self, symbols: list[str], timeframe: str) -> dict[str, list[dict[str, Any]]]:
        answers = self._spread("pattern_recognition", self.candles_c,
                               "/api/v1/candlesticks/scan", symbols, {"timeframe": timeframe})
        return {r["symbol"]: r.get("latest") or [] for a in answers for r in a["results"]}

    def sentiment(self, symbols: list[str]) -> dict[str, dict[str, Any]]:
        """Return each symbol's news sentiment (one batched request)."""
        out = self.news.post("/api/v1/sentiment/batch", json={"symbols": symbols})
        return {r["symbol"]: r for r in out["results"]}

    def account(self) -> dict[str, Any]:
        return self.broker.get("/api/v1/account")

    def positions(self) -> list[dict[str, Any]]:
        return self.broker.get("/api/v1/positions")

    def open_orders(self) -> list[dict[str, Any]]:
        return self.broker.get("/api/v1/orders", params={"status": "open", "limit": 1000})

    def submit(self, order: dict[str, Any]) -> dict[str, Any]:
        return self.broker.post("/api/v1/orders", json=order)

    def cancel(self, order_id: str) -> None:
        self.broker.delete(f"/api/v1/orders/{order_id}")

    def snapshot(self, ts: str, run_id: str) -> dict[str, Any]:
        return self.reporting.post("/api/v1/report/snapshot",
                                   json={"ts": ts, "run_id": run_id, "source": "coordination"})

    # -- market runs (services/coordination/market_runs.py) ------------------------------
    def close_report_run(self, run: int) -> dict[str, Any]:
        """Ask reporting to freeze market run ``run``'s report; return its fence."""
        return self.reporting.post("/api/v1/report/runs/close", json={"run": run})["fence"]

    def start_broker_run(self, run: int, fence: dict[str, Any], starts_at: str) -> dict[str, Any]:
        """Ask paper trading to archive its rows and start market run ``run`` (whose clock
        starts at market time ``starts_at``)."""
        return self.broker.post("/api/v1/market-runs",
                                json={"run": run, "fence": fence, "starts_at": starts_at})


def _split(symbols: list[str], parts: int) -> list[list[str]]:
    """Return ``symbols`` in at most ``parts`` contiguous, near-equal, non-empty runs."""
    n = max(1, min(parts, len(symbols)))
    size, extra = divmod(len(symbols), n)
    out, i = [], 0
    for k in range(n):
        j = i + size + (k < extra)
        out.append(symbols[i:j])
        i = j
    return out
