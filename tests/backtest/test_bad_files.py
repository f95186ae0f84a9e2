"""Files as users download them: each flaw is refused with the line and the fix, or repaired
by the option the message names; never a traceback, never a silently different result."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybrid_manager import main


def _frame(n: int = 60, start: str = "2021-01-04", freq: str = "B", tz: str | None = None,
           seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    idx = pd.date_range(start, periods=n, freq=freq, tz=tz)
    return pd.DataFrame({"Open": c.round(2), "High": (c * 1.01).round(2),
                         "Low": (c * 0.99).round(2), "Close": c.round(2), "Volume": 1000},
                        index=idx)


def _write(df: pd.DataFrame, path: Path, fmt: str = "%Y-%m-%d") -> Path:
    out = df.copy()
    out.index = [t.strftime(fmt) if fmt else t.isoformat() for t in out.index]
    out.rename_axis("Date").to_csv(path)
    return path


def _run(tmp_path: Path, data: Path, *extra: str) -> int:
    return main(["replay", "--data", str(data), "--param", "fast=3", "--param", "slow=7",
                 "--out", str(tmp_path / "out"), *extra])


def _trades(tmp_path: Path) -> list[dict[str, str]]:
    with (tmp_path / "out" / "trades.csv").open() as f:  # the symbol is the file's name
        return [{k: v for k, v in t.items() if k not in ("symbol", "trip_id")}
                for t in csv.DictReader(f)]


def test_missing_close_names_the_line_and_the_option(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    df = _frame()
    df.iloc[10, df.columns.get_loc("Close")] = np.nan
    path = _write(df, tmp_path / "x.csv")
    assert _run(tmp_path, path) == 1
    out = capsys.readouterr().out
    assert "line 12 (" in out and "--drop-missing" in out and "Traceback" not in out
    assert _run(tmp_path, path, "--drop-missing") == 0
    clean = _write(df.drop(df.index[10]), tmp_path / "clean.csv")
    got = _trades(tmp_path)
    assert _run(tmp_path, clean) == 0
    assert _trades(tmp_path) == got


def test_header_only_file_is_refused_in_words(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("Date,Open,High,Low,Close,Volume\n")
    assert _run(tmp_path, path) == 1
    assert "has a header but no rows" in capsys.readouterr().out


def test_duplicate_times_are_refused_then_deduped_to_the_clean_result(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df = _frame(120)
    clean = _write(df, tmp_path / "clean.csv")
    assert _run(tmp_path, clean) == 0
    want = _trades(tmp_path)
    dup = pd.concat([df.iloc[:50], df.iloc[40:50], df.iloc[50:]])  # a re-download appended
    path = _write(dup, tmp_path / "dup.csv")
    assert _run(tmp_path, path) == 1
    out = capsys.readouterr().out
    assert "10 time(s) appear more than once" in out and "--dedupe" in out
    assert "line 42 (" in out  # the first repeated row
    assert _run(tmp_path, path, "--dedupe") == 0
    assert _trades(tmp_path) == want


def test_iso_offsets_that_change_with_daylight_saving_are_valid(tmp_path: Path) -> None:
    # hourly New York bars from February to April: -05:00, then -04:00 after 14 March
    idx = pd.date_range("2021-03-10 10:00", periods=24 * 10, freq="h", tz="America/New_York")
    df = _frame(len(idx)).set_axis(idx)
    path = _write(df, tmp_path / "iso.csv", fmt="")
    text = path.read_text()
    assert "-05:00" in text and "-04:00" in text
    assert _run(tmp_path, path) == 0
    eq = pd.read_csv(tmp_path / "out" / "equity.csv")
    assert len(eq) == len(idx)


def test_naive_round_the_clock_times_need_their_zone(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    # naive UTC hours of a crypto pair: 02:00 on 14 March 2021 does not exist in New York
    idx = pd.date_range("2021-03-12", periods=24 * 5, freq="h")
    path = _write(_frame(len(idx)).set_axis(idx), tmp_path / "btc.csv", fmt="%Y-%m-%d %H:%M")
    assert _run(tmp_path, path) == 1
    out = capsys.readouterr().out
    assert "2021-03-14 02:00" in out and "--tz UTC" in out and "line 52 (" in out
    assert _run(tmp_path, path, "--tz", "UTC") == 0
    eq = pd.read_csv(tmp_path / "out" / "equity.csv")
    assert len(eq) == len(idx)


def test_symbol_picks_rows_from_a_file_with_a_symbol_column(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _frame(80, seed=1), _frame(80, seed=2)
    both = pd.concat([a.assign(Symbol="AAA"), b.assign(Symbol="BBB")])
    path = _write(both, tmp_path / "many.csv")
    assert _run(tmp_path, _write(b, tmp_path / "b.csv")) == 0
    want = _trades(tmp_path)
    assert _run(tmp_path, path, "--symbol", "BBB") == 0
    got = _trades(tmp_path)
    assert [(t["entry_time"], t["entry_price"]) for t in got] == [
        (t["entry_time"], t["entry_price"]) for t in want]
    assert _run(tmp_path, path) == 1
    assert "has a symbol column" in capsys.readouterr().out
    assert _run(tmp_path, path, "--symbol", "CCC") == 1
    assert "no rows for CCC; its symbols are AAA, BBB" in capsys.readouterr().out
