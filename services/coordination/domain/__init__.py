"""Coordination's pure logic: blend scores into intents, size them, decide exits.

``decide`` turns one symbol's view (technical blend, patterns, candles, news, position) into
an intent; ``size_entry`` gives its shares, stop and target; ``exit_reason`` says when the
clock alone closes a position.  No Flask, no sqlite3, no HTTP.
"""
from services.coordination.domain.decision import Intent, SymbolView, blend, decide
from services.coordination.domain.exits import SessionWindow, entries_allowed, exit_reason
from shared.trading.sizing import SizeResult, size_entry, stop_price

__all__ = ["Intent", "SessionWindow", "SizeResult", "SymbolView", "blend", "decide",
           "entries_allowed", "exit_reason", "size_entry", "stop_price"]
