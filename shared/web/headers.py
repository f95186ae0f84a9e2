"""Security headers, the request id, the market label and CORS on every response (WSGI layer).

Every response gets ``X-Content-Type-Options``, ``X-Frame-Options``, ``Referrer-Policy`` and a
``Content-Security-Policy`` unless the view set its own, the request's ``X-Request-ID`` (or a
new one), the app's fixed extra headers (``X-Market-Data: simulated`` on the built-in market)
and, for an allowed ``Origin``, ``Access-Control-Allow-Origin`` with ``Vary`` (and
``Access-Control-Expose-Headers`` naming the extra headers, so a page's script can read them).

This is a few lines of WSGI middleware rather than a Flask ``after_request`` hook (or a
package such as flask-talisman, which also works through Werkzeug's ``Headers``): every
``Headers.set``/``setdefault`` re-validates its value and scans the list, and each ``request``
access goes through a context-local proxy, which together cost about 40 us a request on our
2-core machines, a tenth of the suite's cheapest write route.  Here the headers are appended
to the plain list ``start_response`` receives, already validated once at import.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

#: where the request id is kept in the WSGI environ (read by the app's hooks and logs)
REQUEST_ID_KEY = "suite.request_id"
#: the header naming the source of the suite's prices ("simulated" on the built-in market)
MARKET_HEADER = "X-Market-Data"

STATIC_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Content-Security-Policy",
     "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
     "frame-ancestors 'none'"),
)
_STATIC_NAMES = tuple(k.lower() for k, _ in STATIC_HEADERS)
_MAX_ID = 200  # a longer client-sent X-Request-ID is replaced, not echoed


def new_request_id() -> str:
    """Return a fresh 16-hex-digit request id."""
    return os.urandom(8).hex()


def _clean_id(value: str | None) -> str:
    """Return the client's request id when it is a short printable token, else a new one."""
    if value and len(value) <= _MAX_ID and value.isascii() and value.isprintable():
        return value
    return new_request_id()


class SecureHeaders:
    """WSGI middleware: ``app.wsgi_app = SecureHeaders(app.wsgi_app, cors_origins, extra)``.

    ``extra`` headers go on every response as they are.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], cors_origins: Iterable[str],
                 extra: Iterable[tuple[str, str]] = ()) -> None:
        self.app = app
        self.cors_origins = frozenset(cors_origins)
        self.extra = tuple(extra)
        names = ", ".join(k for k, _ in self.extra)
        self.expose = (("Access-Control-Expose-Headers", names),) if names else ()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        rid = _clean_id(environ.get("HTTP_X_REQUEST_ID"))
        environ[REQUEST_ID_KEY] = rid
        origin = environ.get("HTTP_ORIGIN")
        allow = origin if origin and origin in self.cors_origins else None

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            have = {k.lower() for k, _ in headers}
            if have.isdisjoint(_STATIC_NAMES):  # the usual case: the view set none of them
                headers.extend(STATIC_HEADERS)
            else:
                headers.extend(h for h, name in zip(STATIC_HEADERS, _STATIC_NAMES, strict=True)
                               if name not in have)
            headers.append(("X-Request-ID", rid))
            headers.extend(self.extra)
            if allow is not None:
                headers.append(("Access-Control-Allow-Origin", allow))
                headers.append(("Vary", "Origin"))
                headers.extend(self.expose)
            return start_response(status, headers, exc_info)

        return self.app(environ, start)


__all__ = ["MARKET_HEADER", "REQUEST_ID_KEY", "STATIC_HEADERS", "SecureHeaders", "new_request_id"]
