"""The backend choice of the benches that compare SQLite and PostgreSQL (bench/_backends.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bench._backends import backend_env, chosen, ratio


def test_both_means_sqlite_then_postgresql_and_a_bad_name_says_what_to_type() -> None:
    assert chosen("both") == ["sqlite", "postgresql"]
    assert chosen("postgresql") == ["postgresql"]
    with pytest.raises(ValueError, match="was 'mysql'; type sqlite, postgresql or both"):
        chosen("mysql")


def test_an_inherited_database_url_never_reaches_a_sqlite_run(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql://elsewhere/db", "KEEP": "1"}
    lite = backend_env(env, "sqlite", tmp_path / "a.db", None)
    assert "DATABASE_URL" not in lite and lite["DATABASE_PATH"] == str(tmp_path / "a.db")
    assert lite["KEEP"] == "1" and env["DATABASE_URL"] == "postgresql://elsewhere/db"
    pg = backend_env(env, "postgresql", tmp_path / "a.db", "postgresql://127.0.0.1:1/x")
    assert pg["DATABASE_URL"] == "postgresql://127.0.0.1:1/x"
    with pytest.raises(ValueError, match="needs the cluster's database URL"):
        backend_env(env, "postgresql", tmp_path / "a.db", None)


def test_ratio_is_postgresql_over_sqlite_and_na_without_both() -> None:
    assert ratio(50.0, 200.0) == "0.25x"
    assert ratio(300.0, 200.0) == "1.50x"
    assert ratio(1.0, 0.0) == "n/a"
    assert ratio(float("nan"), 2.0) == "n/a"
    assert ratio(0.0, 2.0) == "n/a"
