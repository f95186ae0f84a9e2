"""Adapters: SQL over the paper-trading tables (``repository``: the one place its statements
live), the writer gate and WAL checkpoints, and read-only queries of the market owner's
tables (bars, quotes and trades derived from them, assets)."""
