"""The work a Celery task does: send one delivery, or check one OutX task, and record the
outcome. Claim before send: a delivery is moved to `sending` in one conditional update before
the provider is called, so a duplicated task finds it claimed and does nothing."""

from __future__ import annotations

import base64
import random
import time
from datetime import datetime

import structlog

from worker.errors import UnknownAccountError
from worker.logs import get_logger
from worker.metrics import ACCOUNT_PAUSES, ATTEMPTS, PROVIDER_LATENCY, SENDS
from worker.models import TERMINAL, Attempt, Delivery, Status
from worker.pacing import PAUSED_FOREVER
from worker.policy import Decision, counts_toward_breaker, decide_check, decide_send
from worker.providers import build_provider
from worker.providers.base import Clock, MediaFile, SendRequest, utc_now
from worker.providers.outcomes import Rejected, SendOutcome, TaskOutcome
from worker.providers.outx import OutX
from worker.recipients import parse_recipient
from worker.runtime import Runtime
from worker.sequences import Sequences, Verdict

log = get_logger("outreach.sending")


class SendService:
    def __init__(self, runtime: Runtime, rng: random.Random | None = None, clock: Clock = utc_now):
        self.runtime = runtime
        self.rng = rng or random.Random()
        self.clock = clock
        self.sequences = Sequences(runtime)

    def send(self, delivery_id: int) -> None:
        rt = self.runtime
        delivery = rt.store.get(delivery_id)
        if delivery is None:
            return
        with structlog.contextvars.bound_contextvars(
            delivery_id=delivery_id, account=delivery.account, provider=delivery.provider
        ):
            if not rt.pacer.holds(delivery.account, delivery_id):
                log.info("delivery_not_in_flight")  # a stale or duplicated task
                return
            if delivery.status == Status.SENDING:
                log.info("delivery_already_claimed")  # another worker is sending it
                return
            if delivery.status != Status.QUEUED:
                # Changed since its release (cancelled, say): free the account, send nothing.
                log.info("delivery_no_longer_queued", status=delivery.status.value)
                rt.pacer.finish(
                    delivery.account, delivery_id, window_s=None, now=self.clock().timestamp()
                )
                return
            now = self.clock()
            campaign = self.sequences.campaign_of(delivery)  # read once for both checks
            verdict = self.sequences.verdict(delivery, campaign)
            if verdict is not None:
                self._set_aside(delivery, verdict, now)
                return
            account = rt.accounts.find(delivery.account)
            held_until = account and self.sequences.held_until(delivery, campaign, account, now)
            if held_until:
                self._hold(delivery, held_until, now)
                return
            claimed = rt.store.claim(delivery_id, now)
            if claimed is None:
                log.info("delivery_already_claimed")
                return
            with structlog.contextvars.bound_contextvars(attempt=claimed.attempts):
                log.info("delivery_sending")
                outcome, answered_at = self._call_provider(claimed)
                # Only a failure needs the account's run so far; a success just resets it.
                run = rt.pacer.breaker(claimed.account) if counts_toward_breaker(outcome) else None
                decision = decide_send(
                    outcome, claimed, rt.policy, answered_at, self.rng, breaker=run
                )
                self._apply(claimed, Status.SENDING, decision, answered_at)

    def check(self, delivery_id: int) -> None:
        rt = self.runtime
        delivery = rt.store.get(delivery_id)
        if delivery is None or delivery.status != Status.CONFIRMING or delivery.task_id is None:
            rt.pacer.drop_check(delivery_id)
            return
        with structlog.contextvars.bound_contextvars(
            delivery_id=delivery_id, account=delivery.account, provider=delivery.provider
        ):
            outcome, answered_at = self._check_task(delivery, delivery.task_id)
            decision = decide_check(outcome, delivery, rt.policy, answered_at)
            self._apply(delivery, Status.CONFIRMING, decision, answered_at)

    def _set_aside(self, delivery: Delivery, verdict: Verdict, now: datetime) -> None:
        """Free the account without sending: the campaign is paused, or the delivery ends."""
        assert delivery.id is not None
        if verdict.status != Status.QUEUED:
            self.runtime.store.move(
                delivery.id,
                [Status.QUEUED],
                {"status": verdict.status, "error": verdict.reason, "updated_at": now},
            )
            self.runtime.store.cancel_pending(
                recipient=delivery.recipient,
                reason=verdict.reason,
                campaign=delivery.campaign,
                after_step=delivery.step,
            )
        self.runtime.pacer.finish(delivery.account, delivery.id, window_s=None, now=now.timestamp())
        log.info("delivery_set_aside", status=verdict.status.value, reason=verdict.reason)

    def _hold(self, delivery: Delivery, until: datetime, now: datetime) -> None:
        """Put a delivery back, due when its account may send again; nothing was sent."""
        assert delivery.id is not None
        self.runtime.store.move(delivery.id, [Status.QUEUED], {"due_at": until, "updated_at": now})
        self.runtime.pacer.finish(
            delivery.account,
            delivery.id,
            window_s=None,
            now=now.timestamp(),
            requeue_at=until.timestamp(),
        )
        log.info("delivery_held", until=until.isoformat())

    def _call_provider(self, delivery: Delivery) -> tuple[SendOutcome, datetime]:
        """The send's outcome, and when its answer came: the request had certainly left by
        then, so the account's next gap counts from that moment."""
        rt = self.runtime
        try:
            account = rt.accounts[delivery.account]
        except UnknownAccountError as exc:
            return Rejected(str(exc)), self.clock()
        provider = build_provider(account.provider, rt.http, rt.settings)
        started, timer = self.clock(), time.perf_counter()
        outcome = provider.send(account, request_of(delivery))
        answered_at = self.clock()
        self._record("send", delivery, started, timer, outcome)
        return outcome, answered_at

    def _check_task(self, delivery: Delivery, task_id: str) -> tuple[TaskOutcome, datetime]:
        rt = self.runtime
        try:
            account = rt.accounts[delivery.account]
        except UnknownAccountError as exc:
            return Rejected(str(exc), account_level=True), self.clock()
        provider = build_provider(account.provider, rt.http, rt.settings)
        assert isinstance(provider, OutX)  # only OutX deliveries are ever confirming
        started, timer = self.clock(), time.perf_counter()
        outcome = provider.check_task(account, task_id)
        answered_at = self.clock()
        self._record("check", delivery, started, timer, outcome)
        return outcome, answered_at

    def _record(
        self,
        kind: str,
        delivery: Delivery,
        started: datetime,
        timer: float,
        outcome: SendOutcome | TaskOutcome,
    ) -> None:
        assert delivery.id is not None
        latency_ms = (time.perf_counter() - timer) * 1000
        outcome_name = type(outcome).__name__
        self.runtime.store.record_attempt(
            Attempt(
                delivery_id=delivery.id,
                account=delivery.account,
                kind=kind,
                started_at=started,
                outcome=outcome_name.lower(),
                http_status=outcome.http_status,
                latency_ms=latency_ms,
                error=getattr(outcome, "reason", None),
            )
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

    def _apply(
        self, delivery: Delivery, from_status: Status, decision: Decision, answered_at: datetime
    ) -> None:
        """Record the decision in the database first (the truth), then in Redis."""
        rt = self.runtime
        assert delivery.id is not None
        now = self.clock()
        moved = rt.store.move(
            delivery.id,
            [from_status],
            {**decision.changes, "status": decision.status, "updated_at": now},
        )
        if not moved:
            log.warning("delivery_changed_meanwhile", wanted=decision.status.value)
        log.info(decision.event, status=decision.status.value, error=decision.changes.get("error"))
        if moved and decision.status in TERMINAL:
            SENDS.labels(delivery.provider, decision.status.value).inc()
        if moved:
            sent = delivery.model_copy(update=decision.changes)
            self.sequences.after(sent, decision.status, answered_at)
        paused_until = None
        if decision.pause_forever:
            paused_until = PAUSED_FOREVER
        elif decision.pause_until is not None:
            paused_until = decision.pause_until.timestamp()
        if paused_until is not None:
            cause = (
                "breaker"
                if decision.breaker == "trip"
                else "account_refused"
                if decision.pause_forever
                else "rate_limited"
            )
            ACCOUNT_PAUSES.labels(delivery.account, cause).inc()
            log.warning(
                "account_paused",
                reason=decision.pause_reason,
                until=None if decision.pause_forever else decision.pause_until,
            )
        if decision.check_at is not None:
            rt.pacer.schedule_check(delivery.id, decision.check_at.timestamp())
        elif from_status == Status.CONFIRMING:
            rt.pacer.drop_check(delivery.id)
        if from_status == Status.SENDING:
            rt.pacer.finish(
                delivery.account,
                delivery.id,
                window_s=self.window_for(delivery.account),
                now=answered_at.timestamp(),
                requeue_at=decision.requeue_at.timestamp() if decision.requeue_at else None,
                paused_until=paused_until,
                pause_reason=decision.pause_reason,
                breaker=decision.breaker,
            )
        elif paused_until is not None:
            rt.pacer.pause(delivery.account, paused_until, decision.pause_reason)

    def window_for(self, account_name: str) -> tuple[float, float]:
        """An account's pacing window: its own if the accounts file gives one."""
        policy = self.runtime.policy
        low, high = policy.pace_min_s, policy.pace_max_s
        account = self.runtime.accounts.find(account_name)
        if account is not None:
            low = account.pace_min_seconds if account.pace_min_seconds is not None else low
            high = account.pace_max_seconds if account.pace_max_seconds is not None else high
        return low, max(low, high)


def request_of(delivery: Delivery) -> SendRequest:
    media = None
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
        conversation_urn=delivery.conversation,
    )
