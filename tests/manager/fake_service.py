"""A stand-in service process for supervisor tests: ``python fake_service.py PORT MODE``.

Modes: ``exit`` prints a line and exits 3 at once; ``healthy`` answers /health like the real
skeleton; ``flaky`` answers the first two requests healthy and 503 after that.
"""
from __future__ import annotations

import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    mode = "healthy"
    served = 0

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        Handler.served += 1
        healthy = self.mode == "healthy" or (self.mode == "flaky" and self.served <= 2)
        body = json.dumps({"status": "success", "data": {
            "status": "healthy" if healthy else "unhealthy", "pid": os.getpid()}}).encode()
        self.send_response(200 if healthy else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    port, mode = int(sys.argv[1]), sys.argv[2]
    if mode == "exit":
        print("fake service failing on purpose", flush=True)
        sys.exit(3)
    gate = os.environ.get("SUITE_START_GATE")
    while gate and not os.path.exists(gate):  # like the real runner: bind once let in
        time.sleep(0.01)
    Handler.mode = mode
    print(f"malloc trim threshold {os.environ.get('MALLOC_TRIM_THRESHOLD_')}", flush=True)
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"bound at {time.time():.6f}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
