"""The common library every service of the suite imports.

Sub-packages: ``config`` (typed settings), ``errors`` (one error hierarchy), ``logging``
(structured logs), ``db`` (the shared SQLite layer), ``web`` (the service skeleton),
``http`` (the inter-service client), ``cache`` (TTL+LRU caches), ``domain`` (value types)
and ``market`` (market data and the market clock).  Importing any of them has no side effects.
"""
