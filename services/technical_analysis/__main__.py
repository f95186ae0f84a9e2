"""Run the technical_analysis service: `python -m services.technical_analysis [--dev]` (gunicorn, or Flask's reloading server)."""
from services.technical_analysis import NAME, create_app
from shared.web.runner import main

if __name__ == "__main__":
    raise SystemExit(main(NAME, create_app))
