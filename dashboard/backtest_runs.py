"""Backtest runs as files: ``<db dir>/backtests/<id>/`` with meta.json, the replay's output
(out.log) and its four files; ids made here, every path checked to stay inside the folder.

A run is ``hybrid_manager.py replay ... --progress --out <dir>`` in its own process group; a
thread of the worker that started it waits for it (with the timeout) and writes the outcome.
The state lives in meta.json, so any worker answers for any run.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from shared.errors import Conflict, NotFound, PayloadTooLarge, ValidationError

RUN_ID = re.compile(r"^[0-9]{8}T[0-9]{9}-[0-9a-f]{6}$")  # UTC time to the ms, random
UPLOAD_ID = re.compile(r"^u[0-9a-f]{16}\.csv$")
FIGURES = ("end_equity", "total_return", "annualized_return", "sharpe", "max_drawdown",
           "trades", "win_rate", "profit_factor", "exposure", "fees")
_PROGRESS = '{"bars_done"'


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def parse_output(text: str) -> tuple[dict[str, int] | None, dict[str, Any] | None, str]:
    """Return (last progress, the summary JSON, the failure line) of a replay's output."""
    progress, rest, failure = None, [], ""
    for line in text.splitlines():
        if line.startswith(_PROGRESS):
            with contextlib.suppress(ValueError):
                progress = json.loads(line)
        elif line.startswith("replay failed:"):
            failure = line.removeprefix("replay failed:").strip()
        else:
            rest.append(line)
    summary = None
    body = "\n".join(rest).strip()
    start = body.find("{")
    if start >= 0:
        with contextlib.suppress(ValueError):
            summary = json.loads(body[start:])
    if summary is None and not failure and body:
        failure = body.splitlines()[-1][:500]  # a traceback's last line says what went wrong
    return progress, summary, failure


class RunStore:
    """The runs folder: create, start, read, cancel, delete and upload into it."""

    def __init__(self, root: Path, max_running: int = 2, timeout_s: float = 600.0) -> None:
        self.root = Path(root).resolve()
        self.max_running = max_running
        self.timeout_s = timeout_s

    # -- paths --------------------------------------------------------------------------
    def path(self, run_id: str) -> Path:
        """Return the folder of run ``run_id``.

        Raises:
            ValidationError: not an id this store makes; NotFound: no such run.
        """
        if not isinstance(run_id, str) or not RUN_ID.match(run_id):
            raise ValidationError(f"not a run id: {str(run_id)[:40]!r}", field="id")
        p = (self.root / run_id).resolve()
        if p.parent != self.root:  # pragma: no cover - the pattern already rules it out
            raise ValidationError("the run id leaves the runs folder", field="id")
        if not (p / "meta.json").is_file():
            raise NotFound(f"no backtest run {run_id}", field="id")
        return p

    def upload_path(self, upload_id: str) -> Path:
        """Return the path of an uploaded file.

        Raises:
            ValidationError: not an upload id; NotFound: no such upload.
        """
        if not isinstance(upload_id, str) or not UPLOAD_ID.match(upload_id):
            raise ValidationError(f"not an upload id: {str(upload_id)[:40]!r}", field="data.name")
        p = (self.root / "uploads" / upload_id).resolve()
        if p.parent != self.root / "uploads" or not p.is_file():
            raise NotFound(f"no uploaded file {upload_id}; upload it again", field="data.name")
        return p

    # -- meta ---------------------------------------------------------------------------
    def read(self, run_id: str) -> dict[str, Any]:
        """Return run ``run_id``'s meta, brought up to date (progress, outcome)."""
        d = self.path(run_id)
        meta = json.loads((d / "meta.json").read_text())
        log = d / "out.log"
        text = log.read_text(errors="replace") if log.exists() else ""
        progress, _, _ = parse_output(text)
        meta["progress"] = progress
        if meta["state"] == "running" and not _alive(int(meta.get("pid") or 0)):
            # the worker that watched it is gone: judge it by what it wrote
            meta = self._finish(d, meta, None)
        return meta

    def _write(self, d: Path, meta: dict[str, Any]) -> None:
        tmp = d / f".meta.{secrets.token_hex(4)}"
        tmp.write_text(json.dumps(meta, indent=1, default=str))
        os.replace(tmp, d / "meta.json")

    def list(self) -> list[dict[str, Any]]:
        """Return every run's meta, newest first."""
        if not self.root.is_dir():
            return []
        out = []
        for d in sorted(self.root.iterdir(), reverse=True):
            if RUN_ID.match(d.name) and (d / "meta.json").is_file():
                with contextlib.suppress(ValueError, OSError, NotFound):
                    out.append(self.read(d.name))
        return out

    # -- lifecycle ----------------------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self):  # noqa: ANN202 - a context manager
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def new_id(self) -> str:
        """Return a new run id: its UTC start to the millisecond (ids sort by age), random."""
        return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")[:-3] + "-" + secrets.token_hex(3)

    def start(self, config: dict[str, Any], argv_for: Any) -> dict[str, Any]:
        """Make a run folder, start ``argv_for(out_dir)`` in it and return its meta.

        Raises:
            Conflict: already ``max_running`` runs going.
        """
        with self._locked():
            running = [m for m in self.list() if m["state"] == "running"]
            if len(running) >= self.max_running:
                raise Conflict(f"{len(running)} backtest(s) already running (at most "
                               f"{self.max_running}); wait for one or cancel it", field="run")
            run_id = self.new_id()
            d = self.root / run_id
            d.mkdir()
            argv = argv_for(d)
            meta = {"id": run_id, "created": _now(), "state": "running", "config": config,
                    "argv": argv[1:], "pid": None}
            self._write(d, meta)
            with open(d / "out.log", "wb") as log:
                proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True,
                                        cwd=str(Path(__file__).resolve().parents[1]))
            meta["pid"] = proc.pid
            self._write(d, meta)
        threading.Thread(target=self._watch, args=(d, proc), daemon=True,
                         name=f"backtest-{run_id}").start()
        return meta

    def _watch(self, d: Path, proc: subprocess.Popen[bytes]) -> None:
        timed_out = False
        try:
            rc = proc.wait(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            timed_out = True
            self._kill(proc.pid)
            rc = proc.wait()
        meta = json.loads((d / "meta.json").read_text())
        if timed_out:
            meta["cancel"] = f"stopped after the {self.timeout_s:g} s time limit"
        self._finish(d, meta, rc)

    @staticmethod
    def _kill(pid: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGTERM)

    def _finish(self, d: Path, meta: dict[str, Any], rc: int | None) -> dict[str, Any]:
        text = (d / "out.log").read_text(errors="replace") if (d / "out.log").exists() else ""
        progress, summary, failure = parse_output(text)
        if meta.get("cancel"):
            meta["state"], meta["error"] = "cancelled", meta["cancel"]
        elif summary is not None and (rc in (0, None)) and (d / "report.json").is_file():
            meta["state"] = "done"
            meta["summary"] = summary
            stats = json.loads((d / "report.json").read_text()).get("stats", {})
            meta["figures"] = {k: stats.get(k) for k in FIGURES}
        else:
            meta["state"] = "failed"
            meta["error"] = failure or (f"the replay exited with status {rc}" if rc is not None
                                        else "the dashboard restarted while it ran")
        meta["finished"] = _now()
        meta["progress"] = progress
        self._write(d, meta)
        return meta

    def cancel(self, run_id: str) -> dict[str, Any]:
        """Stop a running run (its whole process group).

        Raises:
            Conflict: the run is not running.
        """
        d = self.path(run_id)
        with self._locked():
            meta = json.loads((d / "meta.json").read_text())
            if meta["state"] != "running":
                raise Conflict(f"run {run_id} is not running (it is {meta['state']})", field="id")
            meta["cancel"] = "cancelled by the user"
            self._write(d, meta)
        pid = int(meta.get("pid") or 0)
        if pid:
            self._kill(pid)
        return meta

    def delete(self, run_id: str) -> None:
        """Delete a finished run's folder.

        Raises:
            Conflict: the run is still running (cancel it first).
        """
        d = self.path(run_id)
        if self.read(run_id)["state"] == "running":
            raise Conflict(f"run {run_id} is still running; cancel it first", field="id")
        shutil.rmtree(d)

    def save_upload(self, stream: BinaryIO, max_bytes: int) -> tuple[str, Path]:
        """Copy an uploaded file into ``uploads/`` (at most ``max_bytes``); return its id and
        path.

        Raises:
            PayloadTooLarge: the file is bigger; ValidationError: it is empty.
        """
        up = self.root / "uploads"
        up.mkdir(parents=True, exist_ok=True)
        upload_id = f"u{secrets.token_hex(8)}.csv"
        path = up / upload_id
        size = 0
        with open(path, "wb") as fh:
            while chunk := stream.read(1 << 16):
                size += len(chunk)
                if size > max_bytes:
                    fh.close()
                    path.unlink()
                    raise PayloadTooLarge(f"the file is larger than {max_bytes / 1e6:g} MB, the "
                                          "most a backtest upload may be", field="file")
                fh.write(chunk)
        if size == 0:
            path.unlink()
            raise ValidationError("the file is empty: pick a CSV of bars", field="file")
        return upload_id, path

    def file(self, run_id: str, name: str) -> Path:
        """Return one of a run's output files.

        Raises:
            NotFound: not one of its files, or not written (yet).
        """
        if name not in ("report.html", "report.json", "equity.csv", "trades.csv"):
            raise NotFound(f"a run has no file {name[:40]!r}", field="name")
        p = self.path(run_id) / name
        if not p.is_file():
            raise NotFound(f"run {run_id} has no {name} (it did not finish)", field="name")
        return p
