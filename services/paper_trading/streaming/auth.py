"""Who may use a stream: the REST API's rules, applied to the key pair a client sends.

With ``security.api_key`` configured the secret must equal it, as
``alpaca_api.check_alpaca_key`` requires of APCA-API-SECRET-KEY (the key id names the account).  The
trading stream then resolves the key id to its paper account (``AccountDirectory``: created on
first use, a secret checked when the account has one); market data needs no account.
"""
from __future__ import annotations

import hmac
from typing import Any

from services.paper_trading.service_layer.accounts import AccountDirectory
from shared.errors import AuthError


class StreamAuth:
    """Check stream credentials; ``account`` may write (first use) and hash: call it off the
    event loop."""

    def __init__(self, settings: Any, directory: AccountDirectory | None) -> None:
        key = settings.security.api_key
        self._key = key.get_secret_value().encode() if key and key.get_secret_value() else None
        self.directory = directory

    def check_key(self, key_id: Any, secret: Any) -> None:
        """Raises:
            AuthError: a key or secret is missing, not a string, or the secret is not the
                suite's API key.
        """
        if not isinstance(key_id, str) or not isinstance(secret, str) or not key_id:
            raise AuthError("key and secret must be strings", field="key")
        if self._key is None:
            return
        if not hmac.compare_digest(secret.encode(), self._key):
            raise AuthError("access key verification failed", field="secret")

    def account(self, key_id: Any, secret: Any) -> int:
        """Return the paper account of a trading-stream client.

        Raises:
            AuthError: bad credentials (see ``check_key`` and ``AccountDirectory.resolve``).
        """
        self.check_key(key_id, secret)
        if self.directory is None:
            raise AuthError("accounts are not available", field="key")
        return self.directory.resolve(key_id, secret)
