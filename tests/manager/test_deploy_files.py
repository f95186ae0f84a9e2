"""docker-compose.yml, Dockerfile and .devcontainer/devcontainer.json, checked by parsing.

No Docker engine runs here, so these tests check structure: every service, port, healthcheck,
volume and the dependency order against the manager's own start order.
"""
import json
import re

import pytest
import yaml

from shared.config import ROOT, SERVICES, load_settings
from shared.supervisor.spec import START_GROUPS

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
DEVCONTAINER = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
DEFAULTS = load_settings(environ={})


def cname(name: str) -> str:
    return name.replace("_", "-")


@pytest.mark.parametrize("name,port,module", SERVICES)
def test_every_service_runs_its_module_on_its_port_behind_loopback(name, port, module):
    svc = COMPOSE["services"][cname(name)]
    assert svc["command"] == ["python", "-m", module]
    assert svc["ports"] == [f"127.0.0.1:{port}:{port}"]
    assert DEFAULTS.port(name) == port
    assert svc["restart"] == "unless-stopped"
    assert svc["image"] == COMPOSE["services"]["migrate"]["image"]  # one image
    assert "suite-data:/data" in svc["volumes"]


@pytest.mark.parametrize("name,port,module", SERVICES)
def test_every_healthcheck_probes_its_own_health_with_python(name, port, module):
    test = COMPOSE["services"][cname(name)]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]  # the slim image has no curl
    assert f"http://127.0.0.1:{port}/health" in test[3] and "urlopen" in test[3]
    compile(test[3], "healthcheck", "exec")


def test_dependencies_follow_the_manager_start_order():
    services = COMPOSE["services"]
    assert set(services) == {"migrate", *(cname(n) for n, _, _ in SERVICES)}
    assert services["migrate"]["command"] == ["python", "hybrid_manager.py", "migrate"]
    assert services["migrate"]["restart"] == "no" and "ports" not in services["migrate"]
    for g, group in enumerate(START_GROUPS):
        for name in group:
            deps = services[cname(name)]["depends_on"]
            assert deps["migrate"] == {"condition": "service_completed_successfully"}
            healthy = {k for k, v in deps.items() if v == {"condition": "service_healthy"}}
            expected = {cname(n) for n in START_GROUPS[g - 1]} if g else set()
            assert healthy == expected, name
            assert set(deps) == healthy | {"migrate"}


def test_one_named_volume_holds_database_and_logs():
    assert set(COMPOSE["volumes"]) == {"suite-data"}
    env = COMPOSE["services"]["scanner"]["environment"]
    assert env["DATABASE_PATH"].startswith("/data/") and env["LOG_DIR"].startswith("/data/")


def test_compose_environment_makes_services_find_each_other_by_name():
    env = {k: str(v) for k, v in COMPOSE["services"]["dashboard"]["environment"].items()
           if "${" not in str(v)}
    settings = load_settings(environ=env)
    assert settings.security.bind_host == "0.0.0.0"
    for name, port, _ in SERVICES:
        assert settings.url(name) == f"http://{cname(name)}:{port}"


def test_dockerfile_builds_on_python_311_slim_and_installs_requirements():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\s*$", text, re.M)
    assert "pip install -r requirements.txt" in text
    assert "BIND_HOST=0.0.0.0" in text
    from shared.supervisor.spec import MALLOC_ENV

    for key, value in MALLOC_ENV.items():  # the containers run with the manager's settings
        assert f"{key}={value}" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv/" in ignored and ".git/" in ignored


def test_devcontainer_installs_and_forwards_every_port_with_a_label():
    assert DEVCONTAINER["image"].startswith("mcr.microsoft.com/devcontainers/python:3.11")
    assert "make install" in DEVCONTAINER["postCreateCommand"]
    assert re.search(r"^install:", (ROOT / "Makefile").read_text(), re.M)
    ports = sorted(p for _, p, _ in SERVICES)
    assert DEVCONTAINER["forwardPorts"] == ports
    attrs = DEVCONTAINER["portsAttributes"]
    assert set(attrs) == {str(p) for p in ports}
    labels = [attrs[str(p)]["label"] for p in ports]
    assert all(labels) and len(set(labels)) == len(labels)
    assert attrs["5010"] == {"label": "dashboard", "onAutoForward": "openBrowser"}
