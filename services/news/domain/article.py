"""The news article value type every source produces and the service stores."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime


@dataclass(frozen=True)
class Article:
    """One story; times are tz-aware UTC; ``symbols`` upper-case tickers."""

    headline: str
    created_at: datetime
    source: str
    symbols: tuple[str, ...] = ()
    summary: str = ""
    author: str = ""
    url: str | None = None
    content: str = ""
    updated_at: datetime | None = None
    external_id: str | None = None
    origin: str = "api"
    event_type: str | None = None
    # When the facts behind the story could be known (for generated stories, the close of the
    # bar that shows the move); None means at ``created_at``.
    known_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    def with_symbols(self, symbols: tuple[str, ...]) -> Article:
        return replace(self, symbols=symbols)

    @property
    def text(self) -> str:
        """The text sentiment is scored on: the headline, then the summary."""
        return scored_text(self.headline, self.summary)


def scored_text(headline: str, summary: str | None) -> str:
    """Return the text a story's sentiment is scored on (a stored row's too)."""
    return f"{headline}. {summary}".strip() if summary else headline
