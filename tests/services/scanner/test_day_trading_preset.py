"""The default day-trading preset on the built-in market (all 500 symbols): at the open and at
mid-day the top ten are ranked setups (not the alphabet), they change from day to day, each
match says which criteria it met with their values, and every shown column is filled."""
from __future__ import annotations

from typing import Any

import pytest

from services.coordination.gateway import Gateway
from services.scanner import create_app
from shared.db import Database, migrate
from tests.conftest import make_settings, replay_market, serve

#: the first 5m bar of the session has closed (14:30Z open in March, before DST) / mid-day
TIMES = {"open": "T14:35Z", "midday": "T17:00Z"}
DAYS = ("2024-03-05", "2024-03-06")
SHOWN = ("price", "gap_pct", "change_pct", "rvol", "rsi", "avg_dollar_volume")


@pytest.fixture(scope="module")
def scans(tmp_path_factory) -> dict[tuple[str, str], dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Scan with the default preset (none named) and with no preset at each day and time."""
    tmp = tmp_path_factory.mktemp("daytrade")
    settings = make_settings(tmp)
    db = Database.from_settings(settings)
    migrate(db)
    ctl, dm = replay_market(settings, db, DAYS[0], DAYS[-1])
    app = create_app(settings, market=dm)
    client = app.test_client()
    out = {}
    for day in DAYS:
        for when, t in TIMES.items():
            ctl.advance(day + t)
            for preset, body in (("default", {"limit": 10}),
                                 ("none", {"limit": 10, "preset": None})):
                r = client.post("/api/v1/scan", json=body)
                assert r.status_code == 200, r.json
                out[(day, when, preset)] = r.json["data"]
    # coordination's gateway, as the automation calls it, against this scanner on a port
    with serve(app) as url:
        port = int(url.rsplit(":", 1)[1])
        gw = Gateway(make_settings(tmp, services__scanner__port=port, http__retries=0))
        default = make_settings(tmp).coordination.strategy.scanner_preset
        out[("gateway", "default")] = gw.scan(default, 10, None)
        out[("gateway", "none")] = gw.scan(None, 10, None)
    yield out
    db.close()


def test_the_automation_scans_with_the_day_trading_preset(scans) -> None:  # type: ignore[no-untyped-def]
    """Coordination's default strategy names the preset; its gateway sends it (and sends
    "no preset" as null, which the scanner honours rather than its default)."""
    assert scans[("gateway", "default")]["preset"] == "day_trading"
    assert scans[("gateway", "default")]["matched"] < 500
    assert scans[("gateway", "none")]["preset"] is None
    assert scans[("gateway", "none")]["matched"] == 500


def _top(run: dict[str, Any]) -> list[str]:
    return [r["symbol"] for r in run["results"]]


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("when", list(TIMES))
def test_default_preset_ranks_setups_not_the_alphabet(scans, day, when) -> None:  # type: ignore[no-untyped-def]
    run = scans[(day, when, "default")]
    assert run["preset"] == "day_trading"
    assert 10 <= run["matched"] < run["universe_size"] == 500
    top = _top(run)
    assert len(top) == 10 and top != sorted(top)
    scores = [r["score"] for r in run["results"]]
    assert scores == sorted(scores, reverse=True) and scores[-1] > 1.0


@pytest.mark.parametrize("when", list(TIMES))
def test_the_top_ten_differ_by_day(scans, when) -> None:  # type: ignore[no-untyped-def]
    a, b = (set(_top(scans[(d, when, "default")])) for d in DAYS)
    assert len(a & b) <= 3, (a, b)


@pytest.mark.parametrize("key", [(d, w, p) for d in DAYS for w in TIMES
                                 for p in ("default", "none")])
def test_every_column_is_filled(scans, key) -> None:  # type: ignore[no-untyped-def]
    for r in scans[key]["results"]:
        assert r["sector"] and r["score"] > 0, r
        for m in SHOWN:
            assert isinstance(r["metrics"][m], float), (r["symbol"], m, r["metrics"])


def test_no_preset_still_ranks_by_setup(scans) -> None:  # type: ignore[no-untyped-def]
    run = scans[(DAYS[0], "open", "none")]
    assert run["preset"] is None and run["matched"] == 500
    top = _top(run)
    assert top != sorted(top) and top[0] != "A"
    parts = ("points_gap", "points_rvol", "points_move")
    for r in run["results"]:  # the score is the setup points when no filter is set
        assert r["score"] == pytest.approx(sum(r["metrics"][p] for p in parts), abs=1e-5)


@pytest.mark.parametrize("when", list(TIMES))
def test_each_match_says_which_criteria_it_met(scans, when) -> None:  # type: ignore[no-untyped-def]
    for r in scans[(DAYS[0], when, "default")]["results"]:
        e = {x["filter"]: x for x in r["explanation"]}
        # the liquidity floors: met, with their values
        assert e["min_price"]["passed"] and e["min_price"]["value"] >= 5
        assert e["min_avg_dollar_volume"]["passed"]
        assert e["min_avg_dollar_volume"]["value"] >= 20_000_000
        # at least one "in play" condition met, each with its value and threshold
        in_play = [x for x in r["explanation"] if x["any_of"]]
        assert {x["filter"] for x in in_play} == {"min_abs_gap_pct", "min_rvol",
                                                  "min_abs_change_pct"}
        met = [x for x in in_play if x["passed"]]
        assert met, r
        for x in met:
            assert x["value"] >= x["threshold"]


def test_ties_go_to_the_more_liquid_symbol() -> None:
    """Two symbols with the same setup: the one with more dollar volume ranks first, whatever
    their names."""
    import numpy as np

    from services.scanner.domain import Filters, scan
    from tests.services.scanner.test_filters import IDX, build

    p = build()
    # NRM and TECH are alike but for NRM's lower volume; rename so the alphabet would pick NRM
    p.symbols = p.symbols.copy()
    p.symbols[IDX["TECH"]] = "ZZZ"
    for arr in (p.close, p.open, p.high, p.low):
        arr[IDX["NRM"]] = arr[IDX["TECH"]]
    got, _ = scan(p, Filters(exclude=[s for s in p.symbols if s not in ("NRM", "ZZZ")]))
    assert [m.symbol for m in got] == ["ZZZ", "NRM"]
    assert got[0].score == got[1].score
    assert np.isfinite(got[0].metrics["avg_dollar_volume"])
