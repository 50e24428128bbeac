"""Errors as RFC 9457 problem documents (`application/problem+json`): a title, the status, a
detail that says what to fix, and `errors` naming every invalid field (or CSV line)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from worker.errors import (
    CampaignFileError,
    CampaignInputError,
    ImportInProgressError,
    InvalidMessageError,
    NotFoundError,
    OutreachError,
)
from worker.logs import get_logger
from worker.redaction import redact

log = get_logger("outreach.api")

MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "https://outreach.dev/problems/"  # `type` URIs; each names a kind of problem


class ProblemError(Exception):
    """Raised by a handler to answer with a problem document."""

    def __init__(
        self,
        status: int,
        kind: str,
        title: str,
        detail: str,
        *,
        errors: Sequence[dict[str, Any]] = (),
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status = status
        self.kind = kind
        self.title = title
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers


def problem_body(
    status: int,
    kind: str,
    title: str,
    detail: str,
    scope: Scope,
    errors: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + kind,
        "title": title,
        "status": status,
        "detail": redact(detail),
        "instance": scope["path"],
    }
    if errors:
        body["errors"] = [
            {k: redact(v) if isinstance(v, str) else v for k, v in e.items()} for e in errors
        ]
    return body


def problem_response(
    request: Request,
    status: int,
    kind: str,
    title: str,
    detail: str,
    errors: Sequence[dict[str, Any]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(status, kind, title, detail, request.scope, errors)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _field(location: Sequence[int | str]) -> str:
    # FastAPI's ("body", "media", "link") reads better as "media.link"; the body is implied.
    parts = [str(part) for part in location]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:] or parts
    return ".".join(parts)


_CSV_LINE = re.compile(r"\bline (\d+)\b")


def _csv_error(line: str) -> dict[str, Any]:
    """A leads file's problem, with its line number as a field of its own when it has one."""
    found = _CSV_LINE.search(line)
    return {"field": "leads", "message": line, **({"line": int(found[1])} if found else {})}


class Unexpected:
    """ASGI middleware: a failure no handler expected (a bug, the database away) is logged
    with its traceback (redacted, as every log line) and answered as a 500 problem document
    that tells the caller only what to do; the connection and the server carry on."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            log.exception("api_request_failed", path=scope["path"], reason=type(exc).__name__)
            if started:
                raise  # half an answer is out: only closing the connection tells the caller
            body = problem_body(
                500, "internal-error", "Internal error",
                f"the request failed ({type(exc).__name__}); repeat it (with the same"
                " Idempotency-Key, for a message) once the service is healthy again",
                scope,
            )  # fmt: skip
            response = JSONResponse(body, status_code=500, media_type=MEDIA_TYPE)
            await response(scope, receive, send)


def install(app: FastAPI) -> None:
    """Answer every error the app raises as a problem document."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            request, exc.status, exc.kind, exc.title, exc.detail, exc.errors, exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e["loc"]), "message": e["msg"]} for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem_response(request, 422, "invalid-request", "Invalid request", detail, errors)

    @app.exception_handler(InvalidMessageError)
    async def _invalid_message(request: Request, exc: InvalidMessageError) -> JSONResponse:
        errors = [{"field": p.field, "message": p.message} for p in exc.problems]
        return problem_response(
            request, 422, "invalid-message", "The message was not queued", str(exc), errors
        )

    @app.exception_handler(CampaignFileError)
    async def _campaign_file(request: Request, exc: CampaignFileError) -> JSONResponse:
        errors = [{"field": p.field, "message": p.message} for p in exc.problems]
        return problem_response(
            request, 422, "invalid-campaign", "The campaign was not started; fix its spec",
            "; ".join(str(p) for p in exc.problems), errors,
        )  # fmt: skip

    @app.exception_handler(CampaignInputError)
    async def _campaign_input(request: Request, exc: CampaignInputError) -> JSONResponse:
        errors = [_csv_error(line) for line in exc.lines]
        return problem_response(
            request, 422, "invalid-leads",
            "The campaign was not started; nothing was written. Fix these lines",
            f"{len(exc.lines)} problems in the leads file", errors,
        )  # fmt: skip

    @app.exception_handler(ImportInProgressError)
    async def _import_running(request: Request, exc: ImportInProgressError) -> JSONResponse:
        return problem_response(
            request, 409, "import-in-progress", "Another import is running", str(exc)
        )

    @app.exception_handler(NotFoundError)
    async def _not_found(request: Request, exc: NotFoundError) -> JSONResponse:
        return problem_response(request, 404, "not-found", "Not found", str(exc))

    @app.exception_handler(OutreachError)
    async def _refused(request: Request, exc: OutreachError) -> JSONResponse:
        return problem_response(request, 400, "refused", "Refused", str(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kinds = {404: "not-found", 405: "method-not-allowed", 413: "body-too-large"}
        kind = kinds.get(exc.status_code, "http-error")
        return problem_response(
            request, exc.status_code, kind, str(exc.detail), str(exc.detail), (),
            dict(exc.headers or {}),
        )  # fmt: skip
