"""Technical analysis's strategies chosen at run time, over HTTP on a real migrated database:
validation (400 naming the field), the allowed folders, the change log, and two service
instances sharing the database each applying a change from their next analysis."""
from __future__ import annotations

import pytest

from services.technical_analysis import create_app
from shared.db import Database, migrate
from tests.conftest import make_settings, own_market

BUILTINS = {"sma_cross", "ema_cross", "macd_cross", "rsi_reversion", "bbands_breakout",
            "stochrsi_ema", "vwap_reclaim", "opening_range_breakout"}


@pytest.fixture(scope="module")
def env(tmp_path_factory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("ta_store")
    mine = tmp / "mine"
    mine.mkdir()
    (mine / "broken.py").write_text("from shared.strategy import Strategy\n\n"
                                    "class Broken(Strategy)\n    pass\n")
    (mine / "raises.py").write_text("from shared.strategy import Strategy\n"
                                    "X = 1 / 0\n")
    (mine / "two.py").write_text(
        "from shared.strategy import Strategy\n\n"
        "class Up(Strategy):\n    params = {'n': 3, 'level': 1.5, 'on': True}\n"
        "    def next(self):\n        return self.long('always up')\n\n"
        "class Down(Strategy):\n    def next(self):\n        return None\n")
    settings = make_settings(tmp, market__universe_size=12, market__crypto_symbols=[],
                             technical__user_strategy_dirs=[str(mine)])
    db = Database.from_settings(settings)
    migrate(db)
    own_market(settings, db, history_days={"1m": 3, "5m": 6, "15m": 10, "1h": 20, "1d": 80})
    a, b = create_app(settings).test_client(), create_app(settings).test_client()
    syms = [s["symbol"] for s in
            a.application.extensions["service"].market.get_symbols("equity")[:4]]
    yield {"a": a, "b": b, "syms": syms, "mine": mine}
    db.close()


def _by_name(client) -> dict:  # type: ignore[no-untyped-def]
    r = client.get("/api/v1/strategies")
    assert r.status_code == 200, r.json
    return {s["name"]: s for s in r.json["data"]["strategies"]}


def _signals(client, syms) -> dict:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/analyze", json={"symbols": syms, "timeframe": "1m",
                                             "store": False})
    assert r.status_code == 200, r.json
    res = r.json["data"]["results"][syms[0]]
    return {s["strategy"]: s for s in res["signals"]}, res["combined"]


def test_list_shows_every_strategy_with_params_defaults_and_state(env) -> None:  # type: ignore[no-untyped-def]
    got = _by_name(env["a"])
    assert BUILTINS <= set(got)
    sma = got["sma_cross"]
    assert sma["kind"] == "sma_cross" and sma["file"] is None and sma["source"] == "settings"
    assert sma["params"]["fast"] == 10 and sma["defaults"]["slow"] == 30
    assert sma["enabled"] is True and sma["weight"] == 1.0 and sma["last_error"] is None
    r = env["a"].get("/api/v1/strategies")
    assert "docs/strategies" in r.json["data"]["allowed_dirs"]
    files = env["a"].get("/api/v1/strategies/files").json["data"]["files"]
    by_file = {f["file"]: f for f in files}
    assert [c["name"] for c in by_file["docs/strategies/sma_cross.py"]["classes"]] == [
        "SmaCross"]
    assert {c["name"] for c in by_file[str(env["mine"] / "two.py")]["classes"]} == {"Up",
                                                                                   "Down"}
    assert "line 3" in by_file[str(env["mine"] / "broken.py")]["error"]


@pytest.mark.parametrize(("name", "body", "status", "field"), [
    ("sma_cross", {"weight": 101}, 400, "weight"),
    ("sma_cross", {"weight": -1}, 400, "weight"),
    ("sma_cross", {"weight": "heavy"}, 400, "weight"),
    ("sma_cross", {"enabled": "maybe"}, 400, "enabled"),
    ("sma_cross", {"params": {"fast": 40}}, 400, "params"),
    ("sma_cross", {"params": {"nope": 1}}, 400, "params.nope"),
    ("rsi_reversion", {"params": {"oversold": 80}}, 400, "params.oversold"),
    ("sma_cross", {"colour": "red"}, 400, "colour"),
    ("nope", {"weight": 1}, 404, "name"),
    ("sma_cross", {}, 400, "body"),
    ("sma_cross", {"params": {}}, 400, "body"),
])
def test_put_refuses_bad_values_naming_the_field(env, name, body, status, field) -> None:  # type: ignore[no-untyped-def]
    before = env["a"].get("/api/v1/strategies").json["data"]["version"]
    r = env["a"].put(f"/api/v1/strategies/{name}", json=body)
    assert r.status_code == status, r.json
    assert r.json["error"]["details"]["field"].startswith(field), r.json
    assert r.json["error"]["message"]
    assert env["a"].get("/api/v1/strategies").json["data"]["version"] == before  # no write


@pytest.mark.parametrize(("body", "status", "field", "words"), [
    ({"file": "services/technical_analysis/api.py:X"}, 400, "file", "allowed folders"),
    ({"file": "docs/strategies/../../shared/strategy/api.py:Strategy"}, 400, "file",
     "allowed folders"),
    ({"file": "/etc/passwd.py:X"}, 400, "file", "docs/strategies/"),
    ({"file": "docs/strategies/missing.py:X"}, 400, "file", "does not exist"),
    ({"file": "docs/strategies/sma_cross.py:Nope"}, 400, "file", "no Strategy class 'Nope'"),
    ({"file": "MINE/broken.py:Broken"}, 400, "file", "broken.py line 3"),
    ({"file": "MINE/raises.py"}, 400, "file", "raises.py line 2"),
    ({"file": "MINE/two.py"}, 400, "file", "name one"),
    ({"file": "docs/strategies/sma_cross.py:SmaCross", "params": {"fats": 3}}, 400,
     "params.fats", "takes ['fast', 'slow']"),
    ({"file": "docs/strategies/sma_cross.py:SmaCross", "params": {"fast": "3"}}, 400,
     "params.fast", "whole number"),
    ({"file": "MINE/two.py:Up", "params": {"level": True}}, 400, "params.level",
     "finite number"),
    ({"file": "docs/strategies/sma_cross.py:SmaCross", "name": "Bad Name"}, 400, "name", ""),
    ({"file": "docs/strategies/sma_cross.py:SmaCross", "name": "ema_cross"}, 409, "name",
     "exists"),
    ({"file": "docs/strategies/sma_cross.py:SmaCross", "weight": 1e999}, 400, "weight", ""),
])
def test_post_refuses_files_outside_the_folders_and_bad_classes(env, body, status, field,
                                                                words) -> None:  # type: ignore[no-untyped-def]
    body = {"name": "added", **body}
    body["file"] = body["file"].replace("MINE", str(env["mine"]))
    r = env["a"].post("/api/v1/strategies", json=body)
    assert r.status_code == status, r.json
    assert r.json["error"]["details"]["field"].startswith(field), r.json
    assert words in r.json["error"]["message"], r.json
    assert "added" not in _by_name(env["a"])


def test_a_change_applies_from_the_next_analysis_in_every_instance(env) -> None:  # type: ignore[no-untyped-def]
    a, b, syms = env["a"], env["b"], env["syms"]
    sigs, _ = _signals(b, syms)  # b built its strategies before the change
    assert "mine" not in sigs and BUILTINS <= set(sigs)
    r = a.post("/api/v1/strategies", headers={"X-Changed-By": "tester"},
               json={"name": "mine", "file": "docs/strategies/sma_cross.py:SmaCross",
                     "params": {"fast": 3, "slow": 8}, "weight": 7.5})
    assert r.status_code == 201, r.json
    assert r.json["data"]["file"] == "docs/strategies/sma_cross.py:SmaCross"
    assert r.json["data"]["params"] == {"fast": 3, "slow": 8}
    for name in ("sma_cross", "ema_cross"):
        assert a.put(f"/api/v1/strategies/{name}", json={"enabled": False}).status_code == 200
    assert a.put("/api/v1/strategies/macd_cross", json={"weight": 0}).status_code == 200
    sigs, combined = _signals(b, syms)  # b, no restart: the table's version moved
    assert sigs["mine"]["kind"] == "user"
    assert "sma_cross" not in sigs and "ema_cross" not in sigs and "macd_cross" in sigs
    weights = {c["strategy"]: c["weight"] for c in combined["contributions"]}
    assert weights["mine"] == 7.5 and weights["macd_cross"] == 0
    got = _by_name(b)
    assert got["mine"]["source"] == "added" and got["sma_cross"]["enabled"] is False
    assert got["macd_cross"]["overridden"] == ["weight"]
    # a parameter change merges over the current ones
    r = b.put("/api/v1/strategies/mine", json={"params": {"slow": 9}})
    assert r.json["data"]["params"] == {"fast": 3, "slow": 9}
    log = a.get("/api/v1/strategies/changes").json["data"]["changes"]
    assert [c["action"] for c in log[:5]] == ["update", "update", "update", "update", "add"]
    assert log[-1]["name"] == "mine" and log[-1]["changed_by"] == "tester"
    assert log[-1]["old"] is None and log[-1]["new"]["weight"] == 7.5
    assert log[0]["old"]["params"] == {"fast": 3, "slow": 8}
    assert log[0]["new"]["params"] == {"fast": 3, "slow": 9} and log[0]["changed_at"]
    assert a.get("/api/v1/strategies/changes?name=macd_cross").json["data"]["changes"][0][
        "new"]["weight"] == 0
    # delete: only an added one
    r = a.delete("/api/v1/strategies/sma_cross")
    assert r.status_code == 409 and "disable" in r.json["error"]["message"]
    assert a.delete("/api/v1/strategies/mine").status_code == 200
    assert a.delete("/api/v1/strategies/mine").status_code == 404
    for name in ("sma_cross", "ema_cross"):
        assert a.put(f"/api/v1/strategies/{name}", json={"enabled": True}).status_code == 200
    sigs, _ = _signals(b, syms)
    assert "mine" not in sigs and BUILTINS <= set(sigs)


def test_a_user_strategy_whose_file_breaks_later_is_left_out_with_its_error(env) -> None:  # type: ignore[no-untyped-def]
    a, b, mine = env["a"], env["b"], env["mine"]
    path = mine / "later.py"
    path.write_text("from shared.strategy import Strategy\n\nclass Later(Strategy):\n"
                    "    def next(self):\n        return None\n")
    r = a.post("/api/v1/strategies", json={"name": "later", "file": f"{path}:Later"})
    assert r.status_code == 201, r.json
    path.write_text("from shared.strategy import Strategy\n\nclass Later(Strategy:\n")
    r = a.put("/api/v1/strategies/later", json={"weight": 2})
    assert r.status_code == 400 and "later.py line 3" in r.json["error"]["message"]
    assert b.put("/api/v1/strategies/vwap_reclaim", json={"weight": 1}).status_code == 200
    sigs, _ = _signals(b, env["syms"])
    assert "later" not in sigs and "vwap_reclaim" in sigs
    assert "later.py line 3" in _by_name(b)["later"]["last_error"]
    r = a.put("/api/v1/strategies/later", json={"enabled": False})  # off, though broken
    assert r.status_code == 200 and r.json["data"]["enabled"] is False
    assert a.delete("/api/v1/strategies/later").status_code == 200


def test_the_routes_are_in_openapi(env) -> None:  # type: ignore[no-untyped-def]
    paths = env["a"].get("/openapi.json").json["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/strategies"])
    assert {"put", "delete"} <= set(paths["/api/v1/strategies/{name}"])
    assert "/api/v1/strategies/changes" in paths
    assert paths["/api/v1/strategies"]["post"]["requestBody"]


def test_a_write_over_a_row_changed_meanwhile_is_refused(env) -> None:  # type: ignore[no-untyped-def]
    from shared.errors import Conflict

    store = env["a"].application.extensions["service"].admin.store
    assert env["a"].put("/api/v1/strategies/bbands_breakout", json={"weight": 3}).status_code \
        == 200
    stale = {"file": None, "enabled": None, "weight": 2.0, "params": None}
    version = store.version()
    with pytest.raises(Conflict, match="changed meanwhile"):
        store.write("bbands_breakout", {**stale, "weight": 4.0}, "update", "late", expect=stale)
    assert store.version() == version and store.overrides()["bbands_breakout"]["weight"] == 3.0
    assert env["a"].put("/api/v1/strategies/bbands_breakout", json={"weight": 1}).status_code \
        == 200
