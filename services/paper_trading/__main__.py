"""Run the paper_trading service: `python -m services.paper_trading [--dev]` (gunicorn, or Flask's reloading server)."""
from services.paper_trading import NAME, create_app
from shared.web.runner import main

if __name__ == "__main__":
    raise SystemExit(main(NAME, create_app))
