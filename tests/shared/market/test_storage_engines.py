"""The market's bar store gives the same answers on SQLite and on PostgreSQL (issue 21).

Both engines get the same writes (a block of sessions' bars as arrays, then an overlapping
block that updates some, a batch with rejects, a symbol list); every read must match.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shared.db import Database, migrate
from shared.market.storage import BarStore, stage_rows, upsert_bars
from shared.market.symbols import SymbolInfo
from shared.market.validation import ValidationReport
from tests.conftest import make_settings

SYMS = ("AAA", "BBB", "BRK.B")
T0 = pd.Timestamp("2024-03-05T14:30:00Z")


def _arrays(n: int, shift: float) -> dict[str, np.ndarray]:
    k = np.arange(len(SYMS) * n, dtype="float64").reshape(len(SYMS), n)
    close = 100 + k / 7 + shift
    vwap = close - 0.01
    vwap[:, ::5] = np.nan  # no VWAP for some bars: stored NULL, read as NaN
    return {"o": close - 0.5, "h": close + 1, "lo": close - 1, "c": close,
            "v": (k * 10).astype("int64"), "vwap": vwap, "n": (k % 9).astype("int64")}


def _write_everything(db: Database) -> None:
    store = BarStore(db)
    times = pd.date_range(T0, periods=60, freq="1min")
    ns = times.as_unit("ns").asi8
    a = _arrays(60, 0.0)
    store.store_arrays(SYMS, ns, a["o"], a["h"], a["lo"], a["c"], a["v"], a["vwap"], a["n"],
                       "1m", "simulated", coverage=(times[0], times[-1] + pd.Timedelta("1min")))
    b = _arrays(20, 3.25)  # the last 20 minutes again, other prices: an upsert
    store.store_arrays(SYMS, ns[-20:], b["o"], b["h"], b["lo"], b["c"], b["v"], b["vwap"],
                       b["n"], "1m", "replay")
    valid = pd.DataFrame({"open": [10.5, 11.0], "high": [11.0, 11.5], "low": [10.0, 10.5],
                          "close": [10.75, 11.25], "volume": [100, 200]},
                         index=pd.DatetimeIndex([T0, T0 + pd.Timedelta("1D")], name="ts"))
    rejects = pd.DataFrame({"close": [-1.0], "reason": ["non-positive price"]},
                           index=pd.DatetimeIndex([T0 + pd.Timedelta("2D")]))
    store.store_batch("CCC", "1d", ValidationReport(valid, rejects, rows_in=3, quality=0.5),
                      "csv", coverage=(T0, T0 + pd.Timedelta("2D")))
    store.upsert_symbols([SymbolInfo(s, f"{s} Inc", "Tech", "equity", "NYSE", "trend", 100.0,
                                     0.02) for s in (*SYMS, "CCC")], "simulated")


def _answers(db: Database) -> dict[str, object]:
    store = BarStore(db)
    end = (T0 + pd.Timedelta("1D")).isoformat()
    many = store.read_arrays([*SYMS, "ZZZ"], "1m", T0.isoformat(), end)
    one = store.read_arrays(["BBB"], "1m", T0.isoformat(), end)
    out: dict[str, object] = {
        sym: (arr.ts.tolist(), arr.open.tolist(), arr.close.tolist(), arr.volume.tolist(),
              [None if np.isnan(x) else x for x in arr.vwap.tolist()], arr.trade_count.tolist(),
              arr.source) for sym, arr in many.items()}
    out["one"] = (one["BBB"].ts.tolist(), one["BBB"].close.tolist(), one["BBB"].source)
    out["daily"] = store.read_arrays(["CCC"], "1d", T0.isoformat(),
                                     (T0 + pd.Timedelta("3D")).isoformat())["CCC"].close.tolist()
    out["count"] = store.count(), store.count("AAA", "1m")
    out["rejects"] = store.rejects("CCC")
    fresh = store.freshness()
    out["freshness"] = (fresh["batches"], fresh["rejected"], type(fresh["rejected"]).__name__,
                        fresh["last_bar"], fresh["quality"])
    out["reject_of_batch"] = [tuple(r) for r in db.fetch_all(
        "SELECT l.symbol, l.rows_rejected, r.reason FROM bar_rejects r "
        "JOIN market_ingest_log l ON l.id = r.ingest_id")]
    out["gaps"] = store.covered_gaps(list(SYMS), "1m", T0.isoformat(), end)
    out["missing"] = store.missing_ranges("CCC", "1d", T0, T0 + pd.Timedelta("3D"))
    out["symbols"] = [s["symbol"] for s in store.symbols()]
    return out


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = Database.from_settings(make_settings(tmp_path_factory.mktemp("sqlite")))
    migrate(db)
    yield db
    db.close()


@pytest.fixture(scope="module")
def pg_db(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[Database]:
    db = Database.from_settings(make_settings(tmp_path_factory.mktemp("pg"),
                                              database__url=pg_url))
    assert db.dialect == "postgresql"  # type: ignore[attr-defined]
    yield db
    db.close()


def test_the_same_writes_read_the_same_on_both_engines(sqlite_db: Database, pg_db: Database,
                                                       tmp_path: Path) -> None:
    _write_everything(sqlite_db)
    _write_everything(pg_db)
    lite, pg = _answers(sqlite_db), _answers(pg_db)
    assert lite["AAA"][2][-1] != lite["AAA"][2][-21]  # the second block did update rows
    assert lite["ZZZ"][0] == []  # a symbol without bars has an empty entry
    assert lite["freshness"][1:3] == (1, "int")
    assert lite["reject_of_batch"] == [("CCC", 1, "non-positive price")]
    assert lite["symbols"] == ["AAA", "BBB", "BRK.B", "CCC"]  # bytewise order
    for key in lite:
        assert pg[key] == lite[key], key


def test_staged_rows_keep_the_last_of_a_key_and_escape_copy_text(pg_db: Database) -> None:
    """PostgreSQL's rows are made into COPY text before the write lock (``stage_rows``): a
    repeated key keeps its last row, NULL stays NULL, and a tab, newline or backslash in a
    text field comes back as it went in."""
    row = ("ESC", "1m", "2024-03-06T14:30:00+00:00", 1, 2, 3, 4, 5, None, None)
    odd = "a\tb\nc\\d\re \\N"
    staged = stage_rows([(*row, "first"), (*row, odd)])
    assert staged.count(b"\n") == 1 and b"first" not in staged
    with pg_db.transaction("test:staged") as conn:
        upsert_bars(conn, staged)
    assert [tuple(r) for r in pg_db.fetch_all(
        "SELECT close_micros, vwap_micros, trade_count, source FROM bars WHERE symbol = ?",
        ("ESC",))] == [(4, None, None, odd)]
