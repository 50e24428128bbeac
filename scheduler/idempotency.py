"""Idempotency keys, derived in one place: the same intent always gets the same key, so the
database's unique index turns a repeated enqueue into the existing delivery."""

from __future__ import annotations

import hashlib

_SEPARATOR = "\x1f"  # never in a name, a recipient or a template's output


def message_key(
    account: str,
    recipient: str,
    text: str,
    *,
    subject: str | None = None,
    campaign: str | None = None,
    step: int = 0,
) -> str:
    """One message (`outreach send`, `enqueue_message`): the same text, from the same account
    to the same person, gets the same key."""
    parts = [account, recipient, text, subject or "", campaign or "", str(step)]
    return _digest(parts)


def campaign_step_key(campaign: str, recipient: str, step: int) -> str:
    """One step of a campaign's sequence for one recipient, whichever account is assigned and
    whatever the template renders: a campaign contacts a person once per step."""
    return _digest([campaign, recipient, str(step)])


def campaign_step_keys(campaign: str, recipient: str, steps: int) -> list[str]:
    """`campaign_step_key` for steps 0 to `steps - 1`, the shared part encoded once (an
    import makes millions)."""
    shared = _SEPARATOR.join([campaign, recipient, ""]).encode()
    return [hashlib.sha256(shared + str(step).encode()).hexdigest() for step in range(steps)]


def _digest(parts: list[str]) -> str:
    return hashlib.sha256(_SEPARATOR.join(parts).encode()).hexdigest()


def api_key_for(idempotency_key: str) -> str:
    """An HTTP request's `Idempotency-Key`: its own namespace, so a client's key can never
    collide with a key derived from a message's contents."""
    return _digest(["api", idempotency_key])
