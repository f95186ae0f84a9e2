"""``BarReader`` is the one way services read bars, and ``BarArrays`` the one array type they
get: the data manager satisfies the protocol, and no service declares its own bar arrays."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path

from shared.db import Database
from shared.market import BarReader, ClockView, DataManager

ROOT = Path(__file__).resolve().parents[3]
PRICES = {"open", "high", "low", "close"}
ARRAY_TYPES = ("ndarray", "NDArray", "ArrayLike")

#: Classes allowed to hold price arrays, and why they are not one symbol's bars.
ALLOWED = {
    ("services/scanner/domain/panel.py", "Panel"): "a symbols x bars grid of a whole universe",
}


def test_the_data_manager_is_a_bar_reader(settings, db: Database) -> None:  # type: ignore[no-untyped-def]
    dm = DataManager(settings, db)
    try:
        assert isinstance(dm, BarReader)
        assert isinstance(dm.clock, ClockView)
    finally:
        dm.close()
    for name in ("get_bars", "get_bars_many"):
        want = inspect.signature(getattr(BarReader, name))
        got = inspect.signature(getattr(DataManager, name))
        # same parameters, kinds and defaults, so a call written against the protocol works
        assert [(p.name, p.kind, p.default) for p in got.parameters.values()] == \
            [(p.name, p.kind, p.default) for p in want.parameters.values()], name


def _fields(cls: ast.ClassDef) -> dict[str, str]:
    """Return the names a class declares for its instances, with their annotations ('' when
    assigned in ``__init__`` without one)."""
    out = {st.target.id: ast.unparse(st.annotation) for st in cls.body
           if isinstance(st, ast.AnnAssign) and isinstance(st.target, ast.Name)}
    for fn in cls.body:
        if isinstance(fn, ast.FunctionDef) and fn.name == "__init__":
            for st in ast.walk(fn):
                targets = st.targets if isinstance(st, ast.Assign) else \
                    [st.target] if isinstance(st, ast.AnnAssign) else []
                for t in targets:
                    if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and \
                            t.value.id == "self":
                        out.setdefault(t.attr, "")
    return out


def test_no_service_declares_its_own_bar_arrays() -> None:
    """A class holding open/high/low/close arrays is a copy of ``BarArrays``: hold one (as
    ``pattern_analysis.domain.Derived`` does for its ATR) instead of re-declaring them."""
    found = []
    for path in sorted((ROOT / "services").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(), rel)):
            if not isinstance(node, ast.ClassDef) or (rel, node.name) in ALLOWED:
                continue
            fields = _fields(node)
            if not PRICES <= fields.keys():
                continue
            kinds = {fields[p] for p in PRICES}
            # scalar value types (one bar, a request body) are fine; arrays, or untyped
            # attributes set in ``__init__``, are not
            if any(t in k for k in kinds for t in ARRAY_TYPES) or "" in kinds:
                found.append(f"{rel}: {node.name}")
    assert not found, f"bar array classes outside shared.market.frames.BarArrays: {found}"
