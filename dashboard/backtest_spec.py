"""A backtest the page asks for (``RunBody``), checked, and the replay command it becomes."""
from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dashboard.backtest_catalog import check_params, find_dataset, find_strategy
from dashboard.backtest_runs import RunStore
from shared.config import ROOT, Settings
from shared.errors import ValidationError

Param = bool | int | float | str


class DataSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["bundled", "upload", "market"] = Field(
        description="a bundled file, a CSV uploaded first, or the built-in market")
    name: str | None = Field(None, max_length=100,
                             description="bundled: the file's name; upload: the upload's id")
    start: date | None = Field(None, description="market: first session (YYYY-MM-DD)")
    end: date | None = Field(None, description="market: last session (YYYY-MM-DD)")
    universe: int = Field(10, ge=1, le=100, description="market: the first N symbols")

    @model_validator(mode="after")
    def _complete(self) -> DataSpec:
        if self.kind != "market" and not self.name:
            raise ValueError("pick a data file (name)")
        if self.kind == "market":
            if self.start is None or self.end is None:
                raise ValueError("give the market's start and end dates (YYYY-MM-DD)")
            if self.end < self.start:
                raise ValueError(f"end ({self.end}) is before start ({self.start})")
        return self


class RunBody(BaseModel):
    """One backtest: strategy and parameters, data, costs and sizing."""

    model_config = ConfigDict(extra="forbid")
    strategy: str = Field(max_length=200, description="an id from GET /backtests/catalog")
    params: dict[str, Param] = Field(default_factory=dict, max_length=50)
    data: DataSpec
    symbol: str | None = Field(None, pattern=r"^[A-Za-z0-9._-]{1,20}$")
    tz: str = Field("America/New_York", max_length=60,
                    description="the zone of the file's naive times (UTC for coins and FX)")
    dedupe: bool = Field(False, description="keep the last row of a time seen twice")
    drop_missing: bool = Field(False, description="leave out rows with a missing price")
    cash: Decimal = Field(Decimal(10000), gt=0, le=Decimal("1e12"))
    commission: Decimal = Field(Decimal(0), ge=0, le=Decimal("0.1"),
                                description="fraction of each fill's notional (0.001 = 0.1%)")
    slippage_bps: Decimal = Field(Decimal(0), ge=0, le=1000)
    sizing: Literal["all_in", "fixed", "percent"] = "all_in"
    sizing_value: Decimal | None = Field(None, gt=0, le=Decimal("1e12"),
                                         description="fixed: dollars; percent: % of equity")
    qty_step: Decimal = Field(Decimal(1), gt=0, le=Decimal("1e6"))
    finalize_trades: bool = False
    allow_short: bool = True

    @field_validator("tz")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}: type e.g. UTC or America/New_York") from None
        return v

    @model_validator(mode="after")
    def _sizing_value(self) -> RunBody:
        if self.sizing != "all_in" and self.sizing_value is None:
            what = "dollars per trade" if self.sizing == "fixed" else "percent of equity"
            raise ValueError(f"sizing {self.sizing} needs sizing_value ({what})")
        if self.sizing == "percent" and self.sizing_value and self.sizing_value > 100:
            raise ValueError(f"sizing_value is a percent of equity: at most 100, "
                             f"was {self.sizing_value}")
        return self


def _num(d: Decimal) -> str:
    return format(d.normalize(), "f")


def resolve(settings: Settings, store: RunStore, body: RunBody) -> dict[str, Any]:
    """Return the run's checked pieces: strategy, typed params, data path and a config to show.

    Raises:
        ValidationError: an unknown strategy, a bad parameter, or unknown data.
    """
    strat = find_strategy(settings, body.strategy)
    params = check_params(strat, body.params)
    path: Path | None = None
    if body.data.kind == "bundled":
        path = find_dataset(body.data.name or "")
        label = path.stem
    elif body.data.kind == "upload":
        path = store.upload_path(body.data.name or "")
        label = "uploaded file"
    else:
        label = f"market {body.data.start}..{body.data.end}, {body.data.universe} symbols"
    symbol = body.symbol or (path.stem.upper() if path and body.data.kind == "bundled" else None)
    if body.data.kind == "upload" and not symbol:
        raise ValidationError("type the symbol of the uploaded file's bars", field="symbol")
    config = {**body.model_dump(mode="json"), "params": {p["name"]: p["default"]
                                                          for p in strat["params"]} | params,
              "symbol": symbol, "strategy_label": strat["label"], "data_label": label}
    return {"strategy": strat, "params": params, "path": path, "symbol": symbol,
            "config": config}


def build_argv(body: RunBody, run: dict[str, Any], out: Path) -> list[str]:
    """Return the ``hybrid_manager.py replay`` command of ``body`` (with ``--progress``)."""
    argv = [sys.executable, str(ROOT / "hybrid_manager.py"), "replay", "--progress"]
    if body.data.kind == "market":
        argv += ["--market", f"{body.data.start}:{body.data.end}",
                 "--universe", str(body.data.universe)]
    else:
        argv += ["--data", str(run["path"]), "--symbol", run["symbol"], "--tz", body.tz]
        argv += ["--dedupe"] * body.dedupe + ["--drop-missing"] * body.drop_missing
    argv += ["--strategy", run["strategy"]["ref"]]
    for k, v in run["params"].items():
        argv += ["--param", f"{k}={json.dumps(v)}"]
    sizing = "all_in" if body.sizing == "all_in" else f"{body.sizing}:{_num(body.sizing_value)}"  # type: ignore[arg-type]
    argv += ["--cash", _num(body.cash), "--commission", _num(body.commission),
             "--slippage-bps", _num(body.slippage_bps), "--sizing", sizing,
             "--qty-step", _num(body.qty_step)]
    argv += ["--finalize-trades"] * body.finalize_trades + ["--no-short"] * (not body.allow_short)
    return [*argv, "--out", str(out)]


#: the loader's advice -> the page's option that follows it
_OPTIONS = {"--drop-missing": "drop_missing", "--dedupe": "dedupe", "--tz": "tz"}


def check_data(path: Path, symbol: str | None, tz: str, dedupe: bool,
               drop_missing: bool) -> dict[str, Any]:
    """Return the bars, first and last time of ``path`` as the replay will read them.

    Raises:
        ValidationError: the loader's message in its words, the file's name left out, with
            ``details.options`` naming the page's options that would fix it.
    """
    from backtest.data import LoadOptions, load_bars

    try:
        frame = load_bars(path, LoadOptions(symbol=symbol, tz=tz, dedupe=dedupe,
                                            drop_missing=drop_missing))
    except ValidationError as exc:
        msg = exc.message.replace(f"{path}: ", "").replace(str(path), "the file")
        opts = [o for flag, o in _OPTIONS.items() if flag in msg]
        raise ValidationError(msg, field="data", details={"options": opts}) from None
    except ValueError as exc:  # pandas' own words for a file that is not a table of bars
        raise ValidationError(f"the file cannot be read as bars: {exc}", field="data",
                              details={"options": []}) from None
    return {"bars": len(frame), "first": frame.index[0].isoformat(),
            "last": frame.index[-1].isoformat()}
