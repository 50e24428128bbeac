"""Who may call: a bearer API key on every request. The live page's browser holds the same
key in a cookie (HttpOnly, SameSite=Strict), honoured for reads only, so no other site can
make a browser change anything. No key or an unknown or revoked one is a 401; a read-only key
on anything that changes state is a 403; either way nothing has been touched."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from scheduler.api.api_keys import Caller, KeyCache
from scheduler.api.problems import ProblemError

COOKIE = "outreach_key"
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="outreach"'}


def presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if request.method in ("GET", "HEAD"):
        return request.cookies.get(COOKIE)
    return None


def known_caller(request: Request) -> Caller | None:
    """The caller behind the request's key; None without one, or for one unknown or revoked."""
    keys: KeyCache = request.app.state.api_keys
    key = presented_key(request)
    return None if key is None else keys.caller(key)


def caller(request: Request) -> Caller:
    """The caller behind the request's key, or a 401 problem. (A plain function, run on a
    worker thread: a check reads Redis, and the event loop must not wait on it should Redis
    be slow or away.)"""
    keys: KeyCache = request.app.state.api_keys
    key = presented_key(request)
    if key is None:
        raise ProblemError(
            401, "unauthorized", "An API key is needed",
            "send `Authorization: Bearer KEY`; create a key with `outreach api-keys create NAME`",
            headers=CHALLENGE,
        )  # fmt: skip
    found = keys.caller(key)
    if found is None:
        raise ProblemError(
            401, "unauthorized", "The API key is not valid",
            "this key is unknown or was revoked; create one with `outreach api-keys create NAME`",
            headers=CHALLENGE,
        )  # fmt: skip
    return found


def writer(found: Annotated[Caller, Depends(caller)]) -> Caller:
    """The caller, who must hold a key that may change things, or a 403 problem."""
    if found.read_only:
        raise ProblemError(
            403, "forbidden", "This API key is read-only",
            f"key {found.name!r} may only read; this request changes state, so nothing was done",
        )  # fmt: skip
    return found


Reader = Annotated[Caller, Depends(caller)]
Writer = Annotated[Caller, Depends(writer)]
