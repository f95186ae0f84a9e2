"""Coordination spreads its batched analysis calls over every replica of a scaled service.

Per analysis service, three real loopback servers on its port (127.0.0.2-4, as compose gives
each replica its own address behind one name) stand in for ``--scale technical-analysis=3``;
only the name's resolution is faked (compose's DNS is not here), in getaddrinfo's own shape.
"""
from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from services.coordination.gateway import Gateway
from shared.http import Replicas, reset_breakers
from tests.conftest import make_settings

IPS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
ANALYSIS = ("technical_analysis", "pattern_analysis", "pattern_recognition")


def _replica(ip: str, seen: list[tuple[str, str, list[str]]]) -> Flask:
    """An analysis service answering each batch route in its real shape, logging calls."""
    app = Flask(f"replica-{ip}")

    def body() -> list[str]:
        symbols = request.get_json()["symbols"]
        seen.append((ip, request.path, symbols))
        return symbols

    def env(data: Any) -> Any:
        return jsonify(status="success", data=data, error=None, timestamp="t")

    @app.post("/api/v1/analyze")
    def analyze():  # type: ignore[no-untyped-def]
        return env({"results": {s: {"served_by": ip} for s in body()}})

    @app.post("/api/v1/patterns/batch")
    def patterns():  # type: ignore[no-untyped-def]
        return env({"results": [{"symbol": s, "detections": [ip]} for s in body()]})

    @app.post("/api/v1/candlesticks/scan")
    def candles():  # type: ignore[no-untyped-def]
        return env({"results": [{"symbol": s, "latest": [ip]} for s in body()]})

    return app


@pytest.fixture(scope="module")
def replicas() -> Iterator[tuple[dict[str, int], list[tuple[str, str, list[str]]]]]:
    """Per analysis service, three servers on one free port, one per loopback address;
    yield ({service: port}, call log)."""
    seen: list[tuple[str, str, list[str]]] = []
    ports, servers = {}, []
    for name in ANALYSIS:
        first = make_server(IPS[0], 0, _replica(IPS[0], seen), threaded=True)
        ports[name] = first.server_port
        servers += [first] + [make_server(ip, first.server_port, _replica(ip, seen),
                                          threaded=True) for ip in IPS[1:]]
    for s in servers:
        threading.Thread(target=s.serve_forever, daemon=True).start()
    yield ports, seen
    for s in servers:
        s.shutdown()


def _dns(name: str, ips: tuple[str, ...]) -> Any:
    def resolve(host: str, port: int, **kw: Any) -> list[tuple[Any, ...]]:
        if host != name:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in ips]
    return resolve


@pytest.fixture
def gateway(tmp_path: Path, replicas: tuple[dict[str, int], list[Any]]) -> Iterator[Gateway]:
    ports, seen = replicas
    seen.clear()
    reset_breakers()
    over: dict[str, Any] = {"http__retries": 0}
    for name in ANALYSIS:
        over[f"services__{name}__host"] = name.replace("_", "-")
        over[f"services__{name}__port"] = ports[name]
    over["services__pattern_analysis__workers"] = 2
    gw = Gateway(make_settings(tmp_path, **over))
    for name, rep in gw.replicas.items():  # the same replicas, resolved by a fake DNS
        gw.replicas[name] = Replicas(rep.base_url, resolve=_dns(rep.host, IPS))
    yield gw
    reset_breakers()


def _by_ip(seen: list[tuple[str, str, list[str]]], path: str) -> dict[str, list[list[str]]]:
    out: dict[str, list[list[str]]] = {}
    for ip, p, symbols in seen:
        if p == path:
            out.setdefault(ip, []).append(symbols)
    return out


SYMBOLS = [f"S{i:02d}" for i in range(12)]


def test_a_technical_batch_is_split_over_every_replica(gateway: Gateway, replicas) -> None:
    results = gateway.analyze(SYMBOLS, "1Min")
    assert sorted(results) == SYMBOLS
    calls = _by_ip(replicas[1], "/api/v1/analyze")
    assert sorted(calls) == sorted(IPS)  # each replica got one part...
    parts = [p for ip in IPS for p in calls[ip]]
    assert all(len(p) == 4 for p in parts)  # ...of equal size...
    assert sorted(s for p in parts for s in p) == SYMBOLS  # ...and no symbol twice
    for ip in IPS:  # every answer came from the replica that was sent the symbol
        assert {results[s]["served_by"] for s in calls[ip][0]} == {ip}


def test_one_part_calls_go_round_robin(gateway: Gateway, replicas) -> None:
    for _ in range(6):
        gateway.analyze(["AAPL"], "1Min")
    calls = _by_ip(replicas[1], "/api/v1/analyze")
    assert {ip: len(c) for ip, c in calls.items()} == {ip: 2 for ip in IPS}


def test_pattern_batches_go_one_per_worker_of_each_replica(gateway: Gateway, replicas) -> None:
    out = gateway.chart_patterns(SYMBOLS)
    assert sorted(out) == SYMBOLS
    calls = _by_ip(replicas[1], "/api/v1/patterns/batch")
    assert {ip: len(c) for ip, c in calls.items()} == {ip: 2 for ip in IPS}  # 2 workers each
    assert sorted(s for c in calls.values() for p in c for s in p) == SYMBOLS
    candles = gateway.candles(SYMBOLS, "1Min")
    assert sorted(candles) == SYMBOLS
    assert sorted(_by_ip(replicas[1], "/api/v1/candlesticks/scan")) == sorted(IPS)


def test_one_address_is_one_request_to_the_configured_url() -> None:
    rep = Replicas("http://127.0.0.1:5003")  # the real resolver: an IP is itself
    assert rep.urls() == ["http://127.0.0.1:5003"]
    assert rep.take(3) == ["http://127.0.0.1:5003"] * 3


def test_replicas_follow_the_name_and_keep_the_last_answer_when_it_fails() -> None:
    now = [0.0]
    answers: list[Any] = [IPS[:2], IPS, socket.gaierror(socket.EAI_AGAIN, "try again")]

    def resolve(host: str, port: int, **kw: Any) -> list[tuple[Any, ...]]:
        a = answers.pop(0)
        if isinstance(a, Exception):
            raise a
        return _dns(host, a)(host, port)

    rep = Replicas("http://technical-analysis:5003", ttl_s=5, resolve=resolve,
                   clock=lambda: now[0])
    assert rep.urls() == ["http://127.0.0.2:5003", "http://127.0.0.3:5003"]
    now[0] = 4.9  # within the TTL: not asked again
    assert len(rep.urls()) == 2
    now[0] = 5.0  # a third replica started
    assert rep.urls() == [f"http://{ip}:5003" for ip in IPS]
    now[0] = 10.0  # the resolver failed: the replicas last seen are still used
    assert rep.urls() == [f"http://{ip}:5003" for ip in IPS]


def test_localhost_is_one_machine_and_ipv6_replicas_are_bracketed() -> None:
    def dual(host: str, port: int, **kw: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("::1", port, 0, 0)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]

    assert Replicas("http://localhost:5003", resolve=dual).urls() == ["http://127.0.0.1:5003"]

    def v6(host: str, port: int, **kw: Any) -> list[tuple[Any, ...]]:
        return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0))
                for ip in ("fd00::2", "fd00::3")]

    assert Replicas("http://ta:5003", resolve=v6).urls() == ["http://[fd00::2]:5003",
                                                             "http://[fd00::3]:5003"]
    with pytest.raises(ValueError, match="http://host:port"):
        Replicas("http://ta")
