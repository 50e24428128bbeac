"""Provider adapters, one module each, behind the `Provider` interface in `base`, registered in
one table here: a new provider is its module plus one line in PROVIDER_TYPES (and its base URL
setting)."""

from __future__ import annotations

import httpx

from worker.accounts import ProviderName
from worker.errors import Problem
from worker.providers.base import Capability, Clock, Provider, SendRequest, utc_now
from worker.providers.connectsafely import ConnectSafely
from worker.providers.linkup import LinkUp
from worker.providers.outx import OutX
from worker.settings import Settings

PROVIDER_TYPES: dict[ProviderName, type[Provider]] = {
    "linkup": LinkUp,
    "connectsafely": ConnectSafely,
    "outx": OutX,
}


def base_url(name: ProviderName, settings: Settings) -> str:
    urls: dict[ProviderName, str] = {
        "linkup": settings.linkup_base_url,
        "connectsafely": settings.connectsafely_base_url,
        "outx": settings.outx_base_url,
    }
    return urls[name]


def build_provider(
    name: ProviderName, client: httpx.Client, settings: Settings, clock: Clock = utc_now
) -> Provider:
    return PROVIDER_TYPES[name](client, base_url(name, settings), clock)


def check_request(name: ProviderName, request: SendRequest) -> list[Problem]:
    """Enqueue-time validation: every reason `name` would refuse `request`."""
    return PROVIDER_TYPES[name].check(request)


__all__ = [
    "PROVIDER_TYPES",
    "Capability",
    "ConnectSafely",
    "LinkUp",
    "OutX",
    "Provider",
    "SendRequest",
    "base_url",
    "build_provider",
    "check_request",
]
