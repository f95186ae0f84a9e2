"""Market runs in reporting: freeze a closing run's report, and read a closed run's.

Coordination asks for the freeze before paper trading archives the run's rows (see
``services/coordination/market_runs.py``); the fence returned (the newest fill and ledger
ids the report saw) lets paper trading refuse the archive when a row was booked after it.
A closed run's summary, trades and metrics are read back as frozen; its equity curve is its
accounts' snapshots of that run's epoch, which no later snapshot touches (a new run moves
every account's epoch on).
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from shared.errors import NotFound, ServiceUnavailable

FROZEN = ("summary", "trades", "metrics")


def _pt_run(db: Any) -> int:
    row = db.fetch_one("SELECT run FROM pt_market_run WHERE id = 1")
    return int(row[0]) if row is not None else 1


def _fence(db: Any) -> dict[str, int]:
    row = db.fetch_one("SELECT (SELECT COALESCE(MAX(id), 0) FROM pt_fills), "
                       "(SELECT COALESCE(MAX(id), 0) FROM pt_ledger)")
    return {"fills": int(row[0]), "ledger": int(row[1])}


def close_run(svc: Any, run: int, dumps: Any) -> dict[str, Any]:
    """Freeze run ``run``'s summary, trades and metrics per paper account; return the fence.

    ``dumps`` serializes as the API does (so a frozen figure reads back as it was served).
    Once paper trading left the run, its frozen report is kept as it is (a retried rewind).
    """
    db = svc.db
    fence = _fence(db)
    if _pt_run(db) != run:
        return {"run": run, "fence": fence, "accounts": [], "kept": True}
    accounts = [int(r[0]) for r in db.fetch_all("SELECT id FROM pt_accounts ORDER BY id")]
    rows = []
    for acct in accounts:
        s = svc.for_account(acct)
        epoch = s.epoch()
        rows.append((run, acct, epoch, datetime.now(UTC).isoformat(), dumps(s.summary(epoch)),
                     dumps(s.trades(epoch=epoch, limit=svc.cfg.max_trades)),
                     dumps(s.metrics(None, epoch))))
    with svc.transaction("report_run_close") as conn:
        conn.executemany(
            "INSERT INTO report_runs (run, account, epoch, closed_at, summary, trades, metrics) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run, account) DO UPDATE SET "
            "epoch = excluded.epoch, closed_at = excluded.closed_at, "
            "summary = excluded.summary, trades = excluded.trades, "
            "metrics = excluded.metrics", rows)
    return {"run": run, "fence": fence, "accounts": accounts, "kept": False}


def closed_runs(db: Any) -> dict[str, Any]:
    """Return the current run and every closed run with its accounts and their epochs."""
    out: dict[int, dict[str, Any]] = {}
    for r in db.fetch_all("SELECT run, account, epoch, closed_at FROM report_runs "
                          "ORDER BY run DESC, account"):
        e = out.setdefault(int(r["run"]), {"run": int(r["run"]), "closed_at": r["closed_at"],
                                           "accounts": []})
        e["accounts"].append({"account": int(r["account"]), "epoch": int(r["epoch"])})
    return {"current": _pt_run(db), "closed": list(out.values())}


def check_snapshot(conn: Any, account: int, epoch: int, clock_run: int | None) -> None:
    """Refuse to store a snapshot that straddles a rewind: the books and the clock must be in
    one market run, the run of the clock the snapshot's time came from (``clock_run``, when
    known), with the account still in the epoch its figures were read in.

    Raises:
        ServiceUnavailable: a new market run is starting or just started (retry).
    """
    row = conn.execute("SELECT (SELECT run FROM pt_market_run WHERE id = 1), "
                       "COALESCE((SELECT run FROM market_clock WHERE id = 1), 1), "
                       "(SELECT epoch FROM pt_accounts WHERE id = ?)", (account,)).fetchone()
    books, clock, now_epoch = (1 if row[0] is None else int(row[0])), int(row[1]), row[2]
    if books != clock or clock_run not in (None, clock) or now_epoch != epoch:
        raise ServiceUnavailable("a new market run is starting; the snapshot was not stored, "
                                 "retry in a moment", field="run")


def _row(db: Any, run: int, account: int) -> Any:
    row = db.fetch_one("SELECT * FROM report_runs WHERE run = ? AND account = ?",
                       (run, account))
    if row is None:
        raise NotFound(f"market run {run} has no report for account {account} (closed runs: "
                       "GET /api/v1/report/runs)", field="run")
    return row


def is_current(db: Any, run: int | None) -> bool:
    return run is None or run == _pt_run(db)


def frozen(db: Any, run: int, account: int, what: str) -> Any:
    """Return the frozen ``what`` (summary, trades or metrics) of a closed run.

    Raises:
        NotFound: the run is not closed, or had no such account.
    """
    return json.loads(_row(db, run, account)[what])


def run_epoch(db: Any, run: int, account: int) -> int:
    """Return the account's epoch in closed run ``run`` (its snapshots).

    Raises:
        NotFound: the run is not closed, or had no such account.
    """
    return int(_row(db, run, account)["epoch"])


__all__ = ["FROZEN", "check_snapshot", "close_run", "closed_runs", "frozen", "is_current", "run_epoch"]
