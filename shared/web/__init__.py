"""The service skeleton: app factory, envelope, validation, OpenAPI, metrics, auth."""
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
