"""A module the zygote test forks: prints what a ``python -m`` program would see, then exits
with the code named by its first argument (or waits for a signal with "wait")."""
from __future__ import annotations

import json
import os
import sys
import time

if __name__ == "__main__":
    print(json.dumps({"argv": sys.argv, "cwd": os.getcwd(), "pid": os.getpid(),
                      "pgid": os.getpgid(0), "sid": os.getsid(0), "ppid": os.getppid(),
                      "env": os.environ.get("ZYGOTE_PROBE"), "name": __name__,
                      "stdin": sys.stdin.read()}), flush=True)
    print("to stderr", file=sys.stderr, flush=True)
    if sys.argv[1] == "wait":
        time.sleep(60)
    if sys.argv[1] == "orphan":  # leave a child behind that exits at once
        if os.fork() == 0:
            os._exit(0)
        time.sleep(0.3)
    raise SystemExit(int(sys.argv[2]) if len(sys.argv) > 2 else 0)
