"""What every page shares: the templates, the strict headers, and the shapes of a page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from entrypoints.http.pages.devices import device_name

templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
templates.env.filters["device_name"] = device_name

# This origin's stylesheet, images and forms; nothing inline, nothing from elsewhere, and no
# script but on the pages that have passkey buttons, which run this origin's one script.
_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {"Content-Security-Policy": _POLICY, "Cache-Control": "no-store"}
SCRIPTED_PAGE_HEADERS = {
    "Content-Security-Policy": _POLICY + "; script-src 'self'; connect-src 'self'",
    "Cache-Control": "no-store",
}
HTML: dict[str, Any] = {"content": {"text/html": {}}}


def headers_for_forms_leading_to(origin: str) -> dict[str, str]:
    """A page's headers when its form's answer redirects to another origin: in Chromium,
    `form-action` governs every redirect that follows a form's submission, not only its action.
    `origin` must be a bare scheme://host[:port], nothing a policy could read more into."""
    policy = _POLICY.replace("form-action 'self'", f"form-action 'self' {origin}")
    return {**PAGE_HEADERS, "Content-Security-Policy": policy}


def page(
    request: Request,
    template: str,
    status: int = 200,
    *,
    scripted: bool = False,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """`scripted`: the page loads our passkey script. `headers` replace the usual ones."""
    headers = headers or (SCRIPTED_PAGE_HEADERS if scripted else PAGE_HEADERS)
    return templates.TemplateResponse(
        request, template, context, status_code=status, headers=headers
    )


def outcome(
    request: Request, title: str, message: str, *, success: bool, status: int | None = None
) -> HTMLResponse:
    """A page that only says how something ended."""
    return page(
        request,
        "outcome.html",
        status if status is not None else (200 if success else 400),
        title=title,
        message=message,
        success=success,
    )


def see_other(location: str) -> RedirectResponse:
    """Where a form's POST sends the browser next (the back button does not post it again)."""
    return RedirectResponse(location, status_code=303, headers=PAGE_HEADERS)


TITLES = {
    403: "That was refused",
    404: "There is nothing here",
    405: "There is nothing here",
    413: "That was too much",
    422: "That form was not filled in as expected",
    429: "Too many attempts",
    503: "Please try again in a moment",
}
MESSAGES = {
    404: "There is no page at this address.",
    405: "There is no page at this address.",
    413: "What you sent was too large.",
    422: "Some of what you sent was missing or too long. Please go back and try again.",
    429: "Too many attempts from here. Please wait a little and try again.",
    503: "The service is briefly unavailable. Please try again in a moment.",
}


def wants_a_page(request: Request) -> bool:
    """A browser asking for a page (not the API, nor our script's JSON requests)."""
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def error_page(
    request: Request, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    response = outcome(
        request,
        TITLES.get(status, "That did not work"),
        MESSAGES.get(status, message),
        success=False,
        status=status,
    )
    response.headers.update(headers or {})
    return response
