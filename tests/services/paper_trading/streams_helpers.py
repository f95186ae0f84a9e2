"""Run the stream server in-process (its own loop in a thread) and the SDK's streams."""
from __future__ import annotations

import asyncio
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from services.paper_trading.streaming import create_stream_app
from services.paper_trading.streaming.server import serve
from shared.config import Settings


@contextmanager
def stream_server(settings: Settings, port: int = 0) -> Iterator[str]:
    """Serve the stream app on loopback ``port`` (0: a free one); yield ``ws://127.0.0.1:PORT``."""
    app = create_stream_app(settings)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    box: dict[str, Any] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        stop = asyncio.Event()
        box["stop"] = stop

        def started(port: int) -> None:
            box["port"] = port
            ready.set()

        try:
            loop.run_until_complete(serve(app, "127.0.0.1", port, stop, started))
        except BaseException as exc:  # noqa: BLE001 - surfaced to the test below
            box["error"] = exc
            ready.set()
        finally:
            loop.close()

    thread = threading.Thread(target=run, daemon=True, name="stream-server")
    thread.start()
    assert ready.wait(20), "the stream server did not start"
    if "error" in box:
        raise box["error"]
    try:
        yield f"ws://127.0.0.1:{box['port']}"
    finally:
        loop.call_soon_threadsafe(box["stop"].set)
        thread.join(10)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_sdk_stream(stream: Any) -> threading.Thread:
    """Run an SDK stream's ``run()`` in a daemon thread (its own event loop)."""
    def target() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            stream.run()

    t = threading.Thread(target=target, daemon=True, name="sdk-stream")
    t.start()
    return t


def stop_sdk_stream(stream: Any, thread: threading.Thread) -> None:
    deadline = time.monotonic() + 5
    while stream._loop is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if stream._loop is not None and thread.is_alive():
        try:
            stream.stop()
        except Exception:  # noqa: BLE001 - the loop may be ending already
            pass
    thread.join(10)


def wait_for(cond: Callable[[], Any], timeout: float = 10.0, step: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = cond()
        if got:
            return got
        time.sleep(step)
    raise AssertionError("condition not met in time")
