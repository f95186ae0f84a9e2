"""shared.supervisor.process.wait_gone: what 'stop' waits on after the manager lets go of
its lock, so a 'stop' that returns means nothing of the suite still runs."""
from __future__ import annotations

import subprocess
import sys
import time

from shared.supervisor.process import wait_gone


def test_wait_gone_returns_once_the_process_has_exited() -> None:
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.4)"])
    t0 = time.monotonic()
    assert wait_gone(p.pid, 10.0) is True
    assert time.monotonic() - t0 >= 0.2  # it did wait for the exit
    p.wait()


def test_wait_gone_counts_a_zombie_as_gone_and_times_out_on_a_live_process() -> None:
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert wait_gone(live.pid, 0.3) is False
        live.kill()
        # not reaped yet: a zombie, which runs nothing and holds nothing
        assert wait_gone(live.pid, 5.0) is True
    finally:
        live.kill()
        live.wait()
    assert wait_gone(live.pid, 0.1) is True  # reaped: no such process
