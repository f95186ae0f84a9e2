"""Alpaca's account configurations (``/v2/account/configurations``), stored per account as JSON
in ``pt_accounts.config``, and what they change in the simulator.

- ``suspend_trade``: new orders are refused (403).
- ``no_shorting``: a sell larger than the position less the shares held by open sells is refused
  (403 "insufficient qty available", as Alpaca answers a long-only account).
- ``fractional_trading`` false: fractional-qty and notional orders are refused (422).
- ``max_margin_multiplier``: "1" makes the account a cash account (buying power = cash, no
  short sales); "2" caps margin at Reg T; "4" allows the intraday 4x of a pattern day trader.
  The suite's ``paper_trading.margin_*`` settings stay the ceiling.
- ``pdt_check``: when the pattern-day-trader rule is checked: "exit" (on the order that would
  complete a day trade, the default, as before), "entry" (refuse opening orders once the
  account has used its day trades), "both".
- ``dtbp_check``, ``trade_confirm_email``, ``ptp_no_exception_entry`` and
  ``max_options_trading_level`` are stored and reported; nothing in the simulator depends on
  them (no margin calls, no e-mail, no PTP symbols, no options).

The configuration is read with the account row (order intake folds the column into its one
context query), so there is no extra read per order and no cache to invalidate across worker
processes: the parsed value is memoized by the column's text, and a PATCH changes the text.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.paper_trading.adapters.repository import Repository
from shared.errors import NotFound, UnprocessableError
from shared.trading import RiskRejection

if TYPE_CHECKING:
    from services.paper_trading.service_layer.ports import PaperContext
    from shared.trading.schemas import OrderRequest

Check = Literal["both", "entry", "exit"]
_MULTIPLIERS = ("1", "2", "3", "4")


@dataclass(frozen=True)
class AccountConfig:
    dtbp_check: str = "entry"
    trade_confirm_email: str = "all"
    suspend_trade: bool = False
    no_shorting: bool = False
    fractional_trading: bool = True
    max_margin_multiplier: str = "4"
    pdt_check: str = "exit"
    ptp_no_exception_entry: bool = False
    max_options_trading_level: int | None = None

    def json(self) -> dict[str, Any]:
        """Return Alpaca's AccountConfiguration object."""
        return asdict(self)

    def margin_terms(self, cfg: Any) -> tuple[bool, Decimal, Decimal]:
        """Return (margin account?, overnight multiplier, intraday multiplier) for the suite's
        settings ``cfg`` (the ``paper_trading`` section) capped by ``max_margin_multiplier``."""
        cap = Decimal(self.max_margin_multiplier)
        margin = cfg.account_type == "margin" and cap > 1
        return margin, min(cfg.margin_overnight, cap), min(cfg.margin_intraday, cap)

    @property
    def pdt_on_exit(self) -> bool:
        return self.pdt_check in ("exit", "both")

    @property
    def pdt_on_entry(self) -> bool:
        return self.pdt_check in ("entry", "both")


class ConfigPatch(BaseModel):
    """The body of PATCH /v2/account/configurations: any subset of the fields; null keeps
    the stored value (alpaca-py sends the whole model, with nulls for unset options)."""

    model_config = ConfigDict(extra="ignore")
    dtbp_check: Check | None = None
    trade_confirm_email: Literal["all", "none"] | None = None
    suspend_trade: bool | None = None
    no_shorting: bool | None = None
    fractional_trading: bool | None = None
    max_margin_multiplier: str | None = Field(None, description="\"1\", \"2\", \"3\" or \"4\"")
    pdt_check: Check | None = None
    ptp_no_exception_entry: bool | None = None
    max_options_trading_level: int | None = Field(None, ge=0, le=3)

    @field_validator("max_margin_multiplier", mode="before")
    @classmethod
    def _multiplier(cls, v: Any) -> Any:
        if v is None:
            return v
        try:
            d = Decimal(str(v))
        except InvalidOperation:
            raise ValueError(f"must be one of 1, 2, 3, 4, was {v!r}") from None
        if d != d.to_integral_value() or str(int(d)) not in _MULTIPLIERS:
            raise ValueError(f"must be one of 1, 2, 3, 4, was {v!r}")
        return str(int(d))


@lru_cache(maxsize=1024)
def _parse(text: str, account_type: str, intraday: Decimal) -> AccountConfig:
    mult = "1" if account_type != "margin" else str(min(int(intraday), 4))
    try:
        stored = json.loads(text or "{}")
    except ValueError:
        stored = {}
    known = {k: v for k, v in (stored if isinstance(stored, dict) else {}).items()
             if k in AccountConfig.__dataclass_fields__}
    return replace(AccountConfig(max_margin_multiplier=mult), **known)


def default_config(cfg: Any) -> AccountConfig:
    """Return the configuration of an account that never set one (from the suite's settings)."""
    return _parse("{}", cfg.account_type, cfg.margin_intraday)


def config_of(text: str | None, cfg: Any) -> AccountConfig:
    """Return the configuration stored as ``text`` (``pt_accounts.config``), memoized by text."""
    return _parse(text or "{}", cfg.account_type, cfg.margin_intraday)


def check_order(conf: AccountConfig, req: OrderRequest) -> None:
    """Refuse an order the account's configuration does not allow.

    Raises:
        RiskRejection: 403 when trading is suspended.
        UnprocessableError: 422 for a fractional or notional order with fractional trading off.
    """
    if conf.suspend_trade:
        raise RiskRejection("trade_suspended",
                            "new orders are rejected: the account's trading is suspended "
                            "(account configuration suspend_trade)")
    if not conf.fractional_trading:
        if req.notional is not None:
            raise UnprocessableError("fractional trading is not enabled for this account: "
                                     "notional orders are not allowed", field="notional")
        if req.qty is not None and req.qty != req.qty.to_integral_value():
            raise UnprocessableError("fractional trading is not enabled for this account: "
                                     f"qty must be a whole number, was {req.qty}", field="qty")


def get_config(svc: PaperContext, account: int) -> AccountConfig:
    """Return the account's configuration.

    Raises:
        NotFound: no such account.
    """
    row = Repository(svc.get_db_connection(), account).account()
    if row is None:
        raise NotFound(f"account not found for {account}", field="account")
    return config_of(row["config"], svc.cfg)


def set_config(svc: PaperContext, account: int, patch: ConfigPatch) -> AccountConfig:
    """Apply the non-null fields of ``patch``; return the new configuration.

    Raises:
        NotFound: no such account.
    """
    changes = patch.model_dump(exclude_none=True)
    with svc.write_uow("account_config") as uow:
        row = Repository(uow.conn, account).account()
        if row is None:
            raise NotFound(f"account not found for {account}", field="account")
        new = replace(config_of(row["config"], svc.cfg), **changes)
        uow.conn.execute("UPDATE pt_accounts SET config = ? WHERE id = ?",
                         (json.dumps(new.json(), sort_keys=True), account))
        uow.commit()
    return new


def account_flags(conf: AccountConfig, cfg: Any) -> dict[str, Any]:
    """Return the TradeAccount keys the configuration decides (``cfg``: the suite's
    ``paper_trading`` settings)."""
    margin, _, _ = conf.margin_terms(cfg)
    return {"trade_suspended_by_user": conf.suspend_trade,
            "shorting_enabled": margin and not conf.no_shorting}


__all__ = ["AccountConfig", "ConfigPatch", "account_flags", "check_order", "config_of",
           "default_config", "get_config", "set_config"]
