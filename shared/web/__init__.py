"""The service skeleton: app factory, envelope, validation, OpenAPI, metrics, auth.

The names are loaded on first use (PEP 562): ``shared.web.stream_urls`` and the other small
modules are imported by the manager's command line, which must not pay for Flask.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.web.app import check_api_key, create_service_app, current_service, current_settings
    from shared.web.envelope import error_body, ok, to_jsonable, utc_now_iso
    from shared.web.validation import (
        AnyInstant,
        Instant,
        SessionDate,
        parse_body,
        parse_query,
        validate,
    )

_WHERE = {
    "check_api_key": "app", "create_service_app": "app", "current_service": "app",
    "current_settings": "app", "error_body": "envelope", "ok": "envelope",
    "to_jsonable": "envelope", "utc_now_iso": "envelope", "AnyInstant": "validation",
    "Instant": "validation", "SessionDate": "validation", "parse_body": "validation",
    "parse_query": "validation", "validate": "validation",
}
__all__ = [
    "AnyInstant",
    "Instant",
    "SessionDate",
    "check_api_key",
    "create_service_app",
    "current_service",
    "current_settings",
    "error_body",
    "ok",
    "parse_body",
    "parse_query",
    "to_jsonable",
    "utc_now_iso",
    "validate",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'shared.web' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"shared.web.{module}"), name)
    globals()[name] = value
    return value
