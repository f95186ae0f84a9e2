"""One workflow cycle: scan, analyse in parallel, decide, exit, enter, snapshot.

Every step is timed and recorded with its inputs, outputs and error; a failing non-critical
source (pattern analysis, pattern recognition, news) degrades the decision and the run says
so, while a failing scanner or technical analysis only stops the entries of this cycle.
Each order gets a decision-ledger row keyed by its ``client_order_id``.
"""
from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from services.coordination.domain import (
    SessionWindow,
    SymbolView,
    decide,
    entries_allowed,
    exit_reason,
    size_entry,
)
from services.coordination.domain.decision import candle_score, pattern_score
from services.coordination.repository import Repository
from shared.domain.money import D, to_micros
from shared.errors import AppError

log = logging.getLogger("coordination.workflow")
NON_CRITICAL = ("pattern_analysis", "pattern_recognition", "news")
PER_SYMBOL = ("pattern_analysis", "news")  # read per symbol by ``_view``


class Steps:
    """Records the steps of one run (name, start, duration, status, inputs, outputs, error)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def run(self, name: str, fn: Callable[[], Any], inputs: Any = None, *,
            critical: bool = True, summarize: Callable[[Any], Any] | None = None) -> Any:
        """Run ``fn`` as step ``name``; return its result (None when a non-critical step failed).

        Raises:
            Exception: whatever ``fn`` raised, when the step is critical.
        """
        started, t0 = datetime.now(UTC).isoformat(), time.perf_counter()
        row: dict[str, Any] = {"name": name, "started_at": started, "inputs": inputs}
        try:
            out = fn()
            row.update(status="ok", outputs=summarize(out) if summarize else out)
            return out
        except Exception as exc:
            row.update(status="failed" if critical else "degraded", error=_err(exc))
            if critical:
                raise
            return None
        finally:
            row["duration_ms"] = round((time.perf_counter() - t0) * 1000, 3)
            self.rows.append(row)


def _err(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {getattr(exc, 'message', None) or exc}"


def _signed_qty(p: dict[str, Any]) -> Decimal:
    q = abs(D(p["qty"]))
    return q if p.get("side", "long") == "long" else -q


def _num(x: Any) -> float | None:
    try:
        return None if x is None else float(x)
    except (TypeError, ValueError):
        return None


class Cycle:
    """Runs cycles against a ``Gateway`` and records them in the ``Repository``."""

    def __init__(self, gateway: Any, repo: Repository, pool: ThreadPoolExecutor, *,
                 commission_rate: Decimal = Decimal(0)) -> None:
        self.gw = gateway
        self.repo = repo
        self.pool = pool
        self.commission_rate = commission_rate

    def run(self, rules: Any, window: SessionWindow, trigger: str = "manual",
            snapshot: bool = True, run_id: str | None = None) -> dict[str, Any]:
        """Run one cycle at market time ``window.now``; return the run's record.

        ``run_id`` names a run already recorded as started (by ``Repository.claim_step``).
        """
        now_iso = window.now.isoformat()
        if run_id is None:
            run_id = uuid.uuid4().hex
            self.repo.start_run(run_id, trigger, now_iso)
        steps, degraded = Steps(), set()
        summary: dict[str, Any] = {}
        status, error, t0 = "ok", None, time.perf_counter()
        try:
            summary = self._cycle(run_id, rules, window, steps, degraded)
            if snapshot:
                if steps.run("snapshot", lambda: self.gw.snapshot(now_iso, run_id),
                             {"ts": now_iso}, critical=False,
                             summarize=lambda s: {"equity": s.get("equity")}) is None:
                    degraded.add("reporting")
        except Exception as exc:  # the run records what failed; the loop goes on
            status, error = "failed", _err(exc)
            log.warning("cycle failed", extra={"run_id": run_id, "error": error})
        if status == "ok" and degraded:
            status = "degraded"
        dur = round((time.perf_counter() - t0) * 1000, 3)
        self.repo.finish_run(run_id, status=status, duration_ms=dur, degraded=sorted(degraded),
                             summary=summary, error=error, steps=steps.rows)
        return {"id": run_id, "clock_ts": now_iso, "status": status, "duration_ms": dur,
                "degraded": sorted(degraded), "summary": summary, "error": error}

    # -- the steps --------------------------------------------------------------------------
    def _cycle(self, run_id: str, rules: Any, window: SessionWindow, steps: Steps,
               degraded: set[str]) -> dict[str, Any]:
        universe = self.gw.universe(rules.universe_limit) if rules.universe_limit else None
        day = window.now.replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
        active = sorted({*(universe or []), *self.repo.traded_symbols(day)})
        steps.run("bars", lambda: self.gw.ingest(active, window.now), {"symbols": len(active)},
                  critical=False, summarize=lambda n: {"rows": n})

        def book() -> tuple[Any, Any, Any]:
            f = [self.pool.submit(g) for g in (self.gw.account, self.gw.positions,
                                               self.gw.open_orders)]
            return tuple(x.result() for x in f)

        opening = entries_allowed(window, rules)
        # the scan needs nothing from the book: it runs (in its own step) beside the account
        scan_steps = Steps()
        scanning = self.pool.submit(
            scan_steps.run, "scan", lambda: self.gw.scan(rules.scanner_preset,
                                                         rules.max_candidates, universe),
            {"preset": rules.scanner_preset, "limit": rules.max_candidates,
             "universe": len(universe) if universe else None},
            critical=False, summarize=lambda s: {
                "matched": s.get("matched"),
                "symbols": [r["symbol"] for r in s.get("results", [])]}) if opening else None
        try:
            account, positions, orders = steps.run(
                "account", book, summarize=lambda r: {
                    "equity": r[0].get("equity"), "positions": len(r[1]),
                    "open_orders": len(r[2])})
        finally:  # a failed account still waits for the scan, so no call outlives the cycle
            scan = None if scanning is None else scanning.result()
            steps.rows += scan_steps.rows
        if opening and scan is None:
            degraded.add("scanner")
        held = {p["symbol"]: _signed_qty(p) for p in positions if D(p["qty"]) != 0}
        pending = {o["symbol"] for o in orders if o["symbol"] not in held
                   or (o.get("order_class") or "simple") == "simple"}
        matches = {r["symbol"]: r for r in (scan or {}).get("results", [])}
        symbols = list(dict.fromkeys([*held, *[s for s in matches if s not in pending]]))
        data = self._analyze(symbols, rules, steps, degraded) if symbols else {}
        return self._act(run_id, rules, window, steps, degraded, account, held, pending,
                         orders, matches, data, opening)

    def _analyze(self, symbols: list[str], rules: Any, steps: Steps,
                 degraded: set[str]) -> dict[str, Any]:
        tf = rules.timeframe

        ms: dict[str, float] = {}

        def timed(name: str, fn: Callable[..., Any], *args: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args)
            finally:
                ms[name] = round((time.perf_counter() - t0) * 1000, 3)

        def gather() -> dict[str, Any]:
            # one batched request per service, the four at once (separate processes)
            calls: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {
                "technical_analysis": (self.gw.analyze, (symbols, tf)),
                "pattern_recognition": (self.gw.candles, (symbols, tf)),
                "pattern_analysis": (self.gw.chart_patterns, (symbols,)),
                "news": (self.gw.sentiment, (symbols,))}
            futs: dict[str, Future[Any]] = {
                name: self.pool.submit(timed, name, fn, *args)
                for name, (fn, args) in calls.items()}
            out: dict[str, Any] = {"failed": {}, "ms": ms}
            for name, f in futs.items():
                try:
                    out[name] = f.result()
                except Exception as exc:
                    out["failed"][name] = _err(exc)
                    if name in PER_SYMBOL:
                        out[name] = dict.fromkeys(symbols)
            for src in PER_SYMBOL:  # a symbol the service could not serve counts as failed
                for s in symbols:
                    got = out[src].get(s)
                    if isinstance(got, str):
                        out["failed"].setdefault(src, got)
                    if got is None or isinstance(got, str):
                        out[src][s] = None
            return out

        data = steps.run("analyze", gather, {"symbols": symbols, "timeframe": tf},
                         summarize=lambda d: {"failed": d["failed"], "ms": d["ms"]})
        for src in data["failed"]:
            degraded.add(src)
        if data["failed"]:
            steps.rows[-1]["status"] = "degraded"
        return data

    def _view(self, sym: str, data: dict[str, Any], qty: Decimal) -> tuple[SymbolView, dict]:
        ta = (data.get("technical_analysis") or {}).get(sym) or {}
        bad = set(data.get("failed", {}))
        tech = None if "technical_analysis" in bad or "error" in ta or not ta else \
            _num((ta.get("combined") or {}).get("score"))
        dets = (data.get("pattern_analysis") or {}).get(sym)
        pscore, best = (None, None) if dets is None else pattern_score(dets)
        cl = None if "pattern_recognition" in bad else \
            (data.get("pattern_recognition") or {}).get(sym, [])
        sent = (data.get("news") or {}).get(sym)
        news = None if sent is None else _num(sent.get("mean_sentiment"))
        missing = tuple(sorted(s for s in bad if s in NON_CRITICAL))
        view = SymbolView(sym, tech, pscore, None if cl is None else candle_score(cl), news,
                          float(qty), missing)
        atr = _num(((ta.get("indicators") or {}).get("ATR:14") or {}).get("real"))
        return view, {"ta": ta, "best": best, "candles": cl or [], "sent": sent, "atr": atr}

    def _act(self, run_id: str, rules: Any, window: SessionWindow, steps: Steps,
             degraded: set[str], account: dict[str, Any], held: dict[str, Decimal],
             pending: set[str], orders: list[dict[str, Any]], matches: dict[str, Any],
             data: dict[str, Any], opening: bool) -> dict[str, Any]:
        intents, placed = [], []
        n_open = len(held) + len([s for s in pending if s not in held])
        equity, cash = D(account["equity"]), D(account["cash"])
        bp = D(account.get("buying_power") or account["cash"])
        entered_at = self.repo.entry_times(list(held), window.now.isoformat())
        for sym, qty in held.items():
            if sym in pending:
                continue
            why = exit_reason(window, entered_at.get(sym), rules)
            view, extra = self._view(sym, data, qty)
            intent = decide(view, rules, entries_open=False, open_positions=n_open)
            if why is None and intent.action == "exit":
                why = "signal_exit"
            if why:
                intents.append({**intent.to_dict(), "action": why})
                placed.append(self._exit(run_id, window, sym, qty, why, view, extra, orders,
                                         intent.score))
        for sym, match in matches.items():
            if sym in held or sym in pending or not data:
                continue
            view, extra = self._view(sym, data, Decimal(0))
            intent = decide(view, rules, entries_open=opening, open_positions=n_open)
            intents.append(intent.to_dict())
            if not intent.is_entry or view.technical is None:
                continue
            rec = self._enter(run_id, rules, window, intent, view, extra, match, equity, cash, bp)
            if rec is not None:
                placed.append(rec)
                if rec["risk_verdict"] == "accepted":
                    n_open += 1
                    bp -= D(rec["notional"])
        steps.rows.append({"name": "decide", "started_at": datetime.now(UTC).isoformat(),
                           "duration_ms": 0.0, "status": "ok",
                           "inputs": {"symbols": len(intents), "entries_open": opening},
                           "outputs": intents})
        steps.rows.append({"name": "orders", "started_at": datetime.now(UTC).isoformat(),
                           "duration_ms": 0.0, "status": "ok", "inputs": None,
                           "outputs": [{k: p[k] for k in ("client_order_id", "symbol", "action",
                                                          "risk_verdict")} for p in placed]})
        return {"candidates": list(matches), "held": list(held), "intents": len(intents),
                "orders": len(placed),
                "accepted": sum(p["risk_verdict"] == "accepted" for p in placed)}

    def _exit(self, run_id: str, window: SessionWindow, sym: str, qty: Decimal, why: str,
              view: SymbolView, extra: dict[str, Any], orders: list[dict[str, Any]],
              score: float) -> dict[str, Any]:
        for o in orders:  # the bracket's legs must not fire after the position is gone
            if o["symbol"] == sym:
                for oid in [o["id"], *[x["id"] for x in (o.get("legs") or [])]]:
                    try:
                        self.gw.cancel(oid)
                    except AppError:
                        pass  # already filled or canceled
        side = "sell" if qty > 0 else "buy"
        body = {"symbol": sym, "side": side, "qty": str(abs(qty)), "type": "market",
                "time_in_force": "day"}
        return self._place(run_id, window, body, why, view, extra, {}, None, score)

    def _enter(self, run_id: str, rules: Any, window: SessionWindow, intent: Any,
               view: SymbolView, extra: dict[str, Any], match: dict[str, Any], equity: Decimal,
               cash: Decimal, bp: Decimal) -> dict[str, Any] | None:
        long = intent.action == "enter_long"
        price = _num(extra["ta"].get("close")) or _num(match.get("price"))
        if not price:
            return None
        entry = D(price)
        best = extra["best"]
        inval = (best or {}).get("key_prices", {}).get("invalidation") if best else None
        size = size_entry(long, entry, rules.sizing, equity=equity, cash=cash, buying_power=bp,
                          atr=None if extra["atr"] is None else D(extra["atr"]),
                          invalidation=None if inval is None else D(inval),
                          commission_rate=self.commission_rate)
        if size.qty <= 0:
            return None
        body: dict[str, Any] = {"symbol": view.symbol, "side": "buy" if long else "sell",
                                "qty": str(size.qty), "type": "market", "time_in_force": "day"}
        if size.stop is not None and size.take_profit is not None:
            body.update(order_class="bracket", stop_loss={"stop_price": str(size.stop)},
                        take_profit={"limit_price": str(size.take_profit)})
        elif size.stop is not None:
            body.update(order_class="oto", stop_loss={"stop_price": str(size.stop)})
        rec = self._place(run_id, window, body, intent.action, view, extra, match, size,
                          intent.score, entry)
        rec["notional"] = str(size.qty * entry)
        return rec

    def _place(self, run_id: str, window: SessionWindow, body: dict[str, Any], action: str,
               view: SymbolView, extra: dict[str, Any], match: dict[str, Any], size: Any,
               score: float, est: Decimal | None = None) -> dict[str, Any]:
        decision_id = uuid.uuid4().hex
        body["client_order_id"] = f"co-{decision_id}"
        order_id, status, verdict, message = None, None, "accepted", None
        try:
            o = self.gw.submit(body)
            order_id, status = o["id"], o["status"]
            if status == "rejected":
                verdict, message = "rejected:broker", o.get("reason")
        except AppError as exc:
            verdict, message = f"rejected:{exc.code}", exc.message
        best = extra.get("best")
        ta = extra.get("ta") or {}
        rec = {
            "decision_id": decision_id, "client_order_id": body["client_order_id"],
            "order_id": order_id, "run_id": run_id, "clock_ts": window.now.isoformat(),
            "symbol": view.symbol, "action": action, "side": body["side"],
            "qty_micros": to_micros(body["qty"]),
            "est_price_micros": None if est is None else to_micros(est),
            "stop_micros": to_micros(size.stop) if size is not None and size.stop else None,
            "take_profit_micros": (to_micros(size.take_profit)
                                   if size is not None and size.take_profit else None),
            "score": score, "strategy": "blend",
            "pattern": (best or {}).get("pattern"),
            "scan": {k: match.get(k) for k in ("rank", "score", "price", "explanation")}
            if match else None,
            "signals": {"signals": ta.get("signals"), "combined": ta.get("combined"),
                        "atr": extra.get("atr"), "scores": {
                            "technical": view.technical, "patterns": view.patterns,
                            "candles": view.candles, "news": view.news}},
            "patterns": {"chart": best, "candles": extra.get("candles")},
            "sentiment": extra.get("sent"),
            "sizing": None if size is None else size.to_dict(),
            "risk_verdict": verdict, "risk_message": message, "order_status": status,
            "degraded": list(view.degraded),
        }
        self.repo.add_decision(rec)
        return rec
