"""Technical analysis's strategies chosen at run time: the overrides table, its change log and
version (technical analysis is their only writer), and the pure rules that merge them over the
settings and check a user strategy's file and parameters.

The settings (``technical.strategies``) stay the defaults.  A row of ``ta_strategy_overrides``
overrides one strategy's enabled flag, weight or parameters, or adds a user strategy from a
file under the allowed folders (docs/strategies and ``technical.user_strategy_dirs``).  Every
write bumps ``ta_strategy_version`` in the same transaction; each worker process compares it
on each analysis and rebuilds its strategies when it moved.
"""
from __future__ import annotations

import ast
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared.db import Database
from shared.errors import Conflict, ValidationError
from shared.strategy import StrategyError, load_strategy

DOCS_DIR = "docs/strategies"
_ROW = ("name", "file", "enabled", "weight", "params", "updated_at", "updated_by")
_SELECT = ("SELECT name, file, enabled, weight, params, updated_at, updated_by "
           "FROM ta_strategy_overrides")


@dataclass
class Effective:
    """One strategy as the settings and the overrides make it."""

    name: str
    kind: str  # a built-in kind, or "user"
    file: str | None
    enabled: bool
    weight: float
    params: dict[str, Any]
    timeframe: str | None
    source: str  # "settings" or "added"
    overridden: list[str] = field(default_factory=list)


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _decode(row: Any) -> dict[str, Any]:
    d = dict(row)
    d["params"] = json.loads(d["params"]) if d["params"] is not None else None
    d["enabled"] = None if d["enabled"] is None else bool(d["enabled"])
    return d


def _core(row: dict[str, Any] | None) -> tuple[Any, ...] | None:
    return None if row is None else tuple(row.get(k) for k in ("file", "enabled", "weight",
                                                              "params"))


class StrategyStore:
    """SQL for ``ta_strategy_overrides``, ``ta_strategy_changes`` and ``ta_strategy_version``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def version(self) -> int:
        """Return the overrides' version (0 before any change)."""
        row = self.db.fetch_one("SELECT version FROM ta_strategy_version WHERE id = 1")
        return int(row["version"]) if row else 0

    def overrides(self) -> dict[str, dict[str, Any]]:
        """Return every override row by strategy name."""
        rows = self.db.fetch_all(_SELECT + " ORDER BY name")
        return {r["name"]: _decode(r) for r in rows}

    def write(self, name: str, new: dict[str, Any] | None, action: str, who: str,
              expect: dict[str, Any] | None = None) -> int:
        """Store ``new`` as ``name``'s override (None deletes it), log the change and bump the
        version, in one ``BEGIN IMMEDIATE`` transaction; return the new version.

        ``expect`` is the row the caller read (None: none): another writer's change since
        then refuses this one rather than losing it.

        Raises:
            Conflict: the row changed since the caller read it.
            DatabaseBusyError: when the database stays locked past the retries.
        """
        now = _now()

        def run(conn: Any) -> int:
            cur = conn.execute(_SELECT + " WHERE name = ?", (name,)).fetchone()
            old = _decode(cur) if cur else None
            if _core(old) != _core(expect):
                raise Conflict(f"strategy {name!r} was changed meanwhile by "
                               f"{(old or {}).get('updated_by', 'someone')}; reload and retry",
                               field="name")
            if new is None:
                conn.execute("DELETE FROM ta_strategy_overrides WHERE name = ?", (name,))
            else:
                conn.execute(
                    "INSERT INTO ta_strategy_overrides (name, file, enabled, weight, params, "
                    "updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET file = excluded.file, "
                    "enabled = excluded.enabled, weight = excluded.weight, "
                    "params = excluded.params, updated_at = excluded.updated_at, "
                    "updated_by = excluded.updated_by",
                    (name, new.get("file"),
                     None if new.get("enabled") is None else int(new["enabled"]),
                     new.get("weight"),
                     None if new.get("params") is None else json.dumps(new["params"]),
                     now, who))
            after = None if new is None else {**{k: new.get(k) for k in _ROW},
                                               "name": name, "updated_at": now,
                                               "updated_by": who}
            conn.execute("INSERT INTO ta_strategy_changes (name, action, old, new, changed_by, "
                         "changed_at) VALUES (?, ?, ?, ?, ?, ?)",
                         (name, action, None if old is None else json.dumps(old),
                          None if after is None else json.dumps(after), who, now))
            conn.execute("UPDATE ta_strategy_version SET version = version + 1 WHERE id = 1")
            return int(conn.execute("SELECT version FROM ta_strategy_version WHERE id = 1")
                       .fetchone()[0])

        return self.db.run_in_transaction(run, "strategy_override")

    def changes(self, name: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Return the change log, newest first."""
        sql = ("SELECT id, name, action, old, new, changed_by, changed_at "
               "FROM ta_strategy_changes")
        params: list[Any] = []
        if name:
            sql += " WHERE name = ?"
            params.append(name)
        sql += " ORDER BY id DESC LIMIT ?"
        params.append(limit)
        out = []
        for r in self.db.fetch_all(sql, params):
            d = dict(r)
            d["old"] = json.loads(d["old"]) if d["old"] else None
            d["new"] = json.loads(d["new"]) if d["new"] else None
            out.append(d)
        return out


# -- pure rules --------------------------------------------------------------------------
def merge(cfg: Any, overrides: dict[str, dict[str, Any]]) -> dict[str, Effective]:
    """Return every strategy (enabled or not) of the settings with its override applied, then
    the user strategies added at run time."""
    out: dict[str, Effective] = {}
    for name, sc in cfg.strategies.items():
        e = Effective(name, "user" if sc.file else (sc.kind or name), sc.file, sc.enabled,
                      float(sc.weight), dict(sc.params), sc.timeframe, "settings")
        o = overrides.get(name)
        if o:
            for key in ("enabled", "weight", "params"):
                if o[key] is not None:
                    setattr(e, key, float(o[key]) if key == "weight" else o[key])
                    e.overridden.append(key)
        out[name] = e
    for name, o in overrides.items():
        if name not in out and o["file"]:
            out[name] = Effective(name, "user", o["file"],
                                  True if o["enabled"] is None else o["enabled"],
                                  1.0 if o["weight"] is None else float(o["weight"]),
                                  dict(o["params"] or {}), None, "added",
                                  [k for k in ("enabled", "weight", "params")
                                   if o[k] is not None])
    return out


def allowed_dirs(cfg: Any, root: Path) -> list[Path]:
    """Return the folders a user strategy may be added from (resolved)."""
    dirs = [DOCS_DIR, *cfg.user_strategy_dirs]
    return [(Path(d).expanduser() if Path(d).expanduser().is_absolute() else root / d).resolve()
            for d in dict.fromkeys(dirs)]


def _shown(d: Path, root: Path) -> str:
    return str(d.relative_to(root)) if d.is_relative_to(root) else str(d)


def check_file(ref: str, dirs: list[Path], root: Path) -> tuple[Path, str | None]:
    """Return the resolved file and class name of ``path.py[:Class]`` when the file lies under
    one of ``dirs``.

    Raises:
        ValidationError: (field ``file``) not a .py file, outside the folders, or missing.
    """
    path_s, _, cls = ref.partition(":")
    names = ", ".join(_shown(d, root) + "/" for d in dirs)
    if not path_s.endswith(".py"):
        raise ValidationError(f"file must be path/to/file.py:ClassName, was {ref[:200]!r}",
                              field="file")
    p = Path(path_s).expanduser()
    rp = (p if p.is_absolute() else root / p).resolve()
    if not any(rp.is_relative_to(d) for d in dirs):
        raise ValidationError(f"{path_s} is outside the allowed folders; put the file in one "
                              f"of: {names}", field="file", details={"allowed": names})
    if not rp.is_file():
        raise ValidationError(f"{path_s} does not exist (allowed folders: {names})",
                              field="file")
    return rp, (cls or None)


def ref_of(path: Path, cls: str, root: Path) -> str:
    """Return the stored reference: relative to the repository when under it."""
    return f"{_shown(path, root)}:{cls}"


def _classes(path: Path) -> list[str]:
    """Return the names of the classes deriving from ``Strategy`` in ``path`` (parsed, not
    run).

    Raises:
        StrategyError: the file has a syntax error (with its line).
    """
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except SyntaxError as exc:
        raise StrategyError(f"{path} line {exc.lineno}: {exc.msg}", field="file") from None
    return [n.name for n in tree.body if isinstance(n, ast.ClassDef)
            and any(getattr(b, "id", getattr(b, "attr", "")) == "Strategy" for b in n.bases)]


def list_files(dirs: list[Path], root: Path) -> list[dict[str, Any]]:
    """Return each .py file of the allowed folders with its Strategy classes and parameters
    (or the error that stops it loading)."""
    out = []
    for d in dirs:
        if not d.is_dir():
            continue
        for path in sorted(d.glob("*.py")):
            if path.name.startswith("_"):
                continue
            item: dict[str, Any] = {"file": _shown(path, root), "classes": [], "error": None}
            try:
                for name in _classes(path):
                    cls = load_strategy(f"{path}:{name}")
                    item["classes"].append({"name": name, "ref": ref_of(path, name, root),
                                            "params": dict(cls.params)})
            except StrategyError as exc:
                item["error"] = exc.message
            out.append(item)
    return out


def check_user_params(cls: Any, params: dict[str, Any]) -> dict[str, Any]:
    """Return ``params`` checked against the class's declared ``params`` (name and type).

    Raises:
        ValidationError: (field ``params.<name>``) an unknown name or a value of another type.
    """
    defaults = dict(cls.params)
    for k, v in params.items():
        if k not in defaults:
            raise ValidationError(f"{cls.__name__} has no parameter {k!r}; it takes "
                                  f"{sorted(defaults)}", field=f"params.{k}")
        d = defaults[k]
        if isinstance(d, bool):
            ok, want = isinstance(v, bool), "true or false"
        elif isinstance(d, int):
            ok, want = isinstance(v, int) and not isinstance(v, bool), "a whole number"
        elif isinstance(d, float):
            ok = (isinstance(v, int | float) and not isinstance(v, bool)
                  and math.isfinite(float(v)))
            want = "a finite number"
        else:
            ok, want = isinstance(v, type(d)), type(d).__name__
        if not ok:
            raise ValidationError(f"must be {want} (default {d!r}), was {v!r}",
                                  field=f"params.{k}")
    return {**params}


def param_defaults(e: Effective, cls: Any = None) -> dict[str, Any]:
    """Return the parameters a strategy takes with their defaults."""
    if e.kind == "user":
        return dict(cls.params) if cls is not None else {}
    from shared.ta.strategies import KINDS

    kind = KINDS.get(e.kind)
    if kind is None:
        return {}
    return {k: f.default for k, f in kind.params.model_fields.items()}
