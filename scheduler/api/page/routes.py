"""The live page's routes: sign in with an API key (kept in an HttpOnly, SameSite=Strict
cookie that only GET and HEAD requests honour), the page, the fragment its script fetches
every few seconds, and the page's two static files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import jinja2
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from scheduler.api.api_keys import KeyCache
from scheduler.api.auth import CHALLENGE, COOKIE, known_caller
from scheduler.api.page import charts, snapshot
from scheduler.api.problems import ProblemError

router = APIRouter(include_in_schema=False)

HERE = Path(__file__).parent
REFRESH_S = 5
STATIC = {"page.css": "text/css", "live.js": "text/javascript"}
# Nothing but this origin's own files: the page runs no inline script, and what it shows
# (names, reply texts) is escaped text, never markup.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
        " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # the page holds people's names and replies
}

templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every value shown is text: names and replies come from outside
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
)


NOTHING = "\N{EN DASH}"  # shown for a value that does not exist yet


def _percent(rate: float | None) -> str:
    return NOTHING if rate is None else f"{rate:.1%}"


def _when(moment: Any) -> str:
    return NOTHING if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"


templates.env.filters["percent"] = _percent
templates.env.filters["when"] = _when
templates.env.globals["geometry"] = charts


def _render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200, **headers: str
) -> HTMLResponse:
    return templates.TemplateResponse(
        request, name, context, status_code=status_code, headers={**HEADERS, **headers}
    )


@router.get("/login", name="login")
def login_form(request: Request) -> Response:
    if known_caller(request) is not None:
        return RedirectResponse("./", status_code=303)
    return _render(request, "login.html", {"error": None})


@router.post("/login")
def login(request: Request, key: Annotated[str, Form()] = "") -> Response:
    """Check the key, then keep it in the cookie the page's reads present."""
    keys: KeyCache = request.app.state.api_keys
    key = key.strip()
    if not key or keys.caller(key) is None:
        error = (
            "That key is unknown or was revoked. Create one with `outreach api-keys create NAME`."
        )
        return _render(request, "login.html", {"error": error}, 401, **CHALLENGE)
    response = RedirectResponse("./", status_code=303)
    response.set_cookie(
        COOKIE,
        key,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.api_route("/logout", methods=["GET", "POST"])
def logout(request: Request) -> Response:
    response = RedirectResponse("login", status_code=303)
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response


@router.get("/")
def page(request: Request, refresh: Annotated[int, Query(ge=1, le=3600)] = REFRESH_S) -> Response:
    """The whole page; without a valid key, the sign-in form."""
    caller = known_caller(request)
    if caller is None:
        return RedirectResponse("login", status_code=303)
    now = snapshot.take(request.app.state.runtime)
    context = {"caller": caller, "snapshot": now, "refresh_s": refresh}
    return _render(request, "page.html", context)


@router.get("/live")
def live(request: Request) -> Response:
    """The page's changing part, fetched by its script every few seconds."""
    if known_caller(request) is None:
        raise ProblemError(
            401, "unauthorized", "Sign in again",
            "the key is missing, unknown or was revoked: sign in at /login",
            headers=CHALLENGE,
        )  # fmt: skip
    now = snapshot.take(request.app.state.runtime)
    return _render(request, "live.html", {"snapshot": now})


@router.get("/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC:
        raise ProblemError(404, "not-found", "Not found", f"no static file {name!r}")
    return FileResponse(
        HERE / "static" / name,
        media_type=STATIC[name],
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"},
    )
