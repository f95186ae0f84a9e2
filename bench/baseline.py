"""The raw baseline the HTTP benches measure against: a minimal Flask app, served by gunicorn
like the services, that inserts one orders-like row (unique text key) into the same SQLite file
per POST and reads one row by primary key per GET.  Target: ``bench.baseline:baseline_app()``.
"""
from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from datetime import UTC, datetime

from flask import Flask, request

DDL = ("CREATE TABLE IF NOT EXISTS bench_baseline (id INTEGER PRIMARY KEY, "
       "client_order_id TEXT UNIQUE, body TEXT, created_at TEXT)")
SEED = "INSERT OR IGNORE INTO bench_baseline (id, client_order_id, body, created_at) " \
       "VALUES (1, 'seed', '{}', '')"


def baseline_app() -> Flask:
    """Return the baseline app (``DATABASE_PATH`` names the file; ``DDL`` must have run)."""
    path = os.environ["DATABASE_PATH"]
    local = threading.local()
    app = Flask("baseline")

    def conn() -> sqlite3.Connection:
        c = getattr(local, "c", None)
        if c is None:
            c = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            for p in ("journal_mode=WAL", "synchronous=NORMAL", "busy_timeout=30000"):
                c.execute(f"PRAGMA {p}")
            local.c = c
        return c

    @app.post("/write")
    def write():  # noqa: ANN202
        body = request.get_json()
        c = conn()
        c.execute("BEGIN IMMEDIATE")
        c.execute("INSERT INTO bench_baseline (client_order_id, body, created_at) VALUES (?, ?, ?)",
                  (body.get("client_order_id") or uuid.uuid4().hex, json.dumps(body),
                   datetime.now(UTC).isoformat()))
        c.execute("COMMIT")
        return {"ok": True}, 201

    @app.get("/read")
    def read():  # noqa: ANN202
        row = conn().execute("SELECT id, client_order_id, body FROM bench_baseline WHERE id = 1"
                             ).fetchone()
        return {"status": "success", "data": list(row) if row else None}

    return app
