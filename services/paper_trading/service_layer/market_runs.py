"""Market runs in paper trading: start the next run (archiving the closing run's rows), the
write check that keeps the books and the clock in the same run, and the archive's reads.

Coordination owns the run number and moves it with the clock (``shared.market.clock.
ClockController.start_run``) only after this service started the run: between the two every
write here is refused (``check_run``), so no row of the new run is dated at the closing
run's time, and nothing of the closing run is left in the live tables.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from services.paper_trading.adapters import archive
from shared.db.notify import TRADING, notify
from shared.errors import Conflict, NotFound, ServiceUnavailable, ValidationError


def check_run(conn: Any) -> int:
    """Return the market run, refusing a write while paper trading and the clock are in
    different runs.

    Raises:
        ServiceUnavailable: a new market run is starting (retry in a moment).
    """
    mine, clock = archive.runs(conn)
    if mine != clock:
        raise ServiceUnavailable(
            f"a new market run is starting (paper trading is in run {mine}, the clock in run "
            f"{clock}); retry in a moment", field="run")
    return mine


class MarketRuns:
    """The market-run use cases over paper trading's service (its gate and unit of work)."""

    def __init__(self, svc: Any) -> None:
        self.svc = svc

    def start(self, run: int, fence: dict[str, int],
              starts_at: datetime | None = None) -> dict[str, Any]:
        """Archive run ``run - 1``'s rows and start run ``run`` (idempotent once started).

        ``fence`` is the newest fill and ledger ids reporting froze its report at;
        ``starts_at`` the new run's first market time (its ``market_run`` events' date).

        Raises:
            Conflict: ``run`` is not the next run, or a fill or ledger row was booked after
                the fence (freeze the report again).
        """
        svc = self.svc
        svc.ensure_accounts()
        with svc.gate.hold(), svc.unit_of_work("paper_trading:market_run") as uow:
            mine, clock = archive.runs(uow.conn)
            if mine == run:
                uow.commit()
                return {"run": run, "archived": {}, "already_started": True}
            if run != mine + 1 or clock != mine:
                raise Conflict(f"paper trading is in run {mine} and the clock in run {clock}; "
                               f"run {run} cannot start", field="run")
            now = archive.fence(uow.conn)
            if {k: int(fence.get(k, -1)) for k in now} != now:
                raise Conflict(f"rows were booked after the report's fence {fence} (now {now})",
                               field="fence")
            counts = archive.archive_run(
                uow.conn, mine, datetime.now(UTC).isoformat(),
                None if starts_at is None else starts_at.astimezone(UTC).isoformat())
            notify(uow.conn, TRADING, "market_run")
            uow.commit()
        svc.market_run_started()
        return {"run": run, "archived": counts, "already_started": False}

    def current(self) -> dict[str, Any]:
        mine, clock = archive.runs(self.svc.get_db_connection())
        return {"run": mine, "clock_run": clock}

    def archived(self) -> list[dict[str, Any]]:
        return archive.archived_runs(self.svc.get_db_connection())

    def rows(self, run: int, kind: str, account: int, limit: int,
             offset: int) -> list[dict[str, Any]]:
        """Return ``account``'s archived ``kind`` rows of run ``run``.

        Raises:
            ValidationError: an unknown kind.
            NotFound: the run is not archived (the current run is read on the usual routes).
        """
        if kind not in archive.KINDS:
            raise ValidationError(f"kind must be one of {', '.join(archive.KINDS)}, was {kind!r}",
                                  field="kind")
        conn = self.svc.get_db_connection()
        if not archive.is_archived(conn, run):
            raise NotFound(f"market run {run} is not archived", field="run")
        return archive.archived_rows(conn, run, kind, account, limit, offset)


__all__ = ["MarketRuns", "check_run"]
