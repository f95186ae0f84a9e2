"""Run the coordination service: `python -m services.coordination [--dev]` (gunicorn, or Flask's reloading server)."""
from services.coordination import NAME, create_app
from shared.web.runner import main

if __name__ == "__main__":
    raise SystemExit(main(NAME, create_app))
