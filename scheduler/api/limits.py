"""Request bodies are size-limited as they stream in, before anything is parsed or written:
a declared Content-Length over the limit is refused at once, and a body that grows past it
(chunked, or lying about its length) is cut off there. Either way: 413, nothing changed."""

from __future__ import annotations

from collections.abc import Callable

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scheduler.api.problems import MEDIA_TYPE, problem_body


class BodyTooLarge(HTTPException):
    # An HTTPException, so that FastAPI's body reading passes it on rather than calling it a
    # malformed body.
    def __init__(self, limit: int):
        super().__init__(413, f"Request body larger than {limit} bytes")


class BodyLimit:
    """ASGI middleware: at most `limit_for(path)` bytes of request body."""

    def __init__(self, app: ASGIApp, limit_for: Callable[[str], int]):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            too_large = BodyTooLarge(limit)
            body = problem_body(413, "body-too-large", too_large.detail, too_large.detail, scope)
            response = JSONResponse(body, status_code=413, media_type=MEDIA_TYPE)
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        await self.app(scope, limited, send)
