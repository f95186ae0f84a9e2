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
#: the stateless analysis services `docker compose up --scale` may run several of
SCALABLE = {"scanner", "pattern-analysis", "technical-analysis", "pattern-recognition"}
PG_ENV = dict(line.split("=", 1) for line in (ROOT / "deploy" / "postgres.env").read_text()
              .splitlines() if line and not line.startswith("#"))


def cname(name: str) -> str:
    return name.replace("_", "-")


@pytest.mark.parametrize("name,port,module", SERVICES)
def test_every_service_runs_its_module_on_its_port_behind_loopback(name, port, module):
    svc = COMPOSE["services"][cname(name)]
    assert svc["command"] == ["python", "-m", module]
    if cname(name) in SCALABLE:  # replicas cannot share a host port: an ephemeral one each
        assert svc["ports"] == [f"127.0.0.1::{port}"]
    else:
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
    assert set(services) == {"postgres", "migrate", *(cname(n) for n, _, _ in SERVICES)}
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
    assert set(COMPOSE["volumes"]) == {"suite-data", "pg-data"}
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


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR:-default}`` / ``${VAR}`` substitution of one value."""
    def sub(m: re.Match[str]) -> str:
        name, _, default = m.group(1).partition(":-")
        return env.get(name) or default
    return re.sub(r"\$\{([^}]+)\}", sub, value)


def _suite_services() -> list[str]:
    return ["migrate", *(cname(n) for n, _, _ in SERVICES)]


def test_the_postgres_profile_runs_postgres_15_healthchecked_on_its_own_volume():
    pg = COMPOSE["services"]["postgres"]
    assert pg["image"] == "postgres:15" and pg["profiles"] == ["postgres"]
    assert "pg-data:/var/lib/postgresql/data" in pg["volumes"] and "ports" not in pg
    test = pg["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL" and test[1].startswith("pg_isready ")
    # the migrate step waits for it; the services wait for the migrate step
    dep = COMPOSE["services"]["migrate"]["depends_on"]["postgres"]
    assert dep == {"condition": "service_healthy", "required": False}
    # the default profile: every suite service runs with no profile named
    for name in _suite_services():
        assert "profiles" not in COMPOSE["services"][name], name


def test_database_url_reaches_every_service_and_the_migrate_step():
    assert PG_ENV["COMPOSE_PROFILES"] == "postgres"
    for name in _suite_services():
        env = COMPOSE["services"][name]["environment"]
        raw = env["DATABASE_URL"]
        assert _interpolate(raw, {}) == ""  # the default profile: SQLite at DATABASE_PATH
        url = _interpolate(raw, PG_ENV)
        assert url == PG_ENV["DATABASE_URL"], name
        settings = load_settings(environ={"DATABASE_URL": url})
        assert settings.database.url == url
        assert load_settings(environ={"DATABASE_URL": _interpolate(raw, {})}).database.url is None
    # the URL names the compose service and the credentials postgres is started with
    m = re.fullmatch(r"postgresql://([^:]+):([^@]+)@([^:/]+):5432/(\w+)", PG_ENV["DATABASE_URL"])
    assert m is not None
    pg_env = {k: _interpolate(v, PG_ENV)
              for k, v in COMPOSE["services"]["postgres"]["environment"].items()}
    assert m.groups() == (pg_env["POSTGRES_USER"], pg_env["POSTGRES_PASSWORD"], "postgres",
                          pg_env["POSTGRES_DB"])


def test_scalable_services_have_no_container_name_and_no_fixed_host_port():
    for name, svc in COMPOSE["services"].items():
        assert "container_name" not in svc, name  # a fixed name forbids --scale
    for name in SCALABLE:
        for port in COMPOSE["services"][name]["ports"]:
            host_ip, host_port, container_port = port.split(":")
            assert host_ip == "127.0.0.1" and host_port == "" and container_port.isdigit()


def test_compose_tells_the_services_no_manager_supervises_them():
    for name in _suite_services():
        assert COMPOSE["services"][name]["environment"]["SUITE_SUPERVISOR"] == "compose"
