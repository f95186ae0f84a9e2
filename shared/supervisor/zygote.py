"""A fork server: import the suite's heavy libraries once, then fork each service from it.

Every service is ``python -m <package>``; started that way, each of the ten processes imports
pandas, numpy, TA-Lib, Flask, pydantic and gunicorn on its own: ~0.6 CPU-seconds apiece, most
of a start's CPU on two cores (start to healthy was ~11.7 s, CPU-bound).  The manager instead
starts this one process, which imports those libraries, and asks it to fork each service;
the child runs the service's ``__main__`` exactly as ``python -m`` would (same cwd, argv,
environment, stdout/stderr into the console log, own session).  The forked services also
share the libraries' pages with each other, so the suite's summed PSS drops.

No library does this (multiprocessing's forkserver runs functions, not ``python -m`` programs
whose parent must be the supervisor), hence this module.  Only third-party modules that keep
no import-time state from the environment are preloaded: never ``prometheus_client`` (it picks
its multiprocess value class at import) and nothing of the suite's own.

Parentage: the child forks once more and the middle process exits, so the service is
re-parented to the nearest *subreaper*, the manager (``become_subreaper``), which can then
``waitpid`` it like any child: ``Forked`` is the ``Popen`` subset the supervisor uses.

Protocol (one JSON line each way, over the zygote's stdin and stdout):
``{"module", "args", "env", "console", "cwd"}`` -> ``{"pid": n}`` or ``{"error": "..."}``.
"""
from __future__ import annotations

import ctypes
import gc
import importlib
import io
import json
import os
import runpy
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

#: imported once in the zygote; each is optional (a missing one is only slower)
PRELOAD = ("numpy", "pandas", "talib", "flask", "werkzeug", "jinja2", "pydantic", "requests",
           "gunicorn.app.base", "gunicorn.arbiter", "gunicorn.workers.gthread", "cachetools",
           "tenacity", "pybreaker", "yaml", "psutil", "sqlite3", "decimal", "zoneinfo",
           "dateutil", "exchange_calendars", "pandas_market_calendars", "limits", "asyncio",
           "websockets", "msgpack", "setproctitle", "psycopg", "psycopg_pool", "orjson",
           "concurrent_log_handler", "feedparser", "vaderSentiment.vaderSentiment")
PR_SET_CHILD_SUBREAPER = 36
#: the exit code of a service whose status could not be collected
UNKNOWN_EXIT = 255


def become_subreaper() -> bool:
    """Make orphaned descendants of this process its children (Linux); False elsewhere."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def reap_orphans(known: set[int]) -> list[int]:
    """Reap exited children that are not in ``known`` (a subreaper inherits every orphan,
    e.g. a killed gunicorn master's workers); return their pids."""
    import psutil

    out = []
    for child in psutil.Process().children():
        if child.pid in known:
            continue
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                os.waitpid(child.pid, os.WNOHANG)
                out.append(child.pid)
        except (psutil.Error, ChildProcessError):
            continue
    return out


class Forked:
    """A service forked by the zygote and re-parented to us: ``poll``/``wait``/``returncode``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # not re-parented to us (no subreaper): watch it only
                if _alive(self.pid):
                    return None
                self.returncode = UNKNOWN_EXIT
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.02)
        assert self.returncode is not None
        return self.returncode


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


class Zygote:
    """The manager's handle on one fork server (a child process, started by ``start``)."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shared.supervisor.zygote"], cwd=cwd, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, text=True, bufsize=1)
        self._lock = threading.Lock()

    def spawn(self, module: str, args: list[str], console: Path, env: dict[str, str],
              cwd: Path) -> Forked:
        """Fork ``python -m module *args`` from the zygote.

        Raises:
            OSError: when the zygote is gone or could not fork (the caller spawns normally).
        """
        console.parent.mkdir(parents=True, exist_ok=True)
        req = {"module": module, "args": args, "env": env, "console": str(console),
               "cwd": str(cwd)}
        with self._lock:
            if self.proc.poll() is not None or self.proc.stdin is None or self.proc.stdout is None:
                raise OSError("the fork server is not running")
            try:
                self.proc.stdin.write(json.dumps(req) + "\n")
                self.proc.stdin.flush()
                line = self.proc.stdout.readline()
            except (BrokenPipeError, ValueError) as exc:
                raise OSError(f"the fork server is gone: {exc}") from exc
        if not line:
            raise OSError("the fork server exited")
        reply = json.loads(line)
        if "pid" not in reply:
            raise OSError(f"the fork server could not fork: {reply.get('error')}")
        return Forked(int(reply["pid"]))

    def close(self) -> None:
        if self.proc.poll() is None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# -- the zygote process -----------------------------------------------------------------------
def _text(fd: int, unbuffered: bool) -> io.TextIOWrapper:
    """``fd`` as ``sys.stdout``/``sys.stderr`` of a fresh interpreter (``-u``: unbuffered)."""
    raw = io.FileIO(fd, "w", closefd=False)
    return io.TextIOWrapper(raw if unbuffered else io.BufferedWriter(raw), encoding="utf-8",
                            errors="backslashreplace", line_buffering=True,
                            write_through=unbuffered)


def _name_process(module: str, args: list[str]) -> None:
    """Show the service in ``ps`` as ``python -m <module>``, as if it had been exec'd."""
    try:
        from setproctitle import setproctitle
    except ImportError:
        return
    setproctitle(" ".join([sys.executable, "-m", module, *args]))


def _run_child(req: dict[str, Any], report_fd: int) -> None:
    """In the grandchild: become ``python -m module`` (never returns)."""
    code = 1
    try:
        os.setsid()
        os.chdir(req["cwd"])
        os.environ.clear()
        os.environ.update(req["env"])
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(req["console"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(null)
        os.close(out)
        os.write(report_fd, f"{os.getpid()}\n".encode())
        os.close(report_fd)
        # the handlers a fresh interpreter starts with
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 - the process's own stdio
        sys.stdout = _text(1, bool(req["env"].get("PYTHONUNBUFFERED")))
        sys.stderr = _text(2, True)
        sys.argv = [req["module"], *req["args"]]
        _name_process(req["module"], req["args"])
        try:
            runpy.run_module(req["module"], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
        except BaseException:  # noqa: BLE001 - report like the interpreter would, then exit
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except OSError:
                pass
    except BaseException:  # noqa: BLE001 - before stdio is the console's: say it there
        import traceback

        try:
            with open(req["console"], "a") as f:
                traceback.print_exc(file=f)
        except OSError:
            pass
    finally:
        os._exit(code)


def _fork(req: dict[str, Any]) -> dict[str, Any]:
    r, w = os.pipe()
    middle = os.fork()
    if middle == 0:  # the middle process: fork the service and exit, orphaning it
        os.close(r)
        try:
            if os.fork() == 0:
                sys.stdin.close()
                _run_child(req, w)
        finally:
            os._exit(0)
    os.close(w)
    os.waitpid(middle, 0)
    with os.fdopen(r) as f:
        got = f.readline().strip()
    return {"pid": int(got)} if got else {"error": "the service process died before it started"}


def serve() -> int:
    """The zygote's main loop: preload, then fork one service per request line."""
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - optional: a service imports what it needs anyway
            continue
    gc.collect()
    gc.freeze()  # the preloaded objects' pages stay shared with every forked service
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the manager stops us by closing stdin
    for line in sys.stdin:
        try:
            reply = _fork(json.loads(line))
        except (OSError, ValueError, KeyError) as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(serve())
