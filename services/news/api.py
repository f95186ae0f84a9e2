"""HTTP routes of the News service (thin: parse, call one use case, serialize)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from services.news.domain import Article, parse_window
from shared.market.symbols import normalize_symbol
from shared.web import current_service, ok, validate


def _symbol(v: str) -> str:
    try:
        return normalize_symbol(v)
    except Exception as exc:  # our ValidationError; pydantic needs a ValueError
        raise ValueError(str(getattr(exc, "message", exc))) from None


def _aware(v: datetime | None, name: str) -> datetime | None:
    if v is not None and v.tzinfo is None:
        raise ValueError(f"{name} must carry a time zone (e.g. +00:00 or Z)")
    return v


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewsQuery(_Strict):
    symbol: str | None = None
    since: datetime | None = None
    limit: int | None = Field(None, ge=1, le=10_000)

    @field_validator("symbol")
    @classmethod
    def _sym(cls, v: str | None) -> str | None:
        return None if v is None else _symbol(v)

    @field_validator("since")
    @classmethod
    def _since(cls, v: datetime | None) -> datetime | None:
        return _aware(v, "since")


class SentimentQuery(_Strict):
    window: str | None = Field(None, max_length=12)

    @field_validator("window")
    @classmethod
    def _window(cls, v: str | None) -> str | None:
        if v is not None:
            parse_window(v)
        return v


class SentimentBatchBody(SentimentQuery):
    """``GET /sentiment/<symbol>`` for many symbols in one request (the same ``window``)."""

    symbols: list[str] = Field(min_length=1, max_length=1000)

    @field_validator("symbols")
    @classmethod
    def _syms(cls, v: list[str]) -> list[str]:
        return [_symbol(s) for s in v]


class NewsBody(_Strict):
    headline: str = Field(min_length=1, max_length=500)
    summary: str = Field("", max_length=5000)
    author: str = Field("", max_length=200)
    source: str = Field("api", min_length=1, max_length=100)
    url: HttpUrl | None = None
    symbols: list[str] = Field(default_factory=list, max_length=50)
    created_at: datetime | None = None
    content: str = Field("", max_length=100_000)

    @field_validator("headline")
    @classmethod
    def _headline(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("headline must not be blank")
        return v.strip()

    @field_validator("symbols")
    @classmethod
    def _syms(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(_symbol(s) for s in v))

    @field_validator("created_at")
    @classmethod
    def _created(cls, v: datetime | None) -> datetime | None:
        return _aware(v, "created_at")


class RefreshBody(_Strict):
    symbols: list[str] = Field(min_length=1, max_length=1000)
    force: bool = False

    @field_validator("symbols")
    @classmethod
    def _syms(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(_symbol(s) for s in v))


class AlpacaQuery(_Strict):
    symbols: list[str] = []
    start: datetime | None = None
    end: datetime | None = None
    limit: int = Field(50, ge=1, le=50)
    sort: Literal["asc", "desc"] = "desc"
    page_token: str | None = Field(None, max_length=200)
    include_content: bool = False
    exclude_contentless: bool = False

    @field_validator("symbols")
    @classmethod
    def _syms(cls, v: list[str]) -> list[str]:
        return [_symbol(s) for s in v]


bp = Blueprint("news", __name__, url_prefix="/api/v1")


@bp.get("/news")
@validate(query=NewsQuery, tags=["news"], summary="Newest stories, optionally on one symbol")
def list_news(query: NewsQuery) -> Any:
    return ok(current_service().list_news(query.symbol, query.since, query.limit))


@bp.post("/news")
@validate(body=NewsBody, status=201, tags=["news"],
          summary="Add a story (scored, merged into an existing one if it is a duplicate)")
def add_news(body: NewsBody) -> Any:
    svc = current_service()
    article = Article(
        headline=body.headline, created_at=body.created_at or svc.now().to_pydatetime(),
        source=body.source, symbols=tuple(body.symbols), summary=body.summary,
        author=body.author, url=str(body.url) if body.url else None, content=body.content,
        origin="api")
    row, created = svc.add(article)
    return ok({**row, "merged": not created}, status=201 if created else 200)


@bp.post("/news/refresh")
@validate(body=RefreshBody, tags=["news"], summary="Pull new stories for symbols from the source")
def refresh(body: RefreshBody) -> Any:
    return ok(current_service().refresh(body.symbols, force=body.force))


@bp.post("/news/rescore")
@validate(tags=["news"],
          summary="Score every stored story again with the current finance lexicon")
def rescore() -> Any:
    return ok(current_service().rescore())


@bp.get("/news/alpaca")
@validate(query=AlpacaQuery, tags=["news"],
          summary="Stories in Alpaca's /v1beta1/news shape (news, next_page_token)")
def alpaca_news(query: AlpacaQuery) -> Any:
    return ok(current_service().alpaca_news(**query.model_dump()))


@bp.get("/news/<int:news_id>")
@validate(tags=["news"], summary="One story")
def get_news(news_id: int) -> Any:
    return ok(current_service().get(news_id))


@bp.get("/sentiment/<path:symbol>")
@validate(query=SentimentQuery, tags=["news"],
          summary="Mean sentiment, article count and abnormal news volume over a window")
def sentiment(symbol: str, query: SentimentQuery) -> Any:
    return ok(current_service().sentiment(normalize_symbol(symbol), query.window))


@bp.post("/sentiment/batch")
@validate(body=SentimentBatchBody, tags=["news"],
          summary="Sentiment of many symbols after one refresh of them all")
def sentiment_batch(body: SentimentBatchBody) -> Any:
    return ok(current_service().sentiment_many(body.symbols, body.window))


def blueprints() -> list[Blueprint]:
    """Return this service's blueprints (its endpoints live under /api/v1)."""
    return [bp]
