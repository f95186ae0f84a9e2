"""The Backtests page's API: what can be run, uploads, runs (start, progress, cancel, delete),
a run's report, and two runs compared.  Runs are files (``dashboard.backtest_runs``); the
dashboard owns no table for them."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request, send_file
from pydantic import BaseModel, ConfigDict, Field

from dashboard.backtest_catalog import data_dir, list_datasets, list_strategies, strategy_dirs
from dashboard.backtest_compare import compare
from dashboard.backtest_runs import RunStore
from dashboard.backtest_spec import RunBody, build_argv, check_data, resolve
from shared.errors import ValidationError
from shared.web import current_settings, ok, validate

#: a report is a page of its own: no script, no network, shown only in our own frame
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
              "frame-ancestors 'self'; base-uri 'none'; form-action 'none'")


def store() -> RunStore:
    """Return this app's run store (made on first use from the settings)."""
    found = current_app.extensions.get("backtest_runs")
    if found is None:
        s = current_settings()
        found = RunStore(data_dir(s) / "backtests", s.dashboard.backtest_max_running,
                         s.dashboard.backtest_timeout_s)
        current_app.extensions["backtest_runs"] = found
    return found


class UploadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbol: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,20}$")
    tz: str = Field("America/New_York", max_length=60)
    dedupe: bool = False
    drop_missing: bool = False


class CompareQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    a: str = Field(max_length=40, description="a finished run's id")
    b: str = Field(max_length=40, description="another finished run's id")


def _public(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k not in ("pid", "cancel")}


def catalog() -> dict[str, Any]:
    """Return the strategies (without their paths), data files and defaults the page offers."""
    s = current_settings()
    strategies = [{k: v for k, v in st.items() if k != "ref"} for st in list_strategies(s)]
    return {"strategies": strategies, "datasets": list_datasets(),
            "user_folder": str(strategy_dirs(s)["user"]),
            "defaults": {k: str(f.default) if hasattr(f.default, "as_tuple") else f.default
                         for k, f in RunBody.model_fields.items()
                         if not f.is_required() and f.default_factory is None},
            "max_running": s.dashboard.backtest_max_running,
            "upload_max_mb": s.dashboard.backtest_upload_max_mb}


def start_run(body: RunBody) -> dict[str, Any]:
    """Check ``body`` (strategy, parameters, data) and start it; return the run's meta."""
    st = store()
    run = resolve(current_settings(), st, body)
    if run["path"] is not None:
        run["config"]["data_check"] = check_data(run["path"], run["symbol"], body.tz,
                                                 body.dedupe, body.drop_missing)
    return st.start(run["config"], lambda out: build_argv(body, run, out))


def blueprints() -> list[Blueprint]:
    """Return the Backtests API blueprint (under /api/v1/backtests) and the report route."""
    bp = Blueprint("backtests_api", __name__, url_prefix="/api/v1/backtests")

    @bp.get("/catalog")
    @validate(tags=["backtests"])
    def get_catalog() -> Response:
        """Strategies (built-in kinds and files) with their parameters, and the data files."""
        return ok(catalog())

    @bp.post("/uploads")
    @validate(query=UploadQuery, status=201, tags=["backtests"], mimetypes=("text/csv",),
              responses={413: "the file is above the size limit",
                         422: "the file is not bars the replay can read (details.options)"})
    def upload(query: UploadQuery) -> Response:
        """Upload a CSV of bars (the request body); it is kept and checked as the replay will
        read it."""
        cap = int(current_settings().dashboard.backtest_upload_max_mb * 1e6)
        upload_id, path = store().save_upload(request.stream, cap)
        try:
            found = check_data(path, query.symbol, query.tz, query.dedupe, query.drop_missing)
        except ValidationError as exc:
            exc.details = {**(exc.details or {}), "upload": upload_id}
            raise
        return ok({"upload": upload_id, **found}, status=201)

    @bp.get("/runs")
    @validate(tags=["backtests"])
    def list_runs() -> Response:
        """Every run, newest first: configuration, state and headline figures."""
        return ok([_public(m) for m in store().list()])

    @bp.post("/runs")
    @validate(body=RunBody, status=202, tags=["backtests"],
              responses={409: "already as many runs going as allowed"})
    def post_run(body: RunBody) -> Response:
        """Start a backtest (a replay subprocess); poll its run for progress."""
        return ok(_public(start_run(body)), status=202)

    @bp.get("/runs/<run_id>")
    @validate(tags=["backtests"])
    def get_run(run_id: str) -> Response:
        """One run: state, progress (bars done / in all), summary and figures when done."""
        return ok(_public(store().read(run_id)))

    @bp.post("/runs/<run_id>/cancel")
    @validate(tags=["backtests"])
    def cancel_run(run_id: str) -> Response:
        """Stop a running backtest."""
        return ok(_public(store().cancel(run_id)))

    @bp.delete("/runs/<run_id>")
    @validate(tags=["backtests"])
    def delete_run(run_id: str) -> Response:
        """Delete a finished run and its files."""
        store().delete(run_id)
        return ok({"deleted": run_id})

    @bp.get("/compare")
    @validate(query=CompareQuery, tags=["backtests"])
    def get_compare(query: CompareQuery) -> Response:
        """Two finished runs: configuration differences, key figures, both equity curves."""
        return ok(compare(store(), query.a, query.b))

    files = Blueprint("backtest_files", __name__)

    @files.get("/backtests/runs/<run_id>/report.html")
    @validate(raw=True, mimetypes=("text/html",), tags=["backtests"])
    def report(run_id: str) -> Response:
        """A run's offline report (no script, no network; framed only by this dashboard)."""
        resp = send_file(store().file(run_id, "report.html"), mimetype="text/html")
        resp.headers["Content-Security-Policy"] = REPORT_CSP
        resp.headers["X-Frame-Options"] = "SAMEORIGIN"
        resp.headers["Cache-Control"] = "no-store"
        return resp

    return [bp, files]
