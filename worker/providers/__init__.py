"""Provider adapters, one module each, behind the `Provider` interface in `base`, registered in
one table here. A new provider is its module, one row in REGISTRY, its base URL setting, its
accounts-file keys (`worker.accounts`) and, for development, its sandbox module (the sandbox
keeps its own table by the same names: production code never imports it; a test checks that
the two tables name the same providers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from worker.accounts import ProviderName
from worker.errors import Problem
from worker.providers.base import Capability, Clock, Provider, SendRequest, utc_now
from worker.providers.connectsafely import ConnectSafely
from worker.providers.linkup import LinkUp
from worker.providers.outx import OutX
from worker.recipients import Recipient
from worker.settings import Settings


@dataclass(frozen=True)
class Registration:
    """What outreach knows of one provider: its adapter, and where its settings live."""

    adapter: type[Provider]
    base_url_setting: str  # the Settings field (OUTREACH_<NAME>) holding its API's base URL

    def base_url(self, settings: Settings) -> str:
        return str(getattr(settings, self.base_url_setting))

    def can(self, capability: Capability) -> bool:
        return capability in self.adapter.capabilities


REGISTRY: dict[ProviderName, Registration] = {
    "linkup": Registration(LinkUp, "linkup_base_url"),
    "connectsafely": Registration(ConnectSafely, "connectsafely_base_url"),
    "outx": Registration(OutX, "outx_base_url"),
}


def base_url(name: ProviderName, settings: Settings) -> str:
    return REGISTRY[name].base_url(settings)


def build_provider(
    name: ProviderName, client: httpx.Client, settings: Settings, clock: Clock = utc_now
) -> Provider:
    registration = REGISTRY[name]
    return registration.adapter(client, registration.base_url(settings), clock)


def providers_that_can(capability: Capability) -> list[ProviderName]:
    """The providers whose documented API has `capability`."""
    return [name for name, registration in REGISTRY.items() if registration.can(capability)]


def check_request(name: ProviderName, request: SendRequest) -> list[Problem]:
    """Enqueue-time validation: every reason `name` would refuse `request`."""
    return REGISTRY[name].adapter.check(request)


def check_options(name: ProviderName, request: SendRequest) -> list[Problem]:
    """What `name` would refuse in a request's fields other than its recipient and text."""
    return REGISTRY[name].adapter.check_options(request)


def check_addressed(
    name: ProviderName, recipient: Recipient, texts: Sequence[str]
) -> list[Problem]:
    """What `name` would refuse in messages to `recipient` with these texts, those alone."""
    adapter = REGISTRY[name].adapter
    problems = adapter.check_recipient(recipient)
    for text in texts:
        problems += adapter.check_text(text)
    return problems


__all__ = [
    "REGISTRY",
    "Capability",
    "ConnectSafely",
    "LinkUp",
    "OutX",
    "Provider",
    "Registration",
    "SendRequest",
    "base_url",
    "build_provider",
    "check_addressed",
    "check_options",
    "check_request",
    "providers_that_can",
]
