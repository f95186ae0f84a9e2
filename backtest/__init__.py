"""The backtester: strategies replayed over history with the live suite's own trading kernel.

``engine`` runs one strategy over a frame of bars (signals on bar t fill on bar t+1);
``cli`` holds the ``replay`` and ``optimize`` commands it registers on ``hybrid_manager.py``.
No service imports this package; it imports the kernel the services share.
"""
