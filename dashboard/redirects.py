"""Where a login may send the browser next: same-origin paths only."""
from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit

HOME = "/"


def _plain(text: str) -> bool:
    # Browsers drop tabs and newlines inside a URL (so "/\t/evil" becomes "//evil") and treat
    # "\" as "/"; refuse every whitespace and control character and the backslash outright.
    return not any(c.isspace() or c == "\\" or unicodedata.category(c)[0] == "C" for c in text)


def safe_next(value: object) -> str:
    """Return ``value`` if it is a path on this site, else ``HOME``.

    Accepted: starts with one ``/``, no ``//`` and no backslash, whitespace or control
    character anywhere (also after percent-decoding), and no scheme or host when parsed.
    """
    if not isinstance(value, str) or not value.startswith("/") or len(value) > 2048:
        return HOME
    decoded = unquote(unquote(value))  # twice: "%2509" is "%09" to a second decoder
    for text in (value, decoded):
        if "//" in text or not _plain(text):
            return HOME
        parts = urlsplit(text)
        if parts.scheme or parts.netloc:
            return HOME
    return value
