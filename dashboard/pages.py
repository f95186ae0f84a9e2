"""The dashboard's HTML pages (one template each; their behaviour is in static/js)."""
from __future__ import annotations

import functools

from flask import Blueprint, Response, make_response, redirect, render_template, request, url_for

from dashboard import auth
from dashboard.redirects import safe_next
from shared.errors import AppError
from shared.web import current_settings
from shared.web.app import current_market

#: (endpoint, path, title) of every page, in the navigation's order.
PAGES: tuple[tuple[str, str, str], ...] = (
    ("trading", "/trading", "Trading"),
    ("symbol", "/symbol", "Chart"),
    ("scanner", "/scanner", "Scanner"),
    ("strategy", "/strategy", "Strategy"),
    ("news", "/news", "News"),
    ("performance", "/performance", "Performance"),
    ("backtests", "/backtests", "Backtests"),
    ("market", "/market", "Clock"),
    ("system", "/system", "System"),
)


def _render(page: str, **extra: object) -> str:
    settings = current_settings()
    return render_template(f"{page}.html", page=page, pages=PAGES, market=current_market(),
                           csrf_token=auth.csrf_token(),
                           login_required=auth.login_required(settings),
                           logged_in=auth.logged_in(settings), **extra)


def _html(view, status: int = 200):  # noqa: ANN001, ANN202 - marks a view for /openapi.json
    """Document ``view`` in /openapi.json as an HTML page (no JSON envelope)."""
    view._api = {"summary": (view.__doc__ or view.__name__).strip().split("\n")[0],
                 "tags": ["pages"], "raw": True, "mimetypes": ("text/html",),
                 "status": status, "response": {"type": "string"}}
    return view


def blueprints() -> list[Blueprint]:
    bp = Blueprint("pages", __name__)

    @bp.get("/")
    @functools.partial(_html, status=302)
    def index() -> Response:
        """Redirect to the trading page."""
        return redirect(url_for("pages.trading"))

    def make_view(name: str):  # noqa: ANN202 - a small view factory
        def view() -> str:
            return _render(name)
        view.__name__ = name
        view.__doc__ = f"The {name} page."
        return view

    for name, path, _title in PAGES:
        bp.add_url_rule(path, name, _html(make_view(name)), methods=["GET"])

    @bp.get("/login")
    @_html
    def login_form() -> str:
        """The login form (only needed when an API key is configured)."""
        return _render("login", next=safe_next(request.args.get("next", "/trading")), error=None)

    @bp.post("/login")
    @functools.partial(_html, status=302)
    def login() -> Response | tuple[str, int]:
        """Check the posted key; start a session (HttpOnly, SameSite=Strict cookie).

        Wrong keys are limited per client address: 429 with Retry-After once locked out.
        """
        nxt = safe_next(request.form.get("next"))  # no open redirect
        try:
            auth.check_login(current_settings(), request.form.get("api_key", ""))
        except auth.LoginLocked as exc:
            resp = make_response(_render("login", next=nxt, error=exc.message), 429)
            resp.headers["Retry-After"] = str(exc.retry_after)
            return resp
        except AppError as exc:
            return _render("login", next=nxt, error=exc.message), 401
        return redirect(nxt)

    @bp.post("/logout")
    @functools.partial(_html, status=302)
    def logout() -> Response:
        """End the session and go back to the trading page."""
        auth.logout()
        return redirect(url_for("pages.trading"))

    return [bp]
