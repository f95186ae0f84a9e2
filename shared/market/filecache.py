"""The file cache: ``data-cache/<symbol>/<timeframe>/<year>.csv.gz`` plus ``<year>.json``.

Each year file holds bar frames as CSV (ts as ISO UTC); the JSON beside it says where the bars
came from, how many rows, the first and last bar and the last batch's quality.  Writes merge
with what is there (newer rows win) and go through a temp file + rename so readers never see a
half-written file.
"""
from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from shared.market.calendar import to_utc
from shared.market.frames import ALL_COLUMNS, empty_frame


def _safe(symbol: str) -> str:
    return symbol.replace("/", "-")


class FileCache:
    """Bars by symbol, timeframe and year under ``root``."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()

    def path(self, symbol: str, timeframe: str, year: int) -> Path:
        return self.root / _safe(symbol) / timeframe / f"{year}.csv.gz"

    def _load(self, path: Path) -> pd.DataFrame | None:
        if not path.exists():
            return None
        df = pd.read_csv(path, compression="gzip")
        df.index = pd.DatetimeIndex(pd.to_datetime(df.pop("ts"), utc=True), name="ts")
        df["trade_count"] = df["trade_count"].astype("Int64") if "trade_count" in df else pd.NA
        return df

    def write(self, symbol: str, timeframe: str, df: pd.DataFrame, *, source: str,
              quality: float = 1.0) -> list[Path]:
        """Merge ``df`` into the year files; return the paths written."""
        if len(df) == 0:
            return []
        written = []
        with self._lock:
            for year, part in df.groupby(df.index.year):
                path = self.path(symbol, timeframe, int(year))
                old = self._load(path)
                part = part[[c for c in ALL_COLUMNS if c in part.columns]]
                merged = part if old is None else pd.concat([old, part])
                merged = merged[~merged.index.duplicated(keep="last")].sort_index()
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp")
                out = merged.copy()
                out.insert(0, "ts", out.index.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
                out.to_csv(tmp, index=False, compression="gzip")
                os.replace(tmp, path)
                meta = {"symbol": symbol, "timeframe": timeframe, "year": int(year),
                        "source": source, "rows": len(merged),
                        "first_bar": merged.index[0].isoformat(),
                        "last_bar": merged.index[-1].isoformat(),
                        "quality": round(float(quality), 4),
                        "updated_at": datetime.now(UTC).isoformat(timespec="seconds")}
                path.with_name(f"{year}.json").write_text(json.dumps(meta, indent=1))
                written.append(path)
        return written

    def read(self, symbol: str, timeframe: str, start: object, end: object) -> pd.DataFrame:
        """Return the cached bars with ``start <= ts < end`` (empty when none)."""
        s, e = to_utc(start), to_utc(end)
        parts = [self._load(self.path(symbol, timeframe, y)) for y in range(s.year, e.year + 1)]
        parts = [p for p in parts if p is not None]
        if not parts:
            return empty_frame(symbol, timeframe, "file_cache")
        df = pd.concat(parts) if len(parts) > 1 else parts[0]
        df = df[(df.index >= s) & (df.index < e)]
        df.attrs.update(symbol=symbol, timeframe=timeframe, source="file_cache", stale=False)
        return df

    def metadata(self, symbol: str, timeframe: str, year: int) -> dict[str, object] | None:
        p = self.path(symbol, timeframe, year).with_name(f"{year}.json")
        return json.loads(p.read_text()) if p.exists() else None
