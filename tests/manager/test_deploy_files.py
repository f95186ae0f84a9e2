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


def _stages(text: str) -> list[list[str]]:
    """Return the Dockerfile's stages, each its instructions (continuations joined)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    stages: list[list[str]] = []
    for line in joined.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_dockerfile_builds_on_python_311_slim_and_installs_only_the_runtime_lock():
    text = (ROOT / "Dockerfile").read_text()
    builder, final = _stages(text)
    assert re.fullmatch(r"FROM python:3\.11-slim AS builder", builder[0])
    assert final[0] == "FROM python:3.11-slim"
    installs = [i for stage in (builder, final) for i in stage if "pip install" in i]
    assert installs == ["RUN /opt/venv/bin/pip install -r /tmp/runtime.lock"]
    assert "COPY requirements/runtime.lock /tmp/runtime.lock" in builder
    assert not any("requirements.txt" in i or "test.lock" in i or "dev.lock" in i
                   for stage in (builder, final) for i in stage)
    # the final stage takes the builder's venv and nothing else of it (no compiler)
    assert [i for i in final if "--from=" in i] == ["COPY --from=builder /opt/venv /opt/venv"]
    assert not any("apt-get" in i for i in final)
    assert "PATH=/opt/venv/bin:$PATH" in text
    assert "BIND_HOST=0.0.0.0" in text
    from shared.supervisor.spec import MALLOC_ENV

    for key, value in MALLOC_ENV.items():  # the containers run with the manager's settings
        assert f"{key}={value}" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv/" in ignored and ".git/" in ignored and "tests/" in ignored


def test_the_image_runs_as_a_non_root_user():
    final = _stages((ROOT / "Dockerfile").read_text())[-1]
    users = [i.split(None, 1)[1] for i in final if i.upper().startswith("USER ")]
    assert users and users[-1] not in ("root", "0", "0:0")
    run = next(i for i in final if "useradd" in i)
    assert f"--uid {users[-1]}" in run or users[-1] in run.split()
    # nothing after USER needs root, and the data volume is the user's
    assert "chown -R " + users[-1] + " /data" in run


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
