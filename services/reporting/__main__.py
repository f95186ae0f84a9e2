"""Run the reporting service: `python -m services.reporting [--dev]` (gunicorn, or Flask's reloading server)."""
from services.reporting import NAME, create_app
from shared.web.runner import main

if __name__ == "__main__":
    raise SystemExit(main(NAME, create_app))
