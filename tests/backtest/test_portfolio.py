"""Portfolio backtests: many symbols in one account, position limits, per-symbol figures."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybrid_manager import main

bt = pytest.importorskip("backtesting")
GOOG = Path(bt.__file__).parent / "test" / "GOOG.csv"


def _frame(seed: int, n: int = 400, start: str = "2020-01-02") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    c = 50 * np.exp(np.cumsum(rng.normal(0.0002, 0.02, n)))
    o = c * (1 + rng.normal(0, 0.004, n))
    return pd.DataFrame({"Open": o.round(2), "High": (np.maximum(o, c) * 1.006).round(2),
                         "Low": (np.minimum(o, c) * 0.994).round(2), "Close": c.round(2),
                         "Volume": 10_000}, index=pd.bdate_range(start, periods=n))


def _folder(tmp_path: Path, k: int = 6) -> Path:
    d = tmp_path / "bars"
    d.mkdir()
    for i in range(k):
        f = _frame(i, 400 - 20 * i, start=f"2020-01-{2 + i:02d}")  # ragged starts and ends
        f.rename_axis("Date").reset_index().assign(
            Date=lambda x: x.Date.dt.strftime("%Y-%m-%d")).to_csv(d / f"S{i}.csv", index=False)
    return d


def _run(tmp_path: Path, name: str, *args: str,
         capsys: pytest.CaptureFixture[str]) -> tuple[dict, pd.DataFrame, pd.DataFrame, Path]:
    out = tmp_path / name
    capsys.readouterr()
    assert main(["replay", *args, "--param", "fast=5", "--param", "slow=15",
                 "--commission", "0.001", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    return (summary, pd.read_csv(out / "trades.csv"), pd.read_csv(out / "equity.csv"), out)


def _positions_over_time(trades: pd.DataFrame) -> int:
    """Return the most positions open at once (from entry and exit times)."""
    events = []
    for t in trades.itertuples():
        events.append((pd.Timestamp(t.entry_time), 1))
        if isinstance(t.exit_time, str):
            events.append((pd.Timestamp(t.exit_time), -1))
    events.sort(key=lambda e: (e[0], e[1]))  # exits before entries at the same time
    most = cur = 0
    for _, d in events:
        cur += d
        most = max(most, cur)
    return most


def test_one_symbol_with_one_slot_equals_the_single_replay(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    d = tmp_path / "one"
    d.mkdir()
    (d / "GOOG.csv").write_bytes(GOOG.read_bytes())
    _, single, eq1, _ = _run(tmp_path, "single", "--data", str(GOOG), "--symbol", "GOOG",
                             capsys=capsys)
    _, port, eq2, _ = _run(tmp_path, "port", "--data", str(d), "--max-positions", "1",
                           capsys=capsys)
    cols = ["side", "entry_time", "exit_time", "entry_qty", "entry_price", "exit_price",
            "net_pnl"]
    assert len(single) > 50
    assert single[cols].equals(port[cols])
    assert eq1["equity"].iloc[-1] == eq2["equity"].iloc[-1]


def test_shared_cash_and_position_limits(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    folder = _folder(tmp_path)
    summary, trades, eq, out = _run(tmp_path, "p", "--data", str(folder), "--max-positions",
                                    "3", "--no-short", "--finalize-trades", capsys=capsys)
    assert summary["symbols"] == 6 and summary["skipped_entries"] > 0
    assert set(trades["symbol"]) == {f"S{i}" for i in range(6)}
    assert _positions_over_time(trades) == 3
    # one account: the cash never goes below zero (long only, entries capped by free cash)
    rate = Decimal("0.001")
    flows = []
    for t in trades.itertuples():
        qty = Decimal(str(t.entry_qty))
        buy, sell = qty * Decimal(str(t.entry_price)), qty * Decimal(str(t.exit_price))
        flows.append((pd.Timestamp(t.entry_time), 1, -buy * (1 + rate)))
        flows.append((pd.Timestamp(t.exit_time), 0, sell * (1 - rate)))
    running, lowest = Decimal(10_000), Decimal(10_000)
    for _, _, flow in sorted(flows, key=lambda f: (f[0], f[1])):  # exits first at a time
        running += flow
        lowest = min(lowest, running)
    assert lowest >= 0
    # every trade closed at the end: the final equity is the cash, to the cent, and equals
    # the start plus every trade's net P&L; the per-symbol table adds up to the same
    final = Decimal(str(eq["equity"].iloc[-1]))
    net = sum((Decimal(str(x)) for x in trades["net_pnl"]), Decimal(0))
    assert final == Decimal(10_000) + net.quantize(Decimal("0.01"))
    table = pd.read_csv(out / "per_symbol.csv")
    assert table["trades"].sum() == len(trades)
    assert Decimal(str(round(table["net_pnl"].sum(), 2))) == net.quantize(Decimal("0.01"))


def test_a_file_with_a_symbol_column_equals_the_folder(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    folder = _folder(tmp_path, 3)
    both = pd.concat([pd.read_csv(f).assign(Symbol=f.stem) for f in sorted(folder.iterdir())])
    path = tmp_path / "all.csv"
    both.to_csv(path, index=False)
    _, a, ea, _ = _run(tmp_path, "a", "--data", str(folder), capsys=capsys)
    _, b, eb, _ = _run(tmp_path, "b", "--data", str(path), "--portfolio", capsys=capsys)
    assert a.drop(columns=["trip_id", "entry_order_id"]).equals(
        b.drop(columns=["trip_id", "entry_order_id"]))
    assert ea.equals(eb)
    _, c, _, _ = _run(tmp_path, "c", "--data", str(path), "--portfolio", "--symbols", "S1",
                      capsys=capsys)
    assert set(c["symbol"]) == {"S1"}


def test_the_built_in_market_for_a_date_range(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--market", "2024-01-02:2024-04-30", "--universe", "12", "--max-positions", "4")
    s1, t1, _, _ = _run(tmp_path, "m1", *args, capsys=capsys)
    s2, t2, _, _ = _run(tmp_path, "m2", *args, capsys=capsys)
    assert s1["symbols"] == 12 and s1["trades"] > 5
    assert t1.equals(t2)  # deterministic
    assert _positions_over_time(t1) <= 4
    starts = pd.to_datetime(t1["entry_time"]).dt.tz_convert("America/New_York")
    assert starts.min() >= pd.Timestamp("2024-01-02", tz="America/New_York")
