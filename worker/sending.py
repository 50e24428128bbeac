"""The work a Celery task does: send one delivery, or check one OutX task, and record the
outcome. Claim before send: a delivery is moved to `sending` in one conditional update before
the provider is called, so a duplicated task finds it claimed and does nothing.

A delivery whose recipient must first be resolved to a URN (OutX and a profile URL) takes the
cached answer when there is one; else its release makes a profile fetch instead of the send
(paced like one), its task is checked like a send's, and the URN found queues it again."""

from __future__ import annotations

import base64
import random
import time
from dataclasses import replace
from datetime import datetime, timedelta

import structlog
from sqlalchemy.exc import SQLAlchemyError

from worker.accounts import Account
from worker.database import database_away
from worker.database_outage import DatabaseOutage
from worker.errors import UnknownAccountError
from worker.lifecycle import Lifecycle, awaits_profile
from worker.logs import get_logger
from worker.metrics import ATTEMPTS, PROVIDER_LATENCY
from worker.models import Attempt, Campaign, Delivery, Status
from worker.policy import (
    Breaker,
    Decision,
    counts_toward_breaker,
    decide_check,
    decide_fetch,
    decide_fetch_check,
    decide_send,
    unresolved,
)
from worker.providers import Capability, Provider, build_provider
from worker.providers.base import Clock, MediaFile, SendRequest, utc_now
from worker.providers.outcomes import (
    FetchOutcome,
    ProfileOutcome,
    Rejected,
    Resolved,
    SendOutcome,
    TaskOutcome,
)
from worker.recipients import parse_recipient
from worker.reply_check import ReplyCheck, Stop, Wait
from worker.runtime import Runtime
from worker.sequences import verdict

GIVE_BACK_S = 5.0  # a delivery given back for want of a database is due again this much later

log = get_logger("outreach.sending")


class SendService:
    def __init__(self, runtime: Runtime, rng: random.Random | None = None, clock: Clock = utc_now):
        self.runtime = runtime
        self.rng = rng or random.Random()
        self.clock = clock
        self.lifecycle = Lifecycle.of(runtime)
        self.sequences = self.lifecycle.sequences
        self.reply_check = ReplyCheck(runtime)

    def send(self, delivery_id: int) -> None:
        """Claim the delivery, call its provider, record the outcome. A database that cannot
        be reached before the call gives the delivery back untouched; one that goes away
        after it is waited for (`DatabaseOutage`)."""
        try:
            claimed = self._claim(delivery_id)
        except SQLAlchemyError as exc:
            if not database_away(exc):
                raise
            self._give_back(delivery_id, exc)
            return
        if claimed is None:
            return
        rt = self.runtime
        with structlog.contextvars.bound_contextvars(
            delivery_id=delivery_id,
            account=claimed.account,
            provider=claimed.provider,
            attempt=claimed.attempts,
        ):
            log.info("delivery_sending")
            if awaits_profile(claimed):
                answered_at, attempt, decision = self._fetch_instead(claimed)
            else:
                outcome, answered_at, attempt = self._call_provider(claimed)
                # Only a failure needs the account's run so far; a success just resets it.
                run = self._breaker_before(claimed, outcome)
                decision = decide_send(
                    outcome, claimed, rt.policy, answered_at, self.rng, breaker=run
                )
            DatabaseOutage(rt).record(
                claimed,
                decision,
                lambda: self.lifecycle.settle(
                    claimed, Status.SENDING, decision, answered_at, attempt=attempt
                ),
            )

    def _fetch_instead(self, claimed: Delivery) -> tuple[datetime, Attempt | None, Decision]:
        """Fetch the recipient's profile in place of the send (it is resolved before a send),
        and decide what that came to; a profile the fetch refuses is cached so."""
        outcome, answered_at, attempt = self._fetch_profile(claimed)
        if isinstance(outcome, Rejected) and not outcome.account_level:
            kept = self._remember(claimed, outcome, answered_at)
            outcome = kept if isinstance(kept, Rejected) else outcome
        run = self._breaker_before(claimed, outcome)
        decision = decide_fetch(
            outcome, claimed, self.runtime.policy, answered_at, self.rng, breaker=run
        )
        return answered_at, attempt, decision

    def _breaker_before(self, delivery: Delivery, outcome: SendOutcome) -> Breaker | None:
        """The account's run of unexplained answers, when `outcome` counts towards it."""
        if not counts_toward_breaker(outcome):
            return None
        return self.runtime.due_index.breaker(delivery.account)

    def _give_back(self, delivery_id: int, exc: SQLAlchemyError) -> None:
        """Nothing was sent: put the delivery back in its account's queue, a little later,
        and free the account (which waits as long: its other deliveries need the database
        too). The account is found from Redis, the one thing this worker can still read."""
        rt = self.runtime
        account = rt.due_index.inflight_account(delivery_id)
        log.warning(
            "delivery_given_back",
            delivery_id=delivery_id,
            account=account,
            reason=f"database unreachable: {type(exc).__name__}",
        )
        if account is None:
            return  # not in flight: a stale task, nothing to give back
        now = time.time()
        retry_at = now + GIVE_BACK_S
        rt.due_index.finish(
            account, delivery_id, window_s=None, now=now, requeue_at=retry_at, not_before=retry_at
        )

    def _claim(self, delivery_id: int) -> Delivery | None:
        """The delivery, moved to `sending` for this worker; None when it is not to be sent
        now (held, set aside, stopped by a reply, or another task's)."""
        rt = self.runtime
        found = rt.store.for_send(delivery_id)
        if found is None:
            return None
        delivery, campaign, flag = found
        with structlog.contextvars.bound_contextvars(
            delivery_id=delivery_id, account=delivery.account, provider=delivery.provider
        ):
            if not rt.due_index.holds(delivery.account, delivery_id):
                log.info("delivery_not_in_flight")  # a stale or duplicated task
                return None
            if delivery.status == Status.SENDING:
                log.info("delivery_already_claimed")  # another worker is sending it
                return None
            if delivery.status != Status.QUEUED:
                # Changed since its release (cancelled, say): free the account, send nothing.
                self.lifecycle.release_unsent(delivery, self.clock())
                return None
            now = self.clock()
            set_aside = verdict(campaign, flag)
            if set_aside is not None:
                self.lifecycle.set_aside(delivery, set_aside, now)
                return None
            account = rt.accounts.find(delivery.account)
            caps = None
            if account is not None:
                limits = self.sequences.limits(campaign, account)
                opens = limits.window.next_open(now, limits.zone)
                if opens > now:
                    self.lifecycle.hold(delivery, opens, now)
                    return None
                caps = self.sequences.caps(delivery, limits, account, now)
                ready = self._ready(delivery, campaign, account, now)
                if ready is None:
                    return None
                delivery = ready
            # The daily caps are checked inside the claim: one statement, no separate count.
            claimed = rt.store.claim(delivery_id, now, caps=caps, read=delivery)
            if claimed is None:
                held_until = account and self.sequences.held_until(delivery, campaign, account, now)
                if held_until:
                    self.lifecycle.hold(delivery, held_until, now)
                else:
                    log.info("delivery_already_claimed")
            return claimed

    def _ready(
        self, delivery: Delivery, campaign: Campaign | None, account: Account, now: datetime
    ) -> Delivery | None:
        """`delivery` as it may be claimed, once its recipient has not answered the step
        before and its profile is known or to be fetched; None when it was dealt with."""
        if not self._no_reply_yet(delivery, campaign, account, now):
            return None
        if awaits_profile(delivery):
            return self._known_profile(delivery, now)
        return delivery

    def _no_reply_yet(
        self, delivery: Delivery, campaign: Campaign | None, account: Account, now: datetime
    ) -> bool:
        """Whether a follow-up may go: its recipient has not answered the step before. When
        not, the delivery is held or its sequence stopped here, and the account freed."""
        if delivery.step == 0 or campaign is None:
            return True
        check = self.reply_check.before_follow_up(delivery, campaign, account, now)
        if isinstance(check, Wait):
            account_waits = check.until if check.for_read_slot else None
            self.lifecycle.hold(delivery, check.until, now, check.note, account_waits=account_waits)
            return False
        if isinstance(check, Stop):
            assert delivery.id is not None
            self.lifecycle.stop_replied([check.reply], now)
            self.runtime.due_index.finish(  # nothing was sent: no gap
                delivery.account, delivery.id, window_s=None, now=now.timestamp()
            )
            return False
        return True

    def _known_profile(self, delivery: Delivery, now: datetime) -> Delivery | None:
        """`delivery`, about to be claimed, as what is known of its recipient's profile lets
        it go: with the cached URN (written on it before any send, so that a send in flight
        is never taken for a fetch), or as it is, to fetch the profile. None when it is dealt
        with here, without a call: failed with the cached reason, or held while another
        delivery's fetch of the same profile is under way."""
        rt = self.runtime
        assert delivery.id is not None
        known = rt.profiles.get(delivery.recipient)
        if known is not None and known.urn is not None:
            changes = {"recipient_urn": known.urn, "updated_at": now}
            if not rt.store.move(delivery.id, [Status.QUEUED], changes):
                return delivery  # changed meanwhile: the claim will find it so
            log.info("profile_urn_known", recipient_urn=known.urn)
            return delivery.model_copy(update=changes)
        if known is not None:
            error = unresolved(known.error or "no reason recorded")
            decision = Decision("delivery_failed", Status.FAILED, {"error": error})
            self.lifecycle.settle(delivery, Status.QUEUED, decision, now)
            return None
        other = rt.profiles.fetch_under_way(delivery.recipient, besides=delivery.id)
        if other is not None:
            until = now + timedelta(seconds=rt.policy.check_first_s)
            self.lifecycle.hold(
                delivery, until, now, f"waiting for delivery {other}'s profile fetch"
            )
            return None
        return delivery

    def _remember(
        self, delivery: Delivery, outcome: Resolved | Rejected, at: datetime
    ) -> Resolved | Rejected:
        """Cache what a fetch said of the profile: its URN, or why it could not be resolved.
        The answer as the cache now has it (of two fetches that raced, the first's)."""
        profiles = self.runtime.profiles
        if isinstance(outcome, Resolved):
            kept = profiles.remember(delivery.recipient, at, urn=outcome.urn)
        else:
            kept = profiles.remember(delivery.recipient, at, error=outcome.reason)
        if kept.urn is not None:
            return Resolved(kept.urn, outcome.http_status)
        return Rejected(kept.error or "no reason recorded", http_status=outcome.http_status)

    def check(self, delivery_id: int) -> None:
        rt = self.runtime
        delivery = rt.store.get(delivery_id)
        if delivery is None or delivery.status != Status.CONFIRMING or delivery.task_id is None:
            rt.due_index.drop_check(delivery_id)
            return
        with structlog.contextvars.bound_contextvars(
            delivery_id=delivery_id, account=delivery.account, provider=delivery.provider
        ):
            if awaits_profile(delivery):
                fetched, answered_at, attempt = self._check_fetch(delivery, delivery.task_id)
                if isinstance(fetched, Resolved) or (
                    isinstance(fetched, Rejected) and not fetched.account_level
                ):
                    fetched = self._remember(delivery, fetched, answered_at)
                decision = decide_fetch_check(fetched, delivery, rt.policy, answered_at, self.rng)
            else:
                outcome, answered_at, attempt = self._check_task(delivery, delivery.task_id)
                decision = decide_check(outcome, delivery, rt.policy, answered_at)
            self.lifecycle.settle(
                delivery, Status.CONFIRMING, decision, answered_at, attempt=attempt
            )

    def _call_provider(self, delivery: Delivery) -> tuple[SendOutcome, datetime, Attempt | None]:
        """The send's outcome; when its answer came (the request had certainly left by then,
        so the account's next gap counts from that moment); and the attempt to record with
        the outcome, in the same transaction (None when no call was made)."""
        rt = self.runtime
        try:
            account = rt.accounts[delivery.account]
        except UnknownAccountError as exc:
            return Rejected(str(exc)), self.clock(), None
        provider = build_provider(account.provider, rt.http, rt.settings)
        started, timer = self.clock(), time.perf_counter()
        media = rt.campaigns.media(delivery.media_ref) if delivery.media_ref else None
        request = request_of(delivery, media)
        resolved = delivery.recipient_urn is not None and provider.can(Capability.RESOLVE_PROFILE)
        if resolved and provider.needs_profile_urn(request.recipient):  # send to its URN
            assert delivery.recipient_urn is not None
            request = replace(request, recipient=parse_recipient(delivery.recipient_urn))
        outcome = provider.send(account, request)
        answered_at = self.clock()
        return outcome, answered_at, self._attempt("send", delivery, started, timer, outcome)

    def _check_task(
        self, delivery: Delivery, task_id: str
    ) -> tuple[TaskOutcome, datetime, Attempt | None]:
        found = self._provider(delivery, Capability.CHECK_TASK, "has no tasks")
        if isinstance(found, Rejected):
            return found, self.clock(), None
        account, provider = found
        started, timer = self.clock(), time.perf_counter()
        outcome = provider.check_task(account, task_id)
        answered_at = self.clock()
        return outcome, answered_at, self._attempt("check", delivery, started, timer, outcome)

    def _fetch_profile(self, delivery: Delivery) -> tuple[FetchOutcome, datetime, Attempt | None]:
        """Start the fetch of `delivery`'s recipient's profile, in place of its send."""
        found = self._provider(delivery, Capability.RESOLVE_PROFILE, "cannot resolve profiles")
        if isinstance(found, Rejected):
            return found, self.clock(), None
        account, provider = found
        started, timer = self.clock(), time.perf_counter()
        outcome = provider.start_profile_fetch(account, parse_recipient(delivery.recipient))
        answered_at = self.clock()
        return outcome, answered_at, self._attempt("resolve", delivery, started, timer, outcome)

    def _check_fetch(
        self, delivery: Delivery, task_id: str
    ) -> tuple[ProfileOutcome, datetime, Attempt | None]:
        found = self._provider(delivery, Capability.RESOLVE_PROFILE, "cannot resolve profiles")
        if isinstance(found, Rejected):
            return found, self.clock(), None
        account, provider = found
        started, timer = self.clock(), time.perf_counter()
        outcome = provider.profile_fetch(account, task_id)
        answered_at = self.clock()
        return outcome, answered_at, self._attempt("resolve", delivery, started, timer, outcome)

    def _provider(
        self, delivery: Delivery, capability: Capability, lacking: str
    ) -> tuple[Account, Provider] | Rejected:
        """The delivery's account and its provider, which must have `capability`; else why
        not, at the account's level (the accounts file changed since the delivery began)."""
        rt = self.runtime
        try:
            account = rt.accounts[delivery.account]
        except UnknownAccountError as exc:
            return Rejected(str(exc), account_level=True)
        provider = build_provider(account.provider, rt.http, rt.settings)
        if not provider.can(capability):
            reason = f"account {account.name} now uses {account.provider}, which {lacking}"
            return Rejected(reason, account_level=True)
        return account, provider

    def _attempt(
        self,
        kind: str,
        delivery: Delivery,
        started: datetime,
        timer: float,
        outcome: SendOutcome | TaskOutcome | ProfileOutcome,
    ) -> Attempt:
        """The attempt row for a provider call just made, counted and logged."""
        assert delivery.id is not None
        latency_ms = (time.perf_counter() - timer) * 1000
        outcome_name = type(outcome).__name__
        attempt = Attempt(
            delivery_id=delivery.id,
            account=delivery.account,
            kind=kind,
            started_at=started,
            outcome=outcome_name.lower(),
            http_status=outcome.http_status,
            latency_ms=latency_ms,
            error=getattr(outcome, "reason", None),
        )
        ATTEMPTS.labels(delivery.provider, kind, outcome_name.lower()).inc()
        PROVIDER_LATENCY.labels(delivery.provider, kind).observe(latency_ms / 1000)
        log.info(
            "provider_called",
            kind=kind,
            outcome=outcome_name,
            http_status=outcome.http_status,
            latency_ms=round(latency_ms, 1),
        )
        return attempt


def request_of(delivery: Delivery, stored_media: MediaFile | None = None) -> SendRequest:
    """The request a delivery stands for; a campaign's file is stored once, apart
    (`stored_media`), a single message's inline."""
    media = stored_media
    if delivery.media_base64 is not None:
        media = MediaFile(
            delivery.media_type or "application/octet-stream",
            base64.b64decode(delivery.media_base64),
        )
    return SendRequest(
        recipient=parse_recipient(delivery.recipient),
        text=delivery.text,
        subject=delivery.subject,
        inmail=delivery.inmail,
        media_link=delivery.media_link,
        media_file=media,
        # An InMail opens a conversation of its own (the reply check may have found the
        # old one, to read it): it is never sent into one.
        conversation_urn=None if delivery.inmail else delivery.conversation,
    )
