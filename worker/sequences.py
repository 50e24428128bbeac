"""Campaign sequences as the worker sees them: whether a delivery may still go, under which
window and caps, and what its end means for the next step (sent: the follow-up is due
`after_s` later, in the next open window; failed or unknown: the sequence stops)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from worker.accounts import Account
from worker.limits import SendLimits, day_start, hold_until
from worker.logs import get_logger
from worker.models import Campaign, CampaignStatus, Delivery, RecipientFlag, Status
from worker.runtime import Runtime
from worker.store import DailyCaps
from worker.windows import SendWindow

log = get_logger("outreach.sequences")


@dataclass(frozen=True)
class Verdict:
    """Why a released delivery must not be sent now."""

    status: Status  # QUEUED: keep it (campaign paused); else end it with this status
    reason: str


def window_of(campaign: Campaign | None) -> SendWindow:
    if campaign is None:
        return SendWindow()
    return SendWindow.from_columns(
        campaign.window_days, campaign.window_start_minutes, campaign.window_end_minutes
    )


def verdict(campaign: Campaign | None, flag: RecipientFlag | None) -> Verdict | None:
    """None when a delivery of `campaign`, to a recipient with `flag`, may go; otherwise what
    to do with it instead."""
    if campaign is not None and campaign.status == CampaignStatus.CANCELLED:
        return Verdict(Status.CANCELLED, "campaign cancelled")
    if campaign is not None and campaign.status == CampaignStatus.PAUSED:
        return Verdict(Status.QUEUED, "campaign paused")
    if flag is not None and flag.opted_out_at is not None:
        return Verdict(Status.SKIPPED, "opted out")
    if flag is not None and flag.replied_at is not None:
        return Verdict(Status.CANCELLED, "replied")
    return None


class Sequences:
    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def limits(self, campaign: Campaign | None, account: Account) -> SendLimits:
        """The window and daily caps a send of `campaign` through `account` must keep."""
        return SendLimits(
            zone=ZoneInfo(account.timezone),
            window=window_of(campaign),
            daily_cap=account.daily_limit or self.runtime.settings.daily_limit,
            campaign_cap=campaign.daily_limit if campaign else None,
        )

    def caps(
        self, delivery: Delivery, limits: SendLimits, account: Account, now: datetime
    ) -> DailyCaps:
        """The daily caps as the claim checks them, in the same statement."""
        return DailyCaps(
            account=account.name,
            since=day_start(now, limits.zone),
            cap=limits.daily_cap,
            campaign=delivery.campaign,
            campaign_cap=limits.campaign_cap,
        )

    def held_until(
        self, delivery: Delivery, campaign: Campaign | None, account: Account, now: datetime
    ) -> datetime | None:
        """When the account's window and daily caps let `delivery` go, if not now."""
        store = self.runtime.store
        limits = self.limits(campaign, account)
        today = day_start(now, limits.zone)
        sent_today = store.sends_since(account.name, today)
        in_campaign = store.sends_since(account.name, today, delivery.campaign) if campaign else 0
        return hold_until(limits, now, sent_today, in_campaign)

    def reopen(self, delivery: Delivery, was: Status) -> int:
        """The steps after `delivery` that its ending `was` stopped wait for it again (it is
        being retried, or a late answer says how it really ended)."""
        if delivery.campaign is None:
            return 0
        reopened = self.runtime.store.reopen_stopped(delivery, stopped_by(delivery, was))
        if reopened:
            log.info("sequence_reopened", step=delivery.step, was=was.value, steps=reopened)
        return reopened

    def after(self, delivery: Delivery, status: Status, now: datetime) -> int | None:
        """Carry a step's end into its sequence; returns a follow-up's id when one is now due."""
        if delivery.campaign is None:
            return None
        store = self.runtime.store
        if status in (Status.FAILED, Status.UNKNOWN, Status.CANCELLED, Status.SKIPPED):
            stopped = store.cancel_pending(
                recipient=delivery.recipient,
                campaign=delivery.campaign,
                after_step=delivery.step,
                reason=stopped_by(delivery, status),
            )
            if stopped:
                log.info("sequence_stopped", step=delivery.step, status=status.value)
            return None
        if status != Status.SENT:
            return None
        follow_up = store.next_step(delivery)
        if follow_up is None or follow_up.id is None:
            return None
        account = self.runtime.accounts.find(follow_up.account)
        zone = ZoneInfo(account.timezone if account else "UTC")
        campaign = self.runtime.campaigns.get(delivery.campaign)
        due = window_of(campaign).next_open(now + timedelta(seconds=follow_up.after_s or 0), zone)
        # The same conversation as the step before; an InMail always opens a new one.
        conversation = (
            None if follow_up.inmail else delivery.conversation_id or delivery.conversation
        )
        if not store.move(
            follow_up.id,
            [Status.WAITING],
            {
                "status": Status.QUEUED,
                "due_at": due,
                "updated_at": now,
                "conversation": conversation,
            },
        ):
            return None
        self.runtime.due_index.index(follow_up.model_copy(update={"due_at": due}))
        log.info(
            "follow_up_scheduled",
            follow_up_id=follow_up.id,
            step=follow_up.step,
            due_at=due.isoformat(),
        )
        return follow_up.id

    def settle_stranded(self, now: datetime, grace_s: float = 60.0) -> int:
        """Carry into their sequences the steps whose end a dying worker left unfinished."""
        stranded = self.runtime.store.stranded_steps(now - timedelta(seconds=grace_s))
        for step in stranded:
            self.after(step, step.status, step.updated_at)
        if stranded:
            log.warning("stranded_steps_settled", count=len(stranded))
        return len(stranded)


def stopped_by(delivery: Delivery, status: Status) -> str:
    """Why the steps after `delivery` were cancelled when it ended `status`."""
    return f"step {delivery.step + 1} ended {status.value}"
