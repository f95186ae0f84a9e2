"""The shared database layer: one WAL database, reached only through ``DatabaseServiceMixin``.

``Database`` (the mixin's engine) owns a per-thread connection pool, lock-aware retries,
query timing and ``BEGIN IMMEDIATE`` transactions; ``UnitOfWork`` rolls back unless
``commit()`` was called; ``migrate`` applies ``db/migrations/NNNN_name.sql`` once each.
With ``database.url`` (``DATABASE_URL``) set to ``postgresql://...``, ``Database.from_settings``
returns the same interface on PostgreSQL (``shared.db.postgres``; the differences are in
``shared.db.dialect``, whose ``DatabaseError``/``IntegrityError`` catch either engine's).
"""
from shared.db.database import Database, get_database
from shared.db.migrations import MIGRATIONS_DIR, applied_migrations, migrate
from shared.db.mixin import DatabaseServiceMixin
from shared.db.retry import is_lock_error
from shared.db.uow import UnitOfWork

__all__ = [
    "MIGRATIONS_DIR",
    "Database",
    "DatabaseServiceMixin",
    "UnitOfWork",
    "applied_migrations",
    "get_database",
    "is_lock_error",
    "migrate",
]
