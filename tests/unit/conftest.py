"""Fixtures shared by the client tests: recorded HTTP answers and a sleep that only records its waits."""

from __future__ import annotations

import pytest
import responses


@pytest.fixture
def api():
    """Answers registered per test in the real API's format; no request leaves the process."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sleeps() -> list[float]:
    """Pass `sleeps.append` as a client's sleep: retries and rate limits wait instantly, the waits are kept."""
    return []
