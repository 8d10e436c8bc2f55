"""Fake CryptoPanic API v1: ``/api/v1/posts/``.

Format from CryptoPanic's developer page (https://cryptopanic.com/developers/api/): ``GET
/api/v1/posts/?auth_token=...&public=true[&currencies=BTC,ETH][&kind=news][&page=N]`` answers
``{"count", "next", "previous", "results": [post, ...]}``, a post being ``{"kind", "domain",
"source": {"title", "region", "domain", "path"}, "title", "published_at", "slug",
"currencies": [{"code", "title", "slug", "url"}], "id", "url", "created_at",
"votes": {"negative", "positive", "important", "liked", "disliked", "lol", "toxic", "saved",
"comments"}}``. ``next`` is the full URL of the next page *including the caller's auth_token*,
as the real API writes it. (That page was not in the stored reference corpus; the shape was
checked against public client code quoting real answers, e.g. IntelligentTrading/
sentiment-analysis ``data/moq.js``.)

The page documents no error bodies. The API is a Django REST framework app (its pagination is
DRF's ``count/next/previous/results``), so the fake answers errors the DRF way: 401
``{"detail": "Invalid token."}`` (``"Authentication credentials were not provided."`` when
missing), 429 ``{"detail": "Request was throttled. Expected available in N seconds."}`` with
``Retry-After``, 404 ``{"detail": "Invalid page."}``, and Django's plain ``Server Error (500)``.
Pages hold 20 posts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from adapters.vendors.fake.base import FakeVendor, Refusal, json_response, text_response
from adapters.vendors.fake.market import Post

PAGE_SIZE: Final = 20


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeCryptoPanic(FakeVendor):
    """CryptoPanic's posts API, answering generated posts from `MarketData`."""

    name: ClassVar[str] = "cryptopanic"
    key_params: ClassVar[tuple[str, ...]] = ("auth_token",)

    def __init__(self, *args: Any, window: int = 45, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.window = window

    def routes(self) -> list[BaseRoute]:
        """Return the served endpoint."""
        async def posts(request: Request) -> Response:
            return await self.answer(request, self._posts)

        return [Route("/api/v1/posts/", posts)]

    def unauthorized(self, missing: bool) -> Response:
        """Answer 401 the Django REST framework way."""
        return json_response({"detail": "Authentication credentials were not provided."
                              if missing else "Invalid token."}, 401)

    def rate_limited(self, retry_after: str | None) -> Response:
        """Answer 429 the Django REST framework way (it sets Retry-After itself)."""
        wait = retry_after or "1"
        return json_response(
            {"detail": f"Request was throttled. Expected available in {wait} seconds."}, 429,
            {"Retry-After": retry_after} if retry_after else None)

    def server_error(self, status: int) -> Response:
        """Answer 5xx with Django's plain error text."""
        return text_response(f"Server Error ({status})", status)

    def corrupt(self, payload: Any, kind: str) -> Any:
        """Mistype the first post's ``published_at`` or null its title."""
        if isinstance(payload, dict) and payload.get("results"):
            if kind == "wrong_type":
                payload["results"][0]["published_at"] = 1_700_000_000
            else:
                payload["results"][0]["title"] = None
        return payload

    def _posts(self, request: Request, params: dict[str, str]) -> Any:
        wanted = {c.upper() for c in params.get("currencies", "").split(",") if c}
        posts = [p for p in self.market.posts(self.now(), self.window)
                 if not wanted or wanted & {a.ticker for a in p.currencies}]
        try:
            page = int(params.get("page", "1"))
        except ValueError:
            page = 0
        last = max(1, -(-len(posts) // PAGE_SIZE))
        if not 1 <= page <= last:
            raise Refusal(json_response({"detail": "Invalid page."}, 404))
        chunk = posts[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]

        def link(number: int) -> str | None:
            if not 1 <= number <= last:
                return None
            return str(request.url.include_query_params(page=number))

        return {"count": len(posts), "next": link(page + 1), "previous": link(page - 1),
                "results": [_post(p) for p in chunk]}


def _post(post: Post) -> dict[str, Any]:
    return {
        "kind": "news", "domain": post.domain,
        "source": {"title": post.source_title, "region": "en", "domain": post.domain,
                   "path": None},
        "title": post.title, "published_at": _iso(post.published_at), "slug": post.slug,
        "currencies": [{"code": a.ticker, "title": a.name, "slug": a.gecko_id,
                        "url": f"https://cryptopanic.com/news/{a.gecko_id}/"}
                       for a in post.currencies],
        "id": post.post_id, "url": f"https://cryptopanic.com/news/{post.post_id}/{post.slug}",
        "created_at": _iso(post.published_at),
        "votes": {"negative": post.negative, "positive": post.positive,
                  "important": post.important, "liked": post.positive // 2,
                  "disliked": post.negative // 2, "lol": 0, "toxic": 0, "saved": 0,
                  "comments": 0}}
