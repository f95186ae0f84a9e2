"""Computed indicator series for one symbol and timeframe, extended bar by bar.

``SeriesState`` keeps the inputs and every output; ``append`` computes only what a new bar
changes: a tail of ``spec.tail_bars`` inputs for TA-Lib functions (see
``indicators._classify``), the current session (``N + 1`` sessions for relative volume) for
the session indicators, one overlapping bar for running sums (OBV, AD), and the whole series
only for the few functions that never forget their start.  Older values never change because
no indicator looks ahead.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from shared.ta.indicators import IndicatorSpec
from shared.ta.sessions import NY, SessionRules, layout

COLUMNS = ("open", "high", "low", "close", "volume")
_BLOCK_VALUES = 16_384


class SeriesState:
    """Inputs and outputs of a set of indicators over one growing bar series."""

    def __init__(self, specs: Sequence[IndicatorSpec], ts_ns: np.ndarray,
                 data: Mapping[str, np.ndarray], rules: SessionRules = NY,
                 outputs: dict[str, dict[str, np.ndarray]] | None = None) -> None:
        """Compute every spec over the whole series (unless ``outputs`` already holds them).

        Raises:
            ValidationError: when the series is shorter than a spec needs.
        """
        self.specs = list(specs)
        self.rules = rules
        # The arrays are kept, not copied: the state never writes into them (append and trim
        # build new arrays), and the caller hands over freshly read bars.
        self.ts = np.asarray(ts_ns, dtype="int64")
        self.data = {c: np.asarray(data[c], dtype="float64") for c in COLUMNS if c in data}
        self.outputs = outputs if outputs is not None else {
            s.key: s.compute(self.data, self.ts) for s in self.specs}
        self.recomputed_bars = 0  # inputs re-read by appends (for tests and metrics)

    def __len__(self) -> int:
        return int(self.ts.size)

    @property
    def nbytes(self) -> int:
        """Bytes held by the bars and every indicator output (what a cache of states holds)."""
        return int(self.ts.nbytes + sum(a.nbytes for a in self.data.values())
                   + sum(a.nbytes for v in self.outputs.values() for a in v.values()))

    @property
    def last_ts(self) -> int:
        return int(self.ts[-1])

    def append(self, ts_ns: np.ndarray, data: Mapping[str, np.ndarray]) -> None:
        """Add bars after the last one and extend every output.

        Raises:
            ValueError: when the new bars do not start after the last cached bar.
        """
        ts_new = np.asarray(ts_ns, dtype="int64")
        if ts_new.size == 0:
            return
        if ts_new[0] <= self.ts[-1]:
            raise ValueError("appended bars must start after the last cached bar")
        old = self.ts.size
        self.ts = np.concatenate([self.ts, ts_new])
        self.data = {c: np.concatenate([a, np.asarray(data[c], dtype="float64")])
                     for c, a in self.data.items()}
        for spec in self.specs:
            self.outputs[spec.key] = self._extend(spec, old)

    def _session_start(self, index: int, back: int) -> int:
        """Return the first bar of the session ``back`` sessions before the one at ``index``."""
        lay = layout(self.ts, self.rules)
        target = max(int(lay.session[index]) - back, 0)
        return int(lay.starts[target])

    def _extend(self, spec: IndicatorSpec, old: int) -> dict[str, np.ndarray]:
        prev = self.outputs[spec.key]
        if spec.history == "session":
            back = int(spec.param_dict["sessions"]) if spec.name == "RVOL" else 0
            start = self._session_start(old, back)
        elif spec.history == "cumulative":
            start = old - 1
        elif spec.tail_bars is None:
            start = 0
        else:
            start = max(0, old - spec.tail_bars + 1)
        self.recomputed_bars += self.ts.size - start
        window = {c: a[start:] for c, a in self.data.items()}
        tail = spec.compute(window, self.ts[start:])
        out = {}
        for name, series in tail.items():
            new = series[old - start:]
            if spec.history == "cumulative":
                # Running sums restart at the window; re-anchor them on the cached level.
                new = new - series[0] + prev[name][old - 1]
            out[name] = np.concatenate([prev[name], new])
        return out

    def truncate(self, n: int) -> None:
        """Keep only the first ``n`` bars: those a clock set back can still see.

        The outputs of the bars kept are exactly what a run over them alone gives, because no
        indicator looks ahead.
        """
        if n < self.ts.size:
            self.ts = self.ts[:n].copy()
            self.data = {c: a[:n].copy() for c, a in self.data.items()}
            self.outputs = {k: {o: a[:n].copy() for o, a in v.items()}
                            for k, v in self.outputs.items()}

    def trim(self, keep: int) -> None:
        """Drop all but the last ``keep`` bars (outputs keep the values already computed)."""
        if self.ts.size > keep:
            self.ts = self.ts[-keep:].copy()
            self.data = {c: a[-keep:].copy() for c, a in self.data.items()}
            self.outputs = {k: {o: a[-keep:].copy() for o, a in v.items()}
                            for k, v in self.outputs.items()}


def build_states(specs: Sequence[IndicatorSpec],
                 series: Sequence[tuple[np.ndarray, Mapping[str, np.ndarray]]],
                 rules: SessionRules = NY) -> list[SeriesState]:
    """Return one ``SeriesState`` per (times, data) pair, computing a batch at once.

    TA-Lib runs per series (it is one C call each); the session indicators run once over the
    stacked (series x bars) panel of every group sharing a time axis, since their numpy
    overhead per call is what dominates on a few hundred bars.

    Raises:
        ValidationError: when a series is shorter than a spec needs.
    """
    per_row = [s for s in specs if not s.info.custom]
    panel = [s for s in specs if s.info.custom]
    outputs = _run_rows(per_row, series)
    # Series sharing a time axis form one panel; keyed by the axis' bytes (exact equality,
    # hashed once), which is cheaper than comparing arrays pairwise.
    groups: dict[bytes, list[int]] = {}
    if panel:
        for i, (ts, _) in enumerate(series):
            groups.setdefault(np.asarray(ts, "int64").tobytes(), []).append(i)
    for same in groups.values():
        ts = series[same[0]][0]
        # Blocks of rows small enough (about 128 KiB per array) that numpy's temporaries come
        # from the warm heap rather than fresh pages, which dominate on big panels here.
        rows = max(1, _BLOCK_VALUES // max(ts.size, 1))
        cols = [c for c in COLUMNS if c in series[same[0]][1]]
        # One buffer per column, reused by every block and filled row by row: np.vstack's
        # per-array checks cost more than the copies.
        bufs = {c: np.empty((min(rows, len(same)), ts.size)) for c in cols}
        for b in range(0, len(same), rows):
            block = same[b:b + rows]
            stacked = {}
            for c in cols:
                buf = bufs[c][:len(block)]
                for j, i in enumerate(block):
                    buf[j] = series[i][1][c]
                stacked[c] = buf
            for s in panel:
                res = s.compute(stacked, ts)
                for j, i in enumerate(block):
                    outputs[i][s.key] = {o: a[j] for o, a in res.items()}
    return [SeriesState(specs, ts, d, rules, outputs[i]) for i, (ts, d) in enumerate(series)]


def _run_rows(specs: Sequence[IndicatorSpec],
              series: Sequence[tuple[np.ndarray, Mapping[str, np.ndarray]]]
              ) -> list[dict[str, dict[str, np.ndarray]]]:
    """Return the TA-Lib outputs of every series, through a call plan resolved once.

    The plan holds each function, its input names, positional parameters and output names,
    so the loop per series is the C calls and little else; lengths are checked once per
    series rather than once per call.

    Raises:
        ValidationError: when a series is shorter than a spec needs, or lacks an input.
    """
    if not specs:
        return [{} for _ in series]
    plan = [(s.key, s._fn, s.info.inputs, tuple(v for _, v in s.params), s.info.outputs)
            for s in specs]
    need = max(s.min_bars for s in specs)
    inputs = {i for s in specs for i in s.info.inputs}
    out = []
    for _, d in series:
        first = next(iter(d.values()))
        if len(first) < need or not inputs <= d.keys():
            out.append({s.key: s.compute(d) for s in specs})  # raises the precise error
            continue
        res: dict[str, dict[str, np.ndarray]] = {}
        for key, fn, ins, args, outs in plan:
            r = fn(*[d[i] for i in ins], *args)
            res[key] = {outs[0]: r} if len(outs) == 1 else dict(zip(outs, r, strict=True))
        out.append(res)
    return out
