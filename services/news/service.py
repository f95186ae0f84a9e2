"""Use cases of the news service: ingest (score, de-duplicate, store), refresh, read, aggregate.

All writes of one ingest run in one transaction, so a batch is stored whole or not at all.
Every read shows only stories published (``created_at``) and known (``known_at``) by the
market clock's "now".
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from services.news import repository as repo
from services.news.domain import (
    Article,
    FinanceSentiment,
    GeneratorConfig,
    dedup_key,
    parse_window,
    scored_text,
    similarity,
    summarize_scores,
    volume_stats,
    window_counts,
)
from services.news.market import Market, MarketView
from services.news.sources import AlpacaSource, FileSource, NewsSource, SimulatedSource
from shared.config import Settings
from shared.db import Database, DatabaseServiceMixin
from shared.db.notify import NEWS, notify
from shared.errors import NotFound, UnprocessableError, ValidationError
from shared.market import alpaca_news

log = logging.getLogger("news")


def _iso(value: datetime | pd.Timestamp) -> str:
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.isoformat()


@dataclass
class IngestResult:
    inserted: list[int] = field(default_factory=list)
    merged: list[int] = field(default_factory=list)
    unchanged: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"inserted": len(self.inserted), "merged": len(self.merged),
                "unchanged": self.unchanged}


class NewsService(DatabaseServiceMixin):
    """Headlines with sentiment, for one database."""

    def __init__(self, settings: Settings, db: Database | None = None,
                 market: Market | None = None, source: NewsSource | None = None) -> None:
        self.settings = settings
        self.cfg = settings.news
        self.init_database(db or settings)
        self.market: Market = market or MarketView(settings)
        self.source: NewsSource = source or self._default_source()
        self.scorer = FinanceSentiment(self.cfg.label_threshold)

    def _default_source(self) -> NewsSource:
        if self.cfg.source == "alpaca" and self.settings.alpaca.configured:
            a = self.settings.alpaca
            return AlpacaSource(a.api_key.get_secret_value(),  # type: ignore[union-attr]
                                a.secret_key.get_secret_value(),  # type: ignore[union-attr]
                                self.cfg.alpaca_url or a.data_url)
        if self.cfg.source == "file" and self.cfg.file_path:
            return FileSource(self.settings.resolve(self.cfg.file_path))
        if self.cfg.source != "simulated":
            log.warning("news source %s is not configured; using the simulated one",
                        self.cfg.source)
        return SimulatedSource(self.market, GeneratorConfig(
            seed=self.cfg.seed, gap_threshold=self.cfg.gap_threshold,
            move_threshold=self.cfg.move_threshold, routine_rate=self.cfg.routine_rate))

    def now(self) -> pd.Timestamp:
        return self.market.now()

    # -- writes --------------------------------------------------------------------------
    def ingest(self, articles: list[Article]) -> IngestResult:
        """Score, de-duplicate and store ``articles`` in one transaction."""
        window = timedelta(hours=self.cfg.dedup_window_hours)
        stamp = _iso(pd.Timestamp.now(tz="UTC"))
        prepared = []
        for a in articles:
            syms = tuple(dict.fromkeys(s.upper() for s in a.symbols))
            score = self.scorer.score(a.text)
            prepared.append((a, syms, score))

        def write(conn: Any) -> IngestResult:
            res = IngestResult()
            for a, syms, score in prepared:
                created = _iso(a.created_at)
                known = _iso(a.known_at or a.created_at)
                updated = _iso(a.updated_at or a.created_at)
                key = dedup_key(a.headline)
                same = repo.by_external_id(conn, a.external_id) if a.external_id else None
                if same is not None:
                    res.unchanged += 1
                    continue
                lo, hi = _iso(a.created_at - window), _iso(a.created_at + window)
                dup = repo.by_key(conn, key, lo, hi)
                if dup is None:
                    dup = next((r for r in repo.candidates(conn, syms, lo, hi)
                                if similarity(r["headline"], a.headline)
                                >= self.cfg.near_duplicate_threshold), None)
                if dup is not None:
                    repo.merge(conn, dup, syms, created, updated, known, count_duplicate=True)
                    res.merged.append(int(dup["id"]))
                    continue
                res.inserted.append(repo.insert(conn, {
                    "headline": a.headline, "summary": a.summary, "author": a.author,
                    "source": a.source, "url": a.url, "symbols": json.dumps(list(syms)),
                    "created_at": created, "updated_at": updated, "content": a.content,
                    "sentiment_score": score.compound, "sentiment_label": score.label,
                    "dedup_key": key, "external_id": a.external_id, "origin": a.origin,
                    "event_type": a.event_type, "duplicate_count": 0, "known_at": known,
                    "ingested_at": stamp}))
            if res.inserted or res.merged:
                notify(conn, NEWS)  # the stream server wakes on commit (PostgreSQL)
            return res

        return self.run_in_transaction(write, "news:ingest")

    def refresh(self, symbols: list[str], force: bool = False) -> dict[str, Any]:
        """Pull what the source has for ``symbols`` since the last pull, up to now.

        A symbol pulled less than ``refresh_interval_s`` ago (market time) is skipped.

        Raises:
            ServiceUnavailable: when the source cannot be reached.
        """
        now = self.now()
        conn = self.get_db_connection()
        by_start: dict[pd.Timestamp, list[str]] = {}
        for sym in symbols:
            last = repo.fetched_until(conn, self.source.name, sym)
            start = (now - pd.Timedelta(days=self.cfg.backfill_days) if last is None
                     else pd.Timestamp(last))
            if not force and last is not None and (now - start).total_seconds() < \
                    self.cfg.refresh_interval_s:
                continue
            by_start.setdefault(start, []).append(sym)
        total = IngestResult()
        for start, syms in by_start.items():
            arts = self.source.fetch(syms, start.to_pydatetime(), now.to_pydatetime())
            arts = [a for a in arts if pd.Timestamp(a.created_at) <= now]
            # most refreshes find nothing new: no write transaction for an empty batch
            res = self.ingest(arts) if arts else IngestResult()
            stamp = _iso(pd.Timestamp.now(tz="UTC"))
            self.run_in_transaction(lambda c, syms=syms, stamp=stamp: [
                repo.set_fetched_until(c, self.source.name, s, _iso(now), stamp) for s in syms],
                "news:fetch_log")
            total.inserted += res.inserted
            total.merged += res.merged
            total.unchanged += res.unchanged
        return {"source": self.source.name, "symbols": len(symbols), **total.to_dict()}

    def rescore(self) -> dict[str, int]:
        """Score every stored story again with the current lexicon; store the ones that moved.

        Stories keep the score they were given when stored, so a lexicon change reaches the
        ones already in the database (and the strategy's means over them) only through this.
        Scoring happens outside the transaction; the write is one short ``executemany``.
        """
        rows = repo.stored_scores(self.db)
        moved = []
        for r in rows:
            s = self.scorer.score(scored_text(r["headline"], r["summary"]))
            if s.compound != r["sentiment_score"] or s.label != r["sentiment_label"]:
                moved.append((s.compound, s.label, int(r["id"])))
        if moved:
            self.run_in_transaction(lambda c: repo.set_scores(c, moved), "news:rescore")
        log.info("news rescore: %d stories checked, %d updated", len(rows), len(moved))
        return {"checked": len(rows), "updated": len(moved)}

    def add(self, article: Article) -> tuple[dict[str, Any], bool]:
        """Store one posted article; return it and whether it was new (else merged).

        Raises:
            UnprocessableError: when it is dated after the market clock's now.
        """
        now = self.now()
        if pd.Timestamp(article.created_at) > now:
            raise UnprocessableError(
                f"created_at {_iso(article.created_at)} is after the market clock's now "
                f"{_iso(now)}", field="created_at")
        res = self.ingest([article])
        news_id = (res.inserted or res.merged)[0]
        row = repo.get(self.db, news_id)
        return self._row(row), bool(res.inserted)

    # -- reads ---------------------------------------------------------------------------
    def list_news(self, symbol: str | None = None, since: datetime | None = None,
                  limit: int | None = None) -> dict[str, Any]:
        """Return the newest stories (refreshing ``symbol`` from the source first)."""
        if symbol:
            self.refresh([symbol])
        now = self.now()
        rows = repo.recent(self.db, _iso(now), symbol, _iso(since) if since else None,
                           min(limit or self.cfg.default_limit, self.cfg.max_limit))
        return {"as_of": now.to_pydatetime(), "symbol": symbol, "count": len(rows),
                "news": [self._row(r) for r in rows]}

    def sentiment(self, symbol: str, window: str | None = None) -> dict[str, Any]:
        """Return mean sentiment, counts and abnormal volume of ``symbol`` over ``window``.

        Raises:
            ValidationError: for a malformed window.
        """
        w = self._window(window)
        self.refresh([symbol])
        return self._sentiment(symbol, w, window, self.now())

    def sentiment_many(self, symbols: list[str], window: str | None = None) -> dict[str, Any]:
        """Return ``sentiment`` for each of ``symbols`` after one refresh of them all.

        One refresh pulls the source once and writes its fetch log in one transaction,
        instead of once per symbol.

        Raises:
            ValidationError: for a malformed window.
        """
        w = self._window(window)
        self.refresh(list(dict.fromkeys(symbols)))
        now = self.now()
        results = [self._sentiment(s, w, window, now) for s in symbols]
        return {"as_of": now.to_pydatetime(), "count": len(results), "results": results}

    def _window(self, window: str | None) -> timedelta:
        try:
            return parse_window(window or self.cfg.default_window)
        except ValueError as exc:
            raise ValidationError(str(exc), field="window") from None

    def _sentiment(self, symbol: str, w: timedelta, window: str | None, now: pd.Timestamp
                   ) -> dict[str, Any]:
        n_base = self.cfg.baseline_windows
        rows = repo.symbol_scores(self.db, symbol, _iso(now - w * (n_base + 1)), _iso(now))
        times = pd.DatetimeIndex([r["created_at"] for r in rows]).as_unit("ns").asi8
        w_ns = int(w.total_seconds() * 1e9)
        counts = window_counts(times, now.value, w_ns, n_base + 1)
        in_window = [r for r, t in zip(rows, times, strict=True) if now.value - t < w_ns]
        summ = summarize_scores([r["sentiment_score"] for r in in_window],
                                [r["sentiment_label"] for r in in_window])
        vol = volume_stats(int(counts[0]), counts[1:])
        return {
            "symbol": symbol, "as_of": now.to_pydatetime(), "window": window or
            self.cfg.default_window, "article_count": summ.count, "mean_sentiment": summ.mean,
            "label_counts": {"positive": summ.positive, "negative": summ.negative,
                             "neutral": summ.neutral},
            "volume": {"count": vol.count, "baseline_windows": n_base,
                       "baseline_mean": vol.baseline_mean, "baseline_std": vol.baseline_std,
                       "ratio": vol.ratio, "zscore": vol.zscore, "abnormal": vol.abnormal},
            "baseline_counts": np.asarray(counts[1:]).tolist(),
        }

    def get(self, news_id: int) -> dict[str, Any]:
        """Return one visible story.

        Raises:
            NotFound: when there is no such story (or it is not yet published).
        """
        row = repo.get(self.db, news_id)
        now = _iso(self.now())
        if row is None or row["created_at"] > now or row["known_at"] > now:
            raise NotFound(f"no news article {news_id}", field="id")
        return self._row(row)

    def alpaca_news(self, **kw: Any) -> dict[str, Any]:
        """Return one page in Alpaca's ``/v1beta1/news`` shape (see ``shared.market.alpaca_news``)."""
        symbols = kw.get("symbols")
        if symbols:
            self.refresh(symbols)
        return alpaca_news.news_page(self.db, self.now(), **kw)

    @staticmethod
    def _row(r: Any) -> dict[str, Any]:
        return {"id": r["id"], "headline": r["headline"], "summary": r["summary"],
                "author": r["author"], "source": r["source"], "url": r["url"],
                "symbols": json.loads(r["symbols"]), "created_at": r["created_at"],
                "updated_at": r["updated_at"], "sentiment": {"score": r["sentiment_score"],
                                                             "label": r["sentiment_label"]},
                "event_type": r["event_type"], "origin": r["origin"],
                "duplicate_count": r["duplicate_count"]}
