"""``hybrid_manager.py accounts create|list|reset``: paper accounts from the command line.

Owned by paper trading (the only writer of its tables): the manager registers the subcommand
and this module runs it with paper trading's own use cases on the suite's database, so it
works whether or not the suite is running.
"""
from __future__ import annotations

import argparse
import json
from decimal import Decimal
from typing import Any

from shared.config import Settings


def add_parser(sub: Any) -> None:
    """Register the ``accounts`` subcommand on the manager's subparsers."""
    p = sub.add_parser("accounts", help="paper accounts: one per Alpaca key id")
    act = p.add_subparsers(dest="accounts_command", required=True)
    act.add_parser("list", help="every account (the automation's is 1)").add_argument(
        "--json", action="store_true")
    c = act.add_parser("create", help="create an account for an Alpaca key id")
    c.add_argument("--key-id", required=True, help="the APCA-API-KEY-ID the bot sends")
    c.add_argument("--name", help="a name (default: the key id)")
    c.add_argument("--secret", help="a secret the bot must send as APCA-API-SECRET-KEY")
    c.add_argument("--cash", type=Decimal, help="starting cash (default: the configured one)")
    r = act.add_parser("reset", help="cancel orders, drop positions, restore starting cash")
    r.add_argument("account", help="account id, name or key id")
    r.add_argument("--cash", type=Decimal, help="new starting cash")


def register(sub: Any) -> dict[str, Any]:
    """Add ``accounts`` to the manager's subparsers; return its handler (hybrid_manager.py)."""
    add_parser(sub)
    return {"accounts": cmd_accounts}


def cmd_accounts(settings: Settings, _rd: Any, args: argparse.Namespace) -> int:
    """Run one ``accounts`` command; return its exit status."""
    from services.paper_trading.service_layer.service import PaperTradingService
    from shared.db import Database
    from shared.db.migrations import migrate
    from shared.errors import AppError

    db = Database.from_settings(settings)
    migrate(db)
    svc = PaperTradingService(settings, database=db)
    try:
        if args.accounts_command == "list":
            rows = [a.public() for a in svc.accounts.all()]
            if args.json:
                print(json.dumps(rows, default=str, indent=2))
            else:
                print(f"{'id':>4}  {'name':<24} {'key id':<24} {'cash':>16}  epoch")
                for a in rows:
                    print(f"{a['id']:>4}  {a['name']:<24} {str(a['key_id']):<24} "
                          f"{a['cash']:>16,.2f}  {a['epoch']}")
        elif args.accounts_command == "create":
            a = svc.accounts.create(name=args.name, key_id=args.key_id, secret=args.secret,
                                    starting_cash=args.cash)
            print(f"created account {a.id} ({a.name}) for key id {a.key_id}: "
                  f"cash {a.cash:,.2f}")
        else:
            a = svc.accounts.get(args.account)
            snap = svc.reset(args.cash, account=a.id)
            print(f"reset account {a.id} ({a.name}): cash {snap.figures.cash:,.2f}, "
                  f"epoch {snap.epoch}")
    except AppError as exc:
        print(f"error: {exc}")
        return 1
    finally:
        db.close()
    return 0


__all__ = ["add_parser", "cmd_accounts"]
