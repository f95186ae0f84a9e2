"""The inter-service HTTP client: timeouts, tenacity retries, one pybreaker breaker per target."""
from shared.http.client import ServiceClient, breaker_for, breaker_states, reset_breakers

__all__ = ["ServiceClient", "breaker_for", "breaker_states", "reset_breakers"]
