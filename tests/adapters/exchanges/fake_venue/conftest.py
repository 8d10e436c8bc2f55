"""Fixtures: a fake venue on 127.0.0.1 (ephemeral port), paused so each test moves the market."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from adapters.exchanges.fake_venue import FakeVenueConfig, RunningVenue, serve
from tests.adapters.exchanges.fake_venue.support import SignedClient, now_ms
from tests.conftest import SHARED_DATA

FIXTURES = SHARED_DATA / "binance_fixtures"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """Return the shared recorded data; fail (never skip) when it is missing."""
    if not (SHARED_DATA / "trades").is_dir():
        pytest.fail(f"recorded market data expected at {SHARED_DATA}")
    return SHARED_DATA


def fixture(path: str) -> Any:
    """Return a recorded Binance payload from ``binance_fixtures``."""
    return json.loads((FIXTURES / path).read_text())


def paused(data_dir: Path, **overrides: Any) -> FakeVenueConfig:
    """Return a paused venue's config whose first event falls one second into a minute.

    Pinning the start makes kline boundaries the same on every run.
    """
    start = now_ms() // 60_000 * 60_000 + 1000
    return FakeVenueConfig(**({"data_dir": data_dir, "speed": None, "autoplay": False,
                               "start_ms": start} | overrides))


@pytest.fixture
async def venue(data_dir: Path) -> AsyncIterator[RunningVenue]:
    """A paused venue: nothing moves until the test steps the replay."""
    running = await serve(paused(data_dir))
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def http(venue: RunningVenue) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the venue's REST API."""
    async with httpx.AsyncClient(base_url=venue.rest_url, timeout=10) as client:
        yield client


@pytest.fixture
def client(http: httpx.AsyncClient) -> SignedClient:
    """A signed REST client with the demo account's keys."""
    return SignedClient(http)
