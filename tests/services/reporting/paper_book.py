"""Book fills into paper trading's tables the way its engine does (its own domain and SQL)."""
from __future__ import annotations

from decimal import Decimal

from services.paper_trading.adapters.repository import Repository
from services.paper_trading.service_layer.accounts import insert_account
from shared.analytics import Fill
from shared.db import Database
from shared.domain.money import from_micros, to_micros
from shared.trading.accounting import Position, apply_fill
from shared.trading.types import Side
from tests.services.reporting.factories import T0


def open_account(db: Database, cash: str = "100000") -> None:
    with db.transaction() as conn:
        insert_account(conn, name="automation", key_id="automation", starting_cash=Decimal(cash),
                       at=T0.isoformat(), account_id=1)


def book(db: Database, fills: list[Fill]) -> Decimal:
    """Book ``fills`` as paper trading's engine does; return the sum of its realized P&L."""
    realized = Decimal(0)
    with db.transaction() as conn:
        repo = Repository(conn)
        epoch = repo.account()["epoch"]
        for f in fills:
            row = repo.position(f.symbol)
            pos = Position(f.symbol) if row is None else Position(
                f.symbol, from_micros(row["qty_micros"]),
                from_micros(row["avg_entry_price_micros"]), from_micros(row["realized_pl_micros"]))
            eff = apply_fill(pos, Side(f.side), f.qty, f.price)
            realized += eff.realized
            fid = repo.insert_fill(
                order_id=f.order_id, symbol=f.symbol, side=f.side, qty_micros=to_micros(f.qty),
                price_micros=to_micros(f.price), commission_micros=to_micros(f.commission),
                opening_micros=to_micros(eff.opened), closing_micros=to_micros(eff.closed),
                realized_pl_micros=to_micros(eff.realized),
                bar_ts=f.ts.strftime("%Y-%m-%dT%H:%M:%S+00:00"), filled_at=f.ts.isoformat(),
                session=f.ts.date().isoformat(), epoch=epoch)
            repo.add_ledger("fill", eff.cash, f.ts, order_id=f.order_id, fill_id=fid)
            if f.commission:
                repo.add_ledger("commission", -f.commission, f.ts, order_id=f.order_id,
                                fill_id=fid)
            p = eff.position
            repo.save_position(f.symbol, f"asset-{f.symbol}", p.qty, p.avg_entry, p.realized,
                               f.ts)
    return realized
