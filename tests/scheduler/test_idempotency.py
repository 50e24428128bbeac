"""Idempotency keys: one derivation, however many are made at once."""

from __future__ import annotations

from scheduler.idempotency import campaign_step_key, campaign_step_keys


def test_the_batch_key_maker_makes_the_same_keys() -> None:
    keys = campaign_step_keys("spring", "https://www.linkedin.com/in/ann", 3)
    assert keys == [
        campaign_step_key("spring", "https://www.linkedin.com/in/ann", step) for step in range(3)
    ]
