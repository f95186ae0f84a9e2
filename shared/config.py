"""Typed, frozen settings from one YAML file plus environment overrides.

Precedence (lowest first): model defaults, ``config/default.yaml`` (or ``TRADING_CONFIG``),
``TRADING__section__key=value`` overrides, then the named variables in ``ENV_ALIASES``
(``DATABASE_PATH``, ``API_KEY``, ``SCANNER_PORT``...).  Any unknown or invalid key stops the
start with a :class:`~shared.errors.ConfigError` that names it.  Secrets are ``SecretStr`` so
they never show in a ``repr``, a log line or ``/health``.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator

from shared.config_sections import candlesticks as _candlesticks
from shared.config_sections import coordination as _coordination
from shared.config_sections import dashboard as _dashboard
from shared.config_sections import market as _market
from shared.config_sections import news as _news
from shared.config_sections import paper_trading as _paper_trading
from shared.config_sections import patterns as _patterns
from shared.config_sections import reporting as _reporting
from shared.config_sections import scanner as _scanner
from shared.config_sections import supervisor as _supervisor
from shared.config_sections import technical as _technical
from shared.config_sections._base import StrictModel
from shared.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = ROOT / "config" / "default.yaml"
# libyaml's safe loader when built in: the same tree, several times faster (every CLI command
# and service start reads the file)
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ENV_PREFIX = "TRADING__"

#: The services in start order: (name, default port, import path of the app factory).
SERVICES: tuple[tuple[str, int, str], ...] = (
    ("coordination", 5000, "services.coordination"),
    ("scanner", 5001, "services.scanner"),
    ("pattern_analysis", 5002, "services.pattern_analysis"),
    ("technical_analysis", 5003, "services.technical_analysis"),
    ("paper_trading", 5005, "services.paper_trading"),
    ("paper_streams", 5007, "services.paper_trading.streaming"),
    ("pattern_recognition", 5006, "services.pattern_recognition"),
    ("news", 5008, "services.news"),
    ("reporting", 5009, "services.reporting"),
    ("dashboard", 5010, "dashboard"),
)
SERVICE_NAMES = tuple(name for name, _, _ in SERVICES)
#: Services that are an asyncio server of their own (aiohttp), not a Flask app under gunicorn:
#: their ``create_app`` returns no WSGI app, and their routes are streams, not REST.
ASYNC_SERVICES = frozenset({"paper_streams"})


class DatabaseSettings(StrictModel):
    path: str = "db/trading.db"
    # PostgreSQL instead of the SQLite file at ``path``: postgresql://user:pass@host:port/db
    # (env DATABASE_URL); sqlite:///path names the file like ``path`` does
    url: str | None = None
    # PostgreSQL connections one process may hold at most (its threads lease them)
    pool_max_size: int = Field(16, ge=1, le=512)
    busy_timeout_ms: int = Field(30000, ge=0)
    # each connection's page cache: a reader's pages are re-read from the OS file cache at a
    # few microseconds each, while 64 MB caches (the old default) filled for hours with every
    # page a growing market store ever showed them (issue 15's suite memory)
    cache_size_kib: int = Field(8000, gt=0)
    retry_attempts: int = Field(8, ge=1, le=50)
    retry_initial_s: float = Field(0.01, gt=0)
    retry_max_s: float = Field(1.0, gt=0)
    slow_query_ms: float = Field(100.0, gt=0)
    pool_size: int = Field(4, ge=1, le=64)
    # SQLite's soft heap limit for the whole process (0: none). Each connection's page cache
    # (cache_size_kib) otherwise keeps every page it ever read, so a reader's memory grew as
    # the replay stored new days; past the limit SQLite reuses its cached pages instead.
    soft_heap_mb: int = Field(16, ge=0, le=65536)
    # SQLite checkpoints the WAL inside the COMMIT that takes it past this many pages (its
    # default: 1000). The suite checkpoints outside commits instead (the market owner's
    # checkpoint thread, market.ingest.checkpoint_s; paper trading after its writes), so this
    # is a backstop: at 1000 the owner's every other minute of bars (~500 pages a minute,
    # one leaf page per symbol) paid a checkpoint inside the cycle's "bars" step
    wal_autocheckpoint_pages: int = Field(20_000, ge=100, le=1_000_000)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        scheme = v.split("://", 1)[0].lower() if "://" in v else ""
        if scheme not in ("postgresql", "postgres", "sqlite"):
            raise ValueError(f"unknown database URL scheme {scheme or v!r}: type "
                             "postgresql://user:password@host:5432/name, or sqlite:///path "
                             "(or leave it unset and set database.path / DATABASE_PATH)")
        if scheme == "sqlite" and not v[len("sqlite://"):].startswith("/"):
            raise ValueError("a sqlite URL names a path: sqlite:///relative or sqlite:////abs")
        return v


class LoggingSettings(StrictModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    dir: str = "logs"
    format: Literal["json", "kv"] = "json"
    max_bytes: int = Field(10_000_000, gt=0)
    backups: int = Field(5, ge=0)

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v


class ServiceSettings(StrictModel):
    port: int = Field(ge=1, le=65535)
    workers: int = Field(2, ge=1, le=32)
    threads: int = Field(1, ge=1, le=64)
    timeout_s: int = Field(60, ge=1)
    # buffered: requests read whole on an asyncio loop before the app sees them (slow clients
    # hold no worker; shared.web.worker); gunicorn: its own sync (threads 1) or gthread worker
    worker: Literal["buffered", "gunicorn"] = "buffered"
    # Where other services reach this one; None means this machine (see Settings.url).
    host: str | None = None
    # A worker whose private memory grows this many MB past its level once warm finishes its
    # requests and is replaced by a fresh fork (shared.web.memory_guard); 0: never.  Off for
    # services with background tasks or long-lived streams.
    recycle_growth_mb: float = Field(0.0, ge=0)


#: Gunicorn defaults per service (workers, threads, timeout_s), mirrored in config/default.yaml:
#: one preloaded worker each keeps the suite's memory down; threads > 1 (gthread) keep /health
#: answering during long requests; paper_trading writes a lot, so sync workers (see baselines).
#: With N pattern_analysis workers coordination splits its batch into N requests sent at once;
#: two sync workers measured ~2-4 s faster per replayed session but ~26 MB more, so one.
_GUNICORN_DEFAULTS: dict[str, tuple[int, int, int]] = {
    "coordination": (1, 4, 60), "scanner": (1, 4, 120), "pattern_analysis": (1, 4, 120),
    "technical_analysis": (1, 4, 120), "paper_trading": (2, 1, 60),
    "paper_streams": (1, 1, 60),  # one asyncio process; workers/threads do not apply
    "pattern_recognition": (1, 4, 120), "news": (1, 4, 60), "reporting": (1, 4, 120),
    "dashboard": (1, 8, 60),  # SSE streams each hold a thread
}


#: Services whose workers are replaced when their memory grows past their warm level by this
#: many MB (``ServiceSettings.recycle_growth_mb``), mirrored in config/default.yaml.  Not
#: coordination (its worker runs the market clock and ingest), the streams, or the dashboard
#: (its SSE streams would drop).
#: The scanner's memory swings by ~3 MB with each scan of the universe, so it gets more room.
_RECYCLE_GROWTH_MB: dict[str, float] = {
    "scanner": 8.0, **{name: 4.0 for name in (
        "pattern_analysis", "technical_analysis", "paper_trading", "pattern_recognition", "news",
        "reporting")}}


def _default_services() -> dict[str, ServiceSettings]:
    out = {}
    for name, port, _ in SERVICES:
        workers, threads, timeout_s = _GUNICORN_DEFAULTS.get(name, (2, 1, 60))
        out[name] = ServiceSettings(port=port, workers=workers, threads=threads,
                                    timeout_s=timeout_s,
                                    recycle_growth_mb=_RECYCLE_GROWTH_MB.get(name, 0.0))
    return out


class SecuritySettings(StrictModel):
    api_key: SecretStr | None = None
    bind_host: str = "127.0.0.1"
    max_body_bytes: int = Field(1_000_000, gt=0)
    # The buffered worker (shared.web.worker): a request must arrive whole within this many
    # seconds of its connection (408, or a silent close if nothing came); at most this many
    # open connections per worker process (over it, the oldest still-arriving one is dropped).
    request_read_timeout_s: float = Field(10.0, gt=0)
    max_connections_per_worker: int = Field(1000, ge=8)
    # ``limits`` syntax ("300 per second"), per client and route on mutating routes; "" = off.
    rate_limit: str = "300 per second"
    cors_origins: list[str] = []


class AlpacaSettings(StrictModel):
    api_key: SecretStr | None = None
    secret_key: SecretStr | None = None
    paper: bool = True
    data_feed: Literal["iex", "sip", "delayed_sip"] = "iex"
    trading_url: str | None = None
    data_url: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.api_key and self.secret_key)


class HttpSettings(StrictModel):
    timeout_s: float = Field(5.0, gt=0)
    retries: int = Field(2, ge=0, le=10)
    breaker_fail_max: int = Field(5, ge=1)
    breaker_reset_s: float = Field(30.0, gt=0)


class Settings(StrictModel):
    env: Literal["development", "test", "production"] = "development"
    version: str = "0.1.0"
    database: DatabaseSettings = DatabaseSettings()
    logging: LoggingSettings = LoggingSettings()
    services: dict[str, ServiceSettings] = Field(default_factory=_default_services)
    security: SecuritySettings = SecuritySettings()
    alpaca: AlpacaSettings = AlpacaSettings()
    http: HttpSettings = HttpSettings()
    market: _market.Section = _market.Section()
    paper_trading: _paper_trading.Section = _paper_trading.Section()
    technical: _technical.Section = _technical.Section()
    scanner: _scanner.Section = _scanner.Section()
    patterns: _patterns.Section = _patterns.Section()
    candlesticks: _candlesticks.Section = _candlesticks.Section()
    news: _news.Section = _news.Section()
    coordination: _coordination.Section = _coordination.Section()
    reporting: _reporting.Section = _reporting.Section()
    dashboard: _dashboard.Section = _dashboard.Section()
    supervisor: _supervisor.Section = _supervisor.Section()

    @field_validator("services")
    @classmethod
    def _known_services(cls, v: dict[str, ServiceSettings]) -> dict[str, ServiceSettings]:
        unknown = sorted(set(v) - set(SERVICE_NAMES))
        if unknown:
            raise ValueError(f"unknown service(s) {unknown}; known: {list(SERVICE_NAMES)}")
        merged = _default_services()
        merged.update(v)
        ports = [s.port for s in merged.values()]
        if len(set(ports)) != len(ports):
            raise ValueError(f"two services share a port: {sorted(ports)}")
        return merged

    # Paths are relative to the repository root unless absolute.
    def resolve(self, path: str) -> Path:
        p = Path(path)
        return p if p.is_absolute() else ROOT / p

    @property
    def database_path(self) -> Path:
        url = self.database.url
        if url is not None and url.startswith("sqlite://"):
            return self.resolve(url[len("sqlite:///"):])
        return self.resolve(self.database.path)

    @property
    def log_dir(self) -> Path:
        return self.resolve(self.logging.dir)

    def port(self, service: str) -> int:
        return self.services[service].port

    def url(self, service: str) -> str:
        if self.services[service].host:  # e.g. the compose service name between containers
            return f"http://{self.services[service].host}:{self.port(service)}"
        host = self.security.bind_host
        host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        return f"http://{host}:{self.port(service)}"

    def secrets(self) -> list[str]:
        """Return every configured secret value (for log redaction and leak tests)."""
        out = []
        for s in (self.security.api_key, self.alpaca.api_key, self.alpaca.secret_key,
                  self.dashboard.secret_key):
            if s is not None and s.get_secret_value():
                out.append(s.get_secret_value())
        return out


#: Named environment variables and the setting each overrides.
ENV_ALIASES: dict[str, tuple[str, ...]] = {
    "TRADING_ENV": ("env",),
    "DATABASE_PATH": ("database", "path"),
    "DATABASE_URL": ("database", "url"),
    "SUITE_SUPERVISOR": ("supervisor", "kind"),
    "LOG_LEVEL": ("logging", "level"),
    "LOG_DIR": ("logging", "dir"),
    "ALPACA_API_KEY": ("alpaca", "api_key"),
    "ALPACA_SECRET_KEY": ("alpaca", "secret_key"),
    "API_KEY": ("security", "api_key"),
    "BIND_HOST": ("security", "bind_host"),
    **{f"{name.upper()}_PORT": ("services", name, "port") for name in SERVICE_NAMES},
}


def _set_path(tree: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    node = tree
    for key in path[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[path[-1]] = value


def _overrides(env: Mapping[str, str]) -> list[tuple[str, tuple[str, ...], Any]]:
    out: list[tuple[str, tuple[str, ...], Any]] = []
    for var, raw in sorted(env.items()):
        if var.startswith(ENV_PREFIX):
            path = tuple(p.lower() for p in var[len(ENV_PREFIX):].split("__"))
            if not all(path):
                raise ConfigError(f"environment variable {var}: empty section or key", field=var)
            try:
                value = yaml.safe_load(raw) if raw.strip() else raw
            except yaml.YAMLError:
                value = raw
            out.append((var, path, value))
    for var, path in ENV_ALIASES.items():
        if var in env and env[var] != "":
            out.append((var, path, env[var]))
    return out


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Return validated settings from the YAML file, the environment and keyword overrides.

    Keyword overrides take dotted section names with ``__``: ``load_settings(database__path=x)``.

    Raises:
        ConfigError: naming the file, variable or key that is unknown or invalid.
    """
    env = os.environ if environ is None else environ
    cfg_path = Path(path or env.get("TRADING_CONFIG") or DEFAULT_CONFIG)
    try:
        tree = yaml.load(cfg_path.read_text(), Loader=_YAML_LOADER) if cfg_path.exists() else {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{cfg_path}: not valid YAML: {exc}", field=str(cfg_path)) from None
    if tree is None:
        tree = {}
    if not isinstance(tree, dict):
        raise ConfigError(f"{cfg_path}: the top level must be a mapping", field=str(cfg_path))
    sources: dict[tuple[str, ...], str] = {}
    for var, p, value in _overrides(env):
        _set_path(tree, p, value)
        sources[p] = var
    for key, value in overrides.items():
        p = tuple(key.split("__"))
        _set_path(tree, p, value)
        sources[p] = key
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(str(x) for x in err["loc"])
            where = ".".join(loc)
            src = next((v for p, v in sources.items() if loc[: len(p)] == p), str(cfg_path))
            msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(f"{where}: {msg} (from {src})")
        raise ConfigError("invalid settings: " + "; ".join(problems),
                          field=problems[0].split(":")[0], details=problems) from None
