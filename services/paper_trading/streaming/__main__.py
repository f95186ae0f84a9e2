"""Run the stream server: ``python -m services.paper_trading.streaming`` (until SIGTERM)."""
from services.paper_trading.streaming import NAME, create_stream_app
from services.paper_trading.streaming.server import main

if __name__ == "__main__":
    raise SystemExit(main(NAME, create_stream_app))
