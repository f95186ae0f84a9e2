"""Is a port free, and if not, which process holds it."""
from __future__ import annotations

import socket

import psutil


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Return True when ``host:port`` can be bound for listening right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # Same option gunicorn uses: a port in TIME_WAIT counts as free, a listener does not.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def port_holder(port: int) -> str | None:
    """Describe the process listening on ``port`` ("pid 12 (python -m x)"), or None if unknown."""
    try:
        conns = psutil.net_connections(kind="tcp")
    except (psutil.AccessDenied, OSError):
        return None
    for c in conns:
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN and c.pid:
            try:
                cmd = " ".join(psutil.Process(c.pid).cmdline())[:120]
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                cmd = "?"
            return f"pid {c.pid} ({cmd})"
    return None


def busy_ports(ports: dict[str, int], host: str = "127.0.0.1") -> list[str]:
    """Return one message per taken port in ``{service: port}``; empty when all are free."""
    problems = []
    for name, port in ports.items():
        if not port_free(port, host):
            holder = port_holder(port)
            who = f"held by {holder}" if holder else "held by a process that could not be found"
            problems.append(f"port {port} ({name}) is already in use, {who}")
    return problems
