"""The repository keeps the layout, pins and entry points the product is designed around."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_top_level_layout() -> None:
    for name in ("services", "shared", "dashboard", "db", "logs", ".devcontainer", "tests",
                 "docker-compose.yml", "hybrid_manager.py", "requirements.txt", "Makefile",
                 "README.md", "pyproject.toml", "config", "bench", ".ci/run"):
        assert (ROOT / name).exists(), f"{name} is missing"


def _requirement_lines(path: Path) -> list[str]:
    """Return the requirement lines of ``path`` and of the files it includes with ``-r``."""
    out = []
    for ln in path.read_text().splitlines():
        ln = ln.strip()
        if ln.startswith("-r "):
            out += _requirement_lines(path.parent / ln[3:].strip())
        elif ln and not ln.startswith("#"):
            out.append(ln)
    return out


def test_requirements_pin_exact_versions_and_keep_the_docker_compose_package_out() -> None:
    # requirements.txt includes the locks of pyproject.toml's sets (requirements/*.lock)
    lines = _requirement_lines(ROOT / "requirements.txt")
    names = {re.split(r"==", ln)[0].lower().replace("_", "-") for ln in lines}
    assert all("==" in ln for ln in lines), [ln for ln in lines if "==" not in ln]
    for needed in ("flask", "requests", "gunicorn", "pandas", "numpy", "alpaca-py", "pybreaker",
                   "tenacity", "pytest", "ta-lib", "pydantic", "prometheus-client",
                   "exchange-calendars", "limits", "vadersentiment", "playwright"):
        assert needed in names, needed
    assert "docker-compose" not in names


def test_readme_opens_with_the_two_commands() -> None:
    head = "\n".join((ROOT / "README.md").read_text().splitlines()[:10])
    assert "make run" in head and "make test" in head
    assert "make test" in (ROOT / ".ci/run").read_text()


def test_importing_the_library_has_no_side_effects(tmp_path: Path) -> None:
    """Importing every shared module and service package opens no DB and starts no thread."""
    code = (
        "import threading, sys, sqlite3\n"
        "opened = []\n"
        "orig = sqlite3.connect\n"
        "sqlite3.connect = lambda *a, **k: opened.append(a) or orig(*a, **k)\n"
        "import shared.config, shared.db, shared.web, shared.http, shared.cache, shared.logging\n"
        "import services.coordination, services.scanner, services.pattern_analysis\n"
        "import services.technical_analysis, services.paper_trading\n"
        "import services.pattern_recognition, services.news, services.reporting, dashboard\n"
        "assert threading.active_count() == 1, threading.enumerate()\n"
        "assert not opened, opened\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=120)
