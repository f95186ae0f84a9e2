"""Run the pattern_analysis service: `python -m services.pattern_analysis [--dev]` (gunicorn, or Flask's reloading server)."""
from services.pattern_analysis import NAME, create_app
from shared.web.runner import main

if __name__ == "__main__":
    raise SystemExit(main(NAME, create_app))
