"""The inbox sweep: finds replies between steps, and to the last one, so reports are current.

Every `OUTREACH_INBOX_POLL_SECONDS` each account with campaign steps sent in the last
`WATCH` has its inbox read, newest first, one page per task and per read slot, until the first
conversation older than the previous sweep's start. A conversation whose latest message is the
other person's, and came after a step we sent them, is a reply: recorded, and what its
sequence still had to send is cancelled. Redis keeps where a sweep stands
(`DueIndex.inbox_progress`), so nothing waits inside Celery and a lost task only repeats a page.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from worker.due_index import InboxProgress
from worker.lifecycle import Lifecycle
from worker.logs import get_logger
from worker.metrics import READS
from worker.models import Delivery, ReplyHow
from worker.providers import REGISTRY, Capability, build_provider
from worker.providers.base import Clock, utc_now
from worker.providers.reads import InboxEntry, InboxPage, ReadFailed
from worker.recipient_store import NewReply
from worker.recipients import PROFILE_URL_PREFIX, parse_recipient
from worker.replies import CLOCK_SLACK
from worker.reply_check import RETRY_MAX, pause_for_read, read_ended
from worker.runtime import Runtime

log = get_logger("outreach.inbox")

WATCH = timedelta(days=30)  # a sequence whose last step went out longer ago is not watched


class Watched:
    """The steps an inbox's conversations may answer: each recipient's latest sent step in
    each campaign, found by conversation id, profile URL or member id."""

    def __init__(self, steps: list[Delivery]):
        latest: dict[tuple[str | None, str], Delivery] = {}
        for step in steps:
            key = (step.campaign, step.recipient)
            if key not in latest or latest[key].step < step.step:
                latest[key] = step
        self.by_id: dict[str, list[Delivery]] = {}
        for step in latest.values():
            for name in _names_of(step):
                self.by_id.setdefault(name, []).append(step)

    def answered_by(self, entry: InboxEntry) -> list[Delivery]:
        names = {entry.conversation, entry.participant.member_id}
        if entry.participant.profile_url:
            names.add(_canonical(entry.participant.profile_url))
        found: dict[int | None, Delivery] = {}
        for name in names - {None}:
            for step in self.by_id.get(name or "", []):
                found[step.id] = step
        return list(found.values())


def _names_of(step: Delivery) -> set[str]:
    names = {step.recipient}
    recipient = parse_recipient(step.recipient)
    for value in (step.conversation_id, recipient.member_id, step.recipient_urn):
        if value:
            names.add(value.rsplit(":", 1)[-1] if value.startswith("urn:li:fsd") else value)
    return names


def _names_on(page: InboxPage) -> set[str]:
    """Every way a step to someone on `page` may name them, as the deliveries table stores
    it: conversation ids, profile URLs and public ids, profile URNs."""
    names: set[str] = set()
    for entry in page.entries:
        names.add(entry.conversation)
        member_id = entry.participant.member_id
        if member_id:
            names.update(
                f"urn:li:{kind}:{member_id}" for kind in ("fsd_profile", "person", "member")
            )
        url = _canonical(entry.participant.profile_url) if entry.participant.profile_url else None
        if url:
            names.update((url, url.removeprefix(PROFILE_URL_PREFIX)))
    return names


def _canonical(url: str) -> str | None:
    try:
        return parse_recipient(url).value
    except ValueError:
        return None


class InboxSweep:
    def __init__(self, runtime: Runtime, clock: Clock = utc_now):
        self.runtime = runtime
        self.clock = clock
        self.lifecycle = Lifecycle.of(runtime)

    def read_page(self, account_name: str) -> None:
        """Read the next page of `account_name`'s inbox, when its read slot allows."""
        rt = self.runtime
        now = self.clock()
        account = rt.accounts.find(account_name)
        oldest = rt.store.oldest_sent_step(account_name, now - WATCH) if account else None
        if (
            account is None
            or oldest is None
            or not REGISTRY[account.provider].can(Capability.READ_INBOX)
        ):
            rt.due_index.drop_inbox(account_name)
            return
        progress = rt.due_index.inbox_progress(account_name)
        slot = rt.due_index.take_read(account_name, now.timestamp(), rt.settings.read_min_seconds)
        if not slot.granted:
            at = min(slot.at, now.timestamp() + RETRY_MAX.total_seconds())
            rt.due_index.continue_inbox(account_name, progress, at)
            return
        started = progress.started_at or now.timestamp()
        since = progress.since
        if since is None:  # a new sweep: back to the last one's start, or the oldest step
            since = progress.swept_at or oldest.timestamp() - CLOCK_SLACK.total_seconds()
        provider = build_provider(account.provider, rt.http, rt.settings)
        timer = time.perf_counter()
        page = provider.read_inbox(account, progress.cursor)
        ended = read_ended(now, time.perf_counter() - timer)
        rt.due_index.read_done(account_name, ended, rt.settings.read_min_seconds)
        if isinstance(page, ReadFailed):
            READS.labels(account.provider, "inbox", "failed").inc()
            log.warning("inbox_read_failed", account=account_name, reason=page.reason)
            if page.pause is not None:
                pause_for_read(rt, account_name, page, now)
            retry_at = now.timestamp() + rt.settings.reply_check_retry_seconds
            rt.due_index.continue_inbox(account_name, progress, retry_at)
            return
        READS.labels(account.provider, "inbox", "page").inc()
        # Only the steps this page's conversations can answer: a page reads its own few.
        watched = rt.store.sent_steps(account_name, now - WATCH, named=_names_on(page))
        replies, reached = self._replies_on(page, Watched(watched), since, account_name)
        self.lifecycle.stop_replied(replies, now)
        if reached or page.next_cursor is None:
            rt.due_index.finish_inbox(
                account_name, started, next_at=started + rt.settings.inbox_poll_seconds
            )
            log.info("inbox_swept", account=account_name, replies=len(replies))
            return
        progress = InboxProgress(page.next_cursor, since, started, progress.swept_at)
        next_read = ended + rt.settings.read_min_seconds
        rt.due_index.continue_inbox(account_name, progress, next_read)

    def _replies_on(
        self, page: InboxPage, watched: Watched, since: float, account: str
    ) -> tuple[list[NewReply], bool]:
        """The replies a page shows, and whether it reached conversations older than `since`."""
        replies: list[NewReply] = []
        for entry in page.entries:
            if entry.last_at.timestamp() < since:
                return replies, True
            if entry.last_from_them is not True:
                continue  # ours, or it cannot say: the check before a follow-up reads it whole
            for step in watched.answered_by(entry):
                sent = min(t for t in (step.claimed_at, step.sent_at) if t is not None)
                if entry.last_at >= sent - CLOCK_SLACK:
                    replies.append(_reply(entry, step, account))
        return replies, False


def _reply(entry: InboxEntry, step: Delivery, account: str) -> NewReply:
    return NewReply(
        recipient=step.recipient,
        received_at=entry.last_at,
        how=ReplyHow.INBOX,
        account=account,
        campaign=step.campaign,
        step=step.step,
        conversation=entry.conversation,
        text=entry.last_text,
    )


def watch_inboxes(runtime: Runtime, now: datetime) -> int:
    """Schedule a sweep, now, for each account that has none scheduled and whose inbox may
    hold replies; returns how many accounts are watched."""
    accounts = []
    for name in runtime.store.accounts_with_sent_steps(now - WATCH):
        account = runtime.accounts.find(name)
        if account is not None and REGISTRY[account.provider].can(Capability.READ_INBOX):
            accounts.append(name)
    for name in accounts:
        runtime.due_index.schedule_inbox(name, now.timestamp(), only_new=True)
    return len(accounts)
