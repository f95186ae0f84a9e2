"""The Backtests page's logic without HTTP: the catalog, parameter checks, the replay command
a request becomes, the run store's paths (no escape from its folder), uploads, and a real run
through the store (a ``hybrid_manager.py replay`` subprocess) compared with a second."""
from __future__ import annotations

import io
import json
import time
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError as PydanticError

from dashboard.backtest_catalog import (
    check_params,
    file_classes,
    find_dataset,
    find_strategy,
    list_strategies,
)
from dashboard.backtest_compare import compare, config_diff
from dashboard.backtest_runs import RunStore, parse_output
from dashboard.backtest_spec import RunBody, build_argv, check_data, resolve
from shared.errors import Conflict, NotFound, PayloadTooLarge, ValidationError
from tests.conftest import make_settings

bt = pytest.importorskip("backtesting")


@pytest.fixture
def settings(tmp_path: Path):  # noqa: ANN201
    user = tmp_path / "mine"
    user.mkdir()
    (user / "breakout.py").write_text(
        "from shared.strategy import Strategy\n\n\nclass Breakout(Strategy):\n"
        "    params = {'lookback': 20, 'band': 1.5, 'short': False, 'note': 'x'}\n\n"
        "    def next(self):\n        return None\n\n\nclass NotOne:\n    params = {'a': 1}\n")
    (user / "broken.py").write_text("class (:\n")
    return make_settings(tmp_path, dashboard__backtest_strategies_dir=str(user))


def _body(**kw: object) -> RunBody:
    base = {"strategy": "docs:sma_cross.py:SmaCross", "params": {"fast": 5, "slow": 30},
            "data": {"kind": "bundled", "name": "GOOG.csv"}}
    return RunBody.model_validate(base | kw)


def test_catalog_lists_builtins_examples_and_the_user_folder(settings) -> None:  # noqa: ANN001
    ids = {s["id"]: s for s in list_strategies(settings)}
    assert "builtin:sma_cross" in ids and "docs:sma_cross.py:SmaCross" in ids
    mine = ids["user:breakout.py:Breakout"]
    assert [(p["name"], p["default"], p["type"]) for p in mine["params"]] == [
        ("lookback", 20, "int"), ("band", 1.5, "number"), ("short", False, "bool"),
        ("note", "x", "text")]
    assert not any("NotOne" in i or "broken" in i for i in ids)  # not a Strategy; no parse
    fast = {p["name"]: p["default"] for p in ids["builtin:sma_cross"]["params"]}
    assert fast["fast"] == 10 and fast["slow"] == 30
    assert file_classes(Path("/nonexistent.py")) == []


@pytest.mark.parametrize("sid", ["../../etc/passwd.py:X", "/work/main/docs/strategies/sma_cross.py",
                                 "docs:../sma_cross.py:SmaCross", "builtin:nope", ""])
def test_a_strategy_outside_the_lists_is_refused(settings, sid: str) -> None:  # noqa: ANN001
    with pytest.raises(ValidationError) as exc:
        find_strategy(settings, sid)
    assert exc.value.field == "strategy" and "pick one from the list" in exc.value.message


def test_parameters_are_typed_and_checked_with_words(settings) -> None:  # noqa: ANN001
    mine = find_strategy(settings, "user:breakout.py:Breakout")
    assert check_params(mine, {"lookback": "30", "band": "2", "short": "true"}) == {
        "lookback": 30, "band": 2.0, "short": True}
    cases = [(mine, {"lookback": "ten"}, "params.lookback", "whole number"),
             (mine, {"lookback": 2.5}, "params.lookback", "whole number"),
             (mine, {"band": "nan"}, "params.band", "must be a number"),
             (mine, {"short": "maybe"}, "params.short", "true or false"),
             (mine, {"size": 1}, "params.size", "it takes: lookback, band, short, note"),
             (find_strategy(settings, "builtin:sma_cross"), {"fast": 50, "slow": 20},
              "params", "fast must be below slow"),
             (find_strategy(settings, "builtin:sma_cross"), {"fast": 1}, "params.fast",
              "greater than or equal to 2")]
    for strat, params, field, words in cases:
        with pytest.raises(ValidationError) as exc:
            check_params(strat, params)
        assert exc.value.field == field and words in exc.value.message, exc.value.message


def test_the_request_model_refuses_bad_costs_and_data() -> None:
    for kw, words in [({"cash": "0"}, "greater than 0"), ({"commission": "0.5"}, "less than"),
                      ({"tz": "Mars/Base"}, "unknown time zone"),
                      ({"sizing": "fixed"}, "needs sizing_value"),
                      ({"sizing": "percent", "sizing_value": "150"}, "at most 100"),
                      ({"data": {"kind": "bundled"}}, "pick a data file"),
                      ({"data": {"kind": "market", "start": "2024-03-01", "end": "2024-01-01"}},
                       "before start"),
                      ({"symbol": "../x"}, "pattern"), ({"extra": 1}, "Extra inputs")]:
        with pytest.raises(PydanticError) as exc:
            _body(**kw)
        assert words in str(exc.value), (kw, str(exc.value))


def test_the_replay_command(settings, tmp_path: Path) -> None:  # noqa: ANN001
    store = RunStore(tmp_path / "runs")
    body = _body(commission="0.0010", sizing="percent", sizing_value="50", finalize_trades=True,
                 allow_short=False, dedupe=True, cash="2500.50")
    run = resolve(settings, store, body)
    argv = build_argv(body, run, tmp_path / "out")
    assert argv[1].endswith("hybrid_manager.py") and argv[2:4] == ["replay", "--progress"]
    pairs = dict(zip(argv[4::1], argv[5::1], strict=False))
    assert pairs["--data"] == str(find_dataset("GOOG.csv")) and pairs["--symbol"] == "GOOG"
    assert pairs["--strategy"] == "docs/strategies/sma_cross.py:SmaCross"  # run in the repo
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--param"] == ["fast=5", "slow=30"]
    assert pairs["--commission"] == "0.001" and pairs["--cash"] == "2500.5"
    assert pairs["--sizing"] == "percent:50" and pairs["--out"] == str(tmp_path / "out")
    assert {"--finalize-trades", "--no-short", "--dedupe"} <= set(argv)
    assert "--drop-missing" not in argv
    market = _body(data={"kind": "market", "start": "2024-01-02", "end": "2024-02-28",
                         "universe": 3})
    argv = build_argv(market, resolve(settings, store, market), tmp_path / "m")
    assert argv[argv.index("--market") + 1] == "2024-01-02:2024-02-28" and "--data" not in argv
    assert run["config"]["params"] == {"fast": 5, "slow": 30}


def test_run_ids_and_uploads_stay_inside_the_folder(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    for bad in ("../x", "..", "20240101T000000000-abcdef/../../x", "/etc", "a" * 30):
        with pytest.raises(ValidationError):
            store.path(bad)
    with pytest.raises(NotFound):
        store.path("20240101T000000000-abcdef")
    for bad in ("../../etc/passwd", "u0123456789abcdef.py", "x.csv"):
        with pytest.raises(ValidationError):
            store.upload_path(bad)
    with pytest.raises(PayloadTooLarge):
        store.save_upload(io.BytesIO(b"x" * 2000), max_bytes=1000)
    with pytest.raises(ValidationError, match="empty"):
        store.save_upload(io.BytesIO(b""), max_bytes=1000)
    uid, path = store.save_upload(io.BytesIO(b"Date,Close\n"), max_bytes=1000)
    assert store.upload_path(uid) == path and path.parent == store.root / "uploads"
    assert list((store.root / "uploads").iterdir()) == [path]  # the refused ones are gone
    with pytest.raises(NotFound):
        store.file("20240101T000000000-abcdef", "report.html")


def test_a_file_the_loader_refuses_names_the_option(tmp_path: Path) -> None:
    f = tmp_path / "dup.csv"
    f.write_text("Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,100\n"
                 "2024-01-02,10,11,9,10.5,100\n2024-01-03,10,11,9,10.6,100\n")
    with pytest.raises(ValidationError) as exc:
        check_data(f, "X", "America/New_York", False, False)
    assert exc.value.details == {"options": ["dedupe"]} and str(tmp_path) not in exc.value.message
    assert check_data(f, "X", "America/New_York", True, False)["bars"] == 2


def test_output_parsing() -> None:
    text = '{"bars_done": 0, "bars_total": 10}\n{"bars_done": 10, "bars_total": 10}\n{\n "bars": 10\n}\n'
    assert parse_output(text) == ({"bars_done": 10, "bars_total": 10}, {"bars": 10}, "")
    assert parse_output("replay failed: no bars\n")[2] == "no bars"
    assert parse_output("Traceback...\nValueError: boom\n")[2] == "ValueError: boom"
    assert config_diff({"a": 1, "p": {"x": 1}, "strategy": "i"},
                       {"a": 1, "p": {"x": 2}, "strategy": "j"}) == [{"key": "p.x", "a": 1, "b": 2}]


def _wait(store: RunStore, rid: str, limit: float = 90) -> dict:
    deadline = time.monotonic() + limit
    while (meta := store.read(rid))["state"] == "running":
        assert time.monotonic() < deadline, meta
        time.sleep(0.2)
    return meta


def test_real_runs_limit_cancel_compare_and_delete(settings, tmp_path: Path) -> None:  # noqa: ANN001
    store = RunStore(tmp_path / "runs", max_running=1)

    def start(body: RunBody) -> dict:
        run = resolve(settings, store, body)
        return store.start(run["config"], lambda out: build_argv(body, run, out))

    a = start(_body())
    with pytest.raises(Conflict, match="at most 1"):
        start(_body())
    a = _wait(store, a["id"])
    assert a["state"] == "done" and a["progress"]["bars_done"] == a["progress"]["bars_total"]
    assert Decimal(a["figures"]["end_equity"]) > 0 and a["summary"]["bars"] == 2148
    b = _wait(store, start(_body(params={"fast": 10, "slow": 20}))["id"])
    c = compare(store, a["id"], b["id"])
    assert {d["key"] for d in c["differences"]} == {"params.fast", "params.slow"}
    assert 100 < len(c["a"]["equity"]) <= 1001 and c["a"]["equity"][0][1] == "10000"
    stats = {s["key"]: s for s in c["stats"]}
    assert stats["end_equity"]["a"] == a["figures"]["end_equity"]
    # a run stopped by the user, and one over the time limit
    d = start(_body())
    store.cancel(d["id"])
    d = _wait(store, d["id"])
    assert d["state"] == "cancelled" and d["error"] == "cancelled by the user"
    with pytest.raises(Conflict, match="not running"):
        store.cancel(d["id"])
    with pytest.raises(Conflict, match="cancelled"):
        compare(store, a["id"], d["id"])
    store.timeout_s = 0.5
    e = _wait(store, start(_body())["id"])
    assert e["state"] == "cancelled" and "time limit" in e["error"]
    assert [m["id"] for m in store.list()][:2] == [e["id"], d["id"]]  # newest first
    store.delete(a["id"])
    with pytest.raises(NotFound):
        store.read(a["id"])
    assert json.loads((store.path(b["id"]) / "meta.json").read_text())["state"] == "done"
