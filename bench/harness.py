"""What the HTTP benches share: a gunicorn server on a free loopback port, and percentiles."""
from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(target: str, env: dict[str, str], workers: int,
          worker_class: str = "sync") -> tuple[subprocess.Popen, int]:
    """Start ``gunicorn target`` (sync workers unless ``worker_class``); return it and its port
    once it listens.

    Raises:
        RuntimeError: it exited or did not listen within a minute (with its stderr's tail).
    """
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-k", worker_class, "-b",
         f"127.0.0.1:{port}", "--log-level", "warning", target],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{target} did not start: {proc.stderr.read().decode()[-2000:]}")


def pct(xs: list[float], q: float) -> float:
    """Return the ``q`` quantile of latencies in seconds, in milliseconds (NaN when empty)."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] * 1000 if xs else float("nan")
