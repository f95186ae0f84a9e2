"""Supervision of the nine services: the registry, heartbeats and the hybrid manager's engine.

``ServiceRegistry`` (SQL over service_registry/service_events) and ``Heartbeat`` are used by
every service; ``Supervisor`` (spawn, health polling, backoff, crash-loop limit, stop) and the
CLI in ``shared.supervisor.cli`` are what ``hybrid_manager.py`` runs.  Importing this package
starts nothing.
"""
from shared.supervisor.heartbeat import Heartbeat
from shared.supervisor.registry import Registration, ServiceRegistry

__all__ = ["Heartbeat", "Registration", "ServiceRegistry"]
