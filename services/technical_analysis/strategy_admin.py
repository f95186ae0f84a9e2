"""Use cases of selecting and weighting technical analysis's strategies at run time: list them,
change one, add or delete a user strategy, the change log; and ``sync``, which each analysis
calls so every worker process rebuilds its strategies when the overrides' version moved."""
from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from services.technical_analysis.strategies_store import (
    Effective,
    StrategyStore,
    allowed_dirs,
    check_file,
    check_user_params,
    list_files,
    merge,
    param_defaults,
    ref_of,
)
from shared.config import ROOT
from shared.errors import ConfigError, Conflict, NotFound, ValidationError
from shared.strategy import StrategyError, load_strategy
from shared.ta.strategies import Strategy as KindStrategy

if TYPE_CHECKING:
    from services.technical_analysis.service import TechnicalAnalysisService

log = logging.getLogger(__name__)


def _as_400(exc: ConfigError, name: str) -> ValidationError:
    field = (exc.field or "").split(f"technical.strategies.{name}.", 1)[-1] or "params"
    msg = exc.message.split(f"strategy '{name}': ", 1)[-1]
    msg = msg.removeprefix(f"{field}: ").removeprefix("Input ")  # the field is named apart
    return ValidationError(msg, field=field)


class StrategyAdmin:
    """The run-time strategy overrides of one technical analysis process."""

    def __init__(self, svc: TechnicalAnalysisService) -> None:
        self.svc = svc
        self.store = StrategyStore(svc.db)
        self.version = -1
        self.build_errors: dict[str, str] = {}
        self.eval_errors: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- applying ----------------------------------------------------------------------
    def _build(self, e: Effective) -> Any:
        """Return the runnable strategy of ``e``.

        Raises:
            ConfigError: a file that does not load or a bad parameter.
        """
        if e.kind == "user":
            from shared.ta.user_strategy import (
                UserStrategy,
                resolve_ref,
            )

            return UserStrategy(e.name, resolve_ref(e.file or "", ROOT), e.params, e.weight,
                                e.timeframe)
        return KindStrategy(e.name, e.kind, e.params, e.weight, e.timeframe)

    def sync(self) -> None:
        """Rebuild the strategies from the settings and the overrides when their version moved
        (a strategy that no longer builds is left out and its error kept)."""
        v = self.store.version()
        if v == self.version:
            return
        with self._lock:
            if v == self.version:
                return
            built, errors = [], {}
            for e in merge(self.svc.cfg, self.store.overrides()).values():
                if not e.enabled:
                    continue
                try:
                    built.append(self._build(e))
                except ConfigError as exc:
                    errors[e.name] = exc.message
                    log.warning("strategy %s left out: %s", e.name, exc.message)
            self.svc.strategies = built
            self.build_errors, self.eval_errors = errors, {}
            self.version = v
            log.info("strategies at version %d: %s", v, ", ".join(
                f"{s.name}={s.weight:g}" for s in built))

    def note_signal(self, name: str, rule: str) -> None:
        """Keep a user strategy's last failure (its flat signal's rule says why)."""
        if rule.startswith("strategy error:"):
            self.eval_errors[name] = rule

    # -- reads -------------------------------------------------------------------------
    def _effective(self) -> dict[str, Effective]:
        return merge(self.svc.cfg, self.store.overrides())

    def _describe(self, e: Effective) -> dict[str, Any]:
        cls, err = None, None
        if e.kind == "user":
            try:
                from shared.ta.user_strategy import resolve_ref

                cls = load_strategy(resolve_ref(e.file or "", ROOT))
            except StrategyError as exc:
                err = exc.message
        defaults = param_defaults(e, cls)
        return {"name": e.name, "kind": e.kind, "file": e.file, "source": e.source,
                "enabled": e.enabled, "weight": e.weight, "timeframe": e.timeframe,
                "params": {**defaults, **e.params}, "defaults": defaults,
                "overridden": e.overridden,
                "last_error": err or self.build_errors.get(e.name)
                or self.eval_errors.get(e.name)}

    def list(self) -> dict[str, Any]:
        """Return every strategy with its parameters, weight, state and last error."""
        self.sync()
        eff = self._effective()
        dirs = allowed_dirs(self.svc.cfg, ROOT)
        return {"version": self.version, "strategies": [self._describe(e) for e in eff.values()],
                "allowed_dirs": [str(d.relative_to(ROOT)) if d.is_relative_to(ROOT) else str(d)
                                 for d in dirs]}

    def one(self, name: str) -> dict[str, Any]:
        """Return one strategy as ``list`` shows it.

        Raises:
            NotFound: no such strategy.
        """
        eff = self._effective()
        if name not in eff:
            raise NotFound(f"no strategy {name!r}; known: {sorted(eff)}", field="name")
        return self._describe(eff[name])

    def files(self) -> dict[str, Any]:
        """Return the strategy files of the allowed folders with their classes."""
        return {"files": list_files(allowed_dirs(self.svc.cfg, ROOT), ROOT)}

    def changes(self, name: str | None, limit: int) -> dict[str, Any]:
        """Return the change log, newest first."""
        return {"changes": self.store.changes(name, limit)}

    # -- writes ------------------------------------------------------------------------
    def _check(self, e: Effective) -> None:
        """Raise a 400 naming the field when ``e`` does not build."""
        if e.kind == "user":
            from shared.ta.user_strategy import resolve_ref

            try:
                cls = load_strategy(resolve_ref(e.file or "", ROOT))
            except StrategyError as exc:
                raise ValidationError(exc.message, field="file") from None
            check_user_params(cls, e.params)
        try:
            self._build(e)
        except ConfigError as exc:
            raise _as_400(exc, e.name) from None

    def update(self, name: str, *, enabled: bool | None, weight: float | None,
               params: dict[str, Any] | None, who: str) -> dict[str, Any]:
        """Change a strategy's on/off, weight or parameters (merged over its current ones).

        Raises:
            NotFound: no such strategy.
            ValidationError: a parameter the kind or the class refuses (field params.<name>).
        """
        eff = self._effective()
        if name not in eff:
            raise NotFound(f"no strategy {name!r}; known: {sorted(eff)}", field="name")
        e = eff[name]
        read = self.store.overrides().get(name)
        row = dict(read or {"file": None, "enabled": None, "weight": None, "params": None})
        if enabled is not None:
            e.enabled = row["enabled"] = enabled
        if weight is not None:
            e.weight = row["weight"] = float(weight)
        if params is not None:
            e.params = row["params"] = {**e.params, **params}
        if e.enabled or params is not None:  # a broken strategy can still be switched off
            self._check(e)
        self.store.write(name, row, "update", who, expect=read)
        self.sync()
        return self.one(name)

    def add(self, name: str, file: str, params: dict[str, Any], weight: float, enabled: bool,
            who: str) -> dict[str, Any]:
        """Add a user strategy from a file under the allowed folders.

        Raises:
            Conflict: a strategy of that name exists.
            ValidationError: a file outside the folders, that does not load (file and line),
                or a parameter the class does not take.
        """
        eff = self._effective()
        if name in eff:
            raise Conflict(f"a strategy named {name!r} exists; pick another name or change "
                           f"it with PUT /api/v1/strategies/{name}", field="name")
        path, cls_name = check_file(file, allowed_dirs(self.svc.cfg, ROOT), ROOT)
        try:
            cls = load_strategy(f"{path}:{cls_name}" if cls_name else str(path))
        except StrategyError as exc:
            raise ValidationError(exc.message, field="file") from None
        check_user_params(cls, params)
        e = Effective(name, "user", ref_of(path, cls.__name__, ROOT), enabled, float(weight),
                      dict(params), None, "added")
        self._check(e)
        self.store.write(name, {"file": e.file, "enabled": enabled, "weight": float(weight),
                                "params": dict(params)}, "add", who)
        self.sync()
        return self.one(name)

    def delete(self, name: str, who: str) -> dict[str, Any]:
        """Delete a user strategy added at run time.

        Raises:
            NotFound: no such strategy.
            Conflict: a strategy of the settings (disable it instead).
        """
        eff = self._effective()
        if name not in eff:
            raise NotFound(f"no strategy {name!r}; known: {sorted(eff)}", field="name")
        if eff[name].source != "added":
            raise Conflict(f"{name!r} comes from the settings and cannot be deleted; disable "
                           "it with PUT {\"enabled\": false}", field="name")
        self.store.write(name, None, "delete", who, expect=self.store.overrides().get(name))
        self.sync()
        return {"deleted": name, "version": self.version}


__all__ = ["StrategyAdmin"]
