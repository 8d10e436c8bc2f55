"""The HTTP control API under ``/_control/``, for a venue running in another process.

It mirrors what a test in the same process calls directly on ``RunningVenue``:

* ``GET  /_control/status`` - replay position, faults, rate-limit settings
* ``POST /_control/faults/<name>`` with a JSON body of keyword arguments, ``<name>`` one of
  ``drop_connections``, ``stall``, ``delay``, ``duplicate``, ``reorder``, ``malformed``,
  ``http_error``, ``clear``; ``GET /_control/faults`` shows what is on
* ``POST /_control/replay/step`` ``{"n": 100}``, ``/advance`` ``{"ms": 1000}``, ``/pause``,
  ``/resume``
* ``POST /_control/limits/reset`` - forget request weights and bans
* ``POST /_control/balances`` ``{"apiKey", "asset", "delta"}`` - deposit (negative: withdraw)

Control requests are not rate limited and not faulted.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from adapters.exchanges.fake_venue.rest_common import json_response
from adapters.exchanges.fake_venue.wire import VenueError
from domain.errors import InvalidValue

if TYPE_CHECKING:
    from adapters.exchanges.fake_venue.venue import Venue

FAULTS = ("drop_connections", "stall", "delay", "duplicate", "reorder", "malformed",
          "http_error", "clear")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    data = json.loads(raw)
    if not isinstance(data, dict):
        raise InvalidValue("the control body must be a JSON object")
    return data


def _venue(request: Request) -> Venue:
    venue: Venue = request.app.state.venue
    return venue


def _bad(exc: Exception) -> Response:
    return json_response({"error": str(exc)}, 400)


async def status(request: Request) -> Response:
    """Return the replay status, faults and limits."""
    venue = _venue(request)
    return json_response({"replay": venue.replay.status(), "faults": venue.faults.state(),
                          "weightLimit": venue.limiter.limit,
                          "symbols": list(venue.markets)})


async def faults(request: Request) -> Response:
    """Switch a fault on (POST) or show them (GET)."""
    venue = _venue(request)
    if request.method == "GET":
        return json_response(venue.faults.state())
    name = request.path_params["name"]
    if name not in FAULTS:
        return json_response({"error": f"unknown fault {name!r}; one of {FAULTS}"}, 404)
    try:
        result = getattr(venue.faults, name)(**await _body(request))
    except (TypeError, ValueError, InvalidValue) as exc:
        return _bad(exc)
    return json_response({"result": result, "faults": venue.faults.state()})


async def replay(request: Request) -> Response:
    """Step, advance, pause or resume the replay."""
    venue = _venue(request)
    action = request.path_params["action"]
    try:
        body = await _body(request)
        if action == "step":
            done = await venue.replay.step(int(body.get("n", 1)))
        elif action == "advance":
            done = await venue.replay.advance(int(body.get("ms", 1000)))
        elif action == "pause":
            await venue.replay.stop()
            done = 0
        elif action == "resume":
            venue.replay.start()
            done = 0
        else:
            return json_response({"error": f"unknown replay action {action!r}"}, 404)
    except (TypeError, ValueError, InvalidValue) as exc:
        return _bad(exc)
    return json_response({"events": done, "replay": venue.replay.status()})


async def limits(request: Request) -> Response:
    """Forget request weights and bans."""
    _venue(request).limiter.reset()
    return json_response({})


async def balances(request: Request) -> Response:
    """Deposit to (or withdraw from) an account."""
    venue = _venue(request)
    try:
        body = await _body(request)
        info = venue.deposit(str(body["apiKey"]), str(body["asset"]), Decimal(str(body["delta"])))
    except (KeyError, ValueError, InvalidOperation, InvalidValue) as exc:
        return _bad(exc)
    except VenueError as exc:
        return json_response(exc.body(), exc.status)
    return json_response(info)


ROUTES = [
    Route("/_control/status", status),
    Route("/_control/faults", faults, methods=["GET"]),
    Route("/_control/faults/{name}", faults, methods=["POST"]),
    Route("/_control/replay/{action}", replay, methods=["POST"]),
    Route("/_control/limits/reset", limits, methods=["POST"]),
    Route("/_control/balances", balances, methods=["POST"]),
]
