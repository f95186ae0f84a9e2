"""Settings: one YAML file with every default, environment overrides, strict validation."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from shared.config import DEFAULT_CONFIG, SERVICES, Settings, load_settings
from shared.errors import ConfigError


def test_yaml_holds_every_default_and_nothing_else() -> None:
    """The YAML and the models agree, so the YAML really is the one list of defaults."""
    from_yaml = load_settings(DEFAULT_CONFIG, environ={})
    assert from_yaml == Settings()
    tree = yaml.safe_load(DEFAULT_CONFIG.read_text())
    model = Settings().model_dump(mode="json")

    def keys(d: dict, prefix: str = "") -> set[str]:
        out = set()
        for k, v in d.items():
            out.add(prefix + k)
            if isinstance(v, dict):
                out |= keys(v, prefix + k + ".")
        return out

    missing = keys(model) - keys(tree)
    assert not missing, f"defaults missing from config/default.yaml: {sorted(missing)}"


def test_named_variables_override_the_file() -> None:
    env = {"DATABASE_PATH": "/tmp/x.db", "LOG_LEVEL": "debug", "LOG_DIR": "/tmp/l",
           "SCANNER_PORT": "6001", "API_KEY": "k1", "ALPACA_API_KEY": "a",
           "ALPACA_SECRET_KEY": "b", "TRADING_ENV": "production"}
    s = load_settings(environ=env)
    assert s.database_path == Path("/tmp/x.db") and s.logging.level == "DEBUG"
    assert s.port("scanner") == 6001 and s.port("coordination") == 5000
    assert s.alpaca.configured and s.env == "production"
    assert sorted(s.secrets()) == ["a", "b", "k1"]
    assert "k1" not in repr(s) and "k1" not in str(s.model_dump())


def test_generic_overrides_and_every_service_has_a_port_variable() -> None:
    s = load_settings(environ={"TRADING__database__pool_size": "7", "TRADING__http__timeout_s": "2.5"})
    assert s.database.pool_size == 7 and s.http.timeout_s == 2.5
    ports = {f"{n.upper()}_PORT": str(7000 + i) for i, (n, _, _) in enumerate(SERVICES)}
    s = load_settings(environ=ports)
    assert [s.port(n) for n, _, _ in SERVICES] == [7000 + i for i in range(len(SERVICES))]


@pytest.mark.parametrize("env,named", [
    ({"TRADING__database__bogus": "1"}, "database.bogus"),
    ({"TRADING__nosuchsection__x": "1"}, "nosuchsection"),
    ({"SCANNER_PORT": "not-a-port"}, "services.scanner.port"),
    ({"SCANNER_PORT": "70000"}, "services.scanner.port"),
    ({"LOG_LEVEL": "LOUD"}, "logging.level"),
    ({"SCANNER_PORT": "5000"}, "services"),
])
def test_bad_or_unknown_keys_stop_the_start_naming_them(env: dict, named: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(environ=env)
    assert named in str(err.value)


def test_bad_yaml_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("database: [unclosed\n")
    with pytest.raises(ConfigError, match="c.yaml"):
        load_settings(bad, environ={})
    bad.write_text("database:\n  pathh: x\n")
    with pytest.raises(ConfigError, match="database.pathh: unknown key"):
        load_settings(bad, environ={})
