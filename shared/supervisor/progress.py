"""What ``hybrid_manager.py start`` shows while the suite runs: the dashboard's URL, then one
line of the replayed day (market clock, cycles, orders, fills, the automation's P&L).

``format_line`` and ``dashboard_urls`` are pure; ``progress_reader.ProgressReader`` reads the
services' public APIs (never their tables); ``ProgressPrinter`` refreshes the line in place on a terminal and
prints it as a plain line every ``every_s`` seconds otherwise.
"""
from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TextIO
from zoneinfo import ZoneInfo

from shared.web.stream_urls import forwarded_port

log = logging.getLogger("supervisor.progress")
#: The exchange's time zone (XNYS, the calendar the market clock follows).
EXCHANGE_TZ = ZoneInfo("America/New_York")

#: How each service is named in the line ("paper trading not answering").
LABELS = {"coordination": "coordination", "paper_trading": "paper trading"}


@dataclass(frozen=True)
class Progress:
    """The figures of one progress line; None is "not known yet"."""

    now: datetime | None = None          # the market clock (tz-aware)
    market_open: bool | None = None
    paused: bool = False
    simulated: bool | None = None         # the built-in market (X-Market-Data: simulated)
    cycles: int | None = None             # workflow cycles of the clock's session so far
    orders: int | None = None             # orders the automation submitted that session
    fills: int | None = None
    day_pnl: Decimal | None = None        # equity - last session's closing equity
    equity: Decimal | None = None
    down: tuple[str, ...] = ()            # services that did not answer (LABELS keys)


def money(value: Decimal, signed: bool = False) -> str:
    """Return ``value`` as dollars and cents ("+$1,234.50"; half-even, exact)."""
    cents = value.quantize(Decimal("0.01"))
    sign = "-" if cents < 0 else ("+" if signed and cents > 0 else "")
    return f"{sign}${abs(cents):,.2f}"


def _count(n: int | None, word: str) -> str:
    return f"{'?' if n is None else n} {word}{'' if n == 1 else 's'}"


def format_line(p: Progress, tz: ZoneInfo = EXCHANGE_TZ, width: int | None = None) -> str:
    """Return the one-line progress of ``p``, cut to ``width`` characters when given.

    Example: ``simulated 2024-01-02 11:42 EST open | 26 cycles, 12 orders, 9 fills | P&L today
    +$123.45 | equity $100,123.45``; a service that did not answer is named first.
    """
    if p.now is None:
        clock = "market clock ?"
    else:
        local = p.now.astimezone(tz)
        state = "open" if p.market_open else "closed"
        clock = (("simulated " if p.simulated else "")
                 + f"{local:%Y-%m-%d %H:%M} {local.tzname()} {state}"
                 + (" (paused)" if p.paused else ""))
    # what is down first and the equity last: a terminal's width cuts the end
    parts = [f"{LABELS.get(name, name.replace('_', ' '))} not answering" for name in p.down]
    parts += [clock, ", ".join((_count(p.cycles, "cycle"), _count(p.orders, "order"),
                                _count(p.fills, "fill")))]
    if p.day_pnl is not None:
        parts.append(f"P&L today {money(p.day_pnl, signed=True)}")
    if p.equity is not None:
        parts.append(f"equity {money(p.equity)}")
    line = " | ".join(parts)
    if width is not None and len(line) > width:  # a wrapped line cannot be redrawn in place
        line = line[: width - 1] + "…" if width > 0 else ""
    return line


def session_day(ts: datetime, tz: ZoneInfo = EXCHANGE_TZ) -> date:
    """Return the exchange-local date of ``ts`` (the session a US equity bar belongs to)."""
    return ts.astimezone(tz).date()


def dashboard_urls(port: int, bind_host: str, environ: Mapping[str, str]) -> list[str]:
    """Return the dashboard's URL on this machine and, in Codespaces or Gitpod, the forwarded
    one the environment names (``<codespace>-<port>.app.github.dev``, ``<port>-<workspace>``).

    A forwarded host is kept only if ``shared.web.stream_urls`` reads the same port from it,
    so the host names the dashboard's stream links are built from and this one agree.
    """
    host = "127.0.0.1" if bind_host in ("0.0.0.0", "::", "") else bind_host
    host = f"[{host}]" if ":" in host else host
    urls = [f"http://{host}:{port}"]
    forwarded = None
    name = environ.get("CODESPACE_NAME")
    if environ.get("CODESPACES") == "true" and name:
        domain = environ.get("GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN") or "app.github.dev"
        forwarded = f"{name}-{port}.{domain}"
    elif environ.get("GITPOD_WORKSPACE_URL"):
        workspace = environ["GITPOD_WORKSPACE_URL"].split("://", 1)[-1].strip("/")
        forwarded = f"{port}-{workspace}"
    if forwarded and forwarded_port(forwarded) == port:
        urls.append(f"https://{forwarded}")
    return urls


class ProgressPrinter:
    """Show ``read()``'s progress every ``every_s`` seconds on its own thread.

    On a terminal the line is redrawn in place (carriage return, cut to the width); anything
    else (a log file, a pipe) gets it as plain lines, every 30 s by default.  ``say`` prints a
    message above the line, so the supervisor's messages and the line never mix.
    """

    def __init__(self, read: Callable[[], Progress], out: TextIO, *, tty: bool | None = None,
                 every_s: float | None = None, tz: ZoneInfo = EXCHANGE_TZ) -> None:
        self.read = read
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self.every_s = every_s if every_s is not None else (2.0 if self.tty else 30.0)
        self.tz = tz
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._shown = False      # a drawn line without its newline is on the terminal
        self._closed = False
        self._thread: threading.Thread | None = None
        self._last_error: str | None = None

    def say(self, msg: str) -> None:
        with self._lock:
            if self._shown:
                self.out.write("\r\033[K")
                self._shown = False
            self.out.write(msg + "\n")
            self.out.flush()

    def show(self, line: str) -> None:
        with self._lock:
            if self._closed:
                return
            if self.tty:
                self.out.write("\r\033[K" + line)
                self._shown = True
            else:
                self.out.write(line + "\n")
            self.out.flush()

    def tick(self) -> None:
        """Read and show once; an unexpected error (a reader's bug, a closed pipe, a terminal
        that cannot print the line) is logged once and skipped, never raised."""
        try:
            progress = self.read()
            width = shutil.get_terminal_size().columns - 1 if self.tty else None
            self.show(format_line(progress, self.tz, width))
        except Exception as exc:  # the line must never take the manager down
            if repr(exc) != self._last_error:
                log.warning("progress line failed", extra={"error": repr(exc)})
            self._last_error = repr(exc)

    def _loop(self) -> None:
        while True:
            self.tick()
            if self._stop.wait(self.every_s):
                return

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="progress", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread; end the drawn line so the next message starts on its own."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            self._closed = True
            if self._shown:
                self.out.write("\n")
                self.out.flush()
                self._shown = False
