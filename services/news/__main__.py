"""Run the news service: `python -m services.news [--dev]` (gunicorn, or Flask's reloading server)."""
from services.news import NAME, create_app
from shared.web.runner import main

if __name__ == "__main__":
    raise SystemExit(main(NAME, create_app))
