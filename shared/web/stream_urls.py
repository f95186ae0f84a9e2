"""Where the stream server is, as a client of the Flask service that redirects there sees it."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode


def stream_location(settings: Any, host_header: str, scheme: str, path: str,
                    query: dict[str, str]) -> str:
    """Return the stream server's URL for ``path`` on the host the client used.

    The client reached the Flask service at ``host_header`` (``127.0.0.1:5005``,
    ``localhost:5010``, ``[::1]:5005``...); the stream server listens on the same interfaces
    at its own port, so only the port changes (a browser's page origin stays the same host).
    """
    host = host_header or "127.0.0.1"
    if host.startswith("["):
        host = host[: host.index("]") + 1]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    qs = urlencode(query)
    return (f"{scheme}://{host}:{settings.port('paper_streams')}{path}"
            + (f"?{qs}" if qs else ""))
