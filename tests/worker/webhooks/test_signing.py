"""Signatures as Standard Webhooks define them: the `standardwebhooks` library verifies ours."""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from tests.webhook_receiver import TEST_SECRET
from worker.errors import WebhookSecretError
from worker.redaction import redact
from worker.webhooks.signing import generate_secret, secret_key, signature, signed_headers

BODY = '{"type":"delivery.sent","timestamp":"2026-11-23T09:00:00+00:00","data":{"id":1}}'


def test_the_standard_webhooks_library_verifies_our_signature() -> None:
    key = secret_key("HOOK_SECRET", {"HOOK_SECRET": TEST_SECRET})
    headers = signed_headers(key, "msg_abc", int(time.time()), BODY)

    assert Webhook(TEST_SECRET).verify(BODY, headers) == {
        "type": "delivery.sent",
        "timestamp": "2026-11-23T09:00:00+00:00",
        "data": {"id": 1},
    }


def test_our_signature_is_the_librarys_own() -> None:
    key = secret_key("HOOK_SECRET", {"HOOK_SECRET": TEST_SECRET})
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    expected = Webhook(TEST_SECRET).sign("msg_abc", at, BODY)
    assert signature(key, "msg_abc", int(at.timestamp()), BODY) == expected


def test_a_changed_body_or_id_does_not_verify() -> None:
    key = secret_key("HOOK_SECRET", {"HOOK_SECRET": TEST_SECRET})
    headers = signed_headers(key, "msg_abc", int(time.time()), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(TEST_SECRET).verify(BODY.replace("1", "2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(TEST_SECRET).verify(BODY, {**headers, "webhook-id": "msg_other"})


def test_a_generated_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = generate_secret(), generate_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"))) == 32
    key = secret_key("S", {"S": first})
    headers = signed_headers(key, "msg_1", int(time.time()), BODY)
    Webhook(first).verify(BODY, headers)


def test_an_unset_variable_is_named() -> None:
    with pytest.raises(WebhookSecretError, match="HOOK_SECRET is not set"):
        secret_key("HOOK_SECRET", {})


@pytest.mark.parametrize("value", ["not-a-secret-at-all", "whsec_%%%not-base64%%%", "whsec_="])
def test_a_malformed_secret_is_named_by_its_variable_never_shown(value: str) -> None:
    with pytest.raises(WebhookSecretError) as raised:
        secret_key("HOOK_SECRET", {"HOOK_SECRET": value})
    assert "HOOK_SECRET" in str(raised.value)
    assert value not in str(raised.value)


def test_a_secret_read_is_redacted_from_any_text() -> None:
    secret_key("HOOK_SECRET", {"HOOK_SECRET": TEST_SECRET})
    assert TEST_SECRET not in redact(f"oops {TEST_SECRET}")
