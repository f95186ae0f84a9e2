"""Run the pattern_recognition service: `python -m services.pattern_recognition [--dev]` (gunicorn, or Flask's reloading server)."""
from services.pattern_recognition import NAME, create_app
from shared.web.runner import main

if __name__ == "__main__":
    raise SystemExit(main(NAME, create_app))
