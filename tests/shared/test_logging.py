"""Structured logs: JSON lines in logs/<service>.log, secrets never written."""
from __future__ import annotations

import json
import logging
from pathlib import Path

from shared.logging import configure_logging
from tests.conftest import make_settings


def test_json_lines_with_extras_and_no_secrets(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, security__api_key="TOPSECRET-123",
                             alpaca__secret_key="ALPACA-SECRET-9")
    log = configure_logging("unit", settings)
    log.info("using key TOPSECRET-123", extra={"header": "ALPACA-SECRET-9", "qty": 5})
    try:
        raise ValueError("failed with TOPSECRET-123")
    except ValueError:
        log.exception("boom")
    for h in logging.getLogger().handlers:
        h.flush()
    text = (tmp_path / "logs" / "unit.log").read_text()
    assert "TOPSECRET-123" not in text and "ALPACA-SECRET-9" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    first = next(x for x in lines if x["msg"].startswith("using key"))
    assert first["msg"] == "using key ***" and first["header"] == "***" and first["qty"] == 5
    assert first["service"] == "unit" and first["level"] == "INFO" and "+00:00" in first["ts"]
    boom = next(x for x in lines if x["msg"] == "boom")
    assert "ValueError" in boom["exc"] and "***" in boom["exc"]


def test_log_files_rotate(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, logging__max_bytes=2000, logging__backups=2)
    log = configure_logging("rot", settings)
    for i in range(200):
        log.info("line %d %s", i, "x" * 50)
    for h in logging.getLogger().handlers:
        h.flush()
    files = sorted(p.name for p in (tmp_path / "logs").glob("rot.log*"))
    assert "rot.log" in files and "rot.log.1" in files and len(files) <= 3
