"""Fixtures of the component tests; the mocks themselves live in component_mocks.py."""

from __future__ import annotations

import pytest
from component_mocks import Harness


@pytest.fixture
def harness() -> Harness:
    """A fresh mock run per test."""
    return Harness()
