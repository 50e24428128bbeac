"""The provider registry: one row per provider, each with its adapter, its base URL setting
and a sandbox of the same name; callers ask for capabilities, never for classes."""

from __future__ import annotations

from typing import get_args

from worker.accounts import ProviderName
from worker.dev.sandbox.server import DIALECTS
from worker.providers import REGISTRY, Capability, build_provider, providers_that_can
from worker.providers.http import build_client
from worker.settings import Settings


def test_every_provider_name_is_registered_with_a_sandbox_of_the_same_name() -> None:
    assert set(REGISTRY) == set(get_args(ProviderName)) == set(DIALECTS)
    for name, dialect in DIALECTS.items():
        assert dialect.provider == name
        assert REGISTRY[name].adapter.name == name


def test_each_registration_reads_its_own_base_url_setting() -> None:
    settings = Settings(
        linkup_base_url="http://linkup.test",
        connectsafely_base_url="http://connectsafely.test",
        outx_base_url="http://outx.test",
    )
    client = build_client(settings)
    for name, registration in REGISTRY.items():
        provider = build_provider(name, client, settings)
        assert isinstance(provider, registration.adapter)
        assert provider.base_url == f"http://{name}.test"


def test_capabilities_are_asked_for_by_name() -> None:
    assert providers_that_can(Capability.SEND) == list(REGISTRY)
    assert providers_that_can(Capability.CHECK_TASK) == ["outx"]
