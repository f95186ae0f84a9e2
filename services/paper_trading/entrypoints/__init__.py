"""Entry points: the /api/v1 blueprint, the Alpaca-compatible /v2 and /v1beta1 blueprints
(trading, account, market data) and the ``hybrid_manager.py accounts`` command.  They parse,
call one ``Broker`` use case and serialize; nothing below imports them."""
