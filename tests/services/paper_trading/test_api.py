"""/api/v1 through the Flask test client; /v2 auth and error shapes; the SSE feed."""
from __future__ import annotations

from datetime import timedelta

from services.paper_trading import create_app
from tests.conftest import make_settings
from tests.services.paper_trading.helpers import OPEN, Clock, seed_bars

BARS = [(100, 101, 99, 100.5), (101, 102, 100, 101.5), (102, 104, 101, 103)]


def test_submit_fill_and_read_back(client, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + timedelta(minutes=1)
    r = client.post("/api/v1/orders", json={"symbol": "aapl", "side": "buy", "qty": "10"})
    assert r.status_code == 201 and r.json["status"] == "success"
    oid = r.json["data"]["id"]
    clock.t = OPEN + timedelta(minutes=2)
    # the request itself runs the sweep first (once per clock minute), so sync finds nothing new
    assert client.post("/api/v1/clock/sync", json={}).json["data"]["fills"] == 0
    got = client.get(f"/api/v1/orders/{oid}").json["data"]
    assert got["status"] == "filled" and got["filled_avg_price"] == "101"
    assert [e["status"] for e in got["events"]] == ["new", "filled"]
    acct = client.get("/api/v1/account").json["data"]
    assert acct["cash"] == "98990" and acct["equity"] == "100005"  # 10 x close 101.5
    assert client.get("/api/v1/positions").json["data"][0]["qty"] == "10"
    assert client.get("/api/v1/fills").json["data"][0]["price"] == "101"
    assert client.get("/api/v1/ledger").json["data"][0]["amount"] == "-1010"
    assert client.get("/api/v1/invariants").json["data"]["ok"] is True
    assert client.get("/api/v1/risk").json["data"]["halted"] is False


def test_bad_input_is_a_400_naming_the_field(client, db, clock) -> None:  # noqa: ANN001
    r = client.post("/api/v1/orders", json={"symbol": "AAPL", "side": "hold", "qty": 1})
    assert r.status_code == 400 and r.json["error"]["details"]["field"] == "side"
    r = client.post("/api/v1/orders", json={"symbol": "AAPL", "side": "buy", "type": "limit",
                                            "qty": 1})
    assert r.status_code == 400 and "limit_price" in r.json["error"]["message"]
    r = client.post("/v2/orders", json={"symbol": "AAPL", "side": "buy", "qty": -1})
    assert r.status_code == 422 and r.json["code"] == 42210000, "Alpaca: qty <= 0 is a 422"
    r = client.post("/v2/orders", json={"symbol": "AAPL", "side": "buy", "qty": "x"})
    assert r.status_code == 400 and r.json["code"] == 40010001
    assert client.get("/v2/orders/nope").json["code"] == 40410000
    assert db.fetch_one("SELECT COUNT(*) FROM pt_orders")[0] == 0


def test_v2_checks_the_alpaca_key_headers(tmp_path, db) -> None:  # noqa: ANN001
    s = make_settings(tmp_path, security__api_key="sekret")
    client = create_app(s, now=Clock()).test_client()
    r = client.get("/v2/account", headers={"APCA-API-KEY-ID": "x", "APCA-API-SECRET-KEY": "y"})
    assert r.status_code == 401 and r.json["code"] == 40110000
    ok = client.get("/v2/account", headers={"APCA-API-KEY-ID": "x",
                                            "APCA-API-SECRET-KEY": "sekret"})
    assert ok.status_code == 200 and ok.json["status"] == "ACTIVE"
    assert client.post("/api/v1/orders", json={}).status_code == 401  # X-API-Key on /api/v1


def test_event_stream_redirects_to_the_stream_server(client, settings) -> None:  # noqa: ANN001
    """The SSE feed is served by the stream server (tests/services/paper_trading/
    test_streaming_sse.py); this route holds no worker: 307 with the query and resume point."""
    r = client.get("/api/v1/events/stream?max_events=3&account=automation",
                   headers={"Last-Event-ID": "7", "Host": "localhost:5005"})
    assert r.status_code == 307 and r.get_data() == b""
    port = settings.port("paper_streams")
    assert r.headers["Location"] == (f"http://localhost:{port}/api/v1/events/stream?"
                                     "max_events=3&account=automation&after=7")
    assert client.get("/api/v1/events/stream?after=-1").status_code == 400


def test_account_position_market_value_is_net_with_a_short(client, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, BARS)
    seed_bars(db, "MSFT", OPEN, BARS)
    clock.t = OPEN + timedelta(minutes=1)
    client.post("/v2/orders", json={"symbol": "AAPL", "side": "buy", "qty": 10})
    client.post("/v2/orders", json={"symbol": "MSFT", "side": "sell", "qty": 4})
    clock.t = OPEN + timedelta(minutes=3)
    acct = client.get("/v2/account").json
    assert acct["long_market_value"] == "1030" and acct["short_market_value"] == "-412"
    assert acct["position_market_value"] == "618"  # 10 x 103 - 4 x 103, as Alpaca's
    assert float(acct["equity"]) == float(acct["cash"]) + 618


def test_a_leg_names_its_parent_on_the_api_not_on_v2(client, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + timedelta(minutes=1)
    r = client.post("/api/v1/orders", json={
        "symbol": "AAPL", "side": "buy", "qty": "5", "order_class": "bracket",
        "take_profit": {"limit_price": "200"}, "stop_loss": {"stop_price": "50"}})
    assert r.status_code == 201, r.json
    parent = r.json["data"]
    leg_id = parent["legs"][0]["id"]
    assert client.get(f"/api/v1/orders/{parent['id']}").json["data"]["parent_id"] is None
    assert client.get(f"/api/v1/orders/{leg_id}").json["data"]["parent_id"] == parent["id"]
    v2 = client.get(f"/v2/orders/{leg_id}", headers={"APCA-API-KEY-ID": "automation"})
    assert v2.status_code == 200 and "parent_id" not in v2.json, v2.json
    other = client.get(f"/v2/orders/{leg_id}", headers={"APCA-API-KEY-ID": "k"})
    assert other.status_code == 404, "another key id's account does not see the order"
