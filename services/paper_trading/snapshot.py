"""Read models computed inside a unit of work: account figures, priced positions, risk state."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from services.paper_trading.domain import AccountFigures, Position, account_figures
from services.paper_trading.repository import Repository
from shared.config_sections.paper_trading import Section
from shared.domain.money import from_micros
from shared.market.calendar import MarketCalendar


@dataclass(frozen=True)
class PricedPosition:
    position: Position
    asset_id: str
    price: Decimal
    lastday_price: Decimal


@dataclass(frozen=True)
class Snapshot:
    account_id: str
    account_number: str
    epoch: int
    start_cash: Decimal
    figures: AccountFigures
    positions: list[PricedPosition]
    session: str | None
    last_equity: Decimal
    daytrade_count: int
    created_at: str
    halted: bool
    entries_today: int
    reserved: Decimal


def position_of(row: object) -> Position:
    return Position(row["symbol"], from_micros(row["qty_micros"]),  # type: ignore[index]
                    from_micros(row["avg_entry_price_micros"]),  # type: ignore[index]
                    from_micros(row["realized_pl_micros"]))  # type: ignore[index]


def five_session_start(cal: MarketCalendar, now: datetime) -> str:
    """Return the label of the earliest of the last five sessions up to ``now``."""
    sessions = cal.sessions_in_range(now - timedelta(days=10), now)
    labels = [s.date().isoformat() for s in sessions]
    return labels[-5] if len(labels) >= 5 else (labels[0] if labels else now.date().isoformat())


def snapshot(repo: Repository, cfg: Section, cal: MarketCalendar, now: datetime) -> Snapshot:
    """Return the account as of ``now`` (positions priced at the last visible close)."""
    acct = repo.account()
    assert acct is not None, "the account row is created before any read"
    cash = from_micros(acct["cash_micros"])
    priced: list[PricedPosition] = []
    for row in repo.positions():
        pos = position_of(row)
        bar = repo.latest_bar(pos.symbol, now)
        price = bar.close if bar is not None else pos.avg_entry
        prev = repo.latest_bar(pos.symbol, cal.previous_close(now).to_pydatetime()) \
            if cal.previous_close(now) is not None else None
        priced.append(PricedPosition(pos, row["asset_id"], price,
                                     prev.close if prev is not None else price))
    session_ts = cal.session_of(now)
    in_session = session_ts is not None
    fig = account_figures(cash, [(p.position, p.price) for p in priced],
                          margin=cfg.account_type == "margin", overnight=cfg.margin_overnight,
                          intraday=cfg.margin_intraday, pdt_threshold=cfg.pdt_equity_threshold,
                          in_session=in_session)
    label = session_ts.date().isoformat() if session_ts is not None else None
    srow = repo.session(label) if label else None
    last_equity = from_micros(srow["start_equity_micros"]) if srow else fig.equity
    return Snapshot(
        account_id=acct["account_id"], account_number=acct["account_number"],
        epoch=acct["epoch"], start_cash=from_micros(acct["start_cash_micros"]), figures=fig,
        positions=priced, session=label, last_equity=last_equity,
        daytrade_count=repo.day_trades_since(five_session_start(cal, now)),
        created_at=acct["created_at"], halted=bool(srow["halted"]) if srow else False,
        entries_today=int(srow["entries"]) if srow else 0, reserved=repo.reserved())
