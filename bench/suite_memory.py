"""The running suite's memory over time: PSS per service sampled beside the market clock, and
its growth once warmed up (the steady state must be flat).

After the first workflow cycle the suite's memory still rises for a minute or two: the feed's
history backfill finishes and readers re-read their windows, caches fill to their bounds.
What counts is what follows: the median of the last three samples less the median of the
first three after ``warmup`` seconds, in total (goal < 5 MB) and per service, and per
simulated hour of the market clock (which skips closed hours at once).  Medians, because a
scan or a batch in flight lifts one sample by tens of MB.
"""
from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

from bench.startup_bench import MB
from shared.supervisor.process import tree_memory

#: (seconds since the first sample, market clock "now" or None, PSS MB by service)
Sample = tuple[float, "pd.Timestamp | None", dict[str, float]]
GOAL_MB = 5.0


def clock_now(port: int) -> pd.Timestamp | None:
    """Return coordination's market clock "now" (None when it does not answer)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/clock", timeout=5) as r:
            return pd.Timestamp(json.load(r)["data"]["now"])
    except (OSError, ValueError, KeyError):
        return None


def pss_by_service(state: dict[str, Any]) -> dict[str, float]:
    """Return PSS in MB of each service's process tree (master and workers) and the manager."""
    out = {s["name"]: tree_memory(s["pid"])[1] / MB for s in state["services"]}
    try:
        out["manager"] = psutil.Process(state["manager_pid"]).memory_full_info().pss / MB
    except psutil.Error:
        out["manager"] = 0.0
    return out


def sample_pss(state: dict[str, Any], clock_port: int, seconds: float, every: float
               ) -> list[Sample]:
    """Sample ``pss_by_service`` and the clock every ``every`` s for ``seconds`` s."""
    samples: list[Sample] = []
    t0 = time.perf_counter()
    while True:
        samples.append((time.perf_counter() - t0, clock_now(clock_port), pss_by_service(state)))
        if samples[-1][0] >= seconds:
            return samples
        time.sleep(max(0.0, min(every, seconds - samples[-1][0])))


def steady_growth(samples: list[Sample], warmup: float
                  ) -> tuple[int, dict[str, float], float]:
    """Return (index of the first sample after ``warmup``, MB grown by name, clock hours)."""
    i0 = next((i for i, (t, _, _) in enumerate(samples) if t >= warmup), len(samples) - 1)
    i0 = min(i0, max(0, len(samples) - 3))
    head, tail = samples[i0:i0 + 3], samples[-3:]

    def med(part: list[Sample], name: str) -> float:
        return float(pd.Series([x[2].get(name, 0.0) for x in part]).median())

    grown = {n: med(tail, n) - med(head, n) for n in samples[0][2]}
    c0, c1 = samples[i0][1], samples[-1][1]
    hours = (c1 - c0).total_seconds() / 3600 if c0 is not None and c1 is not None else 0.0
    return i0, grown, hours


def report_growth(samples: list[Sample], warmup: float) -> None:
    """Print the steady-state growth, in total and by service, and every sample's total."""
    i0, grown, hours = steady_growth(samples, warmup)
    total = sum(grown.values())
    wall = samples[-1][0] - samples[i0][0]
    print(f"   the market clock from {samples[0][1]} to {samples[-1][1]}")
    print(f"   steady state, after a {samples[i0][0]:.0f} s warm-up: {total:+.1f} MB over "
          f"{wall:.0f} s = {hours:.1f} simulated hours (closed hours skipped at once)"
          + (f", {total / hours:+.2f} MB per simulated hour" if hours > 0 else "")
          + f" (median of 3 samples at each end; goal < {GOAL_MB:.0f} MB: "
          + ("OK)" if total < GOAL_MB else "GREW)"))
    print("   by service, MB: after the first cycle / after the warm-up / at the end "
          "(whole run; steady growth; min and max after the warm-up)")
    for n in samples[0][2]:
        vals = [x[2][n] for x in samples]
        print(f"     {n:20s} {vals[0]:6.0f} {vals[i0]:6.0f} {vals[-1]:6.0f}  "
              f"({vals[-1] - vals[0]:+.1f}; {grown[n]:+.1f}; "
              f"{min(vals[i0:]):.0f}-{max(vals[i0:]):.0f})")
    days = session_marks(samples)
    print("   total PSS, MB, every sample ('|' before the first sample of a new session of "
          "the market clock): " + " ".join(
              f"{'|' if i in days else ''}{t:.0f}s={sum(x.values()):.0f}"
              for i, (t, _, x) in enumerate(samples)))
    per = session_medians(samples, days)
    if len(per) >= 2:
        print("   median total PSS by session of the market clock, MB (caches fill during the "
              "first; flat after means bounded): " + ", ".join(
                  f"{d}: {v:.0f} ({n} samples)" for d, v, n in per)
              + f"; last two sessions {per[-1][1] - per[-2][1]:+.1f} MB")
        print("   by service, median PSS by session, MB (change from the session before):")
        for n in samples[0][2]:
            row = session_medians(samples, days, n)
            print(f"     {n:20s} " + " ".join(
                f"{v:6.1f}" + (f" ({v - row[i - 1][1]:+.1f})" if i else "")
                for i, (_, v, _) in enumerate(row)))


def session_medians(samples: list[Sample], marks: set[int], name: str | None = None
                    ) -> list[tuple[str, float, int]]:
    """Return (session's first clock date, median PSS, samples) of each session: the total,
    or one service's (``name``)."""
    out: list[tuple[str, float, int]] = []
    bounds = [0, *sorted(marks), len(samples)]
    for a, b in zip(bounds, bounds[1:], strict=False):
        part = samples[a:b]
        if not part:
            continue
        values = pd.Series([sum(x[2].values()) if name is None else x[2].get(name, 0.0)
                            for x in part])
        label = str(part[0][1].date()) if part[0][1] is not None else f"{part[0][0]:.0f}s"
        out.append((label, float(values.median()), len(part)))
    return out


def session_marks(samples: list[Sample]) -> set[int]:
    """Return the indices of the samples whose clock is in a later session than the sample
    before's (the steps of a per-day growth line up with them)."""
    from shared.market import get_calendar

    cal, out, last = get_calendar(), set(), None
    for i, (_, now, _) in enumerate(samples):
        if now is None:
            continue
        k = int(cal._open_ns.searchsorted(now.value, side="right"))
        if last is not None and k > last:
            out.add(i)
        last = k
    return out


def worker_replacements(log_dir: Path) -> dict[str, list[tuple[float, float]]]:
    """Return, by service, the (private MB, level MB once warm) of each worker its memory
    guard replaced (``shared.web.memory_guard``), from the services' JSON logs."""
    out: dict[str, list[tuple[float, float]]] = {}
    for path in sorted(log_dir.glob("*.log*")):
        for line in path.read_text(errors="replace").splitlines():
            if "replacing worker" not in line:
                continue
            try:
                rec = json.loads(line)
                out.setdefault(rec["service"], []).append((rec["private_mb"], rec["level_mb"]))
            except (ValueError, KeyError):
                continue
    return out


def report_replacements(log_dir: Path) -> None:
    """Print how many workers each service's memory guard replaced, and at what sizes."""
    got = worker_replacements(log_dir)
    print("   workers replaced for their memory (services.<name>.recycle_growth_mb): " + (
        "; ".join(f"{n} {len(v)}x (" + ", ".join(f"{a:.0f} MB over {b:.0f}" for a, b in v)
                  + ")" for n, v in sorted(got.items())) or "none"))
