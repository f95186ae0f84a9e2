"""Where an HTTP/1.x request ends in a buffer (pure: no sockets, no clock).

The buffered worker (``shared.web.worker``) reads each request whole on its event loop and
hands it to the WSGI app only when this says it is complete, so a client that trickles its
headers or body never holds an app thread.  It only frames: gunicorn's own parser then parses
and validates the complete bytes (duplicate lengths, bad chunk sizes, header grammar).
"""
from __future__ import annotations


class FrameError(Exception):
    """The request cannot be framed: answer ``status`` and close."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _chunked_end(buf: bytes | bytearray, pos: int, max_body: int) -> int | None:
    """Return the end of a chunked body starting at ``pos``; None while incomplete."""
    body = 0
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            if len(buf) - pos > 1024:
                raise FrameError(400, "bad_request", "a chunk size line is too long")
            return None
        size_text = bytes(buf[pos:eol]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise FrameError(400, "bad_request", "invalid chunk size") from None
        body += size
        if body > max_body:
            raise FrameError(413, "payload_too_large",
                             f"the request body is over {max_body} bytes")
        if size == 0:  # the trailer section ends with an empty line
            end = buf.find(b"\r\n\r\n", eol)
            return end + 4 if end >= 0 else None
        nxt = eol + 2 + size + 2
        if len(buf) < nxt:
            return None
        pos = nxt


def request_end(buf: bytes | bytearray, max_header: int, max_body: int) -> int | None:
    """Return the byte length of the first complete request in ``buf``, or None for "more".

    Raises:
        FrameError: headers over ``max_header`` bytes (431), a body over ``max_body`` (413),
            a Content-Length that is not a number (400).
    """
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        if len(buf) > max_header:
            raise FrameError(431, "request_header_fields_too_large",
                             f"the request headers are over {max_header} bytes")
        return None
    if end > max_header:
        raise FrameError(431, "request_header_fields_too_large",
                         f"the request headers are over {max_header} bytes")
    length = 0
    chunked = False
    for line in bytes(buf[:end]).split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise FrameError(400, "bad_request", "invalid Content-Length") from None
            if length < 0:
                raise FrameError(400, "bad_request", "invalid Content-Length")
        elif key == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    start = end + 4
    if chunked:
        return _chunked_end(buf, start, max_body)
    if length > max_body:
        raise FrameError(413, "payload_too_large",
                         f"the request body is {length} bytes; the limit is {max_body}")
    return start + length if len(buf) >= start + length else None
