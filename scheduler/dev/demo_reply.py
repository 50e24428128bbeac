"""The demo's one answer: the first recipient whose step 1 went out through a provider that can
read conversations answers at once, well before the follow-up is due, so the worker's check
before step 2 finds the reply and stops that person's sequence."""

from __future__ import annotations

from worker.dev.sandbox.control import sender_of
from worker.dev.sandbox.conversations import Conversations
from worker.models import Delivery, Status
from worker.providers import providers_that_can
from worker.providers.base import Capability
from worker.runtime import Runtime

ANSWER = "Thanks! Yes, happy to chat next week."


class Answerer:
    def __init__(self, conversations: Conversations, runtime: Runtime):
        self.conversations = conversations  # the demo's in-process sandbox keeps them
        self.runtime = runtime
        self.readable = set(providers_that_can(Capability.READ_CONVERSATION))
        self.answered: Delivery | None = None

    def __call__(self, rows: list[Delivery]) -> None:
        """Called with the current rows at each refresh; answers once."""
        if self.answered is not None:
            return
        sent = [
            r
            for r in rows
            if r.step == 0 and r.status == Status.SENT and r.provider in self.readable
        ]
        if sent:
            first = min(sent, key=lambda r: (r.sent_at, r.id))
            sender = sender_of(self.runtime.accounts[first.account])
            self.conversations.record_reply(sender, first.recipient, ANSWER)
            self.answered = first
