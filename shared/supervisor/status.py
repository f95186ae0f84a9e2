"""The ``status`` view: one row per service, as a table or JSON-ready dicts."""
from __future__ import annotations

import time
from typing import Any

from shared.config import Settings
from shared.db import Database
from shared.db.dialect import DatabaseError
from shared.supervisor.ports import port_free
from shared.supervisor.registry import ServiceRegistry
from shared.supervisor.rundir import RunDir
from shared.supervisor.spec import service_specs

COLUMNS = ("service", "port", "pid", "state", "uptime", "restarts", "health_ms", "last_reason")


def _registry_rows(settings: Settings) -> dict[str, dict[str, Any]]:
    if settings.database.url is None and not settings.database_path.exists():
        return {}
    db = Database.from_settings(settings)
    try:
        return {r["name"]: r for r in ServiceRegistry(db).rows()}
    except DatabaseError:  # no registry table yet (never migrated)
        return {}
    finally:
        db.close()


def collect(settings: Settings, run_dir: RunDir) -> dict[str, Any]:
    """Return the manager's live view when it runs, else the registry's last word."""
    manager = run_dir.manager_pid()
    state = run_dir.read_state() if manager else None
    now = time.time()
    rows = []
    if state is not None:
        for s in state["services"]:
            uptime = s["uptime_s"]
            if uptime is not None:  # the file is up to 0.2 s old
                uptime = round(uptime + now - state["updated_at"], 1)
            rows.append({**s, "uptime_s": uptime})
        return {"manager_pid": manager, "phase": state["phase"], "services": rows}
    registry = _registry_rows(settings)
    host = settings.security.bind_host
    for spec in service_specs(settings):
        r = registry.get(spec.name, {})
        listening = not port_free(spec.port, host)
        rows.append({
            "name": spec.name, "port": spec.port, "pid": None,
            "state": "unmanaged (port in use)" if listening else "stopped",
            "uptime_s": None, "restarts": r.get("restarts", 0),
            "last_exit_code": r.get("last_exit_code"), "last_reason": r.get("last_reason"),
            "health_latency_ms": r.get("health_latency_ms"),
        })
    return {"manager_pid": None, "phase": "stopped", "services": rows}


def _uptime(s: float | None) -> str:
    if s is None:
        return "-"
    s = int(s)
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def table(view: dict[str, Any]) -> str:
    """Format ``collect()``'s result as a fixed-width table."""
    lines = []
    for s in view["services"]:
        lat = s.get("health_latency_ms")
        lines.append((s["name"], str(s["port"]), str(s["pid"] or "-"), s["state"],
                      _uptime(s.get("uptime_s")), str(s.get("restarts", 0)),
                      f"{lat:.1f}" if lat is not None else "-",
                      (s.get("last_reason") or "")[:60]))
    widths = [max(len(c), *(len(r[i]) for r in lines)) for i, c in enumerate(COLUMNS)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    head = f"manager: {'pid ' + str(view['manager_pid']) if view['manager_pid'] else 'not running'}"
    out = [head, fmt.format(*COLUMNS), fmt.format(*("-" * w for w in widths))]
    out.extend(fmt.format(*r) for r in lines)
    return "\n".join(line.rstrip() for line in out)
