"""Spawn a service in its own process group and take the whole group down again.

Each service gets its own session (``start_new_session``), so its process group id is the
leader's pid: gunicorn's workers, or the dev server's reloaded child, can be found and killed
through the group even after the leader died (a SIGKILLed gunicorn master leaves its worker
holding the listening socket until it notices).
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil

from shared.config import ROOT


def spawn(argv: list[str], console: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start ``argv`` from the repository root with stdout and stderr appended to ``console``.

    Raises:
        OSError: when the interpreter or the console file cannot be opened.
    """
    console.parent.mkdir(parents=True, exist_ok=True)
    with open(console, "ab") as out:
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def group_members(pgid: int) -> list[psutil.Process]:
    """Return the live processes of process group ``pgid`` (zombies excluded)."""
    out = []
    for p in psutil.process_iter(["pid"]):
        try:
            if os.getpgid(p.pid) == pgid and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except (ProcessLookupError, psutil.NoSuchProcess, psutil.AccessDenied, OSError):
            continue
    return out


def signal_group(pgid: int, sig: int) -> bool:
    """Send ``sig`` to the group; return False when no member was left to receive it."""
    try:
        os.killpg(pgid, sig)
        return True
    except ProcessLookupError:
        return False


def terminate(pid: int) -> None:
    """Ask the group leader to shut down gracefully (gunicorn drains its own workers)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass


def kill_group(pgid: int) -> None:
    """SIGKILL every process left in the group."""
    signal_group(pgid, signal.SIGKILL)


def same_process(pid: int, create_time: float | None) -> bool:
    """Return True when ``pid`` is alive and is the process started at ``create_time``."""
    try:
        p = psutil.Process(pid)
        return create_time is None or abs(p.create_time() - create_time) < 0.01
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until ``pid`` has exited (a zombie counts: it runs nothing and holds nothing);
    return False when it is still running after ``timeout`` seconds."""
    try:
        proc = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return True
    deadline = time.monotonic() + timeout
    while True:
        try:
            if not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def create_time(pid: int) -> float | None:
    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def tree_memory(pid: int) -> tuple[int, int]:
    """Return (rss, pss) in bytes of ``pid`` and its descendants; PSS counts shared pages once."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    rss = pss = 0
    for p in procs:
        try:
            info = p.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return rss, pss
