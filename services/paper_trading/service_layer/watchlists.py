"""Alpaca watchlists per account (``pt_watchlists``): named, ordered lists of known assets.

A watchlist's symbols are stored as a JSON list in the order given; the API answers with each
asset's full Alpaca object (``alpaca_models.asset_json`` over the ``symbols`` table).  A symbol
the market does not know is a 422 ("asset not found"), as at Alpaca; another account's
watchlist is a 404, as an unknown id.
"""
from __future__ import annotations

import json
import re
import sqlite3
import uuid
from typing import TYPE_CHECKING, Any

from services.paper_trading.service_layer.alpaca_models import asset_json, ts
from services.paper_trading.service_layer.intake import asset_id_for
from shared.errors import NotFound, UnprocessableError, ValidationError
from shared.trading.records import iso, parse_ts

if TYPE_CHECKING:
    from services.paper_trading.service_layer.ports import PaperContext

_SYMBOL = re.compile(r"^[A-Z0-9.\-/]{1,21}$")
MAX_NAME = 64
MAX_SYMBOLS = 1000


def _name(name: str | None) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise ValidationError(f"name must be 1-{MAX_NAME} characters", field="name")
    return name


class Watchlists:
    """The watchlist use cases of one account."""

    def __init__(self, svc: PaperContext, account: int) -> None:
        self.svc = svc
        self.account = account

    # -- reads ----------------------------------------------------------------------------
    def _account_uuid(self, conn: sqlite3.Connection) -> str:
        row = conn.execute("SELECT account_id FROM pt_accounts WHERE id = ?",
                           (self.account,)).fetchone()
        if row is None:
            raise NotFound(f"account not found for {self.account}", field="account")
        return str(row[0])

    def _row(self, conn: sqlite3.Connection, *, wid: str | None = None,
             name: str | None = None) -> sqlite3.Row:
        if wid is not None:
            row = conn.execute("SELECT * FROM pt_watchlists WHERE id = ? AND account = ?",
                               (wid.lower(), self.account)).fetchone()
        else:
            row = conn.execute("SELECT * FROM pt_watchlists WHERE name = ? AND account = ?",
                               (name, self.account)).fetchone()
        if row is None:
            raise NotFound(f"watchlist not found for {wid or name}",
                           field="watchlist_id" if wid is not None else "name")
        return row

    def _json(self, conn: sqlite3.Connection, row: sqlite3.Row,
              with_assets: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": row["id"], "account_id": self._account_uuid(conn), "name": row["name"],
            "created_at": ts(parse_ts(row["created_at"])),
            "updated_at": ts(parse_ts(row["updated_at"]))}
        if with_assets:
            syms = json.loads(row["symbols"])
            info = self._infos(conn, syms)
            out["assets"] = [asset_json(s, asset_id_for(s), info.get(s)) for s in syms]
        return out

    @staticmethod
    def _infos(conn: sqlite3.Connection, syms: list[str]) -> dict[str, sqlite3.Row]:
        out: dict[str, sqlite3.Row] = {}
        for i in range(0, len(syms), 500):
            chunk = syms[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for r in conn.execute(f"SELECT * FROM symbols WHERE symbol IN ({marks})",  # noqa: S608 - placeholders only
                                  chunk):
                out[r["symbol"]] = r
        return out

    def _known(self, conn: sqlite3.Connection, symbols: list[str]) -> list[str]:
        """Return ``symbols`` upper-cased and de-duplicated, each checked to be in the market.

        Raises:
            ValidationError: a malformed symbol or too many.
            UnprocessableError: a symbol the market does not have (Alpaca's 422).
        """
        out: list[str] = []
        for raw in symbols:
            sym = str(raw).strip().upper()
            if not _SYMBOL.match(sym):
                raise ValidationError(f"malformed symbol {raw!r}", field="symbols")
            if sym not in out:
                out.append(sym)
        if len(out) > MAX_SYMBOLS:
            raise ValidationError(f"a watchlist holds at most {MAX_SYMBOLS} symbols",
                                  field="symbols")
        info = self._infos(conn, out)
        for sym in out:
            if sym not in info and conn.execute(
                    "SELECT 1 FROM bars WHERE symbol = ? LIMIT 1", (sym,)).fetchone() is None:
                raise UnprocessableError(f"asset not found for {sym}", field="symbols")
        return out

    def list(self) -> list[dict[str, Any]]:
        """Return the account's watchlists (without their assets, as Alpaca's list)."""
        conn = self.svc.get_db_connection()
        rows = conn.execute("SELECT * FROM pt_watchlists WHERE account = ? "
                            "ORDER BY created_at, id", (self.account,)).fetchall()
        return [self._json(conn, r, with_assets=False) for r in rows]

    def get(self, *, wid: str | None = None, name: str | None = None) -> dict[str, Any]:
        """Return one watchlist with its assets.

        Raises:
            NotFound: the account has no such watchlist.
        """
        conn = self.svc.get_db_connection()
        return self._json(conn, self._row(conn, wid=wid, name=name))

    # -- writes ---------------------------------------------------------------------------
    def _name_free(self, conn: sqlite3.Connection, name: str, wid: str | None) -> None:
        row = conn.execute("SELECT id FROM pt_watchlists WHERE account = ? AND name = ?",
                           (self.account, name)).fetchone()
        if row is not None and row[0] != wid:
            raise UnprocessableError(f"a watchlist named {name!r} already exists", field="name")

    def create(self, name: str, symbols: list[str] | None) -> dict[str, Any]:
        """Create a watchlist.

        Raises:
            ValidationError: bad name or symbol.  UnprocessableError: name taken, unknown asset.
        """
        name = _name(name)
        at = iso(self.svc.now())
        with self.svc.write_uow("watchlist") as uow:
            syms = self._known(uow.conn, symbols or [])
            self._name_free(uow.conn, name, None)
            wid = str(uuid.uuid4())
            uow.conn.execute("INSERT INTO pt_watchlists (id, account, name, symbols, created_at, "
                             "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                             (wid, self.account, name, json.dumps(syms), at, at))
            out = self._json(uow.conn, self._row(uow.conn, wid=wid))
            uow.commit()
        return out

    def update(self, *, wid: str | None = None, name: str | None = None,
               new_name: str | None = None, symbols: list[str] | None = None) -> dict[str, Any]:
        """Rename a watchlist and/or replace its symbols.

        Raises:
            NotFound: no such watchlist.  ValidationError / UnprocessableError as ``create``.
        """
        if new_name is None and symbols is None:
            raise ValidationError("give name or symbols", field="name")
        with self.svc.write_uow("watchlist") as uow:
            row = self._row(uow.conn, wid=wid, name=name)
            cur_name = row["name"] if new_name is None else _name(new_name)
            self._name_free(uow.conn, cur_name, row["id"])
            syms = (json.loads(row["symbols"]) if symbols is None
                    else self._known(uow.conn, symbols))
            out = self._save(uow.conn, row["id"], cur_name, syms)
            uow.commit()
        return out

    def _save(self, conn: sqlite3.Connection, wid: str, name: str,
              syms: list[str]) -> dict[str, Any]:
        conn.execute("UPDATE pt_watchlists SET name = ?, symbols = ?, updated_at = ? "
                     "WHERE id = ? AND account = ?",
                     (name, json.dumps(syms), iso(self.svc.now()), wid, self.account))
        return self._json(conn, self._row(conn, wid=wid))

    def add(self, symbol: str, *, wid: str | None = None,
            name: str | None = None) -> dict[str, Any]:
        """Append an asset to a watchlist.

        Raises:
            NotFound: no such watchlist.  UnprocessableError: unknown asset, or already listed.
        """
        if not symbol:
            raise ValidationError("symbol is required", field="symbol")
        with self.svc.write_uow("watchlist") as uow:
            row = self._row(uow.conn, wid=wid, name=name)
            (sym,) = self._known(uow.conn, [symbol])
            syms = json.loads(row["symbols"])
            if sym in syms:
                raise UnprocessableError(f"{sym} is already in the watchlist", field="symbol")
            if len(syms) >= MAX_SYMBOLS:
                raise UnprocessableError(f"a watchlist holds at most {MAX_SYMBOLS} symbols",
                                         field="symbol")
            out = self._save(uow.conn, row["id"], row["name"], [*syms, sym])
            uow.commit()
        return out

    def remove(self, symbol: str, *, wid: str | None = None,
               name: str | None = None) -> dict[str, Any]:
        """Remove an asset from a watchlist.

        Raises:
            NotFound: no such watchlist, or the symbol is not in it.
        """
        with self.svc.write_uow("watchlist") as uow:
            row = self._row(uow.conn, wid=wid, name=name)
            syms = json.loads(row["symbols"])
            sym = symbol.strip().upper()
            if sym not in syms:
                raise NotFound(f"{sym} is not in the watchlist", field="symbol")
            out = self._save(uow.conn, row["id"], row["name"], [s for s in syms if s != sym])
            uow.commit()
        return out

    def delete(self, *, wid: str | None = None, name: str | None = None) -> None:
        """Delete a watchlist.

        Raises:
            NotFound: no such watchlist.
        """
        with self.svc.write_uow("watchlist") as uow:
            row = self._row(uow.conn, wid=wid, name=name)
            uow.conn.execute("DELETE FROM pt_watchlists WHERE id = ? AND account = ?",
                             (row["id"], self.account))
            uow.commit()


__all__ = ["Watchlists"]
