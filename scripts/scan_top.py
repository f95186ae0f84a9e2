"""Print the scanner's top setups on the built-in market at given clock times.

    .venv/bin/python scripts/scan_top.py 2024-03-05T14:35Z 2024-03-05T17:00Z 2024-03-06T14:35Z

Each time: how many of the universe the preset matched, then the top N with score, gap %,
RVOL, change %, RSI, average dollar volume and the "in play" criteria met.  A temp database
is used (the market is stored as coordination's feed would); nothing else is touched.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("times", nargs="+", help="clock times (UTC ISO), in order")
    ap.add_argument("--preset", default="day_trading", help="a scanner preset, or 'none'")
    ap.add_argument("--top", type=int, default=10)
    args = ap.parse_args()

    from services.scanner.service import ScannerService
    from shared.config import load_settings
    from shared.db import Database, migrate
    from shared.market import ClockController, DataManager

    tmp = Path(tempfile.mkdtemp(prefix="scan-top-"))
    settings = load_settings(database__path=str(tmp / "t.db"), logging__dir=str(tmp / "logs"))
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="max", replay_start=args.times[0][:10], replay_end=args.times[-1][:10])
    dm = DataManager(settings, db, clock=ctl.clock, owner=True)
    svc = ScannerService(settings, db, market=dm)
    preset = None if args.preset == "none" else args.preset
    for t in args.times:
        ctl.advance(t)
        run = svc.run_scan(preset, {}, args.top)
        print(f"{t}  {run['preset']}: {run['matched']} of {run['universe_size']} matched")
        for r in run["results"]:
            m = r["metrics"]
            met = [e["filter"] for e in r["explanation"] if e["any_of"] and e["passed"]]
            print(f"  {r['rank']:>2} {r['symbol']:<6} score {r['score']:6.2f}  gap "
                  f"{m['gap_pct']:6.2f}%  rvol {m['rvol']:5.2f}  chg {m['change_pct']:6.2f}%  "
                  f"rsi {m['rsi']:5.1f}  ${m['avg_dollar_volume'] / 1e6:,.0f}M  {','.join(met)}")
    db.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
