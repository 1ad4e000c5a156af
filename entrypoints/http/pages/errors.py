"""How the pages answer what went wrong: in words on a page, never a JSON document in the
browser window."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from entrypoints.http.browser_session import CrossSiteRequest, SignInRequired, login_url
from entrypoints.http.pages.rendering import error_page, see_other, wants_a_page
from entrypoints.http.problems import problem_response

CROSS_SITE = (
    "This form did not come from this site, or the page was open too long. "
    "Please go back, reload the page and try again."
)


async def _sign_in_first(request: Request, error: Exception) -> Response:
    assert isinstance(error, SignInRequired)
    if not wants_a_page(request):
        return problem_response(401, "not_authenticated", "sign in first")
    return see_other(login_url(error.return_to))


async def _cross_site(request: Request, error: Exception) -> Response:
    assert isinstance(error, CrossSiteRequest)
    if not wants_a_page(request):
        return problem_response(403, "forbidden", str(error))
    return error_page(request, 403, CROSS_SITE)


def install_page_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SignInRequired, _sign_in_first)
    app.add_exception_handler(CrossSiteRequest, _cross_site)
