"""Every ticker the README and docs use in an example is in the default universe."""
from __future__ import annotations

import re
from pathlib import Path

from shared.market.symbols import universe_map
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[3]
_TICKER = r"[A-Z][A-Z0-9.]{0,9}(?:/[A-Z]{3,4})?"
_PATTERNS = (
    re.compile(rf"""\bsymbols?\s*=\s*["']({_TICKER})["']"""),  # symbol="AAPL" (Python)
    re.compile(rf"""["']symbols?["']\s*:\s*["']({_TICKER})["']"""),  # "symbol": "AAPL" (JSON)
    re.compile(r"""["']symbols["']\s*:\s*\[([^\]]*)\]"""),  # "symbols": ["AAPL", ...]
    re.compile(rf"--symbols?[ =]+({_TICKER})\b"),  # --symbol GOOG (CLI)
    re.compile(rf"[?&]symbols?=({_TICKER}(?:,{_TICKER})*)"),  # ?symbol=AAPL (query)
    re.compile(rf"/(?:api/v1|v2)/[a-z_/-]+?/({_TICKER})(?=[/?`\s\"']|$)"),  # /bars/AAPL (path)
)
_CODE = re.compile(r"```.*?```|`[^`\n]+`", re.S)


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def tickers_in(text: str) -> set[str]:
    """Return the tickers named in the code blocks and code spans of a markdown text."""
    found: set[str] = set()
    for code in _CODE.findall(text):
        for pattern in _PATTERNS:
            for group in pattern.findall(code):
                found.update(t for t in re.findall(_TICKER, group))
    return found


def test_the_parser_finds_tickers_in_each_kind_of_example() -> None:
    text = """```python
    MarketOrderRequest(symbol="AAPL", qty=1)
    requests.post(url, json={"symbol": "MSFT", "symbols": ["NVDA", "BTC/USD"]})
    ```
    `hybrid_manager.py replay --symbol GOOG` and `GET /api/v1/indicators/SPY?names=RSI`,
    `/v2/stocks/bars?symbols=QQQ,TSLA`; prose symbol="NOPE" outside code is not an example."""
    assert tickers_in(text) == {"AAPL", "MSFT", "NVDA", "BTC/USD", "GOOG", "SPY", "QQQ", "TSLA"}


def test_every_ticker_in_the_readme_and_docs_is_in_the_default_universe(tmp_path: Path) -> None:
    cfg = make_settings(tmp_path).market  # config/default.yaml
    universe = universe_map(cfg.seed, cfg.universe_size, tuple(cfg.crypto_symbols))
    used = {path.name: tickers_in(path.read_text(encoding="utf-8")) for path in doc_files()}
    assert "AAPL" in used["README.md"]  # the Alpaca SDK example
    missing = {name: sorted(t for t in ts if t not in universe) for name, ts in used.items()}
    assert not any(missing.values()), missing
