"""One HTTP health probe: status, latency, and why it failed."""
from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Probe:
    ok: bool
    latency_ms: float
    error: str | None = None
    pid: int | None = None


def probe(url: str, timeout: float, path: str = "/health") -> Probe:
    """GET ``url + path``; healthy means 200 with ``"status": "healthy"`` in the data."""
    parts = urlsplit(url)
    t0 = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80,
                                      timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        resp = conn.getresponse()
        body = resp.read()
        latency = (time.perf_counter() - t0) * 1000
        if resp.status != 200:
            return Probe(False, latency, f"{path} answered {resp.status}")
        data = json.loads(body).get("data") or {}
        if data.get("status") != "healthy":
            return Probe(False, latency, f"{path} reported status {data.get('status')!r}")
        return Probe(True, latency, None, data.get("pid"))
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Probe(False, (time.perf_counter() - t0) * 1000, f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()
