"""Where a buffered request ends (shared.web.framing)."""
import pytest

from shared.web.framing import FrameError, request_end

H = b"POST /x HTTP/1.1\r\nHost: a\r\n"


def test_content_length_body_is_complete_only_when_all_bytes_arrived():
    req = H + b"Content-Length: 5\r\n\r\nhello"
    assert request_end(req[:-1], 8192, 100) is None
    assert request_end(req, 8192, 100) == len(req)
    assert request_end(req + b"GET / HTTP/1.1\r\n", 8192, 100) == len(req)
    assert request_end(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 8192, 100) == 27


def test_chunked_body_ends_after_the_last_chunk_and_trailers():
    req = H + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"
    for cut in range(len(H) + 5, len(req)):
        assert request_end(req[:cut], 8192, 100) is None
    assert request_end(req, 8192, 100) == len(req)


@pytest.mark.parametrize(("raw", "status"), [
    (H + b"Content-Length: 101\r\n\r\n", 413),
    (H + b"Content-Length: x\r\n\r\n", 400),
    (H + b"Transfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    (H + b"Transfer-Encoding: chunked\r\n\r\n65\r\n", 413),
    (b"GET / HTTP/1.1\r\nX: " + b"a" * 9000, 431),
])
def test_requests_that_cannot_be_framed_are_refused(raw, status):
    with pytest.raises(FrameError) as err:
        request_end(raw, 8192, 100)
    assert err.value.status == status
