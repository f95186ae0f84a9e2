"""``hybrid_manager.py db copy --from URL --to URL`` and ``db verify``: move an installation.

SQLite -> PostgreSQL is the usual direction; PostgreSQL -> SQLite (and SQLite -> SQLite) is
the same code.  The target is migrated (the same numbered set as the source, which must be up
to date), its tables emptied, and every table copied in chunks (PostgreSQL's ``COPY``,
SQLite's ``executemany``) inside one transaction, from one consistent read of the source; user
triggers are off during the copy (the rows come with what the triggers computed: pt_book, the
workflow rows' market run), generated columns are computed by the target, and identities are
moved past the copied ids.  Then it checks, on both sides: each table's rows (count and a
checksum in primary-key order, ``shared.db.checksum``) and each account's ledger (entries,
their sum, the account's cash).  Nothing is committed unless every check passes.
``db verify`` runs the same checks on two existing databases.
"""
from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared.db.checksum import describe, is_pg, stream, table_digest
from shared.db.database import Database
from shared.db.dialect import DatabaseError
from shared.db.migrations import MIGRATIONS_DIR, applied_migrations, migrate, reset_identities
from shared.errors import OperationalError, ValidationError

CHUNK = 5000
CONNECT_TIMEOUT_S = 3  # an unreachable server is reported after this, not the pool's 30 s
_LEDGER = ("SELECT account, COUNT(*), COALESCE(SUM(amount_micros), 0) FROM pt_ledger "
           "GROUP BY account ORDER BY account")
_CASH = "SELECT id, cash_micros FROM pt_accounts ORDER BY id"


@dataclass
class CopyReport:
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)  # name: (source, target)
    ledgers: dict[int, tuple[Any, Any]] = field(default_factory=dict)  # account: (src, dst)
    digests: dict[str, tuple[str, str]] = field(default_factory=dict)  # name: (src, dst)
    timings: dict[str, list[float]] = field(default_factory=dict)  # name: [copy s, check s]
    problems: list[str] = field(default_factory=list)  # tables on one side only...
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(a == b for a, b in self.tables.values()) and \
            all(a == b for a, b in self.ledgers.values()) and \
            all(a == b for a, b in self.digests.values()) and not self.problems

    def mismatches(self) -> list[str]:
        out = [f"table {t}: {a} rows in the source, {b} in the target"
               for t, (a, b) in self.tables.items() if a != b]
        out += [f"table {t}: the rows differ (checksum {a[:12]} in the source, {b[:12]} in "
                "the target)" for t, (a, b) in self.digests.items()
                if a != b and len(set(self.tables.get(t, (0, 0)))) == 1]  # same count
        out += [f"account {acct}: ledger {a} in the source, {b} in the target"
                for acct, (a, b) in self.ledgers.items() if a != b]
        return out + self.problems

    def summary(self, copied: bool = True) -> list[str]:
        """One line per table: rows, seconds (copy, check), checksum, ok/DIFFERS."""
        width = max((len(t) for t in self.tables), default=5)
        out = []
        for t, (a, b) in self.tables.items():
            copy_s, check_s = self.timings.get(t, [0.0, 0.0])
            same = a == b and len(set(self.digests.get(t, ("", "")))) == 1
            took = f"copy {copy_s:6.2f} s  " if copied else ""
            out.append(f"  {t:<{width}} {b:>9} rows  {took}check {check_s:6.2f} s  sha256 "
                       f"{self.digests.get(t, ('', ''))[1][:12]}  {'ok' if same else 'DIFFERS'}")
        return out


class CopyRefused(ValidationError):
    """The copy cannot start: the message says what to do."""


def open_database(url: str, root: Path | None = None, *, side: str = "from") -> Database:
    """Return a ``Database`` for ``sqlite:///path`` (relative to ``root``) or ``postgresql://``.

    ``side`` is "from" (a SQLite file must exist) or "to" (it is created).

    Raises:
        CopyRefused: for another scheme, a missing file, or a PostgreSQL server that does not
            answer within ``CONNECT_TIMEOUT_S``.
    """
    if url.startswith(("postgresql://", "postgres://")):
        from shared.db.postgres import PgDatabase

        _reachable(url, side)
        return PgDatabase(url)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        if not path.is_absolute() and root is not None:
            path = root / path
        if side == "from" and not path.exists():
            raise CopyRefused(f"no SQLite file at {path}", field=side)
        if not path.parent.is_dir():
            raise CopyRefused(f"no directory {path.parent} for the SQLite file", field=side)
        return Database(path)
    raise CopyRefused(f"unknown database URL {url!r}: type sqlite:///path or "
                      "postgresql://user:password@host:5432/name", field=side)


def _reachable(url: str, side: str) -> None:
    """Connect once with a short timeout, so that a wrong host or port is one sentence.

    Raises:
        CopyRefused: the server cannot be reached or refuses the URL's login.
    """
    import psycopg

    from shared.db.postgres import redact

    try:
        psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S).close()
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        reason = reason.rsplit(" failed: ", 1)[-1].removeprefix("connection is bad: ")
        reason = reason.removeprefix("FATAL:").strip()
        raise CopyRefused(f"PostgreSQL at {redact(url)} cannot be reached ({reason})",
                          field=side) from exc


def _foreign_keys(db: Database, tables: list[str]) -> list[tuple[str, str]]:
    """Return ``(child, parent)`` for every foreign key between the database's tables."""
    if db.dialect == "postgresql":
        return [(r[0], r[1]) for r in db.fetch_all(
            "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c "
            "WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace")]
    return [(t, r[2]) for t in tables
            for r in db.fetch_all(f'PRAGMA foreign_key_list("{t}")')]


def _parents_first(db: Database, tables: list[str]) -> list[str]:
    """Return ``tables`` with every table after the ones its foreign keys reference."""
    refs: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in _foreign_keys(db, tables):
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
    """Copy every table of ``src`` into ``dst`` and check them; return what both sides hold.

    Raises:
        CopyRefused: when both are one database, the source is behind the migrations, or the
            target was migrated before (holding data) and ``force`` is not set.
        CopyMismatch: a table or a ledger differs after the copy (nothing committed).
    """
    if src.label == dst.label:
        raise CopyRefused("the source and the target are the same database", field="to")
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
    read = _begin_read(src)  # one consistent view of the source for the whole copy
    try:
        with dst.transaction("db_copy") as conn:
            triggers = _empty_without_triggers(conn, tables)
            schema = describe(conn, tables)
            for t in tables:
                t1 = time.perf_counter()
                cols = schema[t].writable()
                names = ", ".join(f'"{c}"' for c in cols)
                n = _write(conn, t, names, stream(read, f'SELECT {names} FROM "{t}"', chunk))  # noqa: S608
                report.timings[t] = [time.perf_counter() - t1, 0.0]
                say(f"{t}: {n} rows copied")
            _restore_triggers(conn, tables, triggers)
            _check(read, conn, tables, report, chunk)
            if not report.ok:
                raise CopyMismatch(report)
    finally:
        read.execute("ROLLBACK")
    report.seconds = time.perf_counter() - t0
    return report


def verify_databases(src: Database, dst: Database, *, chunk: int = CHUNK) -> CopyReport:
    """Compare two existing databases table by table (rows, checksums) and ledger by ledger.

    Raises:
        CopyMismatch: something differs (the report says what).
    """
    t0 = time.perf_counter()
    theirs, ours = (set(db.table_names()) - {"schema_migrations"} for db in (src, dst))
    report = CopyReport()
    report.problems += [f"table {t}: only in the source" for t in sorted(theirs - ours)]
    report.problems += [f"table {t}: only in the target" for t in sorted(ours - theirs)]
    versions = "SELECT version, checksum FROM schema_migrations ORDER BY version"
    a, b = ([tuple(r) for r in db.fetch_all(versions)] for db in (src, dst))
    if a != b:
        report.problems.append("schema_migrations: the two databases have different migrations")
    read, conn = _begin_read(src), _begin_read(dst)
    try:
        _check(read, conn, _parents_first(dst, sorted(theirs & ours)), report, chunk)
    finally:
        read.execute("ROLLBACK")
        conn.execute("ROLLBACK")
    report.seconds = time.perf_counter() - t0
    if not report.ok:
        raise CopyMismatch(report)
    return report


def _begin_read(db: Database) -> Any:
    """Open a read transaction that sees one snapshot until it ends; return its connection."""
    conn = db.get_db_connection()
    if db.dialect == "postgresql":
        conn.raw.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    else:
        conn.execute("BEGIN")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # the snapshot starts
    return conn


def _empty_without_triggers(conn: Any, tables: list[str]) -> list[str]:
    """Empty ``tables`` and switch their user triggers off for the rest of the transaction;
    return what ``_restore_triggers`` needs (SQLite's trigger DDL, which it drops)."""
    if is_pg(conn):
        conn.raw.execute(f"TRUNCATE {', '.join(tables)}")
        for t in tables:
            conn.raw.execute(f"ALTER TABLE {t} DISABLE TRIGGER USER")
        return []
    conn.execute("PRAGMA defer_foreign_keys = ON")  # checked at COMMIT (until then: mid-copy)
    triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                            "ORDER BY name").fetchall()
    for name, _sql in triggers:
        conn.execute(f'DROP TRIGGER "{name}"')  # DDL is transactional in SQLite
    for t in reversed(tables):
        conn.execute(f'DELETE FROM "{t}"')  # noqa: S608 - catalog names
    return [sql for _name, sql in triggers]


def _write(conn: Any, table: str, names: str, chunks: Any) -> int:
    """Write every row of ``chunks`` into ``table`` (COPY on PostgreSQL); return how many."""
    n = 0
    if is_pg(conn):
        with conn.raw.cursor().copy(f'COPY "{table}" ({names}) FROM STDIN') as cp:
            for rows in chunks:
                for row in rows:
                    cp.write_row(tuple(row))
                n += len(rows)
        return n
    marks = ", ".join("?" * len(names.split(", ")))
    sql = f'INSERT INTO "{table}" ({names}) VALUES ({marks})'  # noqa: S608 - catalog names
    for rows in chunks:
        conn.executemany(sql, [tuple(r) for r in rows])
        n += len(rows)
    return n


def _restore_triggers(conn: Any, tables: list[str], triggers: list[str]) -> None:
    """Switch the triggers on again; on PostgreSQL move identities past the copied ids."""
    if is_pg(conn):
        for t in tables:
            conn.raw.execute(f"ALTER TABLE {t} ENABLE TRIGGER USER")
        reset_identities(conn)
        return
    for sql in triggers:
        conn.execute(sql)


def _check(read: Any, conn: Any, tables: list[str], report: CopyReport, chunk: int) -> None:
    """Fill ``report`` with both sides' rows and checksums per table and ledgers per account."""
    theirs, ours = describe(read, tables), describe(conn, tables)
    for t in tables:
        t1 = time.perf_counter()
        # generated columns too: both sides compute them
        cols = [c for c in theirs[t].columns if c in ours[t].columns]
        if set(cols) != set(theirs[t].columns) | set(ours[t].columns):
            report.problems.append(f"table {t}: the two sides have different columns")
        (n_src, d_src), (n_dst, d_dst) = (table_digest(c, t, info[t], cols, chunk)
                                          for c, info in ((read, theirs), (conn, ours)))
        report.tables[t] = (n_src, n_dst)
        report.digests[t] = (d_src, d_dst)
        report.timings.setdefault(t, [0.0, 0.0])[1] = time.perf_counter() - t1
    if "pt_accounts" in tables and "pt_ledger" in tables:
        src, dst = _ledger_on(read), _ledger_on(conn)
        report.ledgers = {a: (src.get(a), dst.get(a)) for a in sorted(set(src) | set(dst))}


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


# -- the manager's commands --------------------------------------------------------------------
def register(sub: Any) -> dict[str, Any]:
    """Add ``db copy`` and ``db verify`` to the manager's subparsers; return the handler."""
    p = sub.add_parser("db", help="database tools: copy an installation, compare two")
    tools = p.add_subparsers(dest="db_command", required=True)
    cp = tools.add_parser("copy", help="copy every table, then check rows, checksums, ledgers")
    vf = tools.add_parser("verify", help="compare two databases: rows, checksums, ledgers")
    for tool in (cp, vf):
        tool.add_argument("--from", dest="source", required=True, metavar="URL",
                          help="sqlite:///path/to/trading.db or postgresql://...")
        tool.add_argument("--to", dest="target", required=True, metavar="URL",
                          help="postgresql://user:password@host:5432/name or sqlite:///...")
        tool.add_argument("--chunk", type=int, default=CHUNK,
                          help="rows per read (default 5000)")
    cp.add_argument("--force", action="store_true",
                    help="replace the data of a target that was migrated before")
    return {"db": cmd_db}


def cmd_db(settings: Any, _rd: Any, args: argparse.Namespace) -> int:
    """Run ``db copy`` or ``db verify``: 0 when everything matched, 1 on a difference (named),
    2 when it could not run (bad URL, unreachable server, refused target)."""
    from shared.config import ROOT

    name = f"db {args.db_command}"
    verify = args.db_command == "verify"
    try:
        src = open_database(args.source, ROOT)
        dst = open_database(args.target, ROOT, side="from" if verify else "to")
    except CopyRefused as exc:
        print(f"{name} refused: {exc.message}.")
        return 2
    try:
        if verify:
            report = verify_databases(src, dst, chunk=args.chunk)
        else:
            report = copy_database(src, dst, force=args.force, chunk=args.chunk, say=print)
    except CopyRefused as exc:
        print(f"{name} refused: {exc.message}.")
        return 2
    except CopyMismatch as exc:
        print("\n".join(exc.report.summary(copied=not verify)))
        print(f"{name} FAILED{'' if verify else ', nothing committed'}: the databases differ:")
        print("\n".join(f"  {line}" for line in exc.report.mismatches()))
        return 1
    except (*DatabaseError, OperationalError) as exc:
        text = str(getattr(exc, "message", "") or exc).strip().splitlines() or [repr(exc)]
        print(f"{name} stopped: {text[0]} (nothing committed).")
        return 2
    finally:
        src.close()
        dst.close()
    print("\n".join(report.summary(copied=not verify)))
    rows = sum(b for _, b in report.tables.values())
    print(f"{'compared' if verify else 'copied'} {len(report.tables)} tables, {rows} rows in "
          f"{report.seconds:.1f} s ({src.label} -> {dst.label}); row counts and checksums equal "
          f"in every table; ledgers equal for {len(report.ledgers)} account(s)")
    for acct, (_, (entries, total, cash)) in report.ledgers.items():
        print(f"  account {acct}: {entries} ledger entries, sum {total} micros, cash {cash} micros")
    return 0


__all__ = ["CopyMismatch", "CopyRefused", "CopyReport", "copy_database", "open_database",
           "register", "verify_databases"]
