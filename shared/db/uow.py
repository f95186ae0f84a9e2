"""Unit of work: one ``BEGIN IMMEDIATE`` transaction that rolls back unless committed."""
from __future__ import annotations

import sqlite3
from types import TracebackType
from typing import Any

from shared.db.database import Database


class UnitOfWork:
    """``with UnitOfWork(db) as uow: uow.conn.execute(...); uow.commit()``.

    Leaving the block without ``commit()`` (or through an exception) rolls everything back,
    so a half-done use case can never leave partial rows.
    """

    def __init__(self, db: Database, label: str = "unit_of_work") -> None:
        self.db = db
        self.label = label
        self._cm: Any = None
        self.conn: sqlite3.Connection | None = None
        self._committed = False

    def __enter__(self) -> UnitOfWork:
        self._committed = False
        self._cm = self.db.transaction(self.label)
        self.conn = self._cm.__enter__()
        return self

    def commit(self) -> None:
        """Mark the work to be committed when the block ends."""
        self._committed = True

    def rollback(self) -> None:
        """Forget a pending ``commit()``: the block will roll back."""
        self._committed = False

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        assert self.conn is not None, "use the unit of work inside a with block"
        return self.conn.execute(sql, params)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        cm, self._cm, self.conn = self._cm, None, None
        committed, self._committed = self._committed, False
        if exc_type is None and not committed:
            # contextlib re-raises nothing when the thrown exception comes back unchanged.
            cm.__exit__(_Rollback, _Rollback(), None)
            return False
        return cm.__exit__(exc_type, exc, tb)


class _Rollback(Exception):
    """Internal signal: leave the transaction without committing."""
