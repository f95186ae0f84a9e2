"""The ``news`` table in Alpaca's ``/v1beta1/news`` shape (read-only; paper_trading serves it).

``news_page(db, now, ...)`` answers one page like Alpaca does: articles newest first by default,
``next_page_token`` until the last page (then null, or the SDK would loop forever).  Only
stories published and known by the market clock's ``now`` are ever returned.
"""
from __future__ import annotations

import base64
import binascii
import json
import sqlite3
from datetime import datetime
from typing import Any

import pandas as pd

from shared.db import Database
from shared.errors import ValidationError


def _z(iso: str) -> str:
    return pd.Timestamp(iso).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def to_alpaca(row: sqlite3.Row | dict[str, Any], include_content: bool = False) -> dict[str, Any]:
    """Return one stored article as an Alpaca news article."""
    return {
        "id": int(row["id"]), "headline": row["headline"], "author": row["author"],
        "created_at": _z(row["created_at"]), "updated_at": _z(row["updated_at"]),
        "summary": row["summary"], "content": row["content"] if include_content else "",
        "url": row["url"], "images": [], "symbols": json.loads(row["symbols"]),
        "source": row["source"],
    }


def _token(created_at: str, news_id: int) -> str:
    return base64.urlsafe_b64encode(f"{created_at}|{news_id}".encode()).decode()


def _untoken(token: str) -> tuple[str, int]:
    try:
        created, news_id = base64.urlsafe_b64decode(token.encode()).decode().split("|")
        return created, int(news_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationError("page_token is not one this server issued",
                              field="page_token") from None


def _iso(value: datetime | str) -> str:
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.isoformat()


def news_page(db: Database, now: datetime | str, symbols: list[str] | None = None,
              start: datetime | str | None = None, end: datetime | str | None = None,
              limit: int = 50, sort: str = "desc", page_token: str | None = None,
              include_content: bool = False, exclude_contentless: bool = False) -> dict[str, Any]:
    """Return ``{"news": [...], "next_page_token": str | None}`` for one page.

    Raises:
        ValidationError: for a bad sort, limit or page token.
    """
    if sort not in ("asc", "desc"):
        raise ValidationError("sort must be asc or desc", field="sort")
    if not 1 <= int(limit) <= 50:
        raise ValidationError("limit must be between 1 and 50", field="limit")
    now_iso = _iso(now)
    where = ["n.created_at <= ?", "n.known_at <= ?"]
    params: list[Any] = [now_iso, now_iso]
    if start is not None:
        where.append("n.created_at >= ?")
        params.append(_iso(start))
    if end is not None:
        where.append("n.created_at <= ?")
        params.append(_iso(end))
    if symbols:
        where.append("EXISTS (SELECT 1 FROM news_symbols s WHERE s.news_id = n.id AND "  # noqa: S608
                     f"s.symbol IN ({', '.join('?' * len(symbols))}))")
        params.extend(symbols)
    if exclude_contentless:
        where.append("n.content != ''")
    if page_token:
        created, news_id = _untoken(page_token)
        where.append("(n.created_at, n.id) " + ("<" if sort == "desc" else ">") + " (?, ?)")
        params.extend([created, news_id])
    order = "DESC" if sort == "desc" else "ASC"
    rows = db.fetch_all(
        f"SELECT n.* FROM news n WHERE {' AND '.join(where)} "  # noqa: S608 - fixed fragments
        f"ORDER BY n.created_at {order}, n.id {order} LIMIT ?", (*params, int(limit) + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    token = _token(rows[-1]["created_at"], int(rows[-1]["id"])) if more and rows else None
    return {"news": [to_alpaca(r, include_content) for r in rows], "next_page_token": token}
