"""Standard Webhooks signatures: `webhook-id`, `webhook-timestamp` and `webhook-signature`
(`v1,` + base64 HMAC-SHA256 of `id.timestamp.body`, keyed with the base64 part of a
`whsec_…` secret), so receivers verify with any Standard Webhooks library. The secret lives in
an environment variable; outreach only ever knows its name."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping

from worker.errors import WebhookSecretError
from worker.redaction import register_secret

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
DEFAULT_SECRET_ENV = "OUTREACH_WEBHOOK_SECRET"  # noqa: S105 - a variable's name, not its value
SECRET_BYTES = 32
_VARIABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def generate_secret() -> str:
    """A new random secret in the Standard Webhooks form, `whsec_<base64 of 32 bytes>`."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def check_variable_name(name: str) -> str:
    if not _VARIABLE.match(name):
        raise WebhookSecretError(f"{name!r} is not an environment variable name")
    return name


def secret_key(variable: str, environ: Mapping[str, str]) -> bytes:
    """The signing key held by the environment variable `variable`. An unset, empty or
    malformed value is an error that names the variable, never the value."""
    value = environ.get(variable, "").strip()
    if not value:
        raise WebhookSecretError(
            f"the webhook secret variable {variable} is not set"
            " (`outreach webhooks secret` makes one)"
        )
    register_secret(value)
    try:
        key = base64.b64decode(value.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not value.startswith(SECRET_PREFIX) or not key:
        raise WebhookSecretError(
            f"the webhook secret variable {variable} does not hold a whsec_<base64> secret"
        )
    return key


def signature(key: bytes, message_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256 of "message_id.timestamp.body">`."""
    signed = f"{message_id}.{timestamp}.{body}".encode()
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(key: bytes, message_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The headers of one delivery attempt (the timestamp is the attempt's, in seconds)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(key, message_id, timestamp, body),
        "content-type": "application/json",
    }
