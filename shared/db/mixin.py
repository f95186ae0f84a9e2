"""``DatabaseServiceMixin``: the one way a service reaches the shared database."""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, TypeVar

from shared.db.database import Database, get_database
from shared.db.uow import UnitOfWork

if TYPE_CHECKING:
    from shared.config import Settings

T = TypeVar("T")


class DatabaseServiceMixin:
    """Give a service class short transactions, lock retries and timings on the shared file.

    Call ``init_database(settings)`` (or pass a ``Database``) once, then use ``transaction()``,
    ``unit_of_work()``, ``execute_with_retry()``, ``fetch_all()``, ``fetch_one()`` and
    ``bulk_insert_with_transaction()``.
    """

    db: Database

    def init_database(self, settings_or_db: Settings | Database) -> None:
        self.db = (settings_or_db if isinstance(settings_or_db, Database)
                   else get_database(settings_or_db))

    def get_db_connection(self, retries: int = 3, timeout: float = 30.0) -> sqlite3.Connection:
        return self.db.get_db_connection(retries, timeout)

    def transaction(self, label: str = "transaction") -> AbstractContextManager[sqlite3.Connection]:
        """Return the database's ``BEGIN IMMEDIATE`` transaction context (see ``Database``)."""
        return self.db.transaction(label)

    def unit_of_work(self, label: str = "unit_of_work") -> UnitOfWork:
        return UnitOfWork(self.db, label)

    def run_in_transaction(self, fn: Callable[[sqlite3.Connection], T], label: str = "") -> T:
        return self.db.run_in_transaction(fn, label)

    def execute_with_retry(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        return self.db.execute_with_retry(sql, params)

    def fetch_all(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        return self.db.fetch_all(sql, params)

    def fetch_one(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Row | None:
        return self.db.fetch_one(sql, params)

    def bulk_insert_with_transaction(
        self,
        table: str,
        rows: Iterable[Mapping[str, Any]] | Iterable[Sequence[Any]],
        columns: Sequence[str] | None = None,
        *,
        on_conflict: str | None = None,
    ) -> int:
        return self.db.bulk_insert_with_transaction(table, rows, columns, on_conflict=on_conflict)

    def get_database_stats(self) -> dict[str, Any]:
        return self.db.get_database_stats()
