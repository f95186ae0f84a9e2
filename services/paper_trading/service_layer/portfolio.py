"""Use cases on positions and the account: replace, close, reset, ledger, invariants.

Mixed into ``PaperTradingService``; written against ``ports.TradingHost`` (what they need of it).
"""
from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import TYPE_CHECKING, Any

from services.paper_trading.adapters.repository import Repository
from services.paper_trading.service_layer.accounts import AUTOMATION
from services.paper_trading.service_layer.alpaca_models import calendar_json, clock_json
from services.paper_trading.service_layer.lifecycle import Lifecycle, timing_for
from services.paper_trading.service_layer.snapshot import Snapshot, snapshot
from shared.domain.money import from_micros
from shared.errors import NotFound, UnprocessableError, ValidationError
from shared.trading.ids import uuid7_str
from shared.trading.records import OrderRecord, bar_iso
from shared.trading.schemas import OrderRequest, ReplaceRequest

if TYPE_CHECKING:
    from services.paper_trading.service_layer.ports import TradingHost as _Base
else:
    _Base = object


class PortfolioUseCases(_Base):
    # -- replace --------------------------------------------------------------------------
    def replace_order(self, order_id: str, req: ReplaceRequest, *,
                      account: int = AUTOMATION) -> OrderRecord:
        """Replace an open, unfilled order with an amended copy; the old one is 'replaced'.

        Raises:
            NotFound: unknown id.  UnprocessableError: the order is final or partly filled.
        """
        now = self.now()
        with self.write_uow("replace") as uow:
            repo = Repository(uow.conn, account)
            old = repo.order_required(order_id)
            if old.status not in ("new", "accepted", "held") or old.filled_qty > 0:
                raise UnprocessableError(f"order in \"{old.status}\" state cannot be replaced",
                                         field="order_id")
            if req.client_order_id and repo.order_by_client_id(req.client_order_id):
                raise UnprocessableError("client_order_id must be unique",
                                         field="client_order_id")
            new = OrderRecord(**{k: getattr(old, k) for k in old.__dataclass_fields__
                                 if k not in ("legs", "seq")})
            new.id = uuid7_str()
            new.client_order_id = req.client_order_id or uuid7_str()
            new.replaces = old.id
            new.initial_status = None  # its creation event is written below, with its reason
            new.created_at = new.updated_at = new.submitted_at = now
            new.active_from = bar_iso(now)
            new.evaluated = False
            new.triggered = False
            new.hwm = None
            if req.qty is not None:
                new.qty, new.notional = req.qty, None
            if req.limit_price is not None:
                if new.limit_price is None:
                    raise ValidationError("limit_price does not apply to this order",
                                          field="limit_price")
                new.limit_price = req.limit_price
            if req.stop_price is not None:
                if new.stop_price is None or new.type == "trailing_stop":
                    raise ValidationError("stop_price does not apply to this order",
                                          field="stop_price")
                new.stop_price = req.stop_price
            if req.trail is not None:
                if new.type != "trailing_stop":
                    raise ValidationError("trail applies to trailing_stop orders", field="trail")
                if new.trail_price is not None:
                    new.trail_price = req.trail
                else:
                    new.trail_percent = req.trail
                new.stop_price = None
            if req.time_in_force is not None:
                new.time_in_force = req.time_in_force
            if new.status != "held":
                new.expires_at, new.target_bar = timing_for(
                    self.cal, new.time_in_force, now, "/" in new.symbol)
            if new.reserve and old.qty:
                price = new.limit_price if (new.side == "buy" and new.limit_price) else \
                    old.reserve / old.qty
                new.reserve = (new.qty or Decimal(0)) * price
            repo.insert_order(new)
            repo.order_event(new.id, new.status, f"replaces {old.id}", now)
            old.replaced_by = new.id
            Lifecycle(repo, self.cal).transition(old, "replaced", now, f"replaced by {new.id}")
            uow.conn.execute("UPDATE pt_orders SET parent_id = ? WHERE parent_id = ?",
                             (new.id, old.id))
            new.legs = repo.children(new.id)
            uow.commit()
        return new

    # -- positions ------------------------------------------------------------------------
    def account_snapshot(self, *, account: int = AUTOMATION) -> Snapshot:
        """Return the account as of the clock's now, read from one consistent view.

        This takes no write lock: a deferred read transaction sees one WAL snapshot, so cash,
        positions and the book agree with each other.
        """
        now = self.now()
        period = self.sessions.period(now)
        self.ensure_accounts()
        conn = self.get_db_connection()
        conn.execute("BEGIN")  # read-only: never upgraded to a write, so it cannot hit BUSY
        try:
            return snapshot(Repository(conn, account), self.cfg, period, now)
        finally:
            conn.execute("COMMIT")

    def positions(self, *, account: int = AUTOMATION) -> list[Any]:
        """Return the open positions priced at the last visible close."""
        return self.account_snapshot(account=account).positions

    def clock_view(self) -> dict[str, Any]:
        """Return Alpaca's clock object for the market clock's now."""
        return clock_json(self.cal, self.now())

    def calendar_view(self, start: str | None, end: str | None) -> list[dict[str, Any]]:
        """Return Alpaca's calendar objects for the sessions from ``start`` to ``end``."""
        return calendar_json(self.cal, start, end, self.now())

    def position(self, symbol_or_id: str, *, account: int = AUTOMATION) -> Any:
        """Return one priced position by symbol or asset id.

        Raises:
            NotFound: no open position.
        """
        key = symbol_or_id.upper()
        for p in self.positions(account=account):
            if p.position.symbol == key or p.asset_id == symbol_or_id.lower():
                return p
        raise NotFound(f"position does not exist for {symbol_or_id}", field="symbol")

    def close_position(self, symbol_or_id: str, qty: Decimal | None = None,
                       percentage: Decimal | None = None, *,
                       account: int = AUTOMATION) -> OrderRecord:
        """Submit a market order closing all or part of a position.

        Raises:
            NotFound: no open position.  ValidationError: qty/percentage out of range.
        """
        p = self.position(symbol_or_id, account=account)
        held = abs(p.position.qty)
        if qty is not None and percentage is not None:
            raise ValidationError("give qty or percentage, not both", field="qty")
        if percentage is not None:
            if not 0 < percentage <= 100:
                raise ValidationError("percentage must be in (0, 100]", field="percentage")
            qty = (held * percentage / 100).quantize(Decimal("0.000001"), rounding=ROUND_DOWN)
        qty = held if qty is None else qty
        if not 0 < qty <= held:
            raise ValidationError(f"qty must be in (0, {held}]", field="qty")
        side = "sell" if p.position.qty > 0 else "buy"
        return self.submit_order(OrderRequest(symbol=p.position.symbol, side=side, qty=qty,
                                              type="market", time_in_force="day"),
                                 account=account)

    def close_all_positions(self, cancel_orders: bool = False, *,
                            account: int = AUTOMATION) -> list[tuple[str, Any]]:
        """Close every position; return (symbol, order or error) pairs."""
        if cancel_orders:
            self.cancel_all(account=account)
        out: list[tuple[str, Any]] = []
        for p in self.account_snapshot(account=account).positions:
            try:
                out.append((p.position.symbol,
                            self.close_position(p.position.symbol, account=account)))
            except Exception as exc:  # report per symbol, as Alpaca's 207 does
                out.append((p.position.symbol, exc))
        return out

    # -- account --------------------------------------------------------------------------
    def reset(self, starting_cash: Decimal | None = None, *,
              account: int = AUTOMATION) -> Snapshot:
        """Cancel the account's open orders, drop its positions and bring its cash to the
        starting balance."""
        now = self.now()
        start = starting_cash if starting_cash is not None else self.cfg.starting_cash
        self.ensure_accounts()
        with self.write_uow("reset") as uow:
            repo = Repository(uow.conn, account)
            if repo.account() is None:
                raise NotFound(f"account not found for {account}", field="account")
            life = Lifecycle(repo, self.cal)
            for rec in repo.open_orders():
                rec = life.changed.get(rec.id, rec)
                if rec.status in ("new", "accepted", "partially_filled", "held"):
                    life.cancel(rec, now, "account_reset")
            repo.clear_positions()
            repo.clear_run_state()
            cash = from_micros(repo.account()["cash_micros"])
            repo.add_ledger("reset", start - cash, now, note="account reset")
            repo.bump_epoch(now)
            repo.trade_event("account_reset", {"starting_cash": str(start)}, now)
            uow.commit()
        return self.account_snapshot(account=account)

    def fills(self, limit: int = 100, symbol: str | None = None,
              order_id: str | None = None, *, account: int = AUTOMATION) -> list[dict[str, Any]]:
        repo = Repository(self.get_db_connection(), account)
        return [_money_row(r) for r in repo.fills(limit, symbol, order_id)]

    def ledger(self, limit: int = 100, before_id: int | None = None, *,
               account: int = AUTOMATION) -> list[dict[str, Any]]:
        return [_money_row(r) for r in
                Repository(self.get_db_connection(), account).ledger(limit, before_id)]

    def risk_state(self, *, account: int = AUTOMATION) -> dict[str, Any]:
        snap = self.account_snapshot(account=account)
        return {"session": snap.session, "halted": snap.halted, "entries_today": snap.entries_today,
                "start_equity": snap.last_equity, "equity": snap.figures.equity,
                "daytrade_count": snap.daytrade_count, "limits": self.cfg.risk.model_dump(),
                "buying_power": snap.figures.buying_power, "reserved": snap.reserved}

    def invariants(self, *, account: int = AUTOMATION) -> dict[str, Any]:
        """Check the account's accounting invariants; return each check and whether it holds."""
        self.ensure_accounts()
        # one consistent view, under the write lock (it books nothing)
        with self.write_uow("invariants", books=False) as uow:
            repo = Repository(uow.conn, account)
            acct = repo.account()
            if acct is None:
                raise NotFound(f"account not found for {account}", field="account")
            cash = from_micros(acct["cash_micros"])
            start = from_micros(acct["start_cash_micros"])
            ledger = repo.ledger_sum()
            sums = repo.fill_qty_sums(acct["epoch"])
            pos = {r["symbol"]: from_micros(r["qty_micros"]) for r in repo.positions()}
            reserved, recount = repo.reserved(), repo.reserved_recount()
            uow.commit()
        bad_pos = {s: (str(pos.get(s, 0)), str(q)) for s, q in sums.items() if pos.get(s, 0) != q}
        bad_pos.update({s: (str(q), "0") for s, q in pos.items() if s not in sums})
        checks = {
            "cash_equals_start_plus_ledger": cash == start + ledger,
            "positions_equal_sum_of_fills": not bad_pos,
            "cash_account_non_negative": self.cfg.account_type != "cash" or cash >= 0,
            "reserved_equals_sum_of_working_orders": reserved == recount,
        }
        return {"ok": all(checks.values()), "checks": checks, "cash": cash, "start": start,
                "ledger_sum": ledger, "position_mismatches": bad_pos}


def _money_row(row: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k in row.keys():
        v = row[k]
        if k.endswith("_micros"):
            out[k[: -len("_micros")]] = from_micros(v)
        else:
            out[k] = v
    return out


__all__ = ["PortfolioUseCases"]
