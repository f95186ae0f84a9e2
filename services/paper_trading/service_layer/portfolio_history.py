"""Alpaca portfolio history (GET /v2/account/portfolio/history) from paper trading's own rows.

The equity of a window is the account as it stood at the window's end (or at the clock's now
for the window in progress; nothing later is ever read): the cash of the current epoch (the
start cash, the ledger up to the last reset, then the ledger rows booked by then), plus every
position rebuilt from the epoch's fills filled by then, each valued at the close of its last
one-minute bar closed by then (its average entry price while no bar is visible), as the
account endpoint values it.  All in ``Decimal``, rounded to the cent; the JSON carries floats
as Alpaca's does.

Windows are left-labeled (epoch seconds of their start): intraday ones step through each
session's regular hours (04:00-20:00 New York with ``extended_hours``); daily ones are labeled
with the session's date at 00:00 New York and valued at its close.
"""
from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from shared.domain.money import from_micros
from shared.errors import NotFound, UnprocessableError, ValidationError
from shared.trading import Position, Side, apply_fill
from shared.trading.records import bar_iso

if TYPE_CHECKING:
    import sqlite3

    from services.paper_trading.service_layer.ports import PaperContext

NEW_YORK = ZoneInfo("America/New_York")
CENT = Decimal("0.01")
TIMEFRAMES = {"1Min": 1, "5Min": 5, "15Min": 15, "1H": 60, "1D": 0}
_PERIOD = re.compile(r"^(\d{1,4})([DWMA])$")
MAX_INTRADAY_DAYS = 30
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class HistoryQuery:
    period: str | None = None
    timeframe: str | None = None
    date_end: date | None = None
    start: datetime | None = None
    end: datetime | None = None
    extended_hours: bool = False
    intraday_reporting: str | None = None  # market_hours | extended_hours | continuous
    pnl_reset: str | None = None  # per_day | no_reset


@dataclass(frozen=True)
class Window:
    label: datetime  # left edge
    value_at: datetime  # when the equity is taken (the right edge, or now)
    baseline_at: datetime | None  # intraday per-day P&L: the previous session's close


def _utc(t: datetime) -> datetime:
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _period_start(cal: Any, period: str, end: datetime, extended: bool) -> datetime:
    m = _PERIOD.match(period)
    if not m or int(m.group(1)) == 0:
        raise ValidationError(f"period must be a number and a unit D, W, M or A, e.g. 1M; "
                              f"was {period!r}", field="period")
    n, unit = int(m.group(1)), m.group(2)
    if unit == "D":  # trading days: the last n sessions up to end
        sessions = cal.sessions_in_range(end - timedelta(days=7 * n + 14), end)
        if len(sessions) == 0:
            return end - timedelta(days=n)
        first = sessions[max(len(sessions) - n, 0)]
        if extended:
            return datetime.combine(first.date(), time(4), NEW_YORK).astimezone(UTC)
        return _utc(cal.session_bounds(first)[0].to_pydatetime())
    days = {"W": 7 * n, "M": 30 * n, "A": 365 * n}[unit]
    if days > 366 * 20:
        raise ValidationError("period is longer than 20 years", field="period")
    return end - timedelta(days=days)


def windows(cal: Any, q: HistoryQuery, now: datetime) -> tuple[str, list[Window]]:
    """Return the timeframe and the windows of the query, none starting after ``now``.

    Raises:
        ValidationError: a malformed period or timeframe, start after end.
        UnprocessableError: an intraday timeframe over more than 30 days.
    """
    end = now
    if q.end is not None:
        end = min(_utc(q.end), now)
    elif q.date_end is not None:
        day_end = datetime.combine(q.date_end + timedelta(days=1), time(0), NEW_YORK)
        end = min(day_end.astimezone(UTC), now)
    extended = q.extended_hours or q.intraday_reporting in ("extended_hours", "continuous")
    start = (_utc(q.start) if q.start is not None
             else _period_start(cal, q.period or "1M", end, extended))
    if start > end:
        raise ValidationError("start must be before end (and not after the clock's now)",
                              field="start")
    tf = q.timeframe
    if tf is None:
        span = end - start
        tf = "1Min" if span < timedelta(days=7) else ("15Min" if span < timedelta(days=30)
                                                      else "1D")
    if tf not in TIMEFRAMES:
        raise ValidationError(f"timeframe must be one of {', '.join(TIMEFRAMES)}, was {tf!r}",
                              field="timeframe")
    step = TIMEFRAMES[tf]
    if step and end - start > timedelta(days=MAX_INTRADAY_DAYS):
        raise UnprocessableError(f"intraday timeframes cover at most {MAX_INTRADAY_DAYS} days; "
                                 "use timeframe 1D or a shorter period", field="timeframe")
    out: list[Window] = []
    for label in cal.sessions_in_range(start, end):
        o, c = (_utc(x.to_pydatetime()) for x in cal.session_bounds(label))
        prev = cal.previous_close(o)
        prev_close = None if prev is None else _utc(prev.to_pydatetime())
        if not step:
            if o > end:
                continue
            stamp = datetime.combine(label.date(), time(0), NEW_YORK).astimezone(UTC)
            out.append(Window(stamp, min(c, end), prev_close))
            continue
        if extended:
            day = label.date()
            o = datetime.combine(day, time(4), NEW_YORK).astimezone(UTC)
            c = max(c, datetime.combine(day, time(20), NEW_YORK).astimezone(UTC))
        t = o
        width = timedelta(minutes=step)
        while t < c:
            if t >= start and t < end:
                out.append(Window(t, min(t + width, c, end), prev_close))
            t += width
    return tf, out


class _Book:
    """The account's current epoch, replayed forward through increasing instants."""

    def __init__(self, conn: sqlite3.Connection, account: int) -> None:
        acct = conn.execute("SELECT start_cash_micros, epoch FROM pt_accounts WHERE id = ?",
                            (account,)).fetchone()
        if acct is None:
            raise NotFound(f"account not found for {account}", field="account")
        last_reset = conn.execute("SELECT COALESCE(MAX(id), 0) FROM pt_ledger WHERE account = ? "
                                  "AND kind = 'reset'", (account,)).fetchone()[0]
        before = conn.execute("SELECT COALESCE(SUM(amount_micros), 0) FROM pt_ledger "
                              "WHERE account = ? AND id <= ?", (account, last_reset)).fetchone()[0]
        self.base_cash = from_micros(acct["start_cash_micros"] + before)
        self.ledger = sorted(
            (_utc(datetime.fromisoformat(r[1])), r[0], from_micros(r[2])) for r in conn.execute(
                "SELECT id, at, amount_micros FROM pt_ledger WHERE account = ? AND id > ?",
                (account, last_reset)))
        self.fills = sorted(
            (_utc(datetime.fromisoformat(r[0])), r[1], r[2], Side(r[3]), from_micros(r[4]),
             from_micros(r[5])) for r in conn.execute(
                "SELECT filled_at, id, symbol, side, qty_micros, price_micros FROM pt_fills "
                "WHERE account = ? AND epoch = ?", (account, acct["epoch"])))
        self.symbols = sorted({f[2] for f in self.fills})

    def replay(self, instants: list[datetime]) -> list[tuple[Decimal, dict[str, Position]]]:
        """Return (cash, positions) at each of ``instants`` (ascending)."""
        out = []
        cash, i, j = self.base_cash, 0, 0
        pos: dict[str, Position] = {}
        for v in instants:
            while i < len(self.ledger) and self.ledger[i][0] <= v:
                cash += self.ledger[i][2]
                i += 1
            while j < len(self.fills) and self.fills[j][0] <= v:
                _, _, sym, side, qty, price = self.fills[j]
                pos[sym] = apply_fill(pos.get(sym, Position(sym)), side, qty, price).position
                j += 1
            out.append((cash, {s: p for s, p in pos.items() if p.qty != 0}))
        return out


class _Closes:
    """Each symbol's one-minute closes over the instants asked (read once, then bisected)."""

    def __init__(self, conn: sqlite3.Connection, symbols: list[str], lo: datetime,
                 hi: datetime) -> None:
        self.series: dict[str, tuple[list[str], list[int]]] = {}
        lo_ts, hi_ts = bar_iso(lo - _MINUTE), bar_iso(hi - _MINUTE)
        for sym in symbols:
            seed = conn.execute("SELECT ts, close_micros FROM bars WHERE symbol = ? AND "
                                "timeframe = '1m' AND ts < ? ORDER BY ts DESC LIMIT 1",
                                (sym, lo_ts)).fetchall()
            rows = seed + conn.execute(
                "SELECT ts, close_micros FROM bars WHERE symbol = ? AND timeframe = '1m' "
                "AND ts >= ? AND ts <= ? ORDER BY ts", (sym, lo_ts, hi_ts)).fetchall()
            self.series[sym] = ([r[0] for r in rows], [r[1] for r in rows])

    def at(self, symbol: str, v: datetime) -> Decimal | None:
        """Return the close of the last bar closed by ``v`` (None when none is visible)."""
        stamps, closes = self.series.get(symbol, ([], []))
        k = bisect_right(stamps, bar_iso(v - _MINUTE))
        return None if k == 0 else from_micros(closes[k - 1])


def equities(conn: sqlite3.Connection, account: int,
             instants: list[datetime]) -> dict[datetime, Decimal]:
    """Return the account's equity at each instant, to the cent."""
    order = sorted(set(instants))
    if not order:
        return {}
    book = _Book(conn, account)
    closes = _Closes(conn, book.symbols, order[0], order[-1])
    out = {}
    for v, (cash, pos) in zip(order, book.replay(order), strict=True):
        value = cash
        for sym, p in pos.items():
            px = closes.at(sym, v)
            value += p.qty * (p.avg_entry if px is None else px)
        out[v] = value.quantize(CENT, ROUND_HALF_EVEN)
    return out


def _pct(pl: Decimal, base: Decimal) -> float | None:
    return None if base == 0 else float((pl / base).quantize(Decimal("1e-10")))


def portfolio_history(svc: PaperContext, account: int, q: HistoryQuery) -> dict[str, Any]:
    """Return Alpaca's PortfolioHistory object for the account.

    Raises:
        ValidationError / UnprocessableError: see ``windows``.  NotFound: no such account.
    """
    now = svc.now()
    tf, wins = windows(svc.cal, q, now)
    intraday = TIMEFRAMES[tf] > 0
    per_day = intraday and q.pnl_reset != "no_reset"
    first_base = wins[0].label if wins else now
    instants = [w.value_at for w in wins] + [first_base]
    if per_day:
        instants += [min(w.baseline_at, now) for w in wins if w.baseline_at is not None]
    conn = svc.get_db_connection()
    conn.execute("BEGIN")  # one consistent read view
    try:
        eq = equities(conn, account, instants)
    finally:
        conn.execute("COMMIT")
    base = eq[first_base]
    equity, pl, pct = [], [], []
    for w in wins:
        b = eq[min(w.baseline_at, now)] if per_day and w.baseline_at is not None else base
        e = eq[w.value_at]
        equity.append(float(e))
        pl.append(float(e - b))
        pct.append(_pct(e - b, b))
        if per_day:
            base = b
    return {"timestamp": [int(w.label.timestamp()) for w in wins], "equity": equity,
            "profit_loss": pl, "profit_loss_pct": pct, "base_value": float(base),
            "timeframe": tf, "cashflow": {}}


__all__ = ["HistoryQuery", "TIMEFRAMES", "equities", "portfolio_history", "windows"]
