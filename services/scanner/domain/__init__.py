"""Pure scanning: a symbols x bars panel, vectorised metrics, filters, ranking, explanations.

Indicator helpers (session VWAP, relative volume) come from the technical analysis domain,
so the scanner computes its metrics locally instead of calling that service over HTTP: one
numpy pass over the whole universe beats 500 HTTP round trips.
"""
from services.scanner.domain.filters import METRICS, Filters, Match, scan
from services.scanner.domain.panel import Panel, ScanParams

__all__ = ["METRICS", "Filters", "Match", "Panel", "ScanParams", "scan"]
