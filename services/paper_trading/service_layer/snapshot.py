"""Read models computed inside a unit of work: account figures, priced positions, risk state."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from services.paper_trading.adapters.repository import Repository, priced_rows
from services.paper_trading.service_layer.account_config import AccountConfig, config_of
from shared.config_sections.paper_trading import Section
from shared.domain.money import from_micros
from shared.trading import AccountFigures, Position, account_figures
from shared.trading.sessions import Period


@dataclass(frozen=True)
class PricedPosition:
    position: Position
    asset_id: str
    price: Decimal
    lastday_price: Decimal
    held: Decimal = Decimal(0)  # what working orders closing it hold (qty_available = qty - held)


@dataclass(frozen=True)
class Snapshot:
    account: int
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
    config: AccountConfig = AccountConfig()  # /v2/account/configurations


def position_of(row: object) -> Position:
    return Position(row["symbol"], from_micros(row["qty_micros"]),  # type: ignore[index]
                    from_micros(row["avg_entry_price_micros"]),  # type: ignore[index]
                    from_micros(row["realized_pl_micros"]))  # type: ignore[index]


def snapshot(repo: Repository, cfg: Section, period: Period, now: datetime) -> Snapshot:
    """Return the account as of ``now`` (positions priced at the last visible close).

    Four statements whatever the number of positions: the account, the positions with their
    prices (one query with per-row index lookups into ``bars``), the session row with the
    day-trade count, and the book's reserved buying power.
    """
    acct = repo.account()
    assert acct is not None, "the account row is created before any read"
    cash = from_micros(acct["cash_micros"])
    priced: list[PricedPosition] = []
    held = repo.held()
    for sym, q, avg, real, asset_id, px, prev in priced_rows(
            repo.conn, now, period.previous_close, repo.account_id):
        pos = Position(sym, from_micros(q), from_micros(avg), from_micros(real))
        price = pos.avg_entry if px is None else from_micros(px)
        priced.append(PricedPosition(pos, asset_id, price,
                                     price if prev is None else from_micros(prev),
                                     held.get((sym, "sell" if pos.qty > 0 else "buy"),
                                              Decimal(0))))
    conf = config_of(acct["config"], cfg)
    margin, overnight, intraday = conf.margin_terms(cfg)
    fig = account_figures(cash, [(p.position, p.price) for p in priced],
                          margin=margin, overnight=overnight,
                          intraday=intraday, pdt_threshold=cfg.pdt_equity_threshold,
                          in_session=period.session is not None)
    label = period.session
    srow = repo.session(label) if label else None
    last_equity = from_micros(srow["start_equity_micros"]) if srow else fig.equity
    return Snapshot(
        account=repo.account_id, account_id=acct["account_id"], account_number=acct["account_number"],
        epoch=acct["epoch"], start_cash=from_micros(acct["start_cash_micros"]), figures=fig,
        positions=priced, session=label, last_equity=last_equity,
        daytrade_count=repo.day_trades_since(period.five_start),
        created_at=acct["created_at"], halted=bool(srow["halted"]) if srow else False,
        entries_today=int(srow["entries"]) if srow else 0, reserved=repo.reserved(),
        config=conf)
