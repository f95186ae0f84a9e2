"""Bar timeframes: canonical names ('1m', '5m', '15m', '1h', '1d') and Alpaca's aliases."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from shared.errors import ValidationError


@dataclass(frozen=True)
class Timeframe:
    """One bar size; ``minutes`` is 1440 for the daily (session) bar."""

    name: str
    minutes: int
    alpaca: str

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.minutes)

    @property
    def is_daily(self) -> bool:
        return self.name == "1d"

    @property
    def pandas_freq(self) -> str:
        return "1D" if self.is_daily else f"{self.minutes}min"

    def __str__(self) -> str:
        return self.name


TIMEFRAMES: dict[str, Timeframe] = {
    t.name: t
    for t in (
        Timeframe("1m", 1, "1Min"),
        Timeframe("5m", 5, "5Min"),
        Timeframe("15m", 15, "15Min"),
        Timeframe("1h", 60, "1Hour"),
        Timeframe("1d", 1440, "1Day"),
    )
}
_ALIASES = {
    **{t.alpaca.lower(): t.name for t in TIMEFRAMES.values()},
    "1min": "1m", "5min": "5m", "15min": "15m", "60m": "1h", "60min": "1h", "1hour": "1h",
    "1day": "1d", "d": "1d", "day": "1d", "daily": "1d", "minute": "1m",
}


def parse_timeframe(value: str | Timeframe) -> Timeframe:
    """Return the ``Timeframe`` named by ``value`` ('5m', '5Min', '1Day'...).

    Raises:
        ValidationError: when the name is not one of the supported timeframes.
    """
    if isinstance(value, Timeframe):
        return value
    key = str(value).strip()
    tf = TIMEFRAMES.get(key) or TIMEFRAMES.get(_ALIASES.get(key.lower(), ""))
    if tf is None:
        raise ValidationError(
            f"unknown timeframe {value!r}; use one of {sorted(TIMEFRAMES)} "
            f"or {[t.alpaca for t in TIMEFRAMES.values()]}", field="timeframe")
    return tf
