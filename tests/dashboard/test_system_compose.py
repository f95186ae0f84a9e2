"""The System page under Docker Compose: no manager supervises, so no Restart button that could
only fail; the page says who runs the processes and the command that restarts each.

A real paper trading and dashboard started as compose starts them (``SUITE_SUPERVISOR=compose``
from docker-compose.yml), in headless Chromium at 1366x768 and 1920x1080.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from shared.db import Database, migrate
from tests.conftest import make_settings
from tests.dashboard.conftest import screenshot
from tests.dashboard.harness import Suite

pytestmark = pytest.mark.e2e
VIEWPORTS = {"1366": (1366, 768), "1920": (1920, 1080)}


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """This module's suite (it replaces conftest's): started with compose's environment."""
    tmp = tmp_path_factory.mktemp("compose-suite")
    db = Database.from_settings(make_settings(tmp))
    migrate(db)
    db.close()
    s = Suite(tmp, extra_env={"SUITE_SUPERVISOR": "compose"})
    try:
        s.start("paper_trading")
        s.start("paper_streams")  # the page's live stream
        s.start("dashboard")
        yield s
    finally:
        s.stop_all()


@pytest.mark.parametrize("vp", list(VIEWPORTS))
def test_system_page_says_compose_runs_the_processes(page: Any, suite: Suite, vp: str) -> None:
    w, h = VIEWPORTS[vp]
    page.set_viewport_size({"width": w, "height": h})
    page.goto("/system")
    note = page.locator("#sys-supervisor")
    note.wait_for(state="visible", timeout=15_000)
    text = note.inner_text()
    assert "managed by Docker Compose" in text and "docker compose restart <service>" in text
    page.locator("#services code.cmd").first.wait_for(timeout=15_000)
    cells = page.locator("#services code.cmd").all_inner_texts()
    assert "docker compose restart paper-trading" in cells
    assert "docker compose restart pattern-recognition" in cells  # compose's service names
    assert "docker compose restart dashboard" in cells and len(cells) == 10
    assert page.locator("#services button", has_text="Restart").count() == 0
    assert "managed by Docker Compose" in page.locator("#sys-checked").inner_text()
    row = page.locator("#services tr", has_text="paper_trading").first
    assert "running" in row.inner_text()
    assert "docker compose restart paper-trading" in row.inner_text()
    # the command is in view without scrolling the table sideways
    box = page.locator("#services code.cmd").first.bounding_box()
    assert box is not None and box["x"] + box["width"] <= w
    page.select_option("#log-service", "news")  # not started: no log file yet
    empty = page.locator("#log")
    empty.filter(has_text="docker compose logs news").wait_for(timeout=10_000)
    assert "hybrid_manager.py" not in empty.inner_text()
    page.select_option("#log-service", "paper_trading")
    screenshot(page, f"system-compose-{vp}")
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_the_restart_route_answers_how_to_restart_under_compose(suite: Suite) -> None:
    base = suite.url("dashboard")
    r = requests.post(base + "/api/v1/services/news/restart", timeout=10)
    assert r.status_code == 409, r.text
    err = r.json()["error"]
    assert "docker compose restart news" in err["message"] and err["code"] == "conflict"
    overview = requests.get(base + "/api/v1/overview", timeout=10).json()["data"]
    assert overview["supervisor"]["kind"] == "compose"
    assert overview["supervisor"]["commands"]["paper_streams"] == \
        "docker compose restart paper-streams"
