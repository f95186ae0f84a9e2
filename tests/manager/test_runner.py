"""The shared runner: gunicorn options from settings, hooks, background tasks."""
from flask import Flask

from services.scanner import create_app
from shared.supervisor.registry import ServiceRegistry
from shared.web.runner import ServiceApplication, gunicorn_options, start_background_tasks
from shared.web.worker import BufferedWorker
from tests.conftest import make_settings


def test_options_come_from_the_service_settings(tmp_path):
    s = make_settings(tmp_path, services__scanner__workers=3, services__scanner__threads=1,
                      services__scanner__timeout_s=90, services__news__threads=8,
                      security__bind_host="0.0.0.0", services__news__port=15999,
                      services__scanner__worker="gunicorn", services__news__worker="gunicorn",
                      security__request_read_timeout_s=4.0)
    scan = gunicorn_options("scanner", s)
    assert (scan["workers"], scan["threads"], scan["worker_class"], scan["timeout"]) == \
        (3, 1, "sync", 90)
    news = gunicorn_options("news", s)
    assert news["worker_class"] == "gthread" and news["threads"] == 8
    buffered = gunicorn_options("paper_trading", s)["worker_class"]  # the default
    assert issubclass(buffered, BufferedWorker) and buffered.read_timeout == 4.0
    assert buffered.max_body == s.security.max_body_bytes
    assert news["bind"] == "0.0.0.0:15999"
    assert scan["preload_app"] is True and scan["control_socket_disable"] is True
    assert scan["graceful_timeout"] == s.supervisor.graceful_timeout_s


def test_application_loads_config_and_registers_in_when_ready(tmp_path, db, settings):
    app = ServiceApplication("scanner", create_app, settings)
    assert app.cfg.workers == settings.services["scanner"].workers
    assert app.cfg.bind == [f"127.0.0.1:{settings.port('scanner')}"]
    flask_app = app.load()
    assert isinstance(flask_app, Flask) and app.load() is flask_app  # built once (preload)
    app.cfg.when_ready(None)
    try:
        row = ServiceRegistry(db).rows()[0]
        assert (row["name"], row["status"]) == ("scanner", "running")
    finally:
        app.cfg.on_exit(None)
    assert ServiceRegistry(db).rows()[0]["status"] == "stopped"


def test_background_tasks_run_only_when_the_runner_asks():
    app = Flask("x")
    calls = []
    app.extensions["background_tasks"] = [lambda: calls.append(1), lambda: calls.append(2)]
    assert calls == []
    assert start_background_tasks(app) == 2 and calls == [1, 2]
    assert start_background_tasks(Flask("y")) == 0
