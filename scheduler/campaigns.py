"""Campaigns: start one from a campaign file and a recipients CSV, add recipients to a running
one, and index what is queued. The checking and the rows are `campaign_import`'s; here they
are written, in one transaction, then indexed in Redis in pipelined batches."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from scheduler.campaign_file import CampaignSpec, load_campaign, stored_campaign
from scheduler.campaign_import import LeadsImport, Plan, Progress
from scheduler.estimates import finish_estimate
from worker.bulk_deliveries import BulkDeliveries
from worker.errors import OutreachError
from worker.models import Campaign, CampaignStatus
from worker.runtime import Runtime

__all__ = [
    "Plan", "add_leads", "finish_estimate", "index_queued", "plan_view", "start_campaign",
]  # fmt: skip


def start_campaign(
    runtime: Runtime,
    campaign_file: Path,
    leads_file: Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
    skip_invalid: bool = False,
    rejects: Path | None = None,
) -> Plan:
    """Check both files whole, then (unless `dry_run`) record and queue the campaign.
    `skip_invalid`: import the valid rows and write the refused ones to `rejects`."""
    spec = load_campaign(campaign_file)
    if runtime.campaigns.get(spec.name) is not None:
        raise OutreachError(
            f"a campaign named {spec.name!r} exists; give this one another name, or add"
            f" recipients to it with `outreach campaign add-leads {spec.name} LEADS.csv`"
        )
    now = now or datetime.now(UTC)
    leads = LeadsImport(
        runtime, spec, leads_file, now=now, progress=progress,
        skip_invalid=skip_invalid, rejects=rejects,
    )  # fmt: skip
    if dry_run:
        return leads.run()
    with runtime.campaigns.importing(_campaign_row(spec, now), leads.media()) as sink:
        plan = leads.run(sink)
    _index(runtime, sink, now)
    return plan


def add_leads(
    runtime: Runtime,
    name: str,
    leads_file: Path,
    *,
    dry_run: bool = False,
    progress: Progress | None = None,
    now: datetime | None = None,
    skip_invalid: bool = False,
    rejects: Path | None = None,
) -> Plan:
    """Add recipients to a running (or paused) campaign: the same checks as at its start, the
    same steps, and nobody it already has or that outreach must not contact again."""
    campaign = runtime.campaigns.get(name)
    if campaign is None:
        raise OutreachError(f"no campaign named {name!r}")
    if campaign.status == CampaignStatus.CANCELLED:
        raise OutreachError(f"campaign {name!r} is cancelled; start a new one")
    if campaign.spec is None:
        raise OutreachError(
            f"campaign {name!r} was started before outreach kept campaign files; start a new"
            " campaign for these recipients"
        )
    now = now or datetime.now(UTC)
    leads = LeadsImport(
        runtime, stored_campaign(campaign.spec, name), leads_file, now=now, progress=progress,
        adding=True, skip_invalid=skip_invalid, rejects=rejects,
    )  # fmt: skip
    if dry_run:
        return leads.run()
    with runtime.campaigns.importing(adding_to=name) as sink:
        plan = leads.run(sink)
    # Read after the commit: a campaign resumed meanwhile indexed what it saw, not these.
    now_running = runtime.campaigns.get(name)
    if now_running is not None and now_running.status == CampaignStatus.RUNNING:
        _index(runtime, sink, now)  # (a paused one's are indexed when it resumes)
    return plan


def index_queued(runtime: Runtime, campaign: str) -> int:
    """Put a campaign's queued deliveries in Redis, in pipelined batches."""
    count = 0
    for entries in runtime.store.queue_entries(campaign):
        runtime.due_index.enqueue(entries)
        count += len(entries)
    return count


def plan_view(plan: Plan, *, dry_run: bool) -> dict[str, Any]:
    """A plan as `campaign start --json` and the API show it."""
    return {
        "campaign": plan.campaign, "recipients": plan.recipients,
        "per_account": dict(plan.per_account), "skipped": plan.skipped_count,
        "rejected": plan.rejected, "duplicates": plan.duplicates,
        "rejects_file": str(plan.rejects_file) if plan.rejects_file else None,
        "sends": plan.sends,
        "variants": {f"{step}:{name}": n for (step, name), n in sorted(plan.variants.items())},
        "samples": {a: {"to": to, "text": text} for a, (to, text) in plan.samples.items()},
        "finish_estimate": plan.finish_estimate.isoformat() if plan.finish_estimate else None,
        "dry_run": dry_run,
    }  # fmt: skip


def _index(runtime: Runtime, written: BulkDeliveries, now: datetime) -> None:
    """Index the first steps an import wrote, now that they are committed (not before: a
    worker must find the row of whatever Redis releases)."""
    try:
        for entries in written.queued(now.timestamp()):
            runtime.due_index.enqueue(entries)
    except RedisError as exc:
        raise OutreachError(
            f"the deliveries are recorded, but queuing them in Redis failed ({exc}): run"
            " `outreach recover` once Redis answers, and they will be sent"
        ) from None


def _campaign_row(spec: CampaignSpec, now: datetime) -> Campaign:
    days, start, end = spec.window.to_columns() if spec.window else (None, None, None)
    return Campaign(
        name=spec.name, status=CampaignStatus.RUNNING, accounts=",".join(spec.accounts),
        steps=len(spec.steps), daily_limit=spec.daily_limit, recontact=spec.recontact,
        on_unreadable=spec.on_unreadable,
        window_days=days, window_start_minutes=start, window_end_minutes=end,
        spec=spec.stored_document(), created_at=now, updated_at=now,
    )  # fmt: skip
