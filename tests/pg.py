"""A throw-away PostgreSQL cluster for the tests: ``initdb`` in a temp dir, started and stopped
by the session (fixture ``pg_cluster``, registered in tests/conftest.py).

Use ``pg_url`` (module scope) for a fresh database built by the real migrations, or
``pg_cluster.create_database(migrated=False)`` for an empty one::

    def test_x(pg_url):
        db = Database.from_settings(make_settings(tmp_path, database__url=pg_url))

The cluster runs as the ``postgres`` user (``initdb`` refuses root), listens on a free
loopback port and a unix socket in its directory, with ``fsync=off`` (nothing here needs to
survive a crash of the machine).  Debian's ``postgresql`` package provides the binaries;
``.ci/run`` installs it (``scripts/system-deps.sh``).
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest


def _pg_bin() -> Path:
    """Debian's binaries of the newest installed PostgreSQL (15 here), or ``$PG_BIN``."""
    if os.environ.get("PG_BIN"):
        return Path(os.environ["PG_BIN"])
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    return found[-1].parent if found else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
TEMPLATE = "suite_template"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """One PostgreSQL server in a temp directory, owned by the ``postgres`` user."""

    def __init__(self) -> None:
        if not (PG_BIN / "initdb").exists():
            pytest.fail(f"PostgreSQL's binaries are missing ({PG_BIN}/initdb): .ci/run should "
                        "have installed Debian's 'postgresql' package (scripts/system-deps.sh); "
                        "run `bash scripts/system-deps.sh`", pytrace=False)
        self.dir = Path(tempfile.mkdtemp(prefix="suite-pg-"))
        self.data = self.dir / "data"
        self.port = _free_port()
        self._user = "postgres" if os.geteuid() == 0 else None
        self._n = 0
        self._lock = threading.Lock()
        self._template_ready = False

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(PG_BIN / args[0]), *args[1:]]
        if self._user:
            cmd = ["runuser", "-u", self._user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> None:
        if self._user:
            pw = pwd.getpwnam(self._user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        # C locale: text compares bytewise as in SQLite; trust: loopback and our socket only
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--locale=C", "--no-sync")
        opts = (f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200 "
                "-c shared_buffers=64MB")
        out = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"),
                        "-o", opts, "-w", "-t", "60", "start", check=False)
        if out.returncode != 0:
            log = (self.dir / "server.log").read_text() if (self.dir / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {out.stderr}\n{log[-2000:]}")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)

    def _build_template(self) -> None:
        from shared.db import migrate
        from shared.db.postgres import PgDatabase

        self._admin(f"CREATE DATABASE {TEMPLATE}")
        db = PgDatabase(self.url(TEMPLATE))
        try:
            migrate(db)
        finally:
            db.close()
        self._template_ready = True

    def create_database(self, *, migrated: bool = True) -> str:
        """Create a fresh database (a copy of the migrated template, or empty); return its URL."""
        with self._lock:
            if migrated and not self._template_ready:
                self._build_template()
            self._n += 1
            name = f"suite_{self._n}"
            template = TEMPLATE if migrated else "template0"
            self._admin(f"CREATE DATABASE {name} TEMPLATE {template}")
        return self.url(name)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """The session's throw-away PostgreSQL server (started on first use)."""
    cluster = PgCluster()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def pg_url(pg_cluster: PgCluster) -> str:
    """A ``postgresql://`` URL to a fresh database built by the real migrations (per module)."""
    return pg_cluster.create_database()
