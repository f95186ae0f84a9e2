"""What the benches that compare SQLite and PostgreSQL share (``--backend sqlite|postgresql|
both``): the throw-away PostgreSQL cluster of the tests (``tests/pg.py``'s ``PgCluster``:
``initdb``/``pg_ctl`` as the ``postgres`` user in a temp dir, ``fsync=off``), the CPU its
server processes use, the environment that points the suite at a backend, and the ratio line.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.pg import PgCluster

BACKENDS = ("sqlite", "postgresql")


def chosen(backend: str) -> list[str]:
    """Return the backends ``--backend`` names (``both``: SQLite first).

    Raises:
        ValueError: ``backend`` is none of sqlite, postgresql, both.
    """
    if backend == "both":
        return list(BACKENDS)
    if backend not in BACKENDS:
        raise ValueError(f"backend was {backend!r}; type sqlite, postgresql or both")
    return [backend]


@contextmanager
def cluster(needed: bool) -> Iterator[PgCluster | None]:
    """Start the tests' throw-away PostgreSQL cluster when ``needed``; stop and remove it after.

    Raises:
        RuntimeError: ``pg_ctl start`` failed (with the server log's tail).
    """
    if not needed:
        yield None
        return
    from tests.pg import PgCluster

    pg = PgCluster()
    pg.start()
    try:
        yield pg
    finally:
        pg.stop()


def cluster_cpu(pg: PgCluster | None) -> float:
    """Return the CPU seconds (user + system) the cluster's server processes used so far (0
    without a cluster): on PostgreSQL the database's work is there, not in the service."""
    if pg is None:
        return 0.0
    try:
        pid = int((pg.data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError):
        return 0.0
    return tree_cpu(pid)


def tree_cpu(pid: int) -> float:
    """Return the CPU seconds (user + system) process ``pid`` and its children used so far
    (0 once it is gone)."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


def backend_env(env: dict[str, str], backend: str, sqlite_path: Path,
                url: str | None) -> dict[str, str]:
    """Return ``env`` pointed at one backend: ``DATABASE_PATH`` for SQLite, ``DATABASE_URL``
    for PostgreSQL (an inherited ``DATABASE_URL`` never leaks into a SQLite run)."""
    out = {k: v for k, v in env.items() if k != "DATABASE_URL"}
    out["DATABASE_PATH"] = str(sqlite_path)
    if backend == "postgresql":
        if not url:
            raise ValueError("a postgresql run needs the cluster's database URL")
        out["DATABASE_URL"] = url
    return out


def ratio(pg: float, lite: float) -> str:
    """Return ``pg / lite`` as ``1.23x`` (``n/a`` when either is missing or ``lite`` is 0)."""
    if not pg or not lite or lite != lite or pg != pg:
        return "n/a"
    return f"{pg / lite:.2f}x"


def load_average() -> str:
    """Return the 1/5/15-minute load averages and the core count, for the printed figures."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"
