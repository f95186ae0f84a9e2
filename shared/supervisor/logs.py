"""Read the end of a log file, and follow it as it grows (surviving rotation)."""
from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path


def tail(path: Path, n: int = 50) -> list[str]:
    """Return the last ``n`` lines of ``path`` (empty when it does not exist)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            # Read backwards in blocks until n lines are in hand: logs can be large.
            block, data = 8192, b""
            while size > 0 and data.count(b"\n") <= n:
                step = min(block, size)
                size -= step
                f.seek(size)
                data = f.read(step) + data
    except FileNotFoundError:
        return []
    return [line.decode("utf-8", "replace") for line in deque(data.splitlines(), maxlen=n)]


def follow(path: Path, stop: Callable[[], bool] = lambda: False,
           poll_s: float = 0.25) -> Iterator[str]:
    """Yield lines appended to ``path`` from now on until ``stop()``; reopen after rotation."""
    f = None
    inode = None
    from_start = False  # a file that appeared or replaced a rotated one is read whole
    buf = b""
    try:
        while not stop():
            if f is None:
                try:
                    f = open(path, "rb")  # noqa: SIM115 - kept open across iterations
                except FileNotFoundError:
                    from_start = True
                    time.sleep(poll_s)
                    continue
                inode = os.fstat(f.fileno()).st_ino
                if not from_start:
                    f.seek(0, os.SEEK_END)
            chunk = f.read()
            if chunk:
                *lines, buf = (buf + chunk).split(b"\n")
                yield from (line.decode("utf-8", "replace") for line in lines)
                continue
            try:
                rotated = os.stat(path).st_ino != inode
            except FileNotFoundError:
                rotated = True
            if rotated:
                f.close()
                f, from_start = None, True
                continue
            time.sleep(poll_s)
    finally:
        if f is not None:
            f.close()
