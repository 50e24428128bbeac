"""Recording a provider's answer through a database outage (a restart, a failover).

The answer is the one thing that cannot be asked for again: the message went out, or the
provider said why not. So the worker holding it keeps trying to write it, with a bounded
back-off, for up to `OUTREACH_DB_OUTAGE_GRACE_SECONDS`, and keeps its account's slot in Redis
meanwhile (the sweep would otherwise take the send for a silent one and mark it unknown, and
the account's next send would not wait for this one). Past the grace it gives up as before the
outage handling existed: the delivery stays `sending`, the sweep marks it `unknown` once the
database is back, and the log line `outcome_not_recorded` carries the provider's ids so an
operator can reconcile it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError

from worker.database import database_away
from worker.logs import get_logger
from worker.models import Delivery
from worker.policy import Decision
from worker.runtime import Runtime

log = get_logger("outreach.database_outage")

FIRST_RETRY_S = 0.5
MAX_RETRY_S = 5.0  # the longest pause between two tries: the database is back soon after
# What an operator needs to find the message at the provider.
PROVIDER_IDS = ("message_urn", "conversation_id", "task_id", "thread_id", "recipient_urn")

Sleep = Callable[[float], None]


class DatabaseOutage:
    def __init__(self, runtime: Runtime, sleep: Sleep = time.sleep):
        self.runtime = runtime
        self.sleep = sleep

    def record(self, delivery: Delivery, decision: Decision, write: Callable[[], None]) -> bool:
        """Run `write` (which records `decision` for `delivery`) until it succeeds or the
        grace runs out; whether it was recorded. Errors other than an unreachable database
        are raised as they are."""
        assert delivery.id is not None
        grace_s = self.runtime.settings.db_outage_grace_seconds
        started = time.monotonic()
        delay = FIRST_RETRY_S
        tries = 0
        while True:
            tries += 1
            try:
                write()
            except SQLAlchemyError as exc:
                if not database_away(exc):
                    raise
                waited = time.monotonic() - started
                if waited >= grace_s:
                    log.error(
                        "outcome_not_recorded",
                        status=decision.status.value,
                        waited_s=round(waited, 1),
                        reason=f"database unreachable: {type(exc).__name__}",
                        **_provider_ids(decision),
                    )
                    return False
                if tries == 1:
                    log.warning(
                        "outcome_waiting_for_database",
                        status=decision.status.value,
                        grace_s=grace_s,
                        reason=type(exc).__name__,
                    )
                self.runtime.due_index.keep_inflight(delivery.account, delivery.id, time.time())
                self.sleep(min(delay, grace_s - waited))
                delay = min(delay * 2, MAX_RETRY_S)
                continue
            if tries > 1:
                log.info(
                    "outcome_recorded_after_outage", waited_s=round(time.monotonic() - started, 1)
                )
            return True


def _provider_ids(decision: Decision) -> dict[str, str]:
    return {k: str(v) for k, v in decision.changes.items() if k in PROVIDER_IDS and v is not None}
