"""The inter-service HTTP client: timeouts, tenacity retries, one pybreaker breaker per target;
``Replicas`` spreads a split batch over every address of a scaled service."""
from shared.http.client import ServiceClient, breaker_for, breaker_states, reset_breakers
from shared.http.replicas import Replicas

__all__ = ["Replicas", "ServiceClient", "breaker_for", "breaker_states", "reset_breakers"]
