"""`outreach recover`: rebuild every Redis structure from the database, after Redis lost its
data. Safe to run at any time, as often as you like: every write is idempotent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from worker.models import Status
from worker.runtime import Runtime
from worker.sequences import Sequences

BATCH = 1000


@dataclass(frozen=True)
class Recovered:
    queued: int
    checks: int
    accounts_paced: int
    webhooks: int = 0  # pending webhook events indexed again


def recover(runtime: Runtime, now: datetime | None = None) -> Recovered:
    moment = now or datetime.now(UTC)
    store, due_index = runtime.store, runtime.due_index

    # Pacing first: an account that sent just before the loss must still wait a full gap.
    last_starts = store.last_send_started()
    for account, started in last_starts.items():
        due_index.restore_pacing(account, started.timestamp() + runtime.policy.pace_max_s)

    # A delivery that was mid-send when Redis went away is re-queued only if its worker never
    # claimed it; a claimed one stays `sending` and is settled by the sending timeout below.
    queued = reindex_lost(runtime)

    checks = 0
    for delivery in store.in_status([Status.CONFIRMING], BATCH):
        assert delivery.id is not None
        at = delivery.poll_at or moment
        due_index.schedule_check(delivery.id, at.timestamp())
        checks += 1

    for delivery in store.in_status([Status.SENDING], BATCH):
        assert delivery.id is not None
        claimed = (delivery.claimed_at or moment).timestamp()
        due_index.adopt_inflight(
            delivery.account, delivery.id, claimed, delivery.due_at.timestamp()
        )
    # Follow-ups a dying worker never released, or sequences it never stopped.
    Sequences(runtime).settle_stranded(moment, grace_s=0)
    webhooks = reindex_webhooks(runtime)
    return Recovered(queued, checks, len(last_starts), webhooks)


def reindex_lost(runtime: Runtime, updated_since: datetime | None = None) -> int:
    """Index the queued deliveries Redis does not know (a process died between writing a row
    and indexing it); returns how many. Reads only rows changed since `updated_since`, all
    when None. Leaves queued and in-flight deliveries alone, so it is safe at any time."""
    indexed = 0
    for entries in runtime.store.queue_entries(updated_since=updated_since):
        indexed += runtime.due_index.reindex(entries)
    return indexed


def reindex_webhooks(runtime: Runtime, updated_since: datetime | None = None) -> int:
    """Index the pending webhook events Redis does not know (a process died between writing
    them and indexing them, or Redis lost them); how many. Reads only events changed since
    `updated_since`, all when None; an event under lease keeps its lease."""
    indexed = 0
    for entries in runtime.webhooks.pending(updated_since=updated_since):
        indexed += runtime.due_index.reindex_webhooks(entries)
    return indexed
