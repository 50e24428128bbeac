"""`GET /v1/deliveries` (newest first, filtered as `outreach deliveries`, cursor-paginated)
and `GET /v1/deliveries/{id}` with every provider call made for it."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from scheduler.api.auth import Reader
from scheduler.api.problems import ProblemError
from scheduler.operations import delivery_view
from worker.models import Attempt, Status
from worker.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["deliveries"])

MAX_PAGE = 500


class DeliveryPage(BaseModel):
    items: list[dict[str, Any]] = Field(description="Deliveries, as `deliveries --json`.")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page.")


def _call_view(attempt: Attempt) -> dict[str, Any]:
    return {
        "kind": attempt.kind,
        "started_at": attempt.started_at.isoformat(),
        "outcome": attempt.outcome,
        "http_status": attempt.http_status,
        "latency_ms": round(attempt.latency_ms, 1),
        "error": attempt.error,
    }


def _cursor(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.isdigit():
        raise ProblemError(
            422, "invalid-request", "Invalid request",
            "cursor: pass back the `next_cursor` of the previous page unchanged",
            errors=[{"field": "cursor", "message": "not a cursor this API gave"}],
        )  # fmt: skip
    return int(value)


@router.get("/deliveries")
async def list_deliveries(
    request: Request,
    caller: Reader,
    campaign: Annotated[str | None, Query(description="Only this campaign.")] = None,
    status: Annotated[Status | None, Query(description="Only this status.")] = None,
    account: Annotated[str | None, Query(description="Only this account.")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page size.")] = 100,
    cursor: Annotated[str | None, Query(description="From a previous page.")] = None,
) -> DeliveryPage:
    """Deliveries, newest first."""
    runtime: Runtime = request.app.state.runtime
    rows = await asyncio.to_thread(
        runtime.store.newest,
        campaign=campaign,
        status=None if status is None else status.value,
        account=account,
        before_id=_cursor(cursor),
        limit=limit,
    )
    next_cursor = str(rows[-1].id) if len(rows) == limit else None
    return DeliveryPage(items=[delivery_view(row) for row in rows], next_cursor=next_cursor)


@router.get("/deliveries/{delivery_id}")
async def get_delivery(delivery_id: int, request: Request, caller: Reader) -> dict[str, Any]:
    """One delivery, with every provider call made for it (`provider_calls`, oldest first;
    `attempts` counts its sends)."""
    runtime: Runtime = request.app.state.runtime

    def read() -> dict[str, Any] | None:
        row = runtime.store.get(delivery_id)
        if row is None:
            return None
        calls = [_call_view(a) for a in runtime.store.attempts_of(delivery_id)]
        return {**delivery_view(row), "provider_calls": calls}

    found = await asyncio.to_thread(read)
    if found is None:
        raise ProblemError(404, "not-found", "No such delivery", f"no delivery {delivery_id}")
    return found
