"""Check a change of the live strategy settings before anything is stored.

A change is merged over the live settings and validated against the whole ``Strategy`` model
(``shared/config_sections/coordination.py``: every number finite and inside its documented
range), then against what the model cannot know: the scanner presets that exist and the
paper account's equity (no fixed-dollar size or dollar risk larger than the account).  Every
bad field is reported, each with its allowed values in plain words, so a form can show each
message beside its field.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from shared.config_sections.coordination import Strategy
from shared.domain.money import D
from shared.errors import ValidationError

#: the dollar amounts that may not exceed the account's equity
ACCOUNT_BOUND = ("sizing.fixed_dollars", "sizing.risk_dollars")


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` with ``patch`` applied, nested dicts merged key by key."""
    out = dict(base)
    for k, v in patch.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Return ``{"a.b": value}`` for every leaf of nested dicts."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def _field(path: Sequence[str]) -> Any:
    """Return the pydantic FieldInfo at ``path`` of ``Strategy`` (None when unknown)."""
    model: Any = Strategy
    info = None
    for part in path:
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return None
        info = model.model_fields.get(part)
        if info is None:
            return None
        model = info.annotation
    return info


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


def allowed(path: str) -> str | None:
    """Return the allowed values of the setting at dotted ``path`` in plain words."""
    info = _field(path.split("."))
    if info is None:
        return None
    ann = info.annotation
    union = get_origin(ann) in (Union, UnionType)
    args = [a for a in get_args(ann) if a is not type(None)] if union else [ann]
    nullable = union and type(None) in get_args(ann)
    kind = args[0]
    if get_origin(kind) is Literal:
        text = "one of " + ", ".join(str(a) for a in get_args(kind))
    elif kind is bool:
        text = "true or false"
    elif kind in (int, float, Decimal):
        lo = hi = None
        for m in info.metadata:
            if isinstance(m, Ge | Gt):
                lo = (_num(m.ge), "from") if isinstance(m, Ge) else (_num(m.gt), "above")
            if isinstance(m, Le | Lt):
                hi = (_num(m.le), "to") if isinstance(m, Le) else (_num(m.lt), "below")
        noun = "a whole number" if kind is int else "a number"
        if lo and hi:
            text = (f"{noun} from {lo[0]} to {hi[0]}" if lo[1] == "from" else
                    f"{noun} above {lo[0]} and up to {hi[0]}")
        elif lo:
            text = f"{noun} {'of at least' if lo[1] == 'from' else 'above'} {lo[0]}"
        elif hi:
            text = f"{noun} up to {hi[0]}"
        else:
            text = noun
    elif kind is str:
        text = "text"
    else:
        return None
    return text + (" (or empty for none)" if nullable else "")


def _shown(v: Any) -> str:
    if isinstance(v, float) and not math.isfinite(v):
        return str(v).replace("inf", "Infinity").replace("nan", "NaN")
    return repr(v) if isinstance(v, str) else str(v)


def _pydantic_errors(exc: PydanticError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(x) for x in err["loc"]]
        msg = err["msg"].removeprefix("Value error, ")
        if not loc:  # a rule over several fields: name the first field it mentions
            loc = next(([k] for k in Strategy.model_fields if k in msg), ["strategy"])
            out.append({"field": loc[0], "message": f"{loc[0]}: {msg}", "allowed": None})
            continue
        field = ".".join(loc)
        if err["type"] == "extra_forbidden":
            out.append({"field": field, "message": f"{field} is not a strategy setting",
                        "allowed": None})
            continue
        if len(loc) == 1 and loc[0] in ("weights",) and err["type"] == "value_error":
            out.append({"field": field, "message": f"{field}: {msg}", "allowed": None})
            continue
        words = allowed(field)
        got = _shown(err.get("input"))
        text = f"{field} must be {words}; got {got}" if words else f"{field}: {msg}; got {got}"
        out.append({"field": field, "message": text, "allowed": words})
    return out


def touches_account(patch: Any) -> bool:
    """Return whether ``patch`` sets a dollar amount bounded by the account's equity."""
    flat = flatten(patch) if isinstance(patch, dict) else {}
    return any(k in flat for k in ACCOUNT_BOUND)


def check(live: dict[str, Any], patch: dict[str, Any], *, presets: Iterable[str],
          equity: Decimal | None) -> tuple[dict[str, Any], list[tuple[str, Any, Any]]]:
    """Return the new settings and the (key, old, new) of each changed setting.

    Raises:
        ValidationError: naming the first bad field (``details.errors`` lists every one, each
            with its field, message and allowed values); nothing is to be stored then.
    """
    if not isinstance(patch, dict):
        raise ValidationError("the body must be an object of strategy settings", field="body")
    errors: list[dict[str, Any]] = []
    try:
        new = Strategy.model_validate(merge(live, patch)).model_dump()
    except PydanticError as exc:
        errors = _pydantic_errors(exc)
        new = None
    if new is not None:
        known = sorted(presets)
        preset = new["scanner_preset"]
        if preset is not None and preset not in known:
            errors.append({"field": "scanner_preset",
                           "message": f"scanner_preset '{preset}' is not a scanner preset; "
                                      f"valid: {', '.join(known)} (or empty for none)",
                           "allowed": known})
        touched = flatten(patch)
        flat = flatten(new)
        for key in ACCOUNT_BOUND:
            v = flat.get(key)
            if key in touched and v is not None and equity is not None and D(v) > equity:
                errors.append({"field": key, "message": f"{key} must be above 0 and at most "
                               f"the account's equity (${equity:,.2f}); got {_shown(v)}",
                               "allowed": f"above 0 up to {equity}"})
    if equity is not None:  # the real bound of a dollar amount is the account, not 1e9
        for e in errors:
            if e["field"] in ACCOUNT_BOUND and e["allowed"]:
                words = f"a number above 0 and at most the account's equity (${equity:,.2f})"
                e["message"] = e["message"].replace(e["allowed"], words)
                e["allowed"] = words
    if errors:
        raise ValidationError(errors[0]["message"], field=errors[0]["field"],
                              details={"errors": errors})
    assert new is not None
    fo, fn = flatten(live), flatten(new)
    return new, [(k, fo.get(k), fn[k]) for k in sorted(fn) if fo.get(k) != fn[k]]
