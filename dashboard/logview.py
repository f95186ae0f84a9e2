"""Log lines as a person reads them: time, service, level and message (not raw JSON).

Every service writes JSON lines (``shared.logging``); a console log or a traceback line is
plain text and is shown as it is.  Pure functions: the backend reads the file, these parse and
filter.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_RANK = {name: i for i, name in enumerate(LEVELS)}
# Keys every line has, shown in their own columns (or not at all: the pid is on the System
# table, ``at`` repeats ``ts``).
_COLUMNS = {"ts", "level", "service", "logger", "msg", "message", "pid", "at", "taskName"}
_DETAIL_CHARS = 200


def _level(record: dict[str, Any]) -> str:
    level = str(record.get("level") or "INFO").upper()
    level = "WARNING" if level == "WARN" else level
    # A slow query is a timing note (counted in /metrics too), logged at WARNING by the
    # database layer on every busy moment: shown as debug, so the default view is not buried.
    if record.get("logger") == "database_operations" and record.get("msg") == "slow query":
        return "DEBUG"
    return level if level in _RANK else "INFO"


def _details(record: dict[str, Any]) -> str:
    parts = []
    for k, v in record.items():
        if k in _COLUMNS or v is None or v == "":
            continue
        text = v if isinstance(v, str) else json.dumps(v, default=str)
        parts.append(f"{k.replace('_', ' ')}: {text}")
    out = " · ".join(parts)
    return out if len(out) <= _DETAIL_CHARS else out[:_DETAIL_CHARS - 1] + "…"


def parse_line(line: str, service: str) -> dict[str, Any]:
    """Return ``{time, service, level, logger, message, details}`` of one log line.

    A line that is not a JSON object is its own message at INFO (no time).
    """
    try:
        record = json.loads(line)
    except ValueError:
        record = None
    if not isinstance(record, dict):
        return {"time": None, "service": service, "level": "INFO", "logger": None,
                "message": line.rstrip(), "details": ""}
    return {"time": record.get("ts"), "service": record.get("service") or service,
            "level": _level(record), "logger": record.get("logger"),
            "message": str(record.get("msg") or record.get("message") or ""),
            "details": _details(record)}


def readable(lines: Iterable[str], service: str, min_level: str = "INFO",
             limit: int | None = None) -> list[dict[str, Any]]:
    """Return the parsed ``lines`` at ``min_level`` or above (the last ``limit`` of them)."""
    floor = _RANK.get(min_level.upper(), _RANK["INFO"])
    out = [e for e in (parse_line(x, service) for x in lines if x.strip())
           if _RANK[e["level"]] >= floor]
    return out[-limit:] if limit else out


__all__ = ["LEVELS", "parse_line", "readable"]
