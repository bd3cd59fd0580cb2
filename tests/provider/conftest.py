"""Fixtures of the provider tests: what a provider host keeps for one deployment is dropped after each test
(a test is a deployment; the sandbox hands out the same domain ids again after a reset)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from provider.api.read_cache import shared_read_cache
from provider.host.registrations import forget_registrations


@pytest.fixture(autouse=True)
def one_deployment_per_test() -> Iterator[None]:
    """Forget the registrations this test made and the reads it shared."""
    yield
    forget_registrations()
    shared_read_cache().clear()
