"""What the Backtests page offers: strategies (built-in kinds and files from the allowed
folders), their parameters with defaults, and the bundled data files.

A strategy or data file is named by an id from these lists (``builtin:sma_cross``,
``docs:sma_cross.py:SmaCross``, ``bundled:GOOG.csv``); a path typed in the browser is never
opened.  Strategy files are read with ``ast`` (their ``params`` dict literal), not imported:
the dashboard never runs a user's code, only the replay subprocess does.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from pydantic import ValidationError as PydanticError

from shared.config import ROOT, Settings
from shared.errors import ValidationError

DOCS_DIR = ROOT / "docs" / "strategies"
#: naive times of these bundled files are UTC (a coin and FX trade round the clock)
UTC_FILES = {"BTCUSD", "EURUSD"}


def data_dir(settings: Settings) -> Path:
    """Return the folder of the database file (runs and user strategies live beside it)."""
    return Path(settings.database.path).resolve().parent


def strategy_dirs(settings: Settings) -> dict[str, Path]:
    """Return the folders strategy files are offered from: ``docs`` and ``user``."""
    user = settings.dashboard.backtest_strategies_dir
    return {"docs": DOCS_DIR,
            "user": Path(user).expanduser() if user else data_dir(settings) / "strategies"}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    return "text"


def file_classes(path: Path) -> list[tuple[str, dict[str, Any]]]:
    """Return ``(class name, params dict)`` of each class of ``path`` deriving from Strategy;
    a file that does not parse, or a params that is not a literal, gives none / ``{}``."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except (SyntaxError, ValueError, OSError):
        return []
    out = []
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
        if "Strategy" not in bases:
            continue
        params: dict[str, Any] = {}
        for item in node.body:
            if (isinstance(item, ast.Assign) and len(item.targets) == 1
                    and isinstance(item.targets[0], ast.Name) and item.targets[0].id == "params"):
                try:
                    value = ast.literal_eval(item.value)
                except ValueError:
                    value = {}
                params = value if isinstance(value, dict) else {}
        out.append((node.name, params))
    return out


def _builtin_params(kind: str) -> list[dict[str, Any]]:
    from shared.ta.strategies import KINDS

    rows = []
    for name, f in KINDS[kind].params.model_fields.items():
        rows.append({"name": name, "default": f.default, "type": _kind(f.default),
                     "hint": f.description or ""})
    return rows


def _shown(path: Path) -> str:
    """Return ``path`` relative to the repository when inside it (the report's title shows
    it; the replay runs there), else absolute."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path.resolve())


def list_strategies(settings: Settings) -> list[dict[str, Any]]:
    """Return every strategy the page offers: id, label, source, cli ref and parameters."""
    from shared.ta.strategies import KINDS

    out = [{"id": f"builtin:{k}", "label": k, "source": "built-in", "ref": k,
            "params": _builtin_params(k)} for k in sorted(KINDS)]
    for key, folder in strategy_dirs(settings).items():
        if not folder.is_dir():
            continue
        for f in sorted(folder.glob("*.py")):
            for cls, params in file_classes(f):
                out.append({"id": f"{key}:{f.name}:{cls}", "label": f"{f.name} · {cls}",
                            "source": key, "ref": f"{_shown(f)}:{cls}",
                            "params": [{"name": n, "default": v, "type": _kind(v), "hint": ""}
                                       for n, v in params.items()]})
    return out


def find_strategy(settings: Settings, sid: str) -> dict[str, Any]:
    """Return the listed strategy ``sid``.

    Raises:
        ValidationError: ``sid`` is not one of the listed strategies.
    """
    for s in list_strategies(settings):
        if s["id"] == sid:
            return s
    raise ValidationError(f"unknown strategy {sid[:80]!r}: pick one from the list (a built-in "
                          "kind, or a file in docs/strategies or the strategies folder)",
                          field="strategy")


def _coerce(name: str, kind: str, value: Any) -> Any:
    where = f"params.{name}"
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValidationError(f"{name} must be true or false, was {str(value)[:40]!r}", field=where)
    if kind in ("int", "number"):
        if isinstance(value, bool):
            raise ValidationError(f"{name} must be a number, was {value}", field=where)
        try:
            num = float(value)
        except (TypeError, ValueError):
            num = float("nan")
        if num != num or num in (float("inf"), float("-inf")):
            what = "a whole number" if kind == "int" else "a number"
            raise ValidationError(f"{name} must be {what}, was {str(value)[:40]!r}", field=where)
        if kind == "int":
            if num != int(num):
                raise ValidationError(f"{name} must be a whole number, was {value}", field=where)
            return int(num)
        return num
    return str(value)[:200]


def check_params(strategy: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Return ``params`` typed as the strategy's defaults (and, for a built-in kind, checked by
    its pydantic model).

    Raises:
        ValidationError: an unknown parameter, a value of the wrong type, or one the built-in
            kind's model refuses, with the field ``params.<name>`` and what to type.
    """
    spec = {p["name"]: p["type"] for p in strategy["params"]}
    out = {}
    for name, value in params.items():
        if name not in spec:
            raise ValidationError(f"{strategy['label']} has no parameter {name[:40]!r}; it takes: "
                                  f"{', '.join(spec) or 'none'}", field=f"params.{name[:40]}")
        out[name] = _coerce(name, spec[name], value)
    if strategy["source"] == "built-in":
        from shared.ta.strategies import KINDS

        try:
            KINDS[strategy["ref"]].params.model_validate(out)
        except PydanticError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(x) for x in err["loc"])
            msg = str(err["msg"]).removeprefix("Value error, ")
            raise ValidationError(f"{loc + ': ' if loc else ''}{msg}",
                                  field=f"params.{loc}" if loc else "params") from None
    return out


def list_datasets() -> list[dict[str, Any]]:
    """Return the bundled data files: id, label, the symbol and the zone of their times."""
    from shared.market.csv_provider import bundled_datasets

    return [{"id": f"bundled:{p.name}", "label": p.stem, "symbol": p.stem.upper(),
             "tz": "UTC" if p.stem.upper() in UTC_FILES else "America/New_York"}
            for p in bundled_datasets()]


def find_dataset(name: str) -> Path:
    """Return the path of bundled file ``name``.

    Raises:
        ValidationError: no bundled file has that name.
    """
    from shared.market.csv_provider import bundled_datasets

    for p in bundled_datasets():
        if p.name == name:
            return p
    known = ", ".join(p.name for p in bundled_datasets())
    raise ValidationError(f"no bundled data file {name[:60]!r}; known: {known}", field="data.name")
