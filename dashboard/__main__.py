"""Run the dashboard service: `python -m dashboard [--dev]` (gunicorn, or Flask's reloading server)."""
from dashboard import NAME, create_app
from shared.web.runner import main

if __name__ == "__main__":
    raise SystemExit(main(NAME, create_app))
