"""Paper accounts: one per Alpaca key id, plus the automation's (account 1, key id
``automation``: a client reads the automation's account on /v2 with that key id).

An account is found by its APCA-API-KEY-ID and created on first use with the configured
starting cash, or explicitly (``hybrid_manager.py accounts create``), optionally with a
secret.  Who may use an account:

- an account created with a secret: the request's APCA-API-SECRET-KEY must match it;
- otherwise, when the suite has an API key (``security.api_key``): the secret must be that key
  (checked before, by ``alpaca_api.check_alpaca_key``);
- otherwise (no keys configured, the out-of-the-box laptop setup): any key id gets its account.

Secrets are stored as PBKDF2-SHA256 (hashlib; the standard library's is the well-kept one for
this); a verified (key id, secret) pair is remembered in memory as its SHA-256 so a request
costs one dict lookup, not 100,000 hash rounds.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import re
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shared.db.bounds import db_int
from shared.domain.money import from_micros, to_micros
from shared.errors import AuthError, Conflict, NotFound, ValidationError
from shared.sqlcompat import sync_id_sequence

AUTOMATION = 1
AUTOMATION_NAME = "automation"
_ROUNDS = 100_000
_KEY_ID = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")
_NAME = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    key_id: str | None
    account_id: str
    account_number: str
    start_cash: Decimal
    cash: Decimal
    epoch: int
    created_at: str
    has_secret: bool

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Account:
        return cls(row["id"], row["name"], row["key_id"], row["account_id"],
                   row["account_number"], from_micros(row["start_cash_micros"]),
                   from_micros(row["cash_micros"]), row["epoch"], row["created_at"],
                   row["secret_hash"] is not None)

    def public(self) -> dict[str, Any]:
        """Return what the API and the CLI show of the account (never the secret's hash)."""
        return {"id": self.id, "name": self.name, "key_id": self.key_id,
                "account_id": self.account_id, "account_number": self.account_number,
                "starting_cash": self.start_cash, "cash": self.cash, "epoch": self.epoch,
                "created_at": self.created_at, "has_secret": self.has_secret,
                "automation": self.id == AUTOMATION}


def hash_secret(secret: str, *, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, _ROUNDS)
    return f"pbkdf2_sha256${_ROUNDS}${salt.hex()}${digest.hex()}"


def check_secret(secret: str, stored: str) -> bool:
    try:
        _, rounds, salt, digest = stored.split("$")
        got = hashlib.pbkdf2_hmac("sha256", secret.encode(), bytes.fromhex(salt), int(rounds))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


def insert_account(conn: sqlite3.Connection, *, name: str, key_id: str | None,
                   starting_cash: Decimal, at: str, secret: str | None = None,
                   account_id: int | None = None) -> int:
    """Insert an account row and its book row; return its id (call inside a write txn)."""
    # The id column only when given: PostgreSQL refuses a NULL id where SQLite picks the next.
    id_col, id_val = ("id, ", (account_id,)) if account_id is not None else ("", ())
    acct = int(conn.execute(
        f"INSERT INTO pt_accounts ({id_col}name, key_id, secret_hash, account_id, "  # noqa: S608
        "account_number, start_cash_micros, cash_micros, epoch, created_at) VALUES "
        f"({'?, ' * len(id_val)}?, ?, ?, ?, ?, ?, ?, 0, ?) RETURNING id",
        (*id_val, name, key_id, None if secret is None else hash_secret(secret),
         str(uuid.uuid4()), f"PA{uuid.uuid4().int % 10**10:010d}", to_micros(starting_cash),
         to_micros(starting_cash), at)).fetchone()[0])
    if account_id is not None:
        sync_id_sequence(conn, "pt_accounts")
    conn.execute("INSERT INTO pt_book (id, version, reserved_micros) VALUES (?, 0, 0) "
                 "ON CONFLICT (id) DO NOTHING", (acct,))
    return acct


class AccountDirectory:
    """Key id -> account id, created on first use; remembers what it resolved (rows are never
    deleted, so a resolved id stays valid)."""

    def __init__(self, db: Any, starting_cash: Decimal, now: Any) -> None:
        self.db = db
        self.starting_cash = starting_cash
        self._now = now
        self._by_key: dict[str, tuple[int, str | None]] = {}  # key id -> (id, secret hash)
        self._verified: set[tuple[str, bytes]] = set()
        self._lock = threading.Lock()

    def _at(self) -> str:
        t: datetime = self._now()
        return t.isoformat(timespec="microseconds")

    def ensure_automation(self) -> None:
        """Create the automation's account when it does not exist yet (a fresh database)."""
        if self.db.fetch_one("SELECT 1 FROM pt_accounts WHERE id = ?", (AUTOMATION,)):
            return
        with self.db.transaction("paper_trading:account") as conn:
            if conn.execute("SELECT 1 FROM pt_accounts WHERE id = ?", (AUTOMATION,)).fetchone():
                return
            insert_account(conn, name=AUTOMATION_NAME, key_id=AUTOMATION_NAME,
                           starting_cash=self.starting_cash, at=self._at(), account_id=AUTOMATION)

    def resolve(self, key_id: str, secret: str | None) -> int:
        """Return the account of ``key_id``, creating it on first use.

        Raises:
            AuthError: the key id is malformed, or the account has a secret and ``secret``
                does not match it.
        """
        if not _KEY_ID.match(key_id or ""):
            raise AuthError("request is not authorized: APCA-API-KEY-ID is missing or malformed",
                            field="APCA-API-KEY-ID")
        hit = self._by_key.get(key_id)
        if hit is None:
            hit = self._load_or_create(key_id)
        acct, stored = hit
        if stored is not None:
            token = (key_id, hashlib.sha256((secret or "").encode()).digest())
            if token not in self._verified:
                if not check_secret(secret or "", stored):
                    raise AuthError("access key verification failed",
                                    field="APCA-API-SECRET-KEY")
                with self._lock:
                    self._verified.add(token)
        return acct

    def _load_or_create(self, key_id: str) -> tuple[int, str | None]:
        row = self.db.fetch_one("SELECT id, secret_hash FROM pt_accounts WHERE key_id = ?",
                                (key_id,))
        if row is None:
            self.ensure_automation()
            with self.db.transaction("paper_trading:account") as conn:
                row = conn.execute("SELECT id, secret_hash FROM pt_accounts WHERE key_id = ?",
                                   (key_id,)).fetchone()
                if row is None:
                    acct = insert_account(conn, name=_unique_name(conn, key_id), key_id=key_id,
                                          starting_cash=self.starting_cash, at=self._at())
                    row = (acct, None)
        hit = (int(row[0]), row[1])
        with self._lock:
            self._by_key[key_id] = hit
        return hit

    # -- administration (the CLI and /api/v1/accounts) ------------------------------------
    def create(self, *, name: str | None, key_id: str | None, secret: str | None = None,
               starting_cash: Decimal | None = None) -> Account:
        """Create an account.

        Raises:
            ValidationError: bad name, key id or cash.  Conflict: the name or key id is taken.
        """
        if key_id is not None and not _KEY_ID.match(key_id):
            raise ValidationError("key_id must be 1-128 letters, digits or _.:-", field="key_id")
        name = name or key_id
        if not name or not _NAME.match(name):
            raise ValidationError("name must be 1-64 letters, digits or _.:-", field="name")
        cash = self.starting_cash if starting_cash is None else starting_cash
        if not Decimal(0) < cash <= Decimal("1e12"):
            raise ValidationError("starting_cash must be in (0, 1e12]", field="starting_cash")
        self.ensure_automation()
        with self.db.transaction("paper_trading:account") as conn:
            taken = conn.execute("SELECT name, key_id FROM pt_accounts WHERE name = ? OR "
                                 "(key_id IS NOT NULL AND key_id = ?)", (name, key_id)).fetchone()
            if taken is not None:
                what = "name" if taken[0] == name else "key_id"
                raise Conflict(f"an account with this {what} exists", field=what)
            acct = insert_account(conn, name=name, key_id=key_id, starting_cash=cash,
                                  at=self._at(), secret=secret)
        return self.get(acct)

    def get(self, ref: int | str) -> Account:
        """Return an account by id, name or key id.

        Raises:
            NotFound: no such account.
        """
        self.ensure_automation()
        as_id = ref if isinstance(ref, int) else db_int(ref)
        if as_id is not None:
            row = self.db.fetch_one("SELECT * FROM pt_accounts WHERE id = ?", (as_id,))
        else:
            row = self.db.fetch_one("SELECT * FROM pt_accounts WHERE name = ? OR key_id = ? "
                                    "ORDER BY name = ? DESC LIMIT 1", (ref, ref, ref))
        if row is None:
            raise NotFound(f"account not found for {ref}", field="account")
        return Account.from_row(row)

    def all(self) -> list[Account]:
        self.ensure_automation()
        return [Account.from_row(r) for r in
                self.db.fetch_all("SELECT * FROM pt_accounts ORDER BY id")]


def _unique_name(conn: sqlite3.Connection, key_id: str) -> str:
    name = key_id[:64] if _NAME.match(key_id[:64]) else f"key-{uuid.uuid4().hex[:8]}"
    n = 1
    base = name
    while conn.execute("SELECT 1 FROM pt_accounts WHERE name = ?", (name,)).fetchone():
        n += 1
        name = f"{base[:58]}-{n}"
    return name


__all__ = ["AUTOMATION", "Account", "AccountDirectory", "check_secret", "hash_secret",
           "insert_account"]
