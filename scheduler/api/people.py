"""Recipients, replies and accounts: mark replies and opt-outs, list the replies recorded,
and each sender account's state (as `outreach recipients`, `replies`, `accounts`)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from scheduler.api.auth import Reader, Writer
from scheduler.operations import account_state, account_summaries, reply_view
from scheduler.steering import mark_replied, opt_out
from worker.runtime import Runtime

router = APIRouter(prefix="/v1", tags=["recipients and accounts"])

MAX_RECIPIENTS = 10_000


class RecipientsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipients: list[str] = Field(
        min_length=1, max_length=MAX_RECIPIENTS, description="Profile URLs or URNs."
    )
    campaign: str | None = Field(
        default=None, description="mark replied: stop only this campaign's sequence."
    )


class OptOutIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    recipients: list[str] = Field(
        min_length=1, max_length=MAX_RECIPIENTS, description="Profile URLs or URNs."
    )


class Cancelled(BaseModel):
    cancelled: int = Field(description="Pending sends cancelled.")


@router.post("/recipients/replied")
async def replied(body: RecipientsIn, request: Request, caller: Writer) -> Cancelled:
    """They replied: their sequences stop (recorded as a manual reply)."""
    runtime: Runtime = request.app.state.runtime
    count = await asyncio.to_thread(mark_replied, runtime, body.recipients, body.campaign)
    return Cancelled(cancelled=count)


@router.post("/recipients/opt-out")
async def opted_out(body: OptOutIn, request: Request, caller: Writer) -> Cancelled:
    """Never contact them again, in any campaign."""
    count = await asyncio.to_thread(opt_out, request.app.state.runtime, body.recipients)
    return Cancelled(cancelled=count)


@router.get("/replies")
async def replies(
    request: Request,
    caller: Reader,
    campaign: Annotated[str | None, Query(description="Only this campaign's.")] = None,
    account: Annotated[str | None, Query(description="Only through this account.")] = None,
    since: Annotated[datetime | None, Query(description="Received from then on.")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> list[dict[str, Any]]:
    """The replies recorded, oldest first (as `outreach replies --json`)."""
    runtime: Runtime = request.app.state.runtime
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)  # a time without a zone is UTC, as in the CLI
    found = await asyncio.to_thread(
        runtime.recipients.replies, campaign=campaign, account=account, since=since, limit=limit
    )
    return [reply_view(reply) for reply in found]


@router.get("/accounts")
async def accounts(request: Request, caller: Reader) -> list[dict[str, Any]]:
    """Each sender account: its `state` in a word (`paused`, `sending`, `paced` until the
    next send, `waiting`, `idle`) with `state_detail`; queued and in-progress sends, sent
    today, the next send, and any pause with its reason (null `paused_until` with
    `paused_forever`: until resumed)."""
    summaries = await asyncio.to_thread(account_summaries, request.app.state.runtime)
    now = datetime.now(UTC)
    lines = []
    for summary in summaries:
        state, detail = account_state(summary, now)
        view = {
            k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(summary).items()
        }
        lines.append({**view, "state": state, "state_detail": detail})
    return lines
