"""Every difference between the suite's SQLite SQL and PostgreSQL, in one place.

The suite writes SQL once, in the forms SQLite 3.40 and PostgreSQL 15 both accept, with
sqlite3's placeholders (``?`` and ``:name``).  On PostgreSQL this module rewrites at run time:

- placeholders to psycopg's (``%s``, ``%(name)s``) and a literal ``%`` to ``%%``; a ``?``,
  ``:`` or ``%`` inside a string literal, a quoted name, a comment or a ``::type`` cast stays;
- ``BEGIN IMMEDIATE`` to ``BEGIN`` plus a transaction-level advisory lock.  SQLite lets one
  writer in at a time and the suite's use cases rely on it: they read, decide and write in one
  transaction (an order's idempotency on client_order_id, the book's reserve against buying
  power) and must see every earlier commit.  Under READ COMMITTED each statement sees what was
  committed when it starts, so one lock taken before the first read keeps exactly SQLite's
  semantics; a table-level ``SELECT ... FOR UPDATE`` would need every use case to name its
  rows first.  Readers never take it: they run beside writers as they do in WAL mode;
- ``INSERT OR IGNORE`` to ``INSERT ... ON CONFLICT DO NOTHING`` (``INSERT OR REPLACE`` has no
  general PostgreSQL form and is refused with a message);
- the migrations' DDL (``ddl_to_pg``): ``INTEGER PRIMARY KEY [AUTOINCREMENT]`` to a BIGINT
  identity, INTEGER to BIGINT (the suite stores nanosecond times), REAL to DOUBLE PRECISION,
  BLOB to BYTEA, TEXT compared bytewise (``COLLATE "C"``, as SQLite compares), no
  ``WITHOUT ROWID``.  Trigger bodies are not mechanical: they live in ``NNNN_name.pg.sql``
  beside their migration, and the SQLite triggers are skipped there.
"""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from functools import lru_cache

try:  # the PostgreSQL driver is a runtime dependency, but SQLite alone must not need it
    import psycopg
    import psycopg.errors as pg_errors
except ImportError:  # pragma: no cover - exercised only without psycopg installed
    psycopg = None  # type: ignore[assignment]
    pg_errors = None  # type: ignore[assignment]

#: the key of the one advisory lock every PostgreSQL write transaction takes (SQLite's write
#: lock); any 64-bit number no other application on the database uses
WRITE_LOCK_KEY = 0x5EED_7AD1
BEGIN_WRITE = f"BEGIN; SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})"

# The errors each engine raises, for ``except`` clauses that must hold on both.
if psycopg is not None:
    DatabaseError: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)
    IntegrityError: tuple[type[Exception], ...] = (sqlite3.IntegrityError, psycopg.IntegrityError)
    OperationalErrors: tuple[type[Exception], ...] = (sqlite3.OperationalError,
                                                      psycopg.OperationalError)
else:  # pragma: no cover
    DatabaseError = (sqlite3.Error,)
    IntegrityError = (sqlite3.IntegrityError,)
    OperationalErrors = (sqlite3.OperationalError,)

#: SQLSTATEs after which the whole transaction may simply be run again (SQLite's "busy"):
#: serialization failure, deadlock, lock timeout, and the connection classes (08: dropped)
RETRYABLE_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03"})


def is_pg_retryable(exc: BaseException) -> bool:
    """Return True for a PostgreSQL error that a fresh attempt may not meet again."""
    if psycopg is None or not isinstance(exc, psycopg.Error):
        return False
    state = getattr(exc, "sqlstate", None) or ""
    if state in RETRYABLE_SQLSTATES or state.startswith("08"):
        return True
    # a connection closed under us (server restart, network) carries no SQLSTATE
    return isinstance(exc, psycopg.OperationalError) and not state


#: PostgreSQL's faults of the server, not of the statement, in words (SQLite's are in
#: shared/db/database.py): SQLSTATE or its class -> message
_FAULTS = {"53100": "the database server's disk is full",
           "53200": "the database server is out of memory",
           "53300": "the database server has no free connection (max_connections)",
           "25006": "the database is read-only (a standby, or default_transaction_read_only)",
           "57P01": "the database server is shutting down",
           "08": "the database server cannot be reached"}


def pg_fault(exc: BaseException) -> str | None:
    """Return what is wrong with the PostgreSQL server behind ``exc`` in words, else None."""
    if psycopg is None or not isinstance(exc, psycopg.Error):
        return None
    state = getattr(exc, "sqlstate", None) or ""
    return _FAULTS.get(state) or _FAULTS.get(state[:2])


# -- scanning ------------------------------------------------------------------------------
_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def segments(sql: str, *, dollar: bool = False) -> Iterator[tuple[bool, str]]:
    """Yield ``(is_code, text)`` pieces of ``sql``: code, or a literal/quoted name/comment.

    ``dollar`` also recognises PostgreSQL's ``$tag$ ... $tag$`` bodies (in ``.pg.sql`` files).
    """
    i, start, n = 0, 0, len(sql)
    while i < n:
        c = sql[i]
        end = -1
        if c in ("'", '"'):
            j = i + 1
            while j < n:
                if sql[j] == c:
                    if j + 1 < n and sql[j + 1] == c:  # doubled quote: an escaped one
                        j += 2
                        continue
                    break
                j += 1
            end = min(j + 1, n)
        elif c == "-" and sql.startswith("--", i):
            j = sql.find("\n", i)
            end = n if j < 0 else j
        elif c == "/" and sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            end = n if j < 0 else j + 2
        elif c == "$" and dollar:
            m = _DOLLAR.match(sql, i)
            if m:
                j = sql.find(m.group(0), m.end())
                end = n if j < 0 else j + len(m.group(0))
        if end < 0:
            i += 1
            continue
        if start < i:
            yield True, sql[start:i]
        yield False, sql[i:end]
        i = start = end
    if start < n:
        yield True, sql[start:]


def split_statements(script: str) -> list[str]:
    """Split a PostgreSQL script on ``;`` outside literals, comments and ``$$`` bodies."""
    out, buf = [], []
    for code, text in segments(script, dollar=True):
        if not code:
            buf.append(text)
            continue
        parts = text.split(";")
        for k, part in enumerate(parts):
            buf.append(part)
            if k < len(parts) - 1:
                stmt = "".join(buf).strip()
                if _has_code(stmt):
                    out.append(stmt)
                buf = []
    tail = "".join(buf).strip()
    if _has_code(tail):
        out.append(tail)
    return out


def _has_code(stmt: str) -> bool:
    return any(code and text.strip() for code, text in segments(stmt, dollar=True))


# -- statements at run time ------------------------------------------------------------------
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)")
_CAST = re.compile(r"::")
_OR_IGNORE = re.compile(r"^\s*INSERT\s+OR\s+IGNORE\s+INTO\b", re.I)
_OR_REPLACE = re.compile(r"^\s*(INSERT\s+OR\s+REPLACE|REPLACE)\s+INTO\b", re.I)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)
_BEGIN = re.compile(r"^\s*BEGIN(\s+(DEFERRED|IMMEDIATE|EXCLUSIVE))?(\s+TRANSACTION)?\s*;?\s*$",
                    re.I)


class UnsupportedSQL(ValueError):
    """A statement with no PostgreSQL form: the message says what to write instead."""


@lru_cache(maxsize=4096)
def to_pg(sql: str, has_params: bool = True) -> str:
    """Return ``sql`` (sqlite3 placeholders and dialect) as psycopg runs it on PostgreSQL.

    Raises:
        UnsupportedSQL: for ``INSERT OR REPLACE``/``REPLACE INTO`` and numbered ``?NNN``.
    """
    m = _BEGIN.match(sql)
    if m:
        mode = (m.group(2) or "").upper()
        return BEGIN_WRITE if mode in ("IMMEDIATE", "EXCLUSIVE") else "BEGIN"
    if _TABLE_DDL.match(sql):  # a table made or changed at run time (tests, tools)
        sql = _ddl_types(sql)
    if _OR_REPLACE.match(sql):
        raise UnsupportedSQL("INSERT OR REPLACE has no PostgreSQL form: write "
                             "INSERT ... ON CONFLICT (key) DO UPDATE SET ...")
    ignore = bool(_OR_IGNORE.match(sql))
    out: list[str] = []
    for code, text in segments(sql):
        if not code:
            out.append(text.replace("%", "%%") if has_params else text)
            continue
        if has_params:
            text = text.replace("%", "%%")
            if re.search(r"\?\d", text):
                raise UnsupportedSQL("numbered placeholders (?1) are not supported: use ? or :name")
            text = text.replace("?", "%s")
            # a ``::type`` cast is not a parameter: hide it while the names are replaced
            text = _CAST.sub("\0\0", text)
            text = _NAMED.sub(r"%(\1)s", text).replace("\0\0", "::")
        out.append(text)
    pg = "".join(out)
    if ignore:
        pg = _OR_IGNORE.sub("INSERT INTO", pg, count=1)
        pg = _append_before_returning(pg, " ON CONFLICT DO NOTHING")
    return pg


def _append_before_returning(sql: str, clause: str) -> str:
    body = sql.rstrip().rstrip(";")
    pos = [m.start() for m in _RETURNING.finditer(body)]
    if pos:
        return body[:pos[-1]].rstrip() + clause + " " + body[pos[-1]:]
    return body + clause


def pragma(sql: str) -> tuple[str, str | None] | None:
    """Return ``(name, argument)`` when ``sql`` is a PRAGMA, else None."""
    m = re.match(r"^\s*PRAGMA\s+(\w+)\s*(?:=\s*(.+?)|\((.+?)\))?\s*;?\s*$", sql, re.I)
    if not m:
        return None
    arg = m.group(2) or m.group(3)
    return m.group(1).lower(), (arg.strip().strip("'\"") if arg else None)


# -- the migrations' DDL ---------------------------------------------------------------------
_DDL = (
    (re.compile(r"\bINTEGER\s+PRIMARY\s+KEY(\s+AUTOINCREMENT)?\b", re.I),
     "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b", re.I), "BIGINT"),
    (re.compile(r"\bREAL\b", re.I), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b", re.I), "BYTEA"),
    (re.compile(r"\)\s*WITHOUT\s+ROWID\b", re.I), ")"),
)
_TEXT = re.compile(r"\bTEXT\b(?!\s+COLLATE\b)", re.I)
_TABLE_DDL = re.compile(r"^\s*(CREATE\s+TABLE|ALTER\s+TABLE)\b", re.I)
_TRIGGER = re.compile(r"^\s*(CREATE|DROP)\s+TRIGGER\b", re.I)
#: expressions SQLite and PostgreSQL type differently, rewritten word for word (keep few)
_EXPRESSIONS = {
    # SQLite adds a comparison's 0/1 to an integer; PostgreSQL's comparison is a boolean
    "(substr(expires_at, 21, 6) > '000000')": "(substr(expires_at, 21, 6) > '000000')::int",
    "strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')":
        "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"+00:00\"')",
}

#: created before the first migration on PostgreSQL: SQLite's functions the DDL uses
PRELUDE = [
    # unixepoch(text) as SQLite computes it for the ISO times the suite stores (whole seconds,
    # NULL stays NULL).  IMMUTABLE so a generated column may use it: true for times with an
    # explicit offset, which is the only form the suite writes.
    """CREATE OR REPLACE FUNCTION unixepoch(t text) RETURNS bigint
       LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
       AS $$ SELECT floor(extract(epoch FROM t::timestamptz))::bigint $$""",
    # a statement-level guard: a write to a table named in this session's
    # suite.read_only_tables fails, as SQLite's authorizer refuses it (Database.protect)
    """CREATE OR REPLACE FUNCTION suite_refuse_read_only() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_TABLE_NAME = ANY (string_to_array(
                current_setting('suite.read_only_tables', true), ',')) THEN
           RAISE EXCEPTION 'not authorized: % is read-only in this process (one writer: its owner)',
             TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NULL;
       END $$""",
]


def guard_statements(tables: tuple[str, ...]) -> list[str]:
    """Return the DDL that installs the read-only guard on each of ``tables``."""
    return [f"CREATE OR REPLACE TRIGGER tr_{t}_read_only BEFORE INSERT OR UPDATE OR DELETE "
            f"OR TRUNCATE ON {t} FOR EACH STATEMENT EXECUTE FUNCTION suite_refuse_read_only()"
            for t in tables]


def is_trigger_ddl(stmt: str) -> bool:
    """Return True for SQLite's CREATE/DROP TRIGGER (their PostgreSQL form is in .pg.sql)."""
    body = "".join(t for code, t in segments(stmt) if code)
    return bool(_TRIGGER.match(body))


def _ddl_types(stmt: str) -> str:
    for old, new in _EXPRESSIONS.items():  # idempotent: a translated statement stays
        if new not in stmt:
            stmt = stmt.replace(old, new)
    table_ddl = bool(_TABLE_DDL.match("".join(t for code, t in segments(stmt) if code)))
    out = []
    for code, text in segments(stmt):
        if code:
            for rx, repl in _DDL:
                text = rx.sub(repl, text)
            if table_ddl:
                text = _TEXT.sub('TEXT COLLATE "C"', text)
        out.append(text)
    return "".join(out)


def ddl_to_pg(stmt: str) -> str:
    """Return one migration statement written for SQLite as PostgreSQL runs it."""
    return to_pg(_ddl_types(stmt), has_params=False)


__all__ = ["BEGIN_WRITE", "DatabaseError", "IntegrityError", "OperationalErrors", "PRELUDE",
           "UnsupportedSQL", "ddl_to_pg", "guard_statements", "is_pg_retryable",
           "is_trigger_ddl", "pragma", "segments", "split_statements", "to_pg"]
