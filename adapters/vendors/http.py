"""HTTP plumbing shared by the vendor clients: rate limit, retries, timeouts, key hygiene.

- **Base URL** comes from `VendorHttpConfig`, so tests and the demo point a client at the local
  fakes (``adapters.vendors.fake``).
- **Rate limit**: a token bucket per client (``rate_per_second``, ``burst``); every attempt,
  retries included, takes a token, so a retry storm cannot exceed the vendor's quota.
- **Retries**: on 429, 5xx and network errors (refused, cut, timed out), up to ``max_attempts``,
  waiting what ``Retry-After`` asks for when the vendor says (seconds or an HTTP date), else an
  exponential backoff with jitter. A ``Retry-After`` beyond ``max_retry_after_s`` is not slept
  through: `VendorUnavailable` carries it so a scheduler can come back later. Any other 4xx is
  raised at once (`VendorRequestRefused`, `VendorAuthError` for 401/403): retrying cannot help.
- **Keys**: API keys are `Secret`s handed to the transport, which adds them to the query or the
  headers of the outgoing copy of each request only. The request objects httpx logs ("HTTP
  Request: GET ...") and attaches to responses and errors never hold a key, and every message
  this module builds is redacted as well.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final, Self

import httpx

from adapters.secrets import MASK, MissingSecret, Secret, SecretProvider, default_secret_provider
from adapters.vendors.errors import (
    VendorAuthError,
    VendorPayloadError,
    VendorRequestRefused,
    VendorUnavailable,
)
from adapters.vendors.metrics import Outcome, Rejection, VendorMetrics, default_metrics
from domain.errors import InvalidValue

log = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
WallClock = Callable[[], datetime]
_BODY_EXCERPT: Final = 200
# Float refills can land a hair under a whole token; this much counts as whole.
_EPSILON: Final = 1e-9


def utc_now() -> datetime:
    """Return the current UTC time (the default ``available_at`` stamp)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Runtime:
    """The clocks, the sleep and the jitter source a client runs on (injectable for tests)."""

    clock: Clock = time.monotonic
    sleep: Sleep = asyncio.sleep
    wall_clock: WallClock = utc_now
    rng: random.Random = field(default_factory=random.Random)


@dataclass(frozen=True, slots=True)
class VendorHttpConfig:
    """How to reach one vendor: where, how fast, how patiently."""

    base_url: str
    rate_per_second: float = 0.5
    burst: int = 1
    timeout_s: float = 10.0
    max_attempts: int = 4
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 30.0
    max_retry_after_s: float = 120.0

    def __post_init__(self) -> None:
        """Refuse a base URL that is not http(s) and non-positive limits."""
        if not self.base_url.startswith(("http://", "https://")):
            raise InvalidValue(f"base_url must start with http:// or https://: {self.base_url!r}")
        if "?" in self.base_url:
            raise InvalidValue("base_url must not carry a query (keys belong in secrets)")
        for name in ("rate_per_second", "timeout_s", "backoff_base_s", "backoff_cap_s"):
            if not getattr(self, name) > 0:
                raise InvalidValue(f"{name} must be positive, got {getattr(self, name)!r}")
        if self.burst < 1 or self.max_attempts < 1 or self.max_retry_after_s < 0:
            raise InvalidValue("burst and max_attempts must be at least 1, "
                               "max_retry_after_s not negative")


class TokenBucket:
    """A token bucket: ``burst`` requests at once, then ``rate`` per second, in arrival order.

    ``clock`` and ``sleep`` are injectable so a test can drive the bucket on a manual clock.
    """

    def __init__(self, rate: float, burst: int, *, clock: Clock = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._last = clock()
        # Held across the wait, so waiters are served in arrival order (asyncio.Lock is fair).
        self._lock = asyncio.Lock()

    async def acquire(self) -> float:
        """Take one token, waiting for it if none is left; return the seconds waited."""
        waited = 0.0
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
                self._last = now
                if self._tokens >= 1 - _EPSILON:
                    self._tokens = max(0.0, self._tokens - 1)
                    return waited
                wait = (1 - self._tokens) / self._rate
                waited += wait
                await self._sleep(wait)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle takes ~60 ms; one context serves every client of the process.
    return httpx.create_ssl_context()


class _KeyTransport(httpx.AsyncBaseTransport):
    """Add API keys to the outgoing copy of each request, and nowhere else."""

    def __init__(self, inner: httpx.AsyncBaseTransport, query: Mapping[str, Secret],
                 headers: Mapping[str, Secret]) -> None:
        self._inner = inner
        self._query = dict(query)
        self._headers = dict(headers)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._query or self._headers:
            headers = request.headers.copy()
            for name, secret in self._headers.items():
                headers[name] = secret.reveal()
            request = httpx.Request(
                request.method,
                request.url.copy_merge_params({k: s.reveal() for k, s in self._query.items()}),
                headers=headers, stream=request.stream, extensions=request.extensions)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@dataclass(frozen=True, slots=True)
class Answer:
    """A 2xx answer's body and the moment Lockgate had all of it."""

    body: bytes
    available_at: datetime


class VendorHttp:
    """One vendor's HTTP client with rate limit, retries, metrics and redaction.

    ``query_keys``/``header_keys`` map a query parameter or header name to the `Secret` it
    carries; ``runtime`` supplies clocks, sleep and jitter. Use as an async context manager,
    or call `aclose`.
    """

    def __init__(
        self, vendor: str, config: VendorHttpConfig, *, metrics: VendorMetrics | None = None,
        query_keys: Mapping[str, Secret] | None = None,
        header_keys: Mapping[str, Secret] | None = None, runtime: Runtime | None = None,
    ) -> None:
        self.vendor = vendor
        self.config = config
        self.metrics = metrics or default_metrics()
        self._secrets = [s for s in (*(query_keys or {}).values(), *(header_keys or {}).values())
                         if s.reveal()]
        runtime = runtime or Runtime()
        self._clock = runtime.clock
        self._sleep = runtime.sleep
        self._wall_clock = runtime.wall_clock
        self._rng = runtime.rng
        self.bucket = TokenBucket(config.rate_per_second, config.burst, clock=runtime.clock,
                                  sleep=runtime.sleep)
        transport = _KeyTransport(httpx.AsyncHTTPTransport(verify=_tls_context()),
                                  query_keys or {}, header_keys or {})
        self._client = httpx.AsyncClient(
            base_url=config.base_url, transport=transport, follow_redirects=False,
            timeout=httpx.Timeout(config.timeout_s),
            headers={"Accept": "application/json", "User-Agent": "lockgate-vendor-client"})

    def __repr__(self) -> str:
        return f"VendorHttp({self.vendor!r}, base_url={self.config.base_url!r})"

    async def __aenter__(self) -> VendorHttp:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._client.aclose()

    def now(self) -> datetime:
        """Return the wall-clock time used to stamp ``available_at``."""
        return self._wall_clock()

    def redact(self, text: str) -> str:
        """Return ``text`` with every key value of this client replaced by the mask."""
        for secret in self._secrets:
            text = text.replace(secret.reveal(), MASK)
        return text

    # -- payload bookkeeping shared by the clients ----------------------------------------------
    def reject(self, reason: Rejection, where: str, detail: str) -> VendorPayloadError:
        """Count a refused payload and return the error to raise."""
        self.metrics.rejected_payloads.labels(self.vendor, reason.value).inc()
        error = VendorPayloadError(self.vendor, where, reason.value, self.redact(detail))
        log.warning("%s", error)
        return error

    def drop(self, reason: str, where: str, detail: str) -> None:
        """Count an item left out of an otherwise valid payload."""
        self.metrics.dropped_items.labels(self.vendor, reason).inc()
        log.warning("%s: dropped item at `%s` (%s): %s", self.vendor, where, reason,
                    self.redact(detail))

    # -- requests -------------------------------------------------------------------------------
    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Answer:
        """GET ``path`` (relative to the base URL) and return its 2xx answer.

        Raise `VendorUnavailable` when retries are exhausted (or the vendor asks for a longer
        wait than configured), `VendorAuthError`/`VendorRequestRefused` for other 4xx.
        """
        counted = self.metrics.requests
        retry_after: float | None = None
        for attempt in range(1, self.config.max_attempts + 1):
            if await self.bucket.acquire():
                self.metrics.throttled.labels(self.vendor).inc()
            started = self._clock()
            try:
                response = await self._client.get(path, params=dict(params or {}))
            except httpx.TransportError as exc:
                counted.labels(self.vendor, Outcome.TRANSPORT_ERROR.value).inc()
                what, retry_after = f"{type(exc).__name__}: {exc}", None
            else:
                self.metrics.duration.labels(self.vendor).observe(self._clock() - started)
                status = response.status_code
                if 200 <= status < 300:
                    counted.labels(self.vendor, Outcome.OK.value).inc()
                    return Answer(response.content, self._wall_clock())
                what = f"HTTP {status} {self._excerpt(response)}"
                if status == 429:
                    counted.labels(self.vendor, Outcome.RATE_LIMITED.value).inc()
                    retry_after = _retry_after(response.headers.get("Retry-After"), self.now())
                elif status >= 500:
                    counted.labels(self.vendor, Outcome.SERVER_ERROR.value).inc()
                    retry_after = None
                else:
                    counted.labels(self.vendor, Outcome.CLIENT_ERROR.value).inc()
                    raise self._refused(path, status, what)
            what = self.redact(what)
            if attempt == self.config.max_attempts:
                raise VendorUnavailable(
                    self.vendor, f"GET {path} failed after {attempt} attempts; last: {what}",
                    retry_after) from None
            if retry_after is not None and retry_after > self.config.max_retry_after_s:
                raise VendorUnavailable(
                    self.vendor, f"GET {path}: {what}; the vendor asks to wait {retry_after:g}s,"
                    f" more than the {self.config.max_retry_after_s:g}s allowed", retry_after)
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            self.metrics.retries.labels(self.vendor).inc()
            log.warning("%s: GET %s: %s; attempt %d of %d in %.2fs", self.vendor, path, what,
                        attempt + 1, self.config.max_attempts, delay)
            await self._sleep(delay)
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _backoff(self, attempt: int) -> float:
        # "Equal jitter": half the exponential step is fixed, half random, so clients that
        # failed together do not retry together, yet never retry at once.
        step = min(self.config.backoff_cap_s,
                   self.config.backoff_base_s * 2.0 ** (attempt - 1))
        return step / 2 + self._rng.uniform(0.0, step / 2)

    def _excerpt(self, response: httpx.Response) -> str:
        text = response.text.strip().replace("\n", " ")
        return self.redact(text[:_BODY_EXCERPT] + ("..." if len(text) > _BODY_EXCERPT else ""))

    def _refused(self, path: str, status: int, what: str) -> VendorRequestRefused:
        message = f"GET {path} refused: {self.redact(what)}"
        if status in (401, 403):
            return VendorAuthError(self.vendor, message + " (check the API key)", status)
        return VendorRequestRefused(self.vendor, message, status)


def read_key(secrets: SecretProvider | None, name: str) -> Secret | None:
    """Return the API key called ``name`` from ``secrets`` (default: the standard chain)."""
    provider = default_secret_provider() if secrets is None else secrets
    return provider.get(name)


def require_key(secrets: SecretProvider | None, name: str) -> Secret:
    """Return the API key called ``name``, or raise `MissingSecret` naming it (never a value)."""
    provider = default_secret_provider() if secrets is None else secrets
    found = provider.get(name)
    if found is None:
        raise MissingSecret(f"secret {name!r} not found (looked in: {provider!r})")
    return found


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Return the seconds a ``Retry-After`` header asks for (delta-seconds or HTTP date)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


class VendorClient:
    """What every vendor client shares: its ``VendorHttp``, a key-free repr and closing."""

    _http: VendorHttp

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._http.config.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()
