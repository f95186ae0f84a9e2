"""Run the scanner service: `python -m services.scanner [--dev]` (gunicorn, or Flask's reloading server)."""
from services.scanner import NAME, create_app
from shared.web.runner import main

if __name__ == "__main__":
    raise SystemExit(main(NAME, create_app))
