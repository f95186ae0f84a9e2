"""Where articles come from, behind one interface: ``fetch(symbols, start, end)``.

- ``SimulatedSource``: offline and deterministic, stories generated from the market's moves.
- ``AlpacaSource``: Alpaca's news API through alpaca-py's ``NewsClient``.
- ``FileSource``: an RSS/Atom feed (feedparser) or a JSON file of articles.
"""
from __future__ import annotations

import json
import re
import warnings
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from services.news.domain import Article, GeneratorConfig, generate
from services.news.market import Market
from shared.errors import ServiceUnavailable, ValidationError


class NewsSource(Protocol):
    name: str

    def fetch(self, symbols: list[str], start: datetime, end: datetime) -> list[Article]: ...


class SimulatedSource:
    """Stories tied to the built-in market: gaps and big moves make headlines."""

    name = "simulated"

    def __init__(self, market: Market, cfg: GeneratorConfig) -> None:
        self.market = market
        self.cfg = cfg

    def fetch(self, symbols: list[str], start: datetime, end: datetime) -> list[Article]:
        s, e = pd.Timestamp(start), pd.Timestamp(end)
        out: list[Article] = []
        for sym in symbols:
            # One session earlier so the first session's gap has a previous close.
            daily = self.market.sessions(sym, s - pd.Timedelta(days=6), e + pd.Timedelta(days=1))
            for a in generate(sym, daily, self.cfg, self.market.name(sym)):
                # Windows are on known_at (>= created_at), so a story whose move is still
                # unfolding comes in a later fetch, once, instead of never.
                known = pd.Timestamp(a.known_at or a.created_at)
                if s <= known < e and pd.Timestamp(a.created_at) <= e:
                    out.append(a)
        return out


class AlpacaSource:
    """Alpaca's news through alpaca-py (``url_override`` points it at a fake in tests)."""

    name = "alpaca"

    def __init__(self, api_key: str, secret_key: str, url_override: str | None = None,
                 limit: int = 50) -> None:
        with warnings.catch_warnings():
            # alpaca-py imports websockets.legacy, which warns on import (not our use of it).
            warnings.simplefilter("ignore", DeprecationWarning)
            from alpaca.data.historical.news import NewsClient

        self.client = NewsClient(api_key=api_key, secret_key=secret_key,
                                 url_override=url_override)
        self.limit = limit

    def fetch(self, symbols: list[str], start: datetime, end: datetime) -> list[Article]:
        """Return Alpaca's articles on ``symbols`` published in ``[start, end)``.

        Raises:
            ServiceUnavailable: when Alpaca does not answer or answers with an error.
        """
        from alpaca.data.requests import NewsRequest

        req = NewsRequest(symbols=",".join(symbols) if symbols else None, start=start, end=end,
                          limit=None, include_content=True, sort="asc")
        try:
            result = self.client.get_news(req)
        except Exception as exc:  # the SDK raises APIError, requests and JSON errors
            raise ServiceUnavailable(f"Alpaca news failed: {type(exc).__name__}: {exc}"[:300],
                                     field="alpaca") from None
        items = result.data.get("news", []) if hasattr(result, "data") else result.get("news", [])
        return [_from_alpaca(n) for n in items]


def _from_alpaca(n: Any) -> Article:
    get = (lambda k: n.get(k)) if isinstance(n, dict) else (lambda k: getattr(n, k, None))
    created = pd.Timestamp(get("created_at")).tz_convert("UTC").to_pydatetime()
    updated = get("updated_at")
    return Article(
        headline=str(get("headline") or ""), created_at=created,
        updated_at=pd.Timestamp(updated).tz_convert("UTC").to_pydatetime() if updated else None,
        source=str(get("source") or "alpaca"), symbols=tuple(get("symbols") or ()),
        summary=str(get("summary") or ""), author=str(get("author") or ""), url=get("url"),
        content=str(get("content") or ""), external_id=f"alpaca:{get('id')}", origin="alpaca")


_CASHTAG = re.compile(r"\$([A-Z]{1,5})\b")


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()


class FileSource:
    """Articles from an RSS/Atom feed or a JSON file (a list, or ``{"news": [...]}``)."""

    name = "file"

    def __init__(self, path: str | Path, known_symbols: set[str] | None = None) -> None:
        self.path = Path(path)
        self.known = known_symbols

    def fetch(self, symbols: list[str], start: datetime, end: datetime) -> list[Article]:
        wanted = set(symbols)
        return [a for a in self.read()
                if start <= a.created_at < end and (not wanted or wanted & set(a.symbols))]

    def read(self) -> list[Article]:
        """Return every article in the file.

        Raises:
            ValidationError: when the file is missing or is neither a feed nor article JSON.
        """
        if not self.path.is_file():
            raise ValidationError(f"news file {self.path} does not exist", field="file_path")
        text = self.path.read_text(encoding="utf-8")
        if text.lstrip().startswith(("{", "[")):
            return self._json(text)
        return self._feed(text)

    def _json(self, text: str) -> list[Article]:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"{self.path}: not valid JSON: {exc}", field="file_path") from None
        items = data.get("news", []) if isinstance(data, dict) else data
        if not isinstance(items, list):
            raise ValidationError(f"{self.path}: expected a list of articles", field="file_path")
        out = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not item.get("headline") or not _when(
                    item.get("created_at")):
                raise ValidationError(f"{self.path}: article {i} needs a headline and "
                                      "created_at", field=f"news.{i}")
            a = _from_alpaca({**item, "id": item.get("id", i)})
            out.append(replace(a, origin="file",
                               external_id=f"file:{item.get('id', a.headline)}"))
        return out

    def _feed(self, text: str) -> list[Article]:
        import feedparser

        parsed = feedparser.parse(text)
        if parsed.bozo and not parsed.entries:
            raise ValidationError(f"{self.path}: not an RSS/Atom feed ({parsed.bozo_exception})",
                                  field="file_path")
        source = parsed.feed.get("title", "feed")
        out = []
        for e in parsed.entries:
            # dict.get skips feedparser's deprecated updated->published key mapping.
            updated = _when(dict.get(e, "updated"))
            when = _when(dict.get(e, "published")) or updated
            title = (e.get("title") or "").strip()
            if not title or when is None:
                continue
            tags = {t.get("term", "").upper() for t in e.get("tags", [])}
            syms = set(_CASHTAG.findall(title)) | {t for t in tags if re.fullmatch(r"[A-Z]{1,5}", t)}
            if self.known is not None:
                syms &= self.known
            out.append(Article(
                headline=title, created_at=when, updated_at=updated or when,
                source=source, symbols=tuple(sorted(syms)),
                summary=re.sub(r"<[^>]+>", "", e.get("summary", "")).strip(),
                author=e.get("author", ""), url=e.get("link"),
                external_id=f"feed:{e.get('id') or e.get('link') or title}", origin="file"))
        return out
