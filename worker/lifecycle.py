"""A delivery's life after its release, in one place: settle an outcome (database first, the
truth), carry it into the sequence, count it, and free or requeue its account's slot in Redis.
The worker and the scheduler's sweep both go through here, so the rules cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple, cast

import structlog

from worker.accounts import Accounts, ProviderName
from worker.due_index import PAUSED_FOREVER, DueIndex
from worker.logs import get_logger
from worker.metrics import ACCOUNT_PAUSES, REPLIES, SENDS
from worker.models import TERMINAL, Attempt, Delivery, Status
from worker.policy import Decision, Policy
from worker.providers import REGISTRY, Capability
from worker.recipient_store import NewReply, RecipientStore
from worker.recipients import parse_recipient
from worker.runtime import Runtime
from worker.sequences import Sequences, Verdict
from worker.store import DeliveryStore
from worker.webhooks.events import Event, delivery_event, paused_event, replied_event
from worker.webhooks.outbox import Outbox
from worker.webhooks.store import OutboxRow

log = get_logger("outreach.lifecycle")

TIMED_OUT = "no outcome within"  # how the sweep words a send it gave up waiting for


class Stopped(NamedTuple):
    """What recording replies did: replies new to the table, and sends cancelled."""

    recorded: int
    cancelled: int


class Lifecycle:
    def __init__(
        self,
        store: DeliveryStore,
        due_index: DueIndex,
        sequences: Sequences,
        accounts: Accounts,
        policy: Policy,
        *,
        recipients: RecipientStore,
        outbox: Outbox | None = None,
    ):
        self.recipients = recipients
        self.outbox = outbox
        self.store = store
        self.due_index = due_index
        self.sequences = sequences
        self.accounts = accounts
        self.policy = policy

    @classmethod
    def of(cls, runtime: Runtime) -> Lifecycle:
        """The lifecycle on `runtime`'s stores, index, accounts and policy."""
        return cls(
            runtime.store,
            runtime.due_index,
            Sequences(runtime),
            runtime.accounts,
            runtime.policy,
            recipients=runtime.recipients,
            outbox=runtime.outbox,
        )

    def settle(
        self,
        delivery: Delivery,
        from_status: Status,
        decision: Decision,
        at: datetime,
        *,
        attempt: Attempt | None = None,
    ) -> None:
        """Record `decision` for `delivery` (in `from_status`), whose answer came `at`, with
        the provider call's `attempt` in the same transaction. From `sending` the account's
        slot is freed after a pacing gap (a call was made); from `queued` (released, decided
        without a call) at once; from `confirming` the account holds no slot."""
        assert delivery.id is not None
        changes = {**decision.changes, "status": decision.status, "updated_at": at}
        # Webhook events ride in the move's transaction: none is written for a move that
        # did not happen. A pause is applied whatever the move did, so its event is too.
        ended = self._announce(lambda: [delivery_event(delivery.model_copy(update=changes), at)])
        paused = self._announce(lambda: [_paused_event(delivery.account, decision, at)])
        events = self.store.move_announcing(
            delivery.id, [from_status], changes, attempt=attempt, outbox=[*ended, *paused]
        )
        moved = events is not None
        if not moved and from_status == Status.SENDING:
            moved = self._late_answer(delivery, decision, at, ended)
        if not moved:
            log.warning("delivery_changed_meanwhile", wanted=decision.status.value)
        if events is None and paused and self.outbox is not None:
            events = self.outbox.write(paused)
        self._index_events(events or [], at)
        log.info(decision.event, status=decision.status.value, error=decision.changes.get("error"))
        if moved and decision.status in TERMINAL:
            SENDS.labels(delivery.provider, decision.status.value).inc()
        if moved and delivery.campaign is not None:
            self.sequences.after(delivery.model_copy(update=decision.changes), decision.status, at)
        paused_until = _paused_until(decision)
        if paused_until is not None:
            ACCOUNT_PAUSES.labels(delivery.account, _pause_cause(decision)).inc()
            log.warning(
                "account_paused",
                reason=decision.pause_reason,
                until=None if decision.pause_forever else decision.pause_until,
            )
        if decision.check_at is not None:
            self.due_index.schedule_check(delivery.id, decision.check_at.timestamp())
        elif from_status == Status.CONFIRMING:
            self.due_index.drop_check(delivery.id)
            if moved and decision.requeue_at is not None:  # a resolved profile: now to send
                self.due_index.index(delivery.model_copy(update={"due_at": decision.requeue_at}))
        paced = from_status == Status.SENDING
        finished = from_status in (Status.SENDING, Status.QUEUED) and self.due_index.finish(
            delivery.account,
            delivery.id,
            window_s=self.window_for(delivery.account) if paced else None,
            now=at.timestamp(),
            requeue_at=decision.requeue_at.timestamp() if decision.requeue_at else None,
            paused_until=paused_until,
            pause_reason=decision.pause_reason,
            breaker=decision.breaker,
        )
        if not finished and paused_until is not None:  # a late answer's pause counts too
            self.due_index.pause(delivery.account, paused_until, decision.pause_reason)

    def announce_pause(
        self, account: str, reason: str, until: datetime | None, cause: str, at: datetime
    ) -> None:
        """`account.paused` for a pause made outside a settle (a read refused, an operator):
        the pause lives in Redis alone, so its event is written on its own."""
        rows = self._announce(lambda: [paused_event(account, reason, until, cause, at)])
        if rows and self.outbox is not None:
            self._index_events(self.outbox.write(rows), at)

    def _announce(self, events: Callable[[], Sequence[Event | None]]) -> list[OutboxRow]:
        """The outbox rows for `events()`, built only when some endpoint listens."""
        return [] if self.outbox is None else self.outbox.rows(events)

    def _index_events(self, event_ids: list[int], at: datetime) -> None:
        """Events committed: due at once (a process dying before this leaves them to the
        scheduler's repair pass)."""
        if event_ids:
            self.due_index.schedule_webhooks(event_ids, at.timestamp())

    def _late_answer(
        self,
        delivery: Delivery,
        decision: Decision,
        at: datetime,
        ended: Sequence[OutboxRow] = (),
    ) -> bool:
        """A worker that went silent past the sending timeout got its answer after all: the
        sweep had marked the send `unknown`; what the provider said replaces that guess, and
        the steps the guess stopped wait again. Whether it was recorded."""
        assert delivery.id is not None
        current = self.store.get(delivery.id)
        if current is None or current.status != Status.UNKNOWN:
            return False
        if not (current.error or "").startswith(TIMED_OUT):
            return False  # unknown for a reason of its own (the answer itself said so)
        note = f"answered after the sending timeout had marked it unknown ({current.error})"
        changes = {
            **decision.changes,
            "error": decision.changes.get("error") or note,
            "status": decision.status,
            "updated_at": at,
        }
        events = self.store.move_announcing(delivery.id, [Status.UNKNOWN], changes, outbox=ended)
        if events is None:
            return False
        self._index_events(events, at)
        log.warning("late_answer_recorded", status=decision.status.value)
        self.sequences.reopen(delivery, was=Status.UNKNOWN)
        if decision.requeue_at is not None:  # a retry: the sweep freed the slot, index it
            self.due_index.index(delivery.model_copy(update={"due_at": decision.requeue_at}))
        return True

    def set_aside(self, delivery: Delivery, verdict: Verdict, now: datetime) -> None:
        """Free the account without sending: the campaign is paused, or the delivery ends."""
        assert delivery.id is not None
        if verdict.status != Status.QUEUED:
            self.store.move(
                delivery.id,
                [Status.QUEUED],
                {"status": verdict.status, "error": verdict.reason, "updated_at": now},
            )
            self.store.cancel_pending(
                recipient=delivery.recipient,
                reason=verdict.reason,
                campaign=delivery.campaign,
                after_step=delivery.step,
            )
        self.due_index.finish(delivery.account, delivery.id, window_s=None, now=now.timestamp())
        log.info("delivery_set_aside", status=verdict.status.value, reason=verdict.reason)

    def hold(
        self,
        delivery: Delivery,
        until: datetime,
        now: datetime,
        note: str | None = None,
        *,
        account_waits: datetime | None = None,
    ) -> None:
        """Put a delivery back, due when its account may send again; nothing was sent.
        `note`, when given, says why in the delivery's error; `account_waits`, when given,
        holds the account's next release until then too."""
        assert delivery.id is not None
        changes: dict[str, object] = {"due_at": until, "updated_at": now}
        if note is not None:
            changes["error"] = note
        self.store.move(delivery.id, [Status.QUEUED], changes)
        self.due_index.finish(
            delivery.account,
            delivery.id,
            window_s=None,
            now=now.timestamp(),
            requeue_at=until.timestamp(),
            not_before=None if account_waits is None else account_waits.timestamp(),
        )
        log.info("delivery_held", until=until.isoformat())

    def stop_replied(self, replies: Sequence[NewReply], now: datetime) -> Stopped:
        """Record replies and end what their sequences still had to send (`cancelled`,
        "replied"). The account slot is the caller's."""
        if not replies:
            return Stopped(0, 0)
        for reply in replies:
            REPLIES.labels(reply.how.value).inc()
        recorded = self.record_replies(replies, now)
        cancelled = 0
        for reply in replies:
            ended = self.store.cancel_pending(
                recipient=reply.recipient,
                reason="replied",
                campaign=reply.campaign,
                after_step=reply.step,
            )
            cancelled += ended
            log.info(
                "reply_recorded",
                recipient_step=reply.step,
                campaign=reply.campaign,
                how=reply.how.value,
                cancelled=ended,
            )
        return Stopped(recorded, cancelled)

    def record_replies(self, replies: Sequence[NewReply], now: datetime) -> int:
        """Record replies, with a `recipient.replied` event for each one new to the table;
        how many were new."""

        def announce(new: Sequence[NewReply]) -> list[OutboxRow]:
            return self._announce(lambda: [replied_event(reply, now) for reply in new])

        recorded = self.recipients.record_replies_announcing(replies, now, announce)
        self._index_events(recorded.events, now)
        return recorded.recorded

    def release_unsent(self, delivery: Delivery, now: datetime) -> None:
        """Free the account of a delivery that changed since its release: nothing was sent."""
        assert delivery.id is not None
        log.info("delivery_no_longer_queued", status=delivery.status.value)
        self.due_index.finish(delivery.account, delivery.id, window_s=None, now=now.timestamp())

    def time_out(
        self,
        account: str,
        delivery_id: int,
        *,
        due: float,
        delivery: Delivery | None,
        timeout_s: float,
        now: datetime,
    ) -> None:
        """A release whose worker went silent for longer than `timeout_s`."""
        if delivery is not None and delivery.status == Status.SENDING and awaits_profile(delivery):
            # The call under way was a profile fetch, which sends nothing: fetch again.
            error = f"{TIMED_OUT} {timeout_s:g}s of the profile fetch starting; nothing was sent"
            decision = Decision(
                "delivery_requeued", Status.QUEUED, {"error": error}, requeue_at=delivery.due_at
            )
            with structlog.contextvars.bound_contextvars(
                delivery_id=delivery_id, account=account, provider=delivery.provider
            ):
                self.settle(delivery, Status.SENDING, decision, now)
            return
        if delivery is not None and delivery.status == Status.SENDING:
            # The worker died or hung mid-send: the message may have gone out.
            error = f"{TIMED_OUT} {timeout_s:g}s of the send starting"
            decision = Decision("delivery_unknown", Status.UNKNOWN, {"error": error})
            with structlog.contextvars.bound_contextvars(
                delivery_id=delivery_id, account=account, provider=delivery.provider
            ):
                self.settle(delivery, Status.SENDING, decision, now)
            return
        requeue_at = None
        if delivery is not None and delivery.status == Status.QUEUED:
            requeue_at = due  # released but never claimed (its task was lost)
            log.warning("delivery_requeued", delivery_id=delivery_id, account=account)
        self.due_index.finish(
            account,
            delivery_id,
            window_s=self.window_for(account),
            now=now.timestamp(),
            requeue_at=requeue_at,
        )

    def window_for(self, account_name: str) -> tuple[float, float]:
        """An account's pacing window: its own if the accounts file gives one."""
        low, high = self.policy.pace_min_s, self.policy.pace_max_s
        account = self.accounts.find(account_name)
        if account is not None:
            low = account.pace_min_seconds if account.pace_min_seconds is not None else low
            high = account.pace_max_seconds if account.pace_max_seconds is not None else high
        return low, max(low, high)


def awaits_profile(delivery: Delivery) -> bool:
    """Whether `delivery`'s recipient must first be resolved to a URN (its provider resolves
    profiles and sends only to URNs; none is on the delivery yet): its provider call, or the
    task it waits for, is then a profile fetch, which sends nothing."""
    registration = REGISTRY.get(cast(ProviderName, delivery.provider))
    if delivery.recipient_urn is not None or registration is None:
        return False
    if not registration.can(Capability.RESOLVE_PROFILE):
        return False
    return registration.adapter.needs_profile_urn(parse_recipient(delivery.recipient))


def _paused_until(decision: Decision) -> float | None:
    if decision.pause_forever:
        return PAUSED_FOREVER
    return None if decision.pause_until is None else decision.pause_until.timestamp()


def _paused_event(account: str, decision: Decision, at: datetime) -> Event | None:
    """`account.paused` when `decision` pauses the account."""
    if not decision.pause_forever and decision.pause_until is None:
        return None
    until = None if decision.pause_forever else decision.pause_until
    return paused_event(account, decision.pause_reason, until, _pause_cause(decision), at)


def _pause_cause(decision: Decision) -> str:
    if decision.breaker == "trip":
        return "breaker"
    return "account_refused" if decision.pause_forever else "rate_limited"
