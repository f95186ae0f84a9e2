"""Where the stream server is, as a client of the Flask service that redirects there sees it.

Shared: paper trading and the dashboard both send their SSE clients there.
"""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

#: ``<name>-5010.app.github.dev`` (Codespaces) and ``5010-<name>.<cluster>.gitpod.io``: the
#: forwarded port is part of the host name, the stream server's port is forwarded the same way,
#: always over https
_CODESPACES = re.compile(r"^(.+-)(\d{2,5})(\.(?:preview\.)?app\.github\.dev)$")
_GITPOD = re.compile(r"^()(\d{2,5})(-.+\.gitpod\.io)$")


def forwarded_port(host: str | None) -> int | None:
    """Return the port a forwarding proxy's host name carries (None for a plain host)."""
    found = _CODESPACES.match(host or "") or _GITPOD.match(host or "")
    return int(found.group(2)) if found else None


def stream_location(settings: Any, host_header: str, scheme: str, path: str,
                    query: dict[str, str]) -> str:
    """Return the stream server's URL for ``path`` on the host the client used.

    The client reached the Flask service at ``host_header`` (``127.0.0.1:5005``,
    ``localhost:5010``, ``[::1]:5005``...); the stream server listens on the same interfaces
    at its own port, so only the port changes (a browser's page origin stays the same host).
    Behind Codespaces' or Gitpod's port forwarding the port is in the host name instead.
    """
    host = host_header or "127.0.0.1"
    stream_port = settings.port("paper_streams")
    forwarded = _CODESPACES.match(host) or _GITPOD.match(host)
    if forwarded:  # a port-forwarding proxy names the port in the host
        before, _port, after = forwarded.groups()  # noqa: RUF059 - the port is replaced
        return (f"https://{before}{stream_port}{after}{path}"
                + (f"?{urlencode(query)}" if query else ""))
    if host.startswith("["):
        host = host[: host.index("]") + 1]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    qs = urlencode(query)
    return (f"{scheme}://{host}:{stream_port}{path}"
            + (f"?{qs}" if qs else ""))
