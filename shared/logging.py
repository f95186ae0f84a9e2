"""Structured logs: one JSON (or key=value) line per event, rotated, secrets redacted.

Several gunicorn workers append to the same ``logs/<service>.log``, so rotation uses
``concurrent_log_handler`` (a file lock around rollover) instead of the stdlib handler, which
corrupts files when two processes rotate at once.
"""
from __future__ import annotations

import json
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from concurrent_log_handler import ConcurrentRotatingFileHandler

if TYPE_CHECKING:
    from shared.config import Settings

_STD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class RedactingFilter(logging.Filter):
    """Replace every configured secret in a record's message and fields with ``***``."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def _clean(self, value: Any) -> Any:
        if isinstance(value, str):
            for s in self.secrets:
                value = value.replace(s, "***")
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg = self._clean(record.getMessage())
        record.args = ()
        for key, value in list(vars(record).items()):
            if key not in _STD:
                setattr(record, key, self._clean(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = self._clean(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, service, logger, msg, pid and any extra fields."""

    def __init__(self, service: str, kv: bool = False) -> None:
        super().__init__()
        self.service = service
        self.kv = kv

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        for key, value in vars(record).items():
            if key not in _STD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = record.exc_text or self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        if self.kv:
            return " ".join(f"{k}={json.dumps(v, default=str)}" for k, v in out.items())
        return json.dumps(out, default=str)


def configure_logging(service: str, settings: Settings, *, stderr: bool = False) -> logging.Logger:
    """Send the root logger to ``<log dir>/<service>.log`` and ``database_operations.log``.

    Idempotent per process; returns the service's logger.
    """
    log_dir = Path(settings.log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    marker = f"_configured_{service}_{os.getpid()}_{log_dir}"
    if getattr(root, marker, False):
        return logging.getLogger(service)
    for h in list(root.handlers):
        if getattr(h, "_suite", False):
            root.removeHandler(h)
            h.close()
    redact = RedactingFilter(settings.secrets())
    fmt = JsonFormatter(service, kv=settings.logging.format == "kv")

    def handler(path: Path) -> logging.Handler:
        h = ConcurrentRotatingFileHandler(
            str(path), maxBytes=settings.logging.max_bytes,
            backupCount=settings.logging.backups, encoding="utf-8", use_gzip=False)
        h.setFormatter(fmt)
        h.addFilter(redact)
        h._suite = True  # type: ignore[attr-defined]
        return h

    main = handler(log_dir / f"{service}.log")
    root.addHandler(main)
    if stderr:
        s = logging.StreamHandler(sys.stderr)
        s.setFormatter(fmt)
        s.addFilter(redact)
        s._suite = True  # type: ignore[attr-defined]
        root.addHandler(s)
    root.setLevel(settings.logging.level)
    dbl = logging.getLogger("database_operations")
    for h in list(dbl.handlers):
        dbl.removeHandler(h)
        h.close()
    dbl.addHandler(handler(log_dir / "database_operations.log"))
    setattr(root, marker, True)
    return logging.getLogger(service)
