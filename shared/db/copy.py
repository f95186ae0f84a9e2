"""``hybrid_manager.py db copy --from sqlite:///... --to postgresql://...``: move an installation.

The target is migrated (the same numbered set as the source, which must be up to date), its
tables emptied, and every table copied in chunks with PostgreSQL's ``COPY`` inside one
transaction, from one consistent read of the source; user triggers are off during the copy
(the rows come with what the triggers computed: pt_book, the workflow rows' market run),
generated columns are computed by the target, and identities are moved past the copied ids.
Then it checks, on both sides: the rows of every table, and each account's ledger (entries,
their sum, the account's cash).  Nothing is committed unless every check passes.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.db.database import Database
from shared.db.migrations import MIGRATIONS_DIR, applied_migrations, migrate, reset_identities
from shared.errors import ValidationError

CHUNK = 5000
_LEDGER = ("SELECT account, COUNT(*), COALESCE(SUM(amount_micros), 0) FROM pt_ledger "
           "GROUP BY account ORDER BY account")
_CASH = "SELECT id, cash_micros FROM pt_accounts ORDER BY id"


@dataclass
class CopyReport:
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)  # name: (source, target)
    ledgers: dict[int, tuple[Any, Any]] = field(default_factory=dict)  # account: (src, dst)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(a == b for a, b in self.tables.values()) and \
            all(a == b for a, b in self.ledgers.values())

    def mismatches(self) -> list[str]:
        out = [f"table {t}: {a} rows in the source, {b} in the target"
               for t, (a, b) in self.tables.items() if a != b]
        out += [f"account {acct}: ledger {a} in the source, {b} in the target"
                for acct, (a, b) in self.ledgers.items() if a != b]
        return out


class CopyRefused(ValidationError):
    """The copy cannot start: the message says what to do."""


def open_database(url: str, root: Path | None = None) -> Database:
    """Return a ``Database`` for ``sqlite:///path`` (relative to ``root``) or ``postgresql://``.

    Raises:
        CopyRefused: for another scheme.
    """
    if url.startswith(("postgresql://", "postgres://")):
        from shared.db.postgres import PgDatabase

        return PgDatabase(url)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if not path.is_absolute() and root is not None:
            path = root / path
        if not path.exists():
            raise CopyRefused(f"no SQLite file at {path}", field="from")
        return Database(path)
    raise CopyRefused(f"unknown database URL {url!r}: type sqlite:///path or "
                      "postgresql://user:password@host:5432/name", field="from")


def _columns(db: Database, table: str) -> list[str]:
    """The target's columns a copy writes (PostgreSQL computes its generated ones)."""
    return [r[0] for r in db.fetch_all(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = ? AND is_generated = 'NEVER' "
        "ORDER BY ordinal_position", (table,))]


def _parents_first(db: Database, tables: list[str]) -> list[str]:
    """Return ``tables`` with every table after the ones its foreign keys reference."""
    refs: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in db.fetch_all(
            "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
            "WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace"):
        if child in refs and parent != child:
            refs[child].add(parent)
    out: list[str] = []
    while refs:
        ready = sorted(t for t, deps in refs.items() if not deps - set(out))
        if not ready:  # a cycle: cannot happen with this schema, keep the rest as they come
            ready = sorted(refs)
        out += ready
        for t in ready:
            refs.pop(t)
    return out


def copy_database(src: Database, dst: Database, *, force: bool = False, chunk: int = CHUNK,
                  say: Callable[[str], None] = lambda _m: None) -> CopyReport:
    """Copy every table of ``src`` into PostgreSQL ``dst``; return what both sides hold.

    Raises:
        CopyRefused: when the target is not PostgreSQL, the source is behind the migrations,
            or the target was migrated before (holding data) and ``force`` is not set.
    """
    if dst.dialect != "postgresql":
        raise CopyRefused("the target must be a postgresql:// database", field="to")
    t0 = time.perf_counter()
    files = {int(p.name[:4]) for p in MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")}
    have = applied_migrations(src)
    if set(have) != files:
        raise CopyRefused(f"the source lacks migrations {sorted(files - set(have))}: run "
                          "`hybrid_manager.py migrate` on it first", field="from")
    applied = migrate(dst)
    if len(applied) != len(files) and not force:
        raise CopyRefused("the target was migrated before and may hold data: pass --force "
                          "to replace everything in it", field="to")
    tables = _parents_first(dst, [t for t in dst.table_names() if t != "schema_migrations"])
    missing = set(tables) - set(src.table_names())
    if missing:
        raise CopyRefused(f"the source has no tables {sorted(missing)}", field="from")
    report = CopyReport()
    read = src.get_db_connection()
    read.execute("BEGIN")  # one consistent view of the source for the whole copy
    try:
        with dst.transaction("db_copy") as conn:
            raw = conn.raw  # type: ignore[attr-defined]
            raw.execute(f"TRUNCATE {', '.join(tables)}")
            for t in tables:
                raw.execute(f"ALTER TABLE {t} DISABLE TRIGGER USER")
            for t in tables:
                cols = _columns(dst, t)
                names = ", ".join(cols)
                cur = read.execute(f"SELECT {names} FROM {t}")  # noqa: S608 - catalog names
                n = 0
                with raw.cursor().copy(f"COPY {t} ({names}) FROM STDIN") as cp:
                    while rows := cur.fetchmany(chunk):
                        for row in rows:
                            cp.write_row(tuple(row))
                        n += len(rows)
                report.tables[t] = (n, -1)
                say(f"{t}: {n} rows")
            for t in tables:
                raw.execute(f"ALTER TABLE {t} ENABLE TRIGGER USER")
            reset_identities(conn)
            for t in tables:
                report.tables[t] = (
                    read.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0],  # noqa: S608
                    conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0])  # noqa: S608
            theirs, ours = _ledger_on(read), _ledger_on(conn)
            report.ledgers = {a: (theirs.get(a), ours.get(a))
                              for a in sorted(set(theirs) | set(ours))}
            if not report.ok:
                raise CopyMismatch(report)
    finally:
        read.execute("ROLLBACK")
    report.seconds = time.perf_counter() - t0
    return report


def _ledger_on(conn: Any) -> dict[int, tuple[Any, ...]]:
    """Return {account: (ledger entries, their sum, the account's cash)} (micro-units)."""
    cash = {r[0]: r[1] for r in conn.execute(_CASH).fetchall()}
    rows = {r[0]: (r[1], r[2], cash.get(r[0])) for r in conn.execute(_LEDGER).fetchall()}
    return rows | {a: (0, 0, c) for a, c in cash.items() if a not in rows}


class CopyMismatch(Exception):
    """The copied data differ from the source's: nothing was committed."""

    def __init__(self, report: CopyReport) -> None:
        super().__init__("; ".join(report.mismatches()))
        self.report = report


# -- the manager's command ---------------------------------------------------------------------
def register(sub: Any) -> dict[str, Any]:
    """Add ``db copy`` to the manager's subparsers; return its handler (hybrid_manager.py)."""
    p = sub.add_parser("db", help="database tools: copy an installation to PostgreSQL")
    tools = p.add_subparsers(dest="db_command", required=True)
    cp = tools.add_parser("copy", help="copy every table, then check rows and ledgers")
    cp.add_argument("--from", dest="source", required=True, metavar="URL",
                    help="sqlite:///path/to/trading.db (or a postgresql:// URL)")
    cp.add_argument("--to", dest="target", required=True, metavar="URL",
                    help="postgresql://user:password@host:5432/name")
    cp.add_argument("--force", action="store_true",
                    help="replace the data of a target that was migrated before")
    cp.add_argument("--chunk", type=int, default=CHUNK, help="rows per read (default 5000)")
    return {"db": cmd_db}


def cmd_db(settings: Any, _rd: Any, args: argparse.Namespace) -> int:
    """Run ``db copy``; return 0 when every table and ledger matched, else 1."""
    from shared.config import ROOT

    try:
        src = open_database(args.source, ROOT)
        dst = open_database(args.target, ROOT)
    except CopyRefused as exc:
        print(f"db copy refused: {exc.message}")
        return 2
    try:
        report = copy_database(src, dst, force=args.force, chunk=args.chunk, say=print)
    except CopyRefused as exc:
        print(f"db copy refused: {exc.message}")
        return 2
    except CopyMismatch as exc:
        print("db copy FAILED, nothing committed:")
        for line in exc.report.mismatches():
            print(f"  {line}")
        return 1
    finally:
        src.close()
        dst.close()
    rows = sum(b for _, b in report.tables.values())
    print(f"copied {len(report.tables)} tables, {rows} rows in {report.seconds:.1f} s to "
          f"{dst.label}; row counts equal in every table; ledgers equal for "
          f"{len(report.ledgers)} account(s)")
    for acct, (_, (entries, total, cash)) in report.ledgers.items():
        print(f"  account {acct}: {entries} ledger entries, sum {total} micros, cash {cash} micros")
    return 0


__all__ = ["CopyMismatch", "CopyRefused", "CopyReport", "copy_database", "open_database",
           "register"]
