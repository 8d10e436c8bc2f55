"""CryptoPanic: news posts with readers' votes (a `NewsSource`).

Endpoint (https://cryptopanic.com/developers/api/): ``GET /api/v1/posts/?auth_token=KEY
&public=true&currencies=BTC,ETH&kind=news`` answers a paginated page ``{"count", "next",
"previous", "results": [{"kind", "domain", "source": {"title", "region", "domain", "path"},
"title", "published_at", "slug", "currencies": [{"code", "title", "slug", "url"}], "id", "url",
"created_at", "votes": {"negative", "positive", "important", "liked", ...}}]}``.

The key (secret ``cryptopanic_api_key``) can only travel as the ``auth_token`` query
parameter, and the vendor echoes it inside ``next``. So ``next`` is never requested, logged or
raised as it is: only its query parameters other than ``auth_token`` are kept, and the next
page is requested from the configured base URL, so the key never goes to another host either.

Bad data: a page whose envelope (``next``, ``results``) is missing or mistyped is refused whole
(the pagination cannot be trusted); a post with a missing or mistyped field is dropped and
counted, and the other posts are kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Final
from urllib.parse import parse_qsl, urlsplit

import msgspec

from adapters.secrets import Secret, SecretProvider
from adapters.vendors.decoding import build, decode, decode_item, upper_code
from adapters.vendors.http import Runtime, VendorClient, VendorHttp, VendorHttpConfig, require_key
from adapters.vendors.metrics import Rejection, VendorMetrics
from adapters.vendors.ports import Dropped, Fetched, NewsPost

VENDOR: Final = "cryptopanic"
SECRET_NAME: Final = "cryptopanic_api_key"
DEFAULT_BASE_URL: Final = "https://cryptopanic.com"
POSTS_PATH: Final = "/api/v1/posts/"
TOKEN_PARAM: Final = "auth_token"
UtcDateTime = Annotated[datetime, msgspec.Meta(tz=True)]


@dataclass(frozen=True, slots=True)
class CryptoPanicConfig:
    """Where CryptoPanic is, how fast to ask, and which posts to ask for."""

    http: VendorHttpConfig = field(default_factory=lambda: VendorHttpConfig(
        DEFAULT_BASE_URL, rate_per_second=1.0, burst=2))
    kind: str = "news"


class _Page(msgspec.Struct):
    results: list[msgspec.Raw]
    next: str | None = None
    count: int | None = None


class _Source(msgspec.Struct):
    domain: str | None = None
    title: str | None = None


class _Currency(msgspec.Struct):
    code: str


class _Votes(msgspec.Struct):
    positive: int = 0
    negative: int = 0


class _Post(msgspec.Struct):
    id: int | str
    title: str
    url: str
    published_at: UtcDateTime
    domain: str | None = None
    source: _Source | None = None
    currencies: list[_Currency] | None = None
    votes: _Votes | None = None


class CryptoPanicClient(VendorClient):
    """An async CryptoPanic client; implements `NewsSource`."""

    vendor: str = VENDOR

    def __init__(self, api_key: Secret, config: CryptoPanicConfig | None = None, *,
                 metrics: VendorMetrics | None = None, runtime: Runtime | None = None) -> None:
        self.config = config or CryptoPanicConfig()
        self._http = VendorHttp(VENDOR, self.config.http, metrics=metrics,
                                query_keys={TOKEN_PARAM: api_key}, runtime=runtime)

    @classmethod
    def from_secrets(cls, config: CryptoPanicConfig | None = None, *,
                     secrets: SecretProvider | None = None, metrics: VendorMetrics | None = None,
                     runtime: Runtime | None = None) -> CryptoPanicClient:
        """Build a client whose key comes from the secrets provider chain (required)."""
        return cls(require_key(secrets, SECRET_NAME), config, metrics=metrics, runtime=runtime)

    async def posts(self, currencies: Sequence[str] = (), *, max_pages: int = 5,
                    ) -> Fetched[NewsPost]:
        """Return up to ``max_pages`` pages of the latest posts, newest first, each post once.

        A post that moves to the next page while we page (new posts pushed it down) is kept
        once, as first seen.
        """
        params: dict[str, str] = {"public": "true", "kind": self.config.kind}
        if currencies:
            params["currencies"] = ",".join(upper_code(c) for c in currencies)
        items: dict[str, NewsPost] = {}
        dropped: list[Dropped] = []
        for page_number in range(1, max_pages + 1):
            answer = await self._http.get(POSTS_PATH, params)
            page = decode(self._http, answer.body, _Page)
            for index, raw in enumerate(page.results):
                where = f"page {page_number}: $.results[{index}]"
                post = decode_item(self._http, raw, _Post, where, dropped)
                if post is None:
                    continue
                item = build(self._http, where, dropped, _news_post, post, answer.available_at)
                if item is not None:
                    items.setdefault(item.post_id, item)
            if page.next is None:
                break
            params = self._next_params(page.next)
        return Fetched(tuple(items.values()), tuple(dropped))

    def _next_params(self, next_url: str) -> dict[str, str]:
        """Return the query of ``next`` without the key (the vendor echoes it there)."""
        query = {k: v for k, v in parse_qsl(urlsplit(next_url).query) if k != TOKEN_PARAM}
        if "page" not in query:
            raise self._http.reject(Rejection.INVALID_PAYLOAD, "$.next",
                                    "the next page's link has no page number")
        return query


def _news_post(post: _Post, available_at: datetime) -> NewsPost:
    votes = post.votes or _Votes()
    source = (post.source.domain if post.source and post.source.domain else post.domain)
    return NewsPost(
        vendor=VENDOR, post_id=str(post.id), title=post.title, url=post.url, source=source,
        published_at=post.published_at.astimezone(UTC), available_at=available_at,
        currencies=_codes(post.currencies or []),
        votes_positive=votes.positive, votes_negative=votes.negative)


def _codes(currencies: Sequence[_Currency]) -> tuple[str, ...]:
    # The same currency can be tagged twice; keep the vendor's order, once each.
    return tuple(dict.fromkeys(upper_code(c.code) for c in currencies))

