"""The installation's session secret: random, made once, kept in an owner-only file.

The dashboard signs its session cookie with it, so nothing a client receives is derived from
the API key (a cookie signed with a key-derived secret let anyone test key guesses offline).
"""
from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from shared.config import Settings
from shared.errors import ConfigError

log = logging.getLogger("dashboard.auth")
SECRET_BYTES = 32
FILE_NAME = "dashboard_secret"


def secret_path(settings: Settings) -> Path:
    """Return where this suite's secret lives: its run directory, beside the database."""
    from shared.supervisor.rundir import RunDir

    return RunDir.for_settings(settings).path / FILE_NAME


def session_secret(settings: Settings) -> bytes:
    """Return ``dashboard.secret_key`` if configured, else the installation's random secret.

    Raises:
        ConfigError: the secret file exists but does not hold a secret of the right size.
    """
    if settings.dashboard.secret_key is not None:
        return settings.dashboard.secret_key.get_secret_value().encode()
    return load_or_create(secret_path(settings))


def load_or_create(path: Path) -> bytes:
    """Read the secret at ``path``, creating it first (atomically, mode 0600) if absent.

    The new secret is written to a private temp file and hard-linked into place: ``link``
    fails if another process (a second worker, a second start) got there first, and then its
    secret wins, so every process ends up with the same one and none sees a partial file.

    Raises:
        ConfigError: the file holds something other than a secret of ``SECRET_BYTES`` bytes.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(SECRET_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
            log.info("created the dashboard's session secret", extra={"path": str(path)})
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        # someone widened it: the secret signs every login, so take it back to owner-only
        log.warning("the dashboard's session secret was readable by others; set to 0600",
                    extra={"path": str(path), "mode": oct(mode)})
        path.chmod(0o600)
    data = path.read_bytes()
    if len(data) != SECRET_BYTES:
        raise ConfigError(f"{path} holds {len(data)} bytes, not a {SECRET_BYTES}-byte session "
                          f"secret; delete it to make a new one (every login then ends)",
                          field="dashboard.secret_key")
    return data
