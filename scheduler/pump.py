"""The due-time pump: releases due deliveries, OutX checks, inbox reads and webhook events as
Celery tasks, and sweeps up sends whose worker stopped answering. Several pumps may run at
once: every release is one atomic Lua call, so each delivery goes to exactly one of them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import redis

from scheduler.recovery import reindex_lost, reindex_webhooks
from worker import keys
from worker.celery_app import CHECK_TASK, INBOX_TASK, QUEUE, SEND_TASK, WEBHOOK_TASK
from worker.inbox_sweep import watch_inboxes
from worker.lifecycle import Lifecycle
from worker.logs import get_logger
from worker.runtime import Runtime

log = get_logger("outreach.scheduler")

Publish = Callable[[str, int | str], None]  # a task's name, and its one argument
RELEASE_BATCH = 500
MAX_SLEEP_S = 0.2  # how long newly enqueued work may wait for a sleeping pump
CHECK_LEASE_S = 60.0
INBOX_LEASE_S = 300.0  # an inbox read whose task was lost is made again after this
WEBHOOK_LEASE_FACTOR = 3.0  # times OUTREACH_WEBHOOK_TIMEOUT_SECONDS
WATCH_EVERY_S = 60.0  # at most; sooner when inboxes are polled more often
SWEEP_EVERY_S = 1.0
REPAIR_EVERY_S = 30.0  # at most; sooner when the sending timeout is shorter
CLOCK_MARGIN_S = 60.0  # machines' clocks disagree a little: repairs look back this much more
RETRY_AFTER_FAILURE_S = 1.0
# At most this many tasks wait in the Celery queue: more is released only as workers take
# them. Without it a backlog released faster than workers take it sits in Celery past the
# sending timeout, and the sweep takes those releases back as lost, over and over.
MAX_WAITING_TASKS = 200
FULL_QUEUE_WAIT_S = 0.05


class Pump:
    def __init__(
        self,
        runtime: Runtime,
        publish: Publish,
        observe_lateness: Callable[[float], None] | None = None,
    ):
        self.runtime = runtime
        self.publish = publish
        self.observe_lateness = observe_lateness
        self.lifecycle = Lifecycle.of(runtime)
        self._last_sweep = 0.0
        self.heartbeat = time.monotonic()  # when the loop last completed a step
        self._last_repair: float | None = None  # None: the next repair reads every queued row
        self._last_watch: float | None = None
        # A webhook task lost with its worker is published again after this: the receiver's
        # time to answer, with room for the task's wait in the queue.
        self.webhook_lease_s = WEBHOOK_LEASE_FACTOR * runtime.settings.webhook_timeout_seconds

    def tick(self, now: float) -> int:
        """Release what is due at `now`, as far as the Celery queue has room; returns how many
        tasks were published, or -1 when the queue was full."""
        room = min(RELEASE_BATCH, MAX_WAITING_TASKS - self.waiting_tasks())
        if room <= 0:
            return -1
        due_index = self.runtime.due_index
        released = due_index.release(now, room)
        for release in released:
            self.publish(SEND_TASK, release.delivery_id)
            if self.observe_lateness is not None:
                self.observe_lateness(now - release.eligible_at)
        checks = []
        if room > len(released):
            checks = due_index.lease_checks(now, room - len(released), CHECK_LEASE_S)
        for delivery_id in checks:
            self.publish(CHECK_TASK, delivery_id)
        inboxes = []
        if room > len(released) + len(checks):
            inboxes = due_index.lease_inboxes(
                now, room - len(released) - len(checks), INBOX_LEASE_S
            )
        for account in inboxes:
            self.publish(INBOX_TASK, account)
        webhooks = []
        taken = len(released) + len(checks) + len(inboxes)
        if room > taken:
            webhooks = due_index.lease_webhooks(now, room - taken, self.webhook_lease_s)
        for event_id in webhooks:
            self.publish(WEBHOOK_TASK, event_id)
        if taken or webhooks:
            log.debug(
                "released",
                sends=len(released),
                checks=len(checks),
                inboxes=len(inboxes),
                webhooks=len(webhooks),
            )
        return taken + len(webhooks)

    def waiting_tasks(self) -> int:
        """Tasks published and not yet taken by a worker (the broker is this Redis)."""
        return int(self.runtime.redis.llen(QUEUE))

    def sweep(self, now: float) -> None:
        """Settle sends in flight for longer than the sending timeout."""
        rt = self.runtime
        timeout_s = rt.settings.sending_timeout_seconds
        for account, delivery_id, due in rt.due_index.stale_inflight(now - timeout_s):
            self.lifecycle.time_out(
                account,
                delivery_id,
                due=due,
                delivery=rt.store.get(delivery_id),
                timeout_s=timeout_s,
                now=datetime.fromtimestamp(now, UTC),
            )

    def repair(self, now: float) -> None:
        """Finish what a process that died mid-way left undone: follow-ups whose previous step
        ended but were never released, queued deliveries and pending webhook events that were
        never indexed. The first repair reads every queued row and pending event; later ones
        only rows changed since the last."""
        timeout_s = self.runtime.settings.sending_timeout_seconds
        moment = datetime.fromtimestamp(now, UTC)
        # A live worker carries a step's end into its sequence within the sending timeout.
        self.lifecycle.sequences.settle_stranded(moment, grace_s=timeout_s)
        since = None
        if self._last_repair is not None:
            since = datetime.fromtimestamp(self._last_repair - CLOCK_MARGIN_S, UTC)
        indexed = reindex_lost(self.runtime, since)
        if indexed:
            log.warning("deliveries_reindexed", count=indexed)
        events = reindex_webhooks(self.runtime, since)
        if events:
            log.warning("webhook_events_reindexed", count=events)
        self._last_repair = now

    def run(self, stop: threading.Event) -> None:
        """Release work until `stop` is set, sleeping until the next due time or a wake-up.

        A failing step (Redis or the broker briefly away) is logged and tried again: whatever
        it had released but not published is swept back after the sending timeout."""
        wakeups = self.runtime.redis.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call, unused-ignore]
        wakeups.subscribe(keys.WAKE)
        log.info("scheduler_started")
        failing_since: float | None = None
        while not stop.is_set():
            try:
                pause = self._step(time.time())
            except Exception as exc:
                # The loop itself is alive (liveness); what it needs is away (readiness).
                self.heartbeat = time.monotonic()
                if failing_since is None:  # once per outage, not once a second
                    failing_since = time.monotonic()
                    log.exception("scheduler_step_failed", reason=type(exc).__name__)
                stop.wait(RETRY_AFTER_FAILURE_S)
                continue
            self.heartbeat = time.monotonic()
            if failing_since is not None:
                log.info(
                    "scheduler_recovered", failed_for_s=round(time.monotonic() - failing_since, 1)
                )
                failing_since = None
            if pause > 0:
                try:
                    wakeups.get_message(timeout=pause)
                except redis.RedisError:
                    # Redis away or failing over: wait as long anyway; the next call reconnects.
                    log.warning("scheduler_wakeups_failed", exc_info=True)
                    stop.wait(pause)
        wakeups.close()
        log.info("scheduler_stopped")

    def _step(self, now: float) -> float:
        """Release, sweep when due; returns how long to wait before the next step."""
        published = self.tick(now)
        if now - self._last_sweep >= SWEEP_EVERY_S:
            self.sweep(now)
            self._last_sweep = now
        timeout_s = self.runtime.settings.sending_timeout_seconds
        if self._last_repair is None or now - self._last_repair >= min(REPAIR_EVERY_S, timeout_s):
            self.repair(now)
        poll_s = self.runtime.settings.inbox_poll_seconds
        if self._last_watch is None or now - self._last_watch >= min(WATCH_EVERY_S, poll_s):
            watch_inboxes(self.runtime, datetime.fromtimestamp(now, UTC))
            self._last_watch = now
        if published < 0:
            return FULL_QUEUE_WAIT_S  # workers are behind: give them a moment
        if published >= RELEASE_BATCH:
            return 0.0
        wake = self.runtime.due_index.next_wake()
        return MAX_SLEEP_S if wake is None else min(MAX_SLEEP_S, max(0.0, wake - time.time()))
